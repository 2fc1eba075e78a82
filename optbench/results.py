"""Read a results store as tidy pandas DataFrames, and export them to CSV or Parquet.

``load(PATH)`` gives ``runs`` (one row per run, its environment flattened), ``cells`` (one row
per cell: its configuration and metrics as columns, e.g. ``objective``, ``objective.n``,
``optimizer.step``, ``status``, ``iterations``, ``wall_time``) and ``traces`` (one row per
recorded iteration, with the cell's identifying columns repeated so it plots directly).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import OptbenchError
from .store import RUN_COLUMNS, Store, store_path
from .vocabulary import KEY_COLUMNS


@dataclass
class Results:
    """The three tables of a store (or of one run of it)."""

    runs: pd.DataFrame
    cells: pd.DataFrame
    traces: pd.DataFrame


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


def load(path: str | Path, run: str | None = None) -> Results:
    """The store at ``path`` (a directory or the ``.sqlite`` file), optionally one run only."""
    store = Store(path, create=False)
    try:
        if run is not None:
            store.run(run)  # an unknown run is an error naming the ones there are
        return Results(_runs(store.runs(run)), *_cells_and_traces(store, run))
    finally:
        store.close()


def _runs(runs: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame([{k: v for k, v in run.items() if k not in ("options", "environment", "suite_text")}
                          for run in runs], columns=RUN_COLUMNS)
    env = pd.json_normalize([run["environment"] for run in runs], sep=".").add_prefix("env.")
    options = pd.json_normalize([run["options"] for run in runs], sep=".")
    return pd.concat([frame, options, env], axis=1)


def _cells_and_traces(store: Store, run: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    cells = pd.DataFrame([{"run_id": run_id, "cell_id": r.id, "label": r.label, "status": r.status,
                           "reason": r.reason, **flatten_config(r.config), **r.metrics, "started": r.started,
                           "finished": r.finished} for run_id, r in store.cells(run)])
    traces = pd.DataFrame([{"run_id": run_id, "cell_id": cell, **row} for run_id, cell, row in store.traces(run)])
    if len(traces) and len(cells):
        keys = [k for k in KEY_COLUMNS if k in cells.columns]
        traces = cells[keys].merge(traces, on=["run_id", "cell_id"], how="right")
    return cells, traces


def export(path: str | Path, run: str, fmt: str = "csv", dest: str | Path | None = None) -> list[Path]:
    """Write ``run``'s runs, cells and traces tables as ``RUN-<table>.csv|parquet`` files."""
    if fmt not in ("csv", "parquet"):
        raise OptbenchError(f"unknown export format {fmt!r}; use csv or parquet")
    results = load(path, run)
    dest = Path(dest) if dest is not None else store_path(path).parent
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("runs", "cells", "traces"):
        target = dest / f"{run}-{name}.{fmt}"
        frame = getattr(results, name)
        if fmt == "csv":
            frame.to_csv(target, index=False)
        else:
            frame.to_parquet(target, index=False)
        written.append(target)
    return written
