"""Read a results store as tidy pandas DataFrames, and export them to CSV or Parquet.

``load(PATH)`` gives ``runs`` (one row per run, its environment flattened), ``cells`` (one row
per cell: its configuration and metrics as columns, e.g. ``objective``, ``objective.n``,
``optimizer.step``, ``status``, ``iterations``, ``wall_time``) and ``traces`` (one row per
recorded iteration, with the cell's identifying columns repeated so it plots directly).
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import OptbenchError
from .store import Store, store_path

KEY_COLUMNS = ("run_id", "cell_id", "objective", "optimizer", "backend", "device", "dtype", "seed", "repeat")


@dataclass
class Results:
    """The three tables of a store (or of one run of it)."""

    runs: pd.DataFrame
    cells: pd.DataFrame
    traces: pd.DataFrame


def flatten_config(config: dict) -> dict:
    """A cell config as flat columns: components by name, their params as ``kind.param``."""
    out = {}
    for key, value in config.items():
        if isinstance(value, dict) and "name" in value:  # objective, optimizer
            out[key] = value["name"]
            out.update({f"{key}.{k}": v for k, v in value.get("params", {}).items()})
        elif isinstance(value, dict):  # stop rules
            out.update({f"{key}.{k}": v for k, v in value.items()})
        elif isinstance(value, list):
            out[key] = ",".join(map(str, value))
        else:
            out[key] = value
    return out


def load(path: str | Path, run: str | None = None) -> Results:
    """The store at ``path`` (a directory or the ``.sqlite`` file), optionally one run only."""
    store = Store(path, create=False)
    try:
        if run is not None:
            store.run(run)  # an unknown run is an error naming the ones there are
        where, args = ("WHERE run_id = ?", (run,)) if run is not None else ("", ())
        return Results(_runs(store.db, where, args), *_cells_and_traces(store.db, where, args))
    finally:
        store.close()


def _runs(db: sqlite3.Connection, where: str, args: tuple) -> pd.DataFrame:
    frame = pd.read_sql_query(f"SELECT * FROM runs {where} ORDER BY started", db, params=args)
    env = pd.json_normalize([json.loads(e) for e in frame.pop("environment")], sep=".").add_prefix("env.")
    options = pd.json_normalize([json.loads(o) for o in frame.pop("options")], sep=".")
    frame = frame.drop(columns=["suite_text"])
    return pd.concat([frame, options, env], axis=1)


def _cells_and_traces(db: sqlite3.Connection, where: str, args: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = db.execute(f"SELECT run_id, cell_id, label, config, status, reason, metrics, started, finished "
                      f"FROM cells {where} ORDER BY run_id, finished", args).fetchall()
    cells = pd.DataFrame([{"run_id": r[0], "cell_id": r[1], "label": r[2], "status": r[4], "reason": r[5],
                           **flatten_config(json.loads(r[3])), **json.loads(r[6]), "started": r[7],
                           "finished": r[8]} for r in rows])
    trace_rows = db.execute(f"SELECT run_id, cell_id, row FROM traces {where} ORDER BY run_id, cell_id, seq",
                            args).fetchall()
    traces = pd.DataFrame([{"run_id": r[0], "cell_id": r[1], **json.loads(r[2])} for r in trace_rows])
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
