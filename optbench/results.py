"""Read a results store as tidy pandas DataFrames, and export a run to CSV or a Parquet dataset.

``load(PATH)`` gives ``runs`` (one row per run, its environment flattened), ``cells`` (one row
per cell: its configuration and metrics as columns, e.g. ``objective``, ``objective.n``,
``optimizer.step``, ``status``, ``iterations``, ``wall_time``) and ``traces`` (one row per
recorded iteration, with the cell's identifying columns repeated so it plots directly).
``load`` selects runs, cells and trace columns in the store, so what is not asked for is
never read; :meth:`Results.each_trace` streams the traces one cell at a time.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import OptbenchError
from .grid import Cell
from .store import RUN_COLUMNS, Store, store_path
from .vocabulary import KEY_COLUMNS

CATEGORICAL = ("run_id", "cell_id", "objective", "optimizer", "backend", "device", "dtype")  # of the trace keys
@dataclass
class Results:
    """The three tables of a store (or of a selection of it).

    ``traces`` is empty when it was not loaded (``load(..., traces=False)``); the traces then
    stay in the store at ``source`` and :meth:`each_trace` streams them.
    """

    runs: pd.DataFrame
    cells: pd.DataFrame
    traces: pd.DataFrame
    source: Path | None = None

    def has_traces(self) -> bool:
        """Whether any of the cells recorded a trace row (loaded or still in the store)."""
        if self.source is None or not len(self.cells):
            return bool(len(self.traces))
        store = Store(self.source, create=False)
        try:
            return any(store.size(run_id)[0] for run_id in self.cells["run_id"].unique())
        finally:
            store.close()

    def each_trace(self, columns: Iterable[str] | None = None,
                   cells: pd.DataFrame | None = None) -> Iterator[tuple[str, str, pd.DataFrame]]:
        """``(run id, cell id, trace)`` of each cell of ``cells`` (default: all) that has a trace, one at a time."""
        cells = self.cells if cells is None else cells
        if not len(cells):
            return
        names = None if columns is None else list(dict.fromkeys(["iter", *columns]))
        if self.source is None:
            if not len(self.traces):
                return
            groups = self.traces.groupby(["run_id", "cell_id"], sort=False, observed=True).indices
            for key in zip(cells["run_id"], cells["cell_id"]):
                if key in groups:
                    frame = self.traces.iloc[groups[key]]
                    yield *key, (frame if names is None else frame.reindex(columns=names))
            return
        for run_id, cell_id, found in self.each_columns(columns, cells):
            yield run_id, cell_id, pd.DataFrame(found)

    def each_columns(self, columns: Iterable[str] | None = None,
                     cells: pd.DataFrame | None = None) -> Iterator[tuple[str, str, dict[str, np.ndarray]]]:
        """As :meth:`each_trace`, each trace as ``{column: NumPy array}``: no DataFrame per cell.

        Every asked-for column is there (NaN where the cell did not record it); from the store,
        rows come in iteration order, as recorded.
        """
        cells = self.cells if cells is None else cells
        names = None if columns is None else list(dict.fromkeys(["iter", *columns]))
        if self.source is None:
            for run_id, cell_id, frame in self.each_trace(columns, cells):
                yield run_id, cell_id, {name: frame[name].to_numpy() for name in (names or frame.columns)}
            return
        if not len(cells):
            return
        store = Store(self.source, create=False)
        try:
            for run_id, ids in cells.groupby("run_id", sort=False)["cell_id"]:
                for cell_id, rows, found in store.traces(run_id, ids, names):
                    if names is not None:  # in the order asked for, NaN for what the cell did not record
                        found = {name: found[name] if name in found else np.full(rows, np.nan) for name in names}
                    yield run_id, cell_id, found
        finally:
            store.close()


def flatten_config(config: dict) -> dict:
    """A cell config as flat columns: components by name, their params as ``kind.param``.

    A table inside (a library's ``options``) continues the path: ``optimizer.options.lr``.
    """
    out = {}
    for key, value in config.items():
        if isinstance(value, dict) and "name" in value:  # objective, optimizer
            out[key] = value["name"]
            out.update(_flat(key, value.get("params", {})))
        elif isinstance(value, dict):  # stop rules
            out.update(_flat(key, value))
        else:
            out.update(_flat("", {key: value}))
    return out


def _flat(prefix: str, table: dict) -> dict:
    out = {}
    for key, value in table.items():
        column = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out.update(_flat(column, value))
        else:
            out[column] = ",".join(map(str, value)) if isinstance(value, list) else value
    return out


def load(path: str | Path, run: str | Iterable[str] | None = None, *, cells: str | Iterable[str] | None = None,
         columns: Iterable[str] | None = None, traces: bool = True) -> Results:
    """The store at ``path`` (a directory or the ``.sqlite`` file), or a selection of it.

    ``run``: one run id, ``"latest"``, or several ids (default: every run). ``cells``: a glob
    on the label or an id prefix (as ``optbench run --only``), or cell ids. ``columns``: the
    trace columns to read (``iter`` always comes; default all). ``traces=False`` reads no
    trace at all (stream them with :meth:`Results.each_trace`).
    """
    store = Store(path, create=False)
    try:
        runs = _select_runs(store, run)
        cell_frame = _cells(store, runs, cells)
        trace_frame = _traces(store, cell_frame, columns) if traces else pd.DataFrame()
        return Results(_runs(store.runs(runs)), cell_frame, trace_frame, None if traces else store.path)
    finally:
        store.close()


def _select_runs(store: Store, run: str | Iterable[str] | None) -> list[str] | None:
    if run is None:
        return None
    ids = [run] if isinstance(run, str) else list(run)
    return [store.latest_run() if one == "latest" else store.run(one)["run_id"] for one in ids]


def _runs(runs: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame([{k: run.get(k) for k in RUN_COLUMNS} for run in runs], columns=RUN_COLUMNS)
    env = pd.json_normalize([run["environment"] for run in runs], sep=".").add_prefix("env.")
    options = pd.json_normalize([run["options"] for run in runs], sep=".")
    return pd.concat([frame, options, env], axis=1)


def _cells(store: Store, runs: list[str] | None, pattern: str | Iterable[str] | None) -> pd.DataFrame:
    records = store.cells(runs)
    if isinstance(pattern, str):
        records = [(run_id, r) for run_id, r in records if Cell(r.id, r.label, r.config).matches(pattern)]
    elif pattern is not None:
        wanted = set(pattern)
        records = [(run_id, r) for run_id, r in records if r.id in wanted]
    return pd.DataFrame([{"run_id": run_id, "cell_id": r.id, "label": r.label, "status": r.status,
                          "reason": r.reason, **flatten_config(r.config), **r.metrics, "started": r.started,
                          "finished": r.finished} for run_id, r in records])


def _traces(store: Store, cells: pd.DataFrame, columns: Iterable[str] | None) -> pd.DataFrame:
    """The selected cells' traces as one frame, built column by column (no per-row Python objects)."""
    if not len(cells):
        return pd.DataFrame()
    names = None if columns is None else list(dict.fromkeys(["iter", *columns]))
    position = {key: i for i, key in enumerate(zip(cells["run_id"], cells["cell_id"]))}
    owners, lengths, parts = [], [], []
    for run_id, ids in cells.groupby("run_id", sort=False)["cell_id"]:
        for cell_id, rows, found in store.traces(run_id, ids, names):
            owners.append(position[run_id, cell_id])
            lengths.append(rows)
            parts.append(found)
    if not parts:
        return pd.DataFrame()
    owner = np.repeat(np.asarray(owners), lengths)
    keys = {k: _repeat(cells[k], owner, k in CATEGORICAL) for k in KEY_COLUMNS if k in cells.columns}
    order = names or list(dict.fromkeys(name for found in parts for name in found))
    values = {name: _concat([found.get(name) for found in parts], lengths) for name in order}
    return pd.DataFrame({**keys, **values})


def _repeat(column: pd.Series, owner: np.ndarray, categorical: bool) -> pd.Series | np.ndarray:
    """A cell column repeated down its trace rows; names as categories (a byte or two per row)."""
    if categorical:
        codes, uniques = pd.factorize(column)
        return pd.Categorical.from_codes(codes[owner], uniques)
    return column.to_numpy()[owner]


def _concat(parts: list, lengths: list[int]) -> np.ndarray:
    """One trace column over the cells; NaN where a cell did not record it."""
    if all(isinstance(p, np.ndarray) for p in parts):
        return np.concatenate(parts)
    filled = [np.full(n, np.nan) if p is None else np.asarray(p, dtype=object if isinstance(p, list) else None)
              for p, n in zip(parts, lengths)]
    return np.concatenate(filled)


def export(path: str | Path, run: str, fmt: str = "csv", dest: str | Path | None = None) -> list[Path]:
    """Write ``run``'s runs, cells and traces tables as ``RUN-<table>.csv`` files or Parquet datasets.

    Parquet: ``RUN-runs.parquet`` and ``RUN-cells.parquet`` files, and ``RUN-traces.parquet/``, a
    directory of ``part-NNNNN.parquet`` files written a few cells at a time, so a run of any size
    exports in bounded memory. pandas (``read_parquet(dir)``), DuckDB
    (``read_parquet('dir/*.parquet')``) and polars (``scan_parquet('dir/*.parquet')``) read it.
    """
    if fmt not in ("csv", "parquet"):
        raise OptbenchError(f"unknown export format {fmt!r}; use csv or parquet")
    results = load(path, run, traces=False)
    dest = Path(dest) if dest is not None else store_path(path).parent
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("runs", "cells"):
        target = dest / f"{run}-{name}.{fmt}"
        frame = getattr(results, name)
        if fmt == "csv":
            frame.to_csv(target, index=False)
        else:
            frame.to_parquet(target, index=False)
        written.append(target)
    target = dest / f"{run}-traces.{fmt}"
    if fmt == "csv":
        _write_csv_traces(results, target)
    else:
        _write_parquet_traces(results, target)
    return [*written, target]


PART_ROWS = 1_000_000  # trace rows per Parquet file of an export


def _trace_batches(results: Results) -> Iterator[pd.DataFrame]:
    """The run's traces with their key columns, about ``PART_ROWS`` rows at a time."""
    store = Store(results.source, create=False)
    try:
        batch, rows = [], 0
        for i in range(len(results.cells)):
            frame = _traces(store, results.cells.iloc[i:i + 1], None)
            if len(frame):
                batch.append(frame)
                rows += len(frame)
            if rows >= PART_ROWS:
                yield pd.concat(batch, ignore_index=True)
                batch, rows = [], 0
        if batch:
            yield pd.concat(batch, ignore_index=True)
    finally:
        store.close()


def _write_csv_traces(results: Results, target: Path) -> None:
    with open(target, "w", newline="") as handle:
        for i, frame in enumerate(_trace_batches(results)):
            frame.to_csv(handle, index=False, header=i == 0)


def _write_parquet_traces(results: Results, target: Path) -> None:
    import shutil

    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    target.mkdir(parents=True)
    for i, frame in enumerate(_trace_batches(results)):
        frame = frame.astype({c: str for c in CATEGORICAL if c in frame})  # one schema across the files
        frame.to_parquet(target / f"part-{i:05d}.parquet", index=False)
