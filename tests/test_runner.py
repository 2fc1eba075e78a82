"""The runner: failing cells get the right status while the rest succeed, resume after SIGKILL,
Ctrl-C, replay, and the Dask executor giving the cells the local one gives."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

import optbench.results
from optbench.cli import main
from optbench.errors import OptbenchError
from optbench.runner import run_suite
from optbench.store import Store
from optbench.suite import load_suite

# Test-only plugins, installed through a real entry point so the worker processes load them too.
MISBEHAVING = '''
import math, os, signal, time
import optbench
from optbench import Capabilities, Objective, Param
from optbench_plugins.torch_backend import TorchBackend


class Segfault(Objective):
    name = "test_segfault"
    def __call__(self, x):
        os.kill(os.getpid(), signal.SIGSEGV)


class Hang(Objective):
    """Five evaluations, then it never returns."""
    name = "test_hang"
    def setup(self):
        self.calls = 0
    def __call__(self, x):
        self.calls += 1
        if self.calls > 5:
            time.sleep(3600)
        return optbench.namespace(x).sum(x * x)


class Infinite(Objective):
    name = "test_infinite"
    def __call__(self, x):
        return optbench.namespace(x).sum(x * x) * math.inf


class Slow(Objective):
    name = "test_slow"
    params = {"delay": Param(float, 0.002, ge=0)}
    def __call__(self, x):
        time.sleep(self.p["delay"])
        return optbench.namespace(x).sum(x * x)


class FirstOrder(TorchBackend):
    name = "test_first_order"
    capabilities = Capabilities(max_order=1)


@optbench.hookimpl
def optbench_register_objectives(register):
    for cls in (Segfault, Hang, Infinite, Slow):
        register(cls)


@optbench.hookimpl
def optbench_register_backends(register):
    register(FirstOrder)
'''

FAILING = '''
name = "failing"
objectives = [{ name = "test_segfault" }, { name = "test_hang" }, { name = "test_infinite" },
              { name = "quadratic", params = { n = 3 } }]
optimizers = [{ name = "gd", params = { step = 0.1 } }, { name = "newton_cg" }]
backends = ["torch", "test_first_order"]
exclude = [{ optimizer = "newton_cg", backend = "torch" }, { optimizer = "newton_cg", objective = "test_segfault" },
           { optimizer = "newton_cg", objective = "test_hang" }, { optimizer = "newton_cg", objective = "test_infinite" }]
timeout = 4
[stop]
max_iter = 20
'''

SLOW = '''
name = "slow"
objectives = [{ name = "test_slow", params = { n = [2, 3, 4] } }]
optimizers = [{ name = "gd", params = { step = [0.1, 0.2, 0.3] } }]
seeds = [0, 1, 2, 3]
[stop]
max_iter = 15
'''


@pytest.fixture
def plugins(fake_dist):
    fake_dist("optbench-test-misbehaving", {"misbehaving": "optbench_test_misbehaving"},
              {"optbench_test_misbehaving": MISBEHAVING})


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def by_label(cells):
    return {row.label: row for row in cells.itertuples()}


def test_crashing_hanging_diverging_and_unsupported_cells_get_their_status(plugins, tmp_path):
    suite = load_suite(write(tmp_path, "failing.toml", FAILING))
    summary = run_suite(suite, tmp_path / "out", jobs=2, quiet=True)
    results = optbench.results.load(tmp_path / "out")
    cells = by_label(results.cells)
    assert len(cells) == len(suite.cells) == 9 and summary.status == "complete"
    for backend in ("torch", "test_first_order"):
        segfault = cells[f"test_segfault()/gd(step=0.1)/{backend}/cpu/float64/seed=0"]
        assert segfault.status == "crashed" and "SIGSEGV" in segfault.reason
        hang = cells[f"test_hang()/gd(step=0.1)/{backend}/cpu/float64/seed=0"]
        assert hang.status == "timeout" and "after 4 s" in hang.reason
        assert len(results.traces[results.traces.cell_id == hang.cell_id]) >= 2  # streamed before the hang
        assert cells[f"test_infinite()/gd(step=0.1)/{backend}/cpu/float64/seed=0"].status == "diverged"
        good = cells[f"quadratic(n=3)/gd(step=0.1)/{backend}/cpu/float64/seed=0"]
        assert good.status == "max_iter" and good.iterations == 20
    unsupported = cells["quadratic(n=3)/newton_cg()/test_first_order/cpu/float64/seed=0"]
    assert unsupported.status == "skipped" and "'hvp'" in unsupported.reason
    assert results.runs.status.tolist() == ["complete"]


def cli(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "optbench.cli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def committed(db_path) -> int:
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(db_path) as db:
            return db.execute("SELECT count(*) FROM cells").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def wait_for_cells(db_path, count: int, process, limit: float = 60.0) -> None:
    start = time.monotonic()
    while committed(db_path) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() - start < limit
        time.sleep(0.05)


def cell_statuses(path) -> dict:
    cells = optbench.results.load(path).cells
    return dict(zip(cells.cell_id, zip(cells.status, cells.iterations)))


def test_sigkill_of_the_driver_then_resume_completes_the_run_without_duplicates(plugins, tmp_path):
    suite = write(tmp_path, "slow.toml", SLOW)
    killed = cli("run", suite, "--out", tmp_path / "killed", "--jobs", 2, "--quiet")
    wait_for_cells(tmp_path / "killed" / "optbench.sqlite", 4, killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    partial = optbench.results.load(tmp_path / "killed")
    assert 4 <= len(partial.cells) < 36 and partial.runs.status.tolist() == ["running"]
    run_id = partial.runs.run_id[0]

    assert main(["run", str(suite), "--out", str(tmp_path / "killed"), "--resume", run_id, "--quiet"]) == 0
    assert main(["run", str(suite), "--out", str(tmp_path / "clean"), "--quiet"]) == 0
    resumed = optbench.results.load(tmp_path / "killed")
    assert len(resumed.cells) == 36 and resumed.cells.cell_id.is_unique
    assert resumed.runs.status.tolist() == ["complete"]
    assert cell_statuses(tmp_path / "killed") == cell_statuses(tmp_path / "clean")
    per_cell = resumed.traces.groupby("cell_id").size()
    assert (per_cell == 16).all()  # every trace complete, none doubled


def test_ctrl_c_stops_cleanly_and_keeps_the_finished_cells(plugins, tmp_path):
    suite = write(tmp_path, "slow.toml", SLOW.replace("max_iter = 15", "max_iter = 50"))
    driver = cli("run", suite, "--out", tmp_path, "--jobs", 2)
    wait_for_cells(tmp_path / "optbench.sqlite", 2, driver)
    driver.send_signal(signal.SIGINT)
    out, err = driver.communicate(timeout=30)
    results = optbench.results.load(tmp_path)
    assert driver.returncode == 130 and "interrupted" in out
    assert results.runs.status.tolist() == ["interrupted"] and 2 <= len(results.cells) < 36
    assert set(results.cells.status) == {"max_iter"}


def test_replay_reproduces_a_recorded_cell_and_export_writes_the_tables(capsys, tmp_path):
    assert main(["run", "suites/smoke.toml", "--out", str(tmp_path), "--only", "quadratic(n=5,cond=10.0)*seed=0",
                 "--quiet"]) == 0
    results = optbench.results.load(tmp_path)
    run_id, cell_id = results.runs.run_id[0], results.cells.cell_id[0]
    capsys.readouterr()
    assert main(["replay", run_id, cell_id[:8], "--out", str(tmp_path)]) == 0
    assert "reproduces" in capsys.readouterr().out
    assert main(["export", run_id, "--out", str(tmp_path), "--format", "parquet", "--dest", str(tmp_path / "x")]) == 0
    import pandas as pd

    traces = pd.read_parquet(tmp_path / "x" / f"{run_id}-traces.parquet")
    assert set(traces.columns) >= {"objective", "optimizer", "iter", "f", "nfev", "ngev", "time", "cpu_time"}
    assert len(traces) == len(results.traces)


def test_the_dask_executor_records_the_same_cells_as_the_local_one(tmp_path):
    pytest.importorskip("distributed")
    suite = load_suite("suites/smoke.toml")
    run_suite(suite, tmp_path / "local", jobs=2, quiet=True)
    run_suite(suite, tmp_path / "dask", jobs=2, executor="dask", quiet=True)
    local, dask = optbench.results.load(tmp_path / "local"), optbench.results.load(tmp_path / "dask")
    columns = ["cell_id", "status", "reason", "iterations", "f_final"]
    assert (local.cells[columns].sort_values("cell_id").reset_index(drop=True)
            .equals(dask.cells[columns].sort_values("cell_id").reset_index(drop=True)))
    assert len(set(dask.cells.pid)) == 2 and os.getpid() not in set(dask.cells.pid)


def test_resume_latest_with_retry_failed_reruns_only_the_failed_cells(tmp_path):
    suite = load_suite("suites/smoke.toml")
    only = "quadratic(n=5,cond=10.0)*"
    first = run_suite(suite, tmp_path, only=only, quiet=True)
    before = optbench.results.load(tmp_path).cells.set_index("cell_id")
    failed = before.index[0]
    store = Store(tmp_path)
    store.db.execute("UPDATE cells SET status = 'crashed', reason = 'simulated' WHERE cell_id = ?", (failed,))
    store.db.commit()
    store.close()
    assert run_suite(suite, tmp_path, only=only, resume="latest", quiet=True).skipped_done == len(before)
    assert optbench.results.load(tmp_path).cells.set_index("cell_id").loc[failed, "status"] == "crashed"

    again = run_suite(suite, tmp_path, only=only, resume="latest", retry_failed=True, quiet=True)
    after = optbench.results.load(tmp_path).cells.set_index("cell_id")
    assert again.run_id == first.run_id and sum(again.counts.values()) == 1
    assert after.loc[failed, "status"] == before.loc[failed, "status"] and len(after) == len(before)
    kept = before.index.drop(failed)
    assert (after.loc[kept, "finished"] == before.loc[kept, "finished"]).all()
    with pytest.raises(OptbenchError, match="--retry-failed .* give --resume"):
        run_suite(suite, tmp_path, only=only, retry_failed=True, quiet=True)


# ---- workers started early ------------------------------------------------------------------------
@pytest.mark.parametrize("threads", [1, 2])
def test_an_early_worker_runs_the_first_cell_when_its_threads_match(tmp_path, threads):
    """``optbench run`` starts its workers before it reads the suite; a cell with the early
    worker's thread count runs on it, one with another count gets a fresh worker."""
    from optbench.executors import LocalExecutor

    suite = load_suite("suites/smoke.toml")
    cell = suite.cells[0]
    cell.config["threads"] = threads
    runner = LocalExecutor(1)
    runner.start(threads=1)
    early = runner.slots[0].worker.pid
    summary = run_suite(suite, tmp_path, executor=runner, only=cell.id, quiet=True)
    assert sum(summary.counts.values()) == 1 and runner.slots[0].worker is None  # closed by run_suite
    assert (optbench.results.load(tmp_path).cells.pid[0] == early) == (threads == 1)
    assert optbench.results.load(tmp_path).runs.executor[0] == "local"


def test_a_suite_that_fails_to_load_leaves_no_early_worker(tmp_path, monkeypatch, capsys):
    import optbench.workers

    started = []
    real = optbench.workers.Worker

    def recording(threads):
        started.append(real(threads))
        return started[-1]

    monkeypatch.setattr(optbench.workers, "Worker", recording)
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nobjectives = [{ name = "no_such_objective" }]\noptimizers = [{ name = "gd" }]\n')
    assert main(["run", str(bad), "--out", str(tmp_path)]) == 2
    assert "no_such_objective" in capsys.readouterr().err
    assert len(started) == 1 and started[0].process.poll() is not None  # started early, then reaped


def test_a_worker_exits_at_once_when_asked_to_stop(tmp_path):
    """Workers skip the interpreter's teardown (0.3-0.4 s with torch loaded): every result is
    sent by then, and the supervisor waits for its workers to exit before it returns."""
    from optbench.workers import Worker

    worker = Worker(1)
    assert worker.inbox.recv()[0] == "ready"
    worker.ask_to_stop()
    assert worker.process.wait(timeout=30) == 0
    worker.kill()


def test_the_cli_hands_a_dask_executor_to_the_run_unstarted(tmp_path):
    """Only local workers start before the suite is read; a Dask run records its executor."""
    pytest.importorskip("distributed")
    assert main(["run", "suites/smoke.toml", "--out", str(tmp_path), "--executor", "dask", "--jobs", "1",
                 "--only", "quadratic(n=5,cond=10.0)*seed=0", "--quiet"]) == 0
    results = optbench.results.load(tmp_path)
    assert results.runs.executor[0] == "dask" and len(results.cells) == 2
