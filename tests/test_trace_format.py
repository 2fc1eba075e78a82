"""The trace format: typed compressed columns, exact round trips, older stores, selective loading."""
from __future__ import annotations

import json
import math
import sqlite3

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optbench.results
from optbench import columns
from optbench.cli import main
from optbench.store import CellRecord, Store, StoreError
from fake_runs import optimize_cell, write_run

numbers = st.one_of(st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=True, allow_infinity=True), st.none())


@settings(max_examples=200, deadline=None)
@given(st.lists(numbers, max_size=40))
def test_a_column_round_trips_exactly(values):
    kind, data = columns.encode_column(values)
    back = columns.decode_column(kind, data, len(values))
    back = back.tolist() if isinstance(back, np.ndarray) else back
    for given_value, got in zip(values, back, strict=True):
        if given_value is None:
            assert got is None or math.isnan(got)
        elif isinstance(given_value, float) and math.isnan(given_value):
            assert math.isnan(got)
        else:
            assert got == given_value and (kind != "i8" or type(got) is int)


def test_mixed_columns_fall_back_to_json_and_keep_their_values():
    rows = [{"iter": 0, "note": "start", "ok": True}, {"iter": 1, "note": None, "ok": False}]
    assert columns.to_rows({name: columns.decode_column(kind, data, 2) for name, kind, data in columns.encode(rows)},
                           2) == rows


def trace(rows: int, seed: int = 0) -> list[dict]:
    """A trace as a first-order method records it: geometric decrease with noise, growing counters and times."""
    rng = np.random.default_rng(seed)
    gap = 10.0 * 0.97 ** np.arange(rows) * np.exp(0.1 * rng.standard_normal(rows))
    time = np.cumsum(1e-4 * (1 + 0.2 * rng.random(rows)))
    return [{"iter": i, "nfev": 0, "ngev": i + 1, "nhvp": 0, "nhev": 0, "time": float(time[i]),
             "cpu_time": float(time[i] * 0.99), "f": float(1.5 + gap[i]), "f_gap": float(gap[i]),
             "grad_norm": float(2 * np.sqrt(gap[i])), "dist": float(np.sqrt(gap[i]))} for i in range(rows)]


def test_a_trace_row_takes_at_most_40_bytes_on_disk(tmp_path):
    cells = [optimize_cell("quadratic", "gd", seed=seed, iterations=299) for seed in range(20)]
    for seed, cell in enumerate(cells):
        cell.rows = trace(300, seed)
    write_run(tmp_path, "r", cells)
    store = Store(tmp_path, create=False)
    rows, data = store.size("r")
    store.close()
    assert rows == 6000 and data / rows <= 40, data / rows


def test_nan_and_missing_values_survive_the_store(tmp_path):
    cell = optimize_cell("quadratic", "gd", iterations=2)
    cell.rows = [{"iter": 0, "f": 1.0, "f_gap": math.nan}, {"iter": 1, "f": math.inf, "f_gap": 0.5},
                 {"iter": 2, "f": -0.0}]
    write_run(tmp_path, "r", [cell])
    store = Store(tmp_path, create=False)
    back = store.cell("r", cell.id).rows
    store.close()
    assert math.isnan(back[0]["f_gap"]) and math.isnan(back[2]["f_gap"]) and back[1] == {"iter": 1, "f": math.inf,
                                                                                         "f_gap": 0.5}
    assert math.copysign(1.0, back[2]["f"]) == -1.0


# ---- stores of format version 1 ---------------------------------------------------------------
V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (run_id TEXT PRIMARY KEY, suite_name TEXT NOT NULL, suite_path TEXT NOT NULL,
    suite_hash TEXT NOT NULL, suite_text TEXT NOT NULL, cells_total INTEGER NOT NULL, status TEXT NOT NULL,
    started REAL NOT NULL, finished REAL, options TEXT NOT NULL, environment TEXT NOT NULL);
CREATE TABLE cells (run_id TEXT NOT NULL, cell_id TEXT NOT NULL, label TEXT NOT NULL, config TEXT NOT NULL,
    status TEXT NOT NULL, reason TEXT NOT NULL, metrics TEXT NOT NULL, started REAL, finished REAL,
    PRIMARY KEY (run_id, cell_id));
CREATE TABLE traces (run_id TEXT NOT NULL, cell_id TEXT NOT NULL, seq INTEGER NOT NULL, row TEXT NOT NULL,
    PRIMARY KEY (run_id, cell_id, seq));
INSERT INTO meta VALUES ('format', 'optbench-results'), ('version', '1');
"""


def write_v1(path, cells: list[CellRecord]) -> None:
    """A store as optbench wrote it before the typed columns: one JSON text per trace row."""
    db = sqlite3.connect(path / "optbench.sqlite")
    db.executescript(V1_SCHEMA)
    db.execute("INSERT INTO runs VALUES ('old', 'fake', 'fake.toml', 'h', 'name = \"fake\"', ?, 'complete', 1.0, 2.0, "
               "'{\"jobs\": 1}', '{\"python\": \"3.x\"}')", (len(cells),))
    for cell in cells:
        db.execute("INSERT INTO cells VALUES ('old', ?, ?, ?, ?, ?, ?, 1.0, 2.0)",
                   (cell.id, cell.label, json.dumps(cell.config), cell.status, cell.reason, json.dumps(cell.metrics)))
        db.executemany("INSERT INTO traces VALUES ('old', ?, ?, ?)",
                       ((cell.id, seq, json.dumps(row)) for seq, row in enumerate(cell.rows)))
    db.commit()
    db.close()


def test_a_version_1_store_is_refused_with_the_command_that_converts_it(tmp_path, capsys):
    cells = [optimize_cell("quadratic", opt, iterations=5) for opt in ("gd", "nesterov")]
    cells[0].rows[2]["f_gap"] = math.nan
    write_v1(tmp_path, cells)
    with pytest.raises(StoreError, match=r"format version 1\); convert it with: optbench upgrade "):
        optbench.results.load(tmp_path)
    assert main(["report", "latest", "--out", str(tmp_path)]) == 2
    assert "optbench upgrade" in capsys.readouterr().err
    assert main(["upgrade", str(tmp_path)]) == 0
    assert (tmp_path / "optbench.sqlite.v1").exists()
    results = optbench.results.load(tmp_path)
    assert results.runs["run_id"].tolist() == ["old"] and len(results.cells) == 2
    expected = pd.DataFrame([row for cell in sorted(cells, key=lambda c: c.id) for row in cell.rows])
    got = results.traces[expected.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert main(["upgrade", str(tmp_path)]) == 2  # already current: refused, nothing touched


# ---- selective and streamed loading -------------------------------------------------------------
@pytest.fixture
def two_runs(tmp_path):
    write_run(tmp_path, "a", [optimize_cell("quadratic", opt, seed=s) for opt in ("gd", "nesterov") for s in (0, 1)],
              started=1.0)
    write_run(tmp_path, "b", [optimize_cell("rosenbrock", "gd", iterations=7)], started=2.0)
    return tmp_path


def test_load_selects_runs_cells_and_columns(two_runs):
    one = optbench.results.load(two_runs, "latest", columns=["f_gap"])
    assert one.runs["run_id"].tolist() == ["b"] and len(one.traces) == 8
    assert list(one.traces.columns) == ["run_id", "cell_id", "objective", "optimizer", "backend", "device", "dtype",
                                        "seed", "repeat", "iter", "f_gap"]
    some = optbench.results.load(two_runs, ["a"], cells="*nesterov*seed=1")
    assert some.cells["label"].str.contains("nesterov").all() and len(some.cells) == 1
    assert set(some.traces["cell_id"]) == set(some.cells["cell_id"]) and "grad_norm" in some.traces


def test_streamed_traces_equal_the_loaded_ones(two_runs):
    loaded = optbench.results.load(two_runs)
    lazy = optbench.results.load(two_runs, traces=False)
    assert len(lazy.traces) == 0 and len(lazy.cells) == 5
    streamed = {(run, cell): frame for run, cell, frame in lazy.each_trace(["f_gap"])}
    assert len(streamed) == 5
    for (run, cell), frame in streamed.items():
        mine = loaded.traces[(loaded.traces["run_id"] == run) & (loaded.traces["cell_id"] == cell)]
        np.testing.assert_array_equal(frame["f_gap"].to_numpy(), mine["f_gap"].to_numpy())
        assert list(frame.columns) == ["iter", "f_gap"]


def test_export_writes_a_parquet_dataset_that_pandas_and_pyarrow_read(two_runs, tmp_path):
    pyarrow = pytest.importorskip("pyarrow.dataset")
    written = optbench.results.export(two_runs, "a", "parquet", tmp_path / "x")
    traces_dir = tmp_path / "x" / "a-traces.parquet"
    assert traces_dir in written and traces_dir.is_dir()
    frame = pd.read_parquet(traces_dir)
    assert len(frame) == 4 * 41 and {"objective", "optimizer", "iter", "f_gap"} <= set(frame.columns)
    assert pyarrow.dataset(traces_dir, format="parquet").count_rows() == 4 * 41


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.0, 1e6), max_size=40))
def test_clock_readings_are_kept_to_the_nanosecond(values):
    kind, data = columns.encode_column(values, seconds=True)
    back = columns.decode_column(kind, data, len(values))
    assert kind == "ns" and np.all(np.abs(back - np.array(values, dtype=float)) <= 0.5e-9 + 1e-15 * np.array(values))
