"""The results store: one SQLite file (WAL) with tables ``runs``, ``cells`` and ``traces``.

The runner's driver is the only writer; each finished cell (its row and all its trace rows)
is one transaction, so killing the driver loses at most the cells in flight. A file that is
not an optbench store (foreign, corrupt, a newer format) is refused, never overwritten.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import OptbenchError, suggest

FILENAME = "optbench.sqlite"
FORMAT = "optbench-results"
VERSION = 1
_SQLITE_HEADER = b"SQLite format 3\x00"
RUN_COLUMNS = ("run_id", "suite_name", "suite_path", "suite_hash", "cells_total", "status", "started", "finished")

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, suite_name TEXT NOT NULL, suite_path TEXT NOT NULL,
    suite_hash TEXT NOT NULL, suite_text TEXT NOT NULL, cells_total INTEGER NOT NULL,
    status TEXT NOT NULL, started REAL NOT NULL, finished REAL,
    options TEXT NOT NULL, environment TEXT NOT NULL);
CREATE TABLE cells (
    run_id TEXT NOT NULL REFERENCES runs (run_id), cell_id TEXT NOT NULL, label TEXT NOT NULL,
    config TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL, metrics TEXT NOT NULL,
    started REAL, finished REAL, PRIMARY KEY (run_id, cell_id));
CREATE TABLE traces (
    run_id TEXT NOT NULL, cell_id TEXT NOT NULL, seq INTEGER NOT NULL, row TEXT NOT NULL,
    PRIMARY KEY (run_id, cell_id, seq));
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


def store_path(location: str | Path) -> Path:
    """The database file: ``location`` itself, or ``optbench.sqlite`` inside a directory."""
    location = Path(location)
    return location if location.suffix in (".sqlite", ".db") else location / FILENAME


class Store:
    """An open results store (see the module docstring)."""

    def __init__(self, location: str | Path, create: bool = True):
        self.path = store_path(location)
        if not self.path.exists():
            if not create:
                raise StoreError(f"no results store at {str(self.path)!r}")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = self._connect()
            self.db.executescript(f"BEGIN; {SCHEMA} INSERT INTO meta VALUES ('format', '{FORMAT}'), "
                                  f"('version', '{VERSION}'); COMMIT;")  # all or nothing
            return
        self._refuse_foreign()
        self.db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # with WAL, durable against a killed process
        return db

    def _refuse_foreign(self) -> None:
        where = str(self.path)
        with open(self.path, "rb") as handle:
            if handle.read(16) != _SQLITE_HEADER:
                raise StoreError(f"{where} is not an optbench results store (not an SQLite database); "
                                 "refusing to touch it: choose another --out")
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{where} is not an optbench results store ({exc}); refusing to touch it") from None
        if meta.get("format") != FORMAT:
            raise StoreError(f"{where} is an SQLite database that optbench did not create; refusing to touch it")
        if meta.get("version") != str(VERSION):
            raise StoreError(f"{where} has results format version {meta.get('version')}, "
                             f"this optbench reads version {VERSION}")

    def close(self) -> None:
        self.db.close()

    # ---- runs -----------------------------------------------------------------------------
    def create_run(self, run_id: str, suite, cells_total: int, options: dict, environment: dict) -> None:
        with self.db:
            self.db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, 'running', ?, NULL, ?, ?)",
                            (run_id, suite.name, suite.path, suite.hash, suite.text, cells_total,
                             time.time(), json.dumps(options), json.dumps(environment)))

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
        finished = None if status == "running" else time.time()
        with self.db:
            self.db.execute("UPDATE runs SET status = ?, finished = ? WHERE run_id = ?", (status, finished, run_id))

    # ---- cells -----------------------------------------------------------------------------
    def done_cells(self, run_id: str) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT cell_id FROM cells WHERE run_id = ?", (run_id,))}

    def commit_cell(self, run_id: str, record: CellRecord) -> None:
        """Store a finished cell and its trace in one transaction."""
        with self.db:
            self.db.execute("INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (run_id, record.id, record.label, json.dumps(record.config), record.status,
                             record.reason, json.dumps(record.metrics), record.started, record.finished))
            self.db.executemany("INSERT INTO traces VALUES (?, ?, ?, ?)",
                                ((run_id, record.id, seq, json.dumps(row)) for seq, row in enumerate(record.rows)))

    def latest_run(self) -> str:
        """The id of the run that started last."""
        row = self.db.execute("SELECT run_id FROM runs ORDER BY started DESC LIMIT 1").fetchone()
        if row is None:
            raise StoreError(f"the store {str(self.path)!r} has no runs yet")
        return row[0]

    def runs(self, run_id: str | None = None) -> list[dict]:
        """Every run's row (or ``run_id``'s), oldest first, ``options`` and ``environment`` decoded."""
        where, args = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
        cursor = self.db.execute(f"SELECT * FROM runs {where} ORDER BY started", args)
        names = [c[0] for c in cursor.description]
        out = [dict(zip(names, row)) for row in cursor]
        for run in out:
            run["options"], run["environment"] = json.loads(run["options"]), json.loads(run["environment"])
        return out

    def cells(self, run_id: str | None = None) -> list[tuple[str, CellRecord]]:
        """(run id, cell) of the stored cells (of ``run_id``), in the order they finished, without traces."""
        where, args = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
        rows = self.db.execute(f"SELECT run_id, cell_id, label, config, status, reason, metrics, started, finished "
                               f"FROM cells {where} ORDER BY run_id, finished", args)
        return [(row[0], _record(*row[1:])) for row in rows]

    def traces(self, run_id: str | None = None) -> list[tuple[str, str, dict]]:
        """(run id, cell id, row) of every stored trace row (of ``run_id``), in cell order."""
        where, args = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
        rows = self.db.execute(f"SELECT run_id, cell_id, row FROM traces {where} ORDER BY run_id, cell_id, seq", args)
        return [(run, cell, json.loads(row)) for run, cell, row in rows]

    def cell(self, run_id: str, prefix: str) -> CellRecord:
        """The stored cell of ``run_id`` whose id starts with ``prefix`` (exactly one)."""
        self.run(run_id)
        rows = self.db.execute("SELECT cell_id, label, config, status, reason, metrics, started, finished "
                               "FROM cells WHERE run_id = ? AND cell_id LIKE ? || '%'", (run_id, prefix)).fetchall()
        if len(rows) != 1:
            what = "no cell" if not rows else f"{len(rows)} cells"
            raise StoreError(f"{what} of run {run_id!r} has an id starting with {prefix!r}")
        record = _record(*rows[0])
        record.rows = [json.loads(r[0]) for r in self.db.execute(
            "SELECT row FROM traces WHERE run_id = ? AND cell_id = ? ORDER BY seq", (run_id, record.id))]
        return record


def _record(cell_id, label, config, status, reason, metrics, started, finished) -> CellRecord:
    """A stored cell row as a record (its trace not read)."""
    return CellRecord(cell_id, label, json.loads(config), status, reason, json.loads(metrics), [], started, finished)
