"""The results store: atomic cells, WAL, refusal of foreign files, tidy frames."""
from __future__ import annotations

import sqlite3

import pytest

import optbench.results
from optbench.store import Store, StoreError
from optbench.suite import parse_suite
from optbench.store import CellRecord

SUITE = """
name = "store"
objectives = [{ name = "quadratic", params = { n = 2, cond = [2.0, 3.0] } }]
optimizers = [{ name = "gd" }]
"""


def record(cell, status="converged", rows=2) -> CellRecord:
    trace = [{"iter": i, "f": 1.0 / (i + 1), "nfev": i, "time": 0.1 * i} for i in range(rows)]
    return CellRecord(cell.id, cell.label, cell.config, status, "why", {"iterations": rows - 1, "pid": 7}, trace, 1.0, 2.0)


@pytest.fixture
def filled(tmp_path):
    suite = parse_suite(SUITE, "store.toml")
    store = Store(tmp_path)
    store.create_run("r1", suite, len(suite.cells), {"jobs": 1}, {"python": "3.x", "threads": {"suite": 1}})
    store.commit_cell("r1", record(suite.cells[0]))
    store.commit_cell("r1", record(suite.cells[1], "timeout", rows=3))
    store.set_run_status("r1", "complete")
    store.close()
    return tmp_path, suite


def test_cells_and_traces_load_as_tidy_frames(filled):
    path, suite = filled
    results = optbench.results.load(path)
    assert results.runs.loc[0, "run_id"] == "r1" and results.runs.loc[0, "env.threads.suite"] == 1
    cells = results.cells.set_index("cell_id")
    assert cells.loc[suite.cells[1].id, "status"] == "timeout"
    assert cells.loc[suite.cells[1].id, "objective.cond"] == 3.0 and cells["optimizer.step"].notna().all()
    assert len(results.traces) == 5
    assert list(results.traces.columns[:9]) == ["run_id", "cell_id", "objective", "optimizer", "backend",
                                                "device", "dtype", "seed", "repeat"]


def test_the_store_is_wal_and_a_cell_is_committed_with_its_trace_or_not_at_all(filled):
    path, suite = filled
    store = Store(path)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    broken = record(suite.cells[0])  # already stored: the insert fails, nothing of it is added
    with pytest.raises(sqlite3.IntegrityError):
        store.commit_cell("r1", broken)
    assert store.size("r1")[0] == 5  # trace rows, kept as 4 columns per cell
    assert store.db.execute("SELECT count(*) FROM traces").fetchone()[0] == 2 * 4
    assert store.done_cells("r1") == {c.id for c in suite.cells}
    assert store.cell("r1", suite.cells[1].id[:5]).rows[-1]["iter"] == 2
    store.close()


def test_unknown_runs_and_cells_are_errors_naming_what_exists(filled):
    path, _ = filled
    with pytest.raises(StoreError, match="no run 'r2'.*available: r1"):
        optbench.results.load(path, run="r2")
    store = Store(path)
    with pytest.raises(StoreError, match="no cell of run 'r1' has an id starting with 'zz'"):
        store.cell("r1", "zz")
    store.close()
    with pytest.raises(StoreError, match="no results store"):
        optbench.results.load(path / "elsewhere")


@pytest.mark.parametrize("content,words", [
    (b"name,value\n1,2\n", "not an SQLite database"),
    (b"", "not an SQLite database"),
    (b"SQLite format 3\x00" + b"\xff" * 200, "not an optbench results store"),
])
def test_foreign_or_corrupt_files_are_refused_and_left_untouched(tmp_path, content, words):
    file = tmp_path / "optbench.sqlite"
    file.write_bytes(content)
    with pytest.raises(StoreError, match=words):
        Store(tmp_path)
    assert file.read_bytes() == content


def test_another_programs_database_is_refused(tmp_path):
    file = tmp_path / "other.sqlite"
    with sqlite3.connect(file) as db:
        db.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        db.execute("INSERT INTO meta VALUES ('format', 'something-else')")
    db.close()
    before = file.read_bytes()
    with pytest.raises(StoreError, match="optbench did not create"):
        Store(file)
    assert file.read_bytes() == before
