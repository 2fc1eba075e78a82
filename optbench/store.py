"""The results store: one SQLite file (WAL) with tables ``runs``, ``cells`` and ``traces``.

The runner's driver is the only writer of its run; each finished cell (its row and all its
trace columns) is one transaction, so killing the driver loses at most the cells in flight. A
trace is kept as one compressed typed column per row of ``traces`` (:mod:`optbench.columns`),
so a reader fetches only the cells and columns it asks for. A file that is not an intact
optbench store (foreign, damaged, a newer format) is refused before anything is written, and
opening it adds no file beside it; reading commands never write. A store of an older format
is refused with the command that converts it (:func:`upgrade`).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import columns as trace_columns
from .errors import OptbenchError, suggest

FILENAME = "optbench.sqlite"
FORMAT = "optbench-results"
VERSION = 2  # 1: one JSON text per trace row (optbench upgrade converts it)
_SQLITE_HEADER = b"SQLite format 3\x00"
PAGE_SIZE = 16384
RUN_COLUMNS = ("run_id", "suite_name", "suite_path", "suite_hash", "cells_total", "status", "started", "finished",
               "load_start", "load_end")

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, suite_name TEXT NOT NULL, suite_path TEXT NOT NULL,
    suite_hash TEXT NOT NULL, suite_text TEXT NOT NULL, cells_total INTEGER NOT NULL,
    status TEXT NOT NULL, started REAL NOT NULL, finished REAL,
    options TEXT NOT NULL, environment TEXT NOT NULL, load_start REAL, load_end REAL);
CREATE TABLE cells (
    run_id TEXT NOT NULL REFERENCES runs (run_id), cell_id TEXT NOT NULL, label TEXT NOT NULL,
    config TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL, metrics TEXT NOT NULL,
    started REAL, finished REAL, trace_rows INTEGER NOT NULL, PRIMARY KEY (run_id, cell_id));
CREATE TABLE traces (
    run_id TEXT NOT NULL, cell_id TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (run_id, cell_id, name));
"""


@dataclass
class CellRecord:
    """A finished cell as the store keeps it."""

    id: str
    label: str
    config: dict
    status: str
    reason: str
    metrics: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    started: float | None = None
    finished: float | None = None


class StoreError(OptbenchError):
    """A results file that cannot be used, or a run or cell that is not in it."""


def _damage(db: sqlite3.Connection) -> str | None:
    """SQLite's first complaint about the file's pages and indexes, or None when intact."""
    try:
        problems = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if problems == ["ok"] else problems[0].splitlines()[0]


# NaN and infinities are not JSON: SQLite's json functions reject a bare NaN, so they are stored
# as these strings and read back as floats
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def dumps(value) -> str:
    """``value`` as strict JSON, non-finite floats written as the strings above."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(_spell_non_finite(value), allow_nan=False)


def _spell_non_finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _spell_non_finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_spell_non_finite(item) for item in value]
    return value


def loads(text: str):
    """What :func:`dumps` wrote, the non-finite floats restored."""
    return json.loads(text, object_hook=_read_non_finite)


def _read_non_finite(table: dict) -> dict:
    return {key: _NON_FINITE.get(item, item) if isinstance(item, str) else item for key, item in table.items()}


def store_path(location: str | Path) -> Path:
    """The database file: ``location`` itself, or ``optbench.sqlite`` inside a directory."""
    location = Path(location)
    return location if location.suffix in (".sqlite", ".db") else location / FILENAME


class Store:
    """An open results store (see the module docstring).

    ``create=True`` (the runner) opens it for writing, creating it when missing, after an
    integrity check: a damaged, foreign or read-only file is refused before anything is
    written. ``create=False`` (reading commands) opens an existing store without writing, so
    a store on a read-only mount can be reported.
    """

    def __init__(self, location: str | Path, create: bool = True):
        self.path = store_path(location)
        self._run_locks = None
        if self.path.is_dir():
            raise StoreError(f"{str(self.path)!r} is a directory, not a results file; choose another --out")
        if create:
            self._create_if_missing()
        elif not self.path.exists():
            raise StoreError(f"no results store at {str(self.path)!r}")
        self._check(integrity=create)
        self.db = self._connect_for_writing() if create else self._connect_for_reading()

    # ---- opening ------------------------------------------------------------------------
    def _create_if_missing(self) -> None:
        """Build a new store under a temporary name, then link it into place.

        The link is atomic and never replaces a file, so two runs starting at once into a new
        directory both end up using the one complete store that got there first.
        """
        if self.path.exists():
            return
        where = str(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the results directory for {where!r}: {exc.strerror}") from None
        temp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.new")
        try:
            db = sqlite3.connect(temp)
            try:
                # trace columns of a few kB pack with little slack into 16 kB pages (4 kB pages
                # waste about a quarter of each); set before the first table is written
                db.execute(f"PRAGMA page_size={PAGE_SIZE}")
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(f"BEGIN; {SCHEMA} INSERT INTO meta VALUES ('format', '{FORMAT}'), "
                                 f"('version', '{VERSION}'); COMMIT;")
            finally:
                db.close()
            os.link(temp, self.path)
        except FileExistsError:
            pass  # another process created it meanwhile: use theirs
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot create the results store {where!r}: {exc}") from None
        finally:
            for leftover in (temp, Path(f"{temp}-wal"), Path(f"{temp}-shm")):
                leftover.unlink(missing_ok=True)

    def _snapshot_uri(self) -> str:
        """A read-only URI that creates no ``-wal``/``-shm`` file when there is none.

        Without a ``-wal`` file nothing is being written, so the file may be read as
        immutable; that also works on a read-only mount, where ``mode=ro`` cannot start.
        """
        wal = Path(f"{self.path}-wal").exists()
        return self.path.resolve().as_uri() + ("?mode=ro" if wal else "?immutable=1")

    def _check(self, integrity: bool) -> None:
        """Refuse a file that is not an intact optbench store of this version, touching nothing."""
        where = str(self.path)
        try:
            with open(self.path, "rb") as handle:
                header = handle.read(16)
        except OSError as exc:
            raise StoreError(f"cannot read {where!r}: {exc.strerror}") from None
        if header != _SQLITE_HEADER:
            raise StoreError(f"{where} is not an optbench results store (not an SQLite database); "
                             "refusing to touch it: choose another --out")
        try:
            db = sqlite3.connect(self._snapshot_uri(), uri=True)
            try:
                meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
                damage = _damage(db) if integrity and meta.get("format") == FORMAT else None
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{where} is not an optbench results store ({exc}); refusing to touch it") from None
        if meta.get("format") != FORMAT:
            raise StoreError(f"{where} is an SQLite database that optbench did not create; refusing to touch it")
        if meta.get("version") == "1":
            raise StoreError(f"{where} was written by an older optbench (results format version 1); "
                             f"convert it with: optbench upgrade {where}")
        if meta.get("version") != str(VERSION):
            raise StoreError(f"{where} has results format version {meta.get('version')}, "
                             f"this optbench reads version {VERSION}")
        if damage:
            raise StoreError(f"{where} is damaged ({damage}); refusing to write into it: "
                             "choose another --out (reading commands may still get its intact runs)")

    def _connect_for_writing(self) -> sqlite3.Connection:
        if not os.access(self.path, os.W_OK) or not os.access(self.path.parent, os.W_OK):
            raise StoreError(f"{str(self.path)!r} is read-only; choose another --out to write a run")
        db = sqlite3.connect(self.path, timeout=30)  # waits for the lock while another run commits
        db.execute("PRAGMA synchronous=NORMAL")  # with WAL, durable against a killed process
        return db

    def _connect_for_reading(self) -> sqlite3.Connection:
        if os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK):
            # an ordinary connection removes the -wal/-shm files it needed when it closes
            db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA query_only=ON")
            return db
        return sqlite3.connect(self._snapshot_uri(), uri=True)  # a read-only file or mount

    def claim(self, run_id: str) -> None:
        """Hold ``run_id`` for this process until :meth:`close`; refuse a run another driver holds.

        A POSIX record lock on one byte of a lock file beside the store, so the kernel frees
        it when the driver dies, however it dies. Such locks belong to a process: two claims
        of one run from the same process are not told apart.
        """
        if self._run_locks is None:
            self._run_locks = open(f"{self.path}-runs.lock", "a+b")
        byte = int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:6], "big")
        try:
            fcntl.lockf(self._run_locks, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, byte)
        except OSError:
            raise StoreError(f"run {run_id!r} is still running in another process; wait for it to end "
                             "or stop it before resuming it") from None

    def close(self) -> None:
        self.db.close()
        if self._run_locks is not None:
            self._run_locks.close()  # frees the claims

    # ---- runs -----------------------------------------------------------------------------
    def create_run(self, run_id: str, suite, cells_total: int, options: dict, environment: dict) -> None:
        with self.db:
            self.db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, 'running', ?, NULL, ?, ?, ?, NULL)",
                            (run_id, suite.name, suite.path, suite.hash, suite.text, cells_total,
                             time.time(), json.dumps(options), json.dumps(environment), load_average()))

    def run(self, run_id: str) -> dict:
        """The run's row as a dict; an unknown id lists the runs there are."""
        cursor = self.db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        row = cursor.fetchone()
        if row is None:
            ids = [r[0] for r in self.db.execute("SELECT run_id FROM runs")]
            raise StoreError(f"no run {run_id!r} in {str(self.path)!r}{suggest(run_id, ids)}")
        out = dict(zip([c[0] for c in cursor.description], row))
        out["options"], out["environment"] = json.loads(out["options"]), json.loads(out["environment"])
        return out

    def set_run_status(self, run_id: str, status: str) -> None:
        """Mark the run ``running`` (resumed) or ended; an ended run records the load average at its end."""
        finished, load = (None, None) if status == "running" else (time.time(), load_average())
        with self.db:
            self.db.execute("UPDATE runs SET status = ?, finished = ?, load_end = ? WHERE run_id = ?",
                            (status, finished, load, run_id))

    # ---- cells -----------------------------------------------------------------------------
    def done_cells(self, run_id: str) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT cell_id FROM cells WHERE run_id = ?", (run_id,))}

    def forget_cells(self, run_id: str, statuses: Iterable[str]) -> int:
        """Delete the run's cells that ended with one of ``statuses``, traces included; how many."""
        statuses = list(statuses)
        marks = ",".join("?" * len(statuses))
        with self.db:
            self.db.execute(f"DELETE FROM traces WHERE run_id = ? AND cell_id IN "
                            f"(SELECT cell_id FROM cells WHERE run_id = ? AND status IN ({marks}))",
                            (run_id, run_id, *statuses))
            return self.db.execute(f"DELETE FROM cells WHERE run_id = ? AND status IN ({marks})",
                                   (run_id, *statuses)).rowcount

    def commit_cell(self, run_id: str, record: CellRecord) -> None:
        """Store a finished cell and its trace in one transaction."""
        with self.db:
            self.db.execute("INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (run_id, record.id, record.label, dumps(record.config), record.status,
                             record.reason, dumps(record.metrics), record.started, record.finished,
                             len(record.rows)))
            self.db.executemany("INSERT INTO traces VALUES (?, ?, ?, ?, ?)",
                                ((run_id, record.id, *column) for column in trace_columns.encode(record.rows)))

    def latest_run(self) -> str:
        """The id of the run that started last."""
        row = self.db.execute("SELECT run_id FROM runs ORDER BY started DESC LIMIT 1").fetchone()
        if row is None:
            raise StoreError(f"the store {str(self.path)!r} has no runs yet")
        return row[0]

    def runs(self, run_id: str | Iterable[str] | None = None) -> list[dict]:
        """Every run's row (or those of ``run_id``), oldest first, ``options`` and ``environment`` decoded."""
        where, args = _where_runs(run_id)
        cursor = self.db.execute(f"SELECT * FROM runs {where} ORDER BY started", args)
        names = [c[0] for c in cursor.description]
        out = [dict(zip(names, row)) for row in cursor]
        for run in out:
            run["options"], run["environment"] = json.loads(run["options"]), json.loads(run["environment"])
        return out

    def cells(self, run_id: str | Iterable[str] | None = None) -> list[tuple[str, CellRecord]]:
        """(run id, cell) of the stored cells (of ``run_id``), in the order they finished, without traces."""
        where, args = _where_runs(run_id)
        rows = self.db.execute(f"SELECT run_id, cell_id, label, config, status, reason, metrics, started, finished, "
                               f"trace_rows FROM cells {where} ORDER BY run_id, finished", args)
        return [(row[0], _record(*row[1:])) for row in rows]

    def traces(self, run_id: str, cell_ids: Iterable[str] | None = None,
               names: Iterable[str] | None = None) -> Iterator[tuple[str, int, dict]]:
        """``(cell id, rows, {column: values})`` per stored trace of the run, one cell at a time.

        ``cell_ids`` and ``names`` select cells and columns (all by default); only the selected
        columns are read and decompressed, and nothing is kept between cells.
        """
        query = ("SELECT t.cell_id, c.trace_rows, t.name, t.kind, t.data FROM traces t JOIN cells c "
                 "ON c.run_id = t.run_id AND c.cell_id = t.cell_id WHERE t.run_id = ?")
        args: list = [run_id]
        if names is not None:
            names = list(names)
            query += f" AND t.name IN ({','.join('?' * len(names))})"
            args += names
        if cell_ids is None:
            batches = [self.db.execute(query + " ORDER BY t.cell_id", args)]
        else:  # a few hundred ids per query: SQLite limits the number of parameters
            ids = sorted(set(cell_ids))
            batches = (self.db.execute(query + f" AND t.cell_id IN ({','.join('?' * len(chunk))}) ORDER BY t.cell_id",
                                       [*args, *chunk]) for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)))
        current, rows, found = None, 0, {}
        for cell_id, count, name, kind, data in (row for batch in batches for row in batch):
            if cell_id != current:
                if current is not None:
                    yield current, rows, found
                current, rows, found = cell_id, count, {}
            found[name] = trace_columns.decode_column(kind, data, count)
        if current is not None:
            yield current, rows, found

    def size(self, run_id: str) -> tuple[int, int]:
        """(trace rows, bytes of compressed trace columns) of a run."""
        rows = self.db.execute("SELECT COALESCE(SUM(trace_rows), 0) FROM cells WHERE run_id = ?", (run_id,)).fetchone()
        data = self.db.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM traces WHERE run_id = ?", (run_id,)).fetchone()
        return rows[0], data[0]

    def cell(self, run_id: str, prefix: str) -> CellRecord:
        """The stored cell of ``run_id`` whose id starts with ``prefix`` (exactly one)."""
        self.run(run_id)
        rows = self.db.execute("SELECT cell_id, label, config, status, reason, metrics, started, finished, "
                               "trace_rows FROM cells WHERE run_id = ? AND cell_id LIKE ? || '%'", (run_id, prefix)).fetchall()
        if len(rows) != 1:
            what = "no cell" if not rows else f"{len(rows)} cells"
            raise StoreError(f"{what} of run {run_id!r} has an id starting with {prefix!r}")
        record = _record(*rows[0])
        for _, count, found in self.traces(run_id, [record.id]):
            record.rows = trace_columns.to_rows(found, count)
        return record


def _record(cell_id, label, config, status, reason, metrics, started, finished, trace_rows) -> CellRecord:
    """A stored cell row as a record (its trace not read)."""
    return CellRecord(cell_id, label, loads(config), status, reason, loads(metrics), [], started, finished)


def _where_runs(run_id: str | Iterable[str] | None) -> tuple[str, tuple]:
    if run_id is None:
        return "", ()
    ids = (run_id,) if isinstance(run_id, str) else tuple(run_id)
    return f"WHERE run_id IN ({','.join('?' * len(ids))})", ids


def load_average() -> float | None:
    """The machine's 1-minute load average (None where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


# ---- older formats ------------------------------------------------------------------------------
def upgrade(location: str | Path) -> Path:
    """Convert a version-1 store (one JSON text per trace row) to the current format, in place.

    The converted store is written beside the old one and then takes its name; the old file
    is kept as ``<name>.v1``. Returns the path of the kept old file.
    """
    path = store_path(location)
    if not path.exists():
        raise StoreError(f"no results store at {str(path)!r}")
    try:
        old = sqlite3.connect(path)
        meta = dict(old.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not an optbench results store ({exc})") from None
    if meta.get("format") != FORMAT:
        old.close()
        raise StoreError(f"{path} is an SQLite database that optbench did not create; refusing to touch it")
    if meta.get("version") != "1":
        old.close()
        raise StoreError(f"{path} has results format version {meta.get('version')}; only version 1 is upgraded")
    old.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file before it is renamed
    fresh = path.with_name(f"{path.stem}.upgrading{path.suffix}")
    fresh.unlink(missing_ok=True)
    new = Store(fresh)
    try:
        with new.db:
            for row in old.execute("SELECT * FROM runs"):
                new.db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)", row)
            for run_id, cell_id, *rest in old.execute("SELECT * FROM cells"):
                rows = [json.loads(r[0]) for r in old.execute(
                    "SELECT row FROM traces WHERE run_id = ? AND cell_id = ? ORDER BY seq", (run_id, cell_id))]
                new.db.execute("INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               (run_id, cell_id, *rest, len(rows)))
                new.db.executemany("INSERT INTO traces VALUES (?, ?, ?, ?, ?)",
                                   ((run_id, cell_id, *column) for column in trace_columns.encode(rows)))
    finally:
        new.close()
        old.close()
    kept = path.with_name(path.name + ".v1")
    path.replace(kept)
    fresh.replace(path)
    return kept
