"""Fault injection: a misbehaving plugin, kills at random moments, concurrent runs, damaged
stores and malformed suites, driven through the real command line (docs/reliability.md).

The randomised tests take their seeds from ``OPTBENCH_FAULT_SEEDS`` (comma-separated); CI runs
the fixed default set.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import optbench.results
from optbench.cli import main
from optbench.executors import LocalExecutor
from optbench.registry import load_registry
from optbench.store import Store
from optbench.suite import SuiteError, parse_suite
from optbench.workers import STOP_GRACE, Worker
from conftest import write_dist

SEEDS = [int(seed) for seed in os.environ.get("OPTBENCH_FAULT_SEEDS", "7").split(",")]
PLUGIN = Path(__file__).with_name("faulty_plugin.py").read_text()

FAULTS = """
name = "faults"
objectives = [{ name = "fault_hang" }, { name = "fault_gil_hang" }, { name = "fault_segfault" },
              { name = "fault_memory" }, { name = "fault_exit" }, { name = "fault_nan" }, { name = "fault_prints" },
              { name = "fault_raises", params = { where = ["setup", "call", "x0", "minimum"] } },
              { name = "quadratic", params = { n = 3 } }]
optimizers = [{ name = "gd" }]
timeout = 3
[stop]
max_iter = 5

[[grid]]

[[grid]]
objectives = [{ name = "quadratic", params = { n = 3 } }]
optimizers = [{ name = "fault_gd", params = { where = ["__init__", "validate", "init", "step"] } }]
timeout = 1e300

[[grid]]
objectives = [{ name = "quadratic", params = { n = 3 } }]
backends = ["fault_grad_1", "fault_grad_nn", "fault_backend_raises", "fault_backend_init"]
"""

SLOW = """
name = "slow"
objectives = [{ name = "slow_square", params = { n = [2, 3, 4], delay = 0.004 } }]
optimizers = [{ name = "gd", params = { step = [0.1, 0.2] } }]
seeds = [0, 1]
[stop]
max_iter = 40
"""
SLOW_CELLS, SLOW_ROWS = 12, 41


# ---- helpers -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    """The misbehaving plugin, installed for this process and its subprocesses."""
    site = tmp_path_factory.mktemp("site")
    write_dist(site, "optbench-faulty", {"faulty": "optbench_faulty"}, {"optbench_faulty": PLUGIN})
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(site))
        patch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
        load_registry(refresh=True)
        yield site
    sys.modules.pop("optbench_faulty", None)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def cli(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "optbench.cli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def one_line_error(capsys, code: int, *words: str) -> str:
    """``code`` is 2 and stderr is one ``optbench: error:`` line containing ``words``."""
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("optbench: error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err
    return err


def committed(db_path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM cells").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def wait_until(condition, process=None, limit: float = 90.0) -> None:
    start = time.monotonic()
    while not condition():
        assert process is None or process.poll() is None, process.communicate()
        assert time.monotonic() - start < limit, "timed out"
        time.sleep(0.05)


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def gone(pid: int) -> bool:
    """Ended (a zombie waiting for its reaper counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except (OSError, IndexError):
        return True


def by_label(path: Path) -> dict:
    return {row.label: row for row in optbench.results.load(path).cells.itertuples()}


# ---- misbehaving plugins --------------------------------------------------------------------
@pytest.fixture(scope="module")
def fault_run(faulty, tmp_path_factory):
    """One run of every misbehaving cell through the CLI, with two workers."""
    home = tmp_path_factory.mktemp("faults")
    driver = cli("run", write(home, "faults.toml", FAULTS), "--out", home, "--jobs", 2, "--quiet")
    out, err = driver.communicate(timeout=170)
    return home, driver.returncode, out, err


def cell(cells: dict, prefix: str):
    (match,) = [row for label, row in cells.items() if label.startswith(prefix)]
    return match


@pytest.mark.parametrize("label,status,reason", [
    ("fault_hang()", "timeout", "after 3 s"),
    ("fault_gil_hang()", "timeout", "after 3 s"),
    ("fault_segfault()", "crashed", "SIGSEGV"),
    ("fault_memory()", "crashed", "MemoryError"),
    ("fault_exit()", "crashed", "SystemExit: 3"),
    ("fault_nan()", "diverged", "f = nan"),
    ("fault_prints()", "max_iter", ""),
    ("fault_raises(where=setup)", "crashed", "fails in setup"),
    ("fault_raises(where=call)", "crashed", "fails in call"),
    ("fault_raises(where=x0)", "crashed", "fails in x0"),
    ("fault_raises(where=minimum)", "crashed", "fails in minimum"),
    ("quadratic(n=3)/gd()/torch", "max_iter", ""),
    ("quadratic(n=3)/fault_gd(where=__init__)", "crashed", "fails in __init__"),
    ("quadratic(n=3)/fault_gd(where=validate)", "crashed", "fails in validate"),
    ("quadratic(n=3)/fault_gd(where=init)", "crashed", "fails in init"),
    ("quadratic(n=3)/fault_gd(where=step)", "crashed", "fails in step"),
    ("quadratic(n=3)/gd()/fault_backend_raises", "crashed", "fails in value_and_grad"),
    ("quadratic(n=3)/gd()/fault_backend_init", "crashed", "fails in __init__"),
])
def test_each_misbehaving_cell_gets_its_status_and_the_suite_goes_on(fault_run, label, status, reason):
    home, code, out, err = fault_run
    assert code == 0, err
    found = cell(by_label(home), label)
    assert (found.status, reason in found.reason) == (status, True), found.reason


@pytest.mark.parametrize("backend,shape", [("fault_grad_1", "(1,)"), ("fault_grad_nn", "(3, 3)")])
def test_a_gradient_of_the_wrong_shape_crashes_its_cell_naming_the_shapes(fault_run, backend, shape):
    found = cell(by_label(fault_run[0]), f"quadratic(n=3)/gd()/{backend}")
    assert found.status == "crashed" and shape in found.reason and "(3,)" in found.reason, found.reason


def test_the_run_is_complete_and_the_driver_prints_one_line_and_no_plugin_output(fault_run):
    home, code, out, err = fault_run
    assert out.count("\n") == 1 and out.startswith("run ") and "complete" in out
    assert "hello" not in out + err and "Traceback" not in err, err
    assert optbench.results.load(home).runs.status.tolist() == ["complete"]


def test_a_cells_prints_and_a_crash_stack_are_kept_with_the_cell(fault_run):
    cells = by_label(fault_run[0])
    printed = cell(cells, "fault_prints()").output
    for where in ("stdout", "stderr", "fd 1"):
        assert f"hello from fault_prints on {where}" in printed
    assert "Fatal Python error" in cell(cells, "fault_segfault()").output
    assert not isinstance(cell(cells, "quadratic(n=3)/gd()/torch").output, str)  # printed nothing


def test_nan_is_stored_as_json_that_sqlite_reads_and_comes_back_as_nan(fault_run):
    home = fault_run[0]
    with sqlite3.connect(home / "optbench.sqlite") as db:
        finals = dict(db.execute("SELECT label, json_extract(metrics, '$.f_final') FROM cells"))
        rows = db.execute("SELECT count(*) FROM traces WHERE name = 'f'").fetchone()[0]  # one typed column a cell
    db.close()
    assert cell(finals, "fault_nan()") == "NaN" and rows > 0
    assert str(cell(by_label(home), "fault_nan()").f_final) == "nan"


# ---- workers ------------------------------------------------------------------------------------
def test_a_worker_that_died_idle_is_replaced_and_no_innocent_cell_is_blamed(faulty, monkeypatch):
    cells = parse_suite(SLOW.replace("delay = 0.004", "delay = 0.0")).cells[:3]
    executor = LocalExecutor(1)
    try:
        assert [r.status for r in executor.run(cells[:1])] == ["max_iter"]
        worker = executor.slots[0].worker.process
        worker.kill()
        worker.wait()  # its death is seen before the next cell is sent
        assert [r.status for r in executor.run(cells[1:2])] == ["max_iter"]
        worker = executor.slots[0].worker.process
        worker.kill()
        os.waitid(os.P_PID, worker.pid, os.WEXITED | os.WNOWAIT)
        monkeypatch.setattr(Worker, "alive", lambda self: True)  # not seen: it dies "before starting" the cell
        assert [r.status for r in executor.run(cells[2:])] == ["max_iter"]
    finally:
        executor.close()


def test_closing_stops_busy_workers_at_once(faulty, tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBENCH_FAULT_MARKS", str(tmp_path))
    cells = parse_suite('name = "h"\nobjectives = [{ name = "fault_hang", params = { n = [2, 3] } }]\n'
                        'optimizers = [{ name = "gd" }]').cells
    executor = LocalExecutor(2)
    for slot, hang in zip(executor.slots, cells):
        slot.assign(hang)
    try:
        wait_until(lambda: len(list(tmp_path.iterdir())) == 2)
        start = time.monotonic()
    finally:
        executor.close()
    assert time.monotonic() - start < STOP_GRACE  # one after the other took STOP_GRACE each
    assert all(gone(int(mark.name)) for mark in tmp_path.iterdir())


def test_workers_die_with_a_killed_driver_even_inside_c_code_holding_the_gil(faulty, tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBENCH_FAULT_MARKS", str(tmp_path / "marks"))
    (tmp_path / "marks").mkdir()
    suite = write(tmp_path, "gil.toml", 'name = "gil"\nobjectives = [{ name = "fault_gil_hang" }]\n'
                  'optimizers = [{ name = "gd" }]')
    driver = cli("run", suite, "--out", tmp_path / "out", "--quiet")
    wait_until(lambda: any((tmp_path / "marks").iterdir()), driver)
    (worker,) = [int(mark.name) for mark in (tmp_path / "marks").iterdir()]
    driver.kill()
    driver.communicate()
    try:
        wait_until(lambda: gone(worker), limit=10)
    finally:  # never leave a process spinning on a shared machine
        if not gone(worker):
            os.kill(worker, signal.SIGKILL)


# ---- kills at random moments -------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("target", ["driver", "worker", "both"])
def test_kills_at_random_moments_lose_nothing_and_blame_at_most_the_running_cell(faulty, tmp_path, target, seed):
    rng = random.Random(f"{target}-{seed}")
    suite = write(tmp_path, "slow.toml", SLOW)
    driver = cli("run", suite, "--out", tmp_path, "--jobs", 2, "--quiet")
    wait_until(lambda: committed(tmp_path / "optbench.sqlite") >= 1, driver)
    time.sleep(rng.uniform(0.0, 1.0))
    workers = children(driver.pid)
    if target in ("worker", "both") and workers:
        os.kill(rng.choice(workers), signal.SIGKILL)
    if target in ("driver", "both"):
        driver.kill()
    out, err = driver.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert target != "worker" or driver.returncode == 0
    if target != "worker":
        for pid in workers:
            wait_until(lambda: gone(pid), limit=10)
        run_id = optbench.results.load(tmp_path).runs.run_id[0]
        assert main(["run", str(suite), "--out", str(tmp_path), "--resume", run_id, "--quiet"]) == 0
    results = optbench.results.load(tmp_path)
    assert results.runs.status.tolist() == ["complete"]
    assert len(results.cells) == SLOW_CELLS and results.cells.cell_id.is_unique
    crashed = results.cells[results.cells.status == "crashed"]
    assert len(crashed) <= 1 and all("SIGKILL" in reason for reason in crashed.reason)
    ok = results.cells[results.cells.status != "crashed"]
    assert set(ok.status) == {"max_iter"}
    assert (results.traces[results.traces.cell_id.isin(ok.cell_id)].groupby("cell_id").size() == SLOW_ROWS).all()


def test_sigterm_ends_the_run_like_ctrl_c_and_a_running_run_cannot_be_resumed(faulty, tmp_path, capsys):
    suite = write(tmp_path, "slow.toml", SLOW.replace("max_iter = 40", "max_iter = 200"))
    driver = cli("run", suite, "--out", tmp_path, "--quiet")
    wait_until(lambda: committed(tmp_path / "optbench.sqlite") >= 1, driver)
    run_id = optbench.results.load(tmp_path).runs.run_id[0]
    code = main(["run", str(suite), "--out", str(tmp_path), "--resume", run_id, "--quiet"])
    one_line_error(capsys, code, "still running")
    workers = children(driver.pid)
    driver.send_signal(signal.SIGTERM)
    out, err = driver.communicate(timeout=60)
    assert driver.returncode == 130 and "interrupted" in out and "Traceback" not in err
    results = optbench.results.load(tmp_path)
    assert results.runs.status.tolist() == ["interrupted"] and set(results.cells.status) == {"max_iter"}
    assert all(gone(pid) for pid in workers)


# ---- concurrent runs ------------------------------------------------------------------------
def _open_store(path: str, barrier) -> None:
    barrier.wait()
    Store(path).close()


def test_many_processes_opening_one_new_or_existing_store_at_once_all_succeed(tmp_path):
    context = multiprocessing.get_context("fork")
    for trial in range(16):  # even: a new store; odd: the same store, existing
        path, barrier = tmp_path / str(trial // 2), context.Barrier(6)
        processes = [context.Process(target=_open_store, args=(str(path), barrier)) for _ in range(6)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
        assert [p.exitcode for p in processes] == [0] * 6
        # one database; SQLite may leave its -wal/-shm files when the last two closes race
        assert sorted(p.name for p in path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == ["optbench.sqlite"]
        assert optbench.results.load(path).runs.empty


def test_two_runs_started_at_once_into_a_new_directory_both_complete(faulty, tmp_path):
    suite = write(tmp_path, "slow.toml", SLOW.replace("seeds = [0, 1]", "seeds = [0]"))
    drivers = [cli("run", suite, "--out", tmp_path / "new", "--quiet") for _ in range(2)]
    for driver in drivers:
        out, err = driver.communicate(timeout=120)
        assert driver.returncode == 0, err
    runs = optbench.results.load(tmp_path / "new").runs
    assert runs.status.tolist() == ["complete", "complete"]


# ---- damaged stores ----------------------------------------------------------------------------
STORE_SUITE = 'name = "s"\nobjectives = [{ name = "quadratic", params = { n = 2 } }]\noptimizers = [{ name = "gd" }]'


def filled_store(directory: Path) -> tuple[Path, str, str]:
    """A store with one complete run of one cell with a long trace; its path, run and cell ids."""
    from optbench.store import CellRecord

    suite = parse_suite(STORE_SUITE, str(directory / "s.toml"))
    write(directory, "s.toml", STORE_SUITE)
    store = Store(directory)
    store.create_run("r1", suite, 1, {}, {})
    (one,) = suite.cells
    rows = [{"iter": i, "f": 1.0 / (i + 1), "grad_norm": 1.0, "nfev": i, "time": 0.001 * i} for i in range(3000)]
    metrics = {"iterations": 2999, "f_final": rows[-1]["f"], "wall_time": 3.0}
    store.commit_cell("r1", CellRecord(one.id, one.label, one.config, "max_iter", "", metrics, rows, 1.0, 2.0))
    store.set_run_status("r1", "complete")
    store.close()
    return directory / "optbench.sqlite", "r1", one.id


def damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        del data[len(data) // 2:]
    else:  # garbage over the data pages, header and the first pages (meta, runs) intact
        page = int.from_bytes(data[16:18], "big")
        data[6 * page:] = random.Random(0).randbytes(len(data) - 6 * page)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["garbage", "truncated"])
def test_a_damaged_store_is_never_written_and_every_command_says_so_in_one_line(tmp_path, capsys, how):
    path, run_id, cell_id = filled_store(tmp_path)
    damage(path, how)
    before = sorted(tmp_path.iterdir()), path.read_bytes()
    out = str(tmp_path)
    one_line_error(capsys, main(["run", str(tmp_path / "s.toml"), "--out", out]), "damaged")
    one_line_error(capsys, main(["run", str(tmp_path / "s.toml"), "--out", out, "--resume", run_id]), "damaged")
    for command in (["report", run_id, "--format", "csv", "--dest", str(tmp_path / "r")],
                    ["export", run_id, "--dest", str(tmp_path / "e")], ["replay", run_id, cell_id],
                    ["compare", run_id, run_id]):
        one_line_error(capsys, main([*command, "--out", out]))
    assert (sorted(p for p in tmp_path.iterdir() if p.name not in ("r", "e")), path.read_bytes()) == before


def test_a_read_only_store_is_reported_and_refused_for_writing_in_one_line(tmp_path):
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        pytest.skip("needs unshare -rm to mount a directory read-only")
    store = tmp_path / "ro"
    store.mkdir()
    filled_store(store)
    script = ("import sys; from optbench.cli import main; "
              f"print(main(['report', 'r1', '--out', '{store}', '--format', 'csv', '--dest', '{tmp_path / 'rep'}']));"
              f"print(main(['run', '{store / 's.toml'}', '--out', '{store}']))")
    done = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount --bind {store} {store} && "
                           f"mount -o remount,ro,bind {store} {store} && {sys.executable} -c \"{script}\""],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.split()[-2:] == ["0", "2"], done.stdout + done.stderr
    assert "read-only" in done.stderr and "Traceback" not in done.stderr
    assert len(list((tmp_path / "rep").iterdir())) > 0


def test_a_full_disk_ends_the_run_in_one_line_and_keeps_the_committed_cells(faulty, tmp_path):
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        pytest.skip("needs unshare -rm to mount a small tmpfs")
    suite = write(tmp_path, "big.toml", SLOW.replace("delay = 0.004", "delay = 0.0")
                  .replace("max_iter = 40", "max_iter = 1000"))
    disk, kept = tmp_path / "disk", tmp_path / "kept"
    disk.mkdir()
    run = f"{sys.executable} -m optbench.cli run {suite} --out {disk} --quiet"
    done = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=600k none {disk} && "
                           f"{run}; echo \"exit $?\"; cp -a {disk} {kept}"], capture_output=True, text=True,
                          timeout=150)
    assert done.stdout.splitlines()[-1] == "exit 2", done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "database or disk is full" in done.stderr, done.stderr
    results = optbench.results.load(kept)
    assert results.runs.status.tolist() == ["failed"] and len(results.cells) >= 1
    assert (results.traces.groupby("cell_id").size() == 1001).all()


# ---- malformed suites and settings --------------------------------------------------------------
NUMBERS = ['timeout = {}', 'stop = {{ blowup = {} }}', 'stop = {{ tol_grad = {} }}', 'stop = {{ tol_f = {} }}',
           'stop = {{ time_budget = {} }}', 'objectives = [{{ name = "quadratic", x0 = [{}] }}]',
           'objectives = [{{ name = "quadratic", x0 = [[1.0, {}]] }}]',
           'objectives = [{{ name = "quadratic", params = {{ cond = {} }} }}]',
           'optimizers = [{{ name = "gd", params = {{ step = [0.1, {}] }} }}]']
THROUGHPUT_NUMBERS = ['timing = {{ min_time = {} }}', 'timing = {{ max_time = {} }}']


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("line", NUMBERS + THROUGHPUT_NUMBERS)
def test_non_finite_numbers_are_refused_wherever_a_number_is_allowed(line, value):
    base = {"name": 'name = "x"', "objectives": 'objectives = [{ name = "quadratic" }]'}
    task = 'task = "throughput"' if line in THROUGHPUT_NUMBERS else 'optimizers = [{ name = "gd" }]'
    key = line.split()[0]
    text = "\n".join([base["name"], base["objectives"] if key != "objectives" else "", task if key != "optimizers"
                      else "", line.format(value)])
    with pytest.raises(SuiteError, match="expected a finite number|must be finite"):
        parse_suite(text)


def test_a_huge_grid_is_refused_with_its_count_before_it_is_expanded(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("optbench.suite.validate", lambda *a: pytest.fail("the grid was expanded"))
    steps = ", ".join(str(0.001 * (i + 1)) for i in range(1000))
    suite = write(tmp_path, "huge.toml", 'name = "huge"\nobjectives = [{ name = "quadratic", params = '
                  '{ n = [' + ", ".join(map(str, range(2, 102))) + '] } }]\n'
                  f'optimizers = [{{ name = "gd", params = {{ step = [{steps}] }} }}]\nseeds = '
                  f'[{", ".join(map(str, range(100)))}]\n')
    one_line_error(capsys, main(["run", str(suite), "--out", str(tmp_path)]), "10,000,000 cells", "100,000")
    monkeypatch.setenv("OPTBENCH_MAX_CELLS", "5")
    suite = write(tmp_path, "small.toml", STORE_SUITE.replace("n = 2", "n = [2, 3, 4, 5, 6, 7]"))
    one_line_error(capsys, main(["run", str(suite), "--out", str(tmp_path), "--dry-run"]), "6 cells", "limit of 5")
    one_line_error(capsys, main(["run", str(suite), "--out", str(tmp_path), "--max-cells", "3"]), "limit of 3")


@pytest.mark.parametrize("text,words", [
    ('timeout = nan', "timeout: expected a finite number"),
    ('timeout = inf', "timeout: expected a finite number"),
    ('threads = 100000', "threads: expected a value <= 1024"),
])
def test_bad_limits_are_one_line_and_record_no_run(capsys, tmp_path, text, words):
    suite = write(tmp_path, "bad.toml", STORE_SUITE + "\n" + text)
    one_line_error(capsys, main(["run", str(suite), "--out", str(tmp_path)]), words)
    assert not (tmp_path / "optbench.sqlite").exists()


def test_a_suite_that_is_not_utf8_is_one_line(capsys, tmp_path):
    suite = tmp_path / "latin1.toml"
    suite.write_bytes(STORE_SUITE.replace('"s"', '"caf\xe9"').encode("latin-1"))
    one_line_error(capsys, main(["run", str(suite), "--out", str(tmp_path)]), "not UTF-8")


@pytest.mark.parametrize("args,words", [
    (["--jobs", "0"], "--jobs must be >= 1"),
    (["--jobs", "-3"], "--jobs must be >= 1"),
    (["--executor", "dask"], "needs dask.distributed"),
])
def test_bad_executor_settings_are_one_line_and_leave_no_run(capsys, tmp_path, monkeypatch, args, words):
    monkeypatch.setitem(sys.modules, "distributed", None)  # Dask absent
    suite = write(tmp_path, "s.toml", STORE_SUITE)
    one_line_error(capsys, main(["run", str(suite), "--out", str(tmp_path), *args]), words)
    assert not (tmp_path / "optbench.sqlite").exists()  # refused before anything was written


@pytest.mark.parametrize("out,words", [("file.txt", "cannot create the results directory"),
                                       ("x.sqlite", "is a directory")])
def test_an_out_that_cannot_hold_a_store_is_one_line(capsys, tmp_path, out, words):
    (tmp_path / "file.txt").write_text("notes")
    (tmp_path / "x.sqlite").mkdir()
    suite = write(tmp_path, "s.toml", STORE_SUITE)
    one_line_error(capsys, main(["run", str(suite), "--out", str(tmp_path / out)]), words)
    one_line_error(capsys, main(["report", "latest", "--out", str(tmp_path / out)]))


def test_a_refused_store_gets_no_wal_or_shm_files(tmp_path):
    path, _, _ = filled_store(tmp_path)
    damage(path, "garbage")
    with sqlite3.connect(path) as db:  # WAL mode, as optbench writes it
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()
    before = sorted(tmp_path.iterdir())
    with pytest.raises(optbench.store.StoreError):
        Store(tmp_path)
    assert sorted(tmp_path.iterdir()) == before


def test_the_store_keeps_nan_and_infinities_as_strict_json(tmp_path):
    from optbench.store import dumps, loads

    text = dumps({"f": float("nan"), "g": [float("inf"), -float("inf")], "h": 1.5})
    assert json.loads(text, parse_constant=pytest.fail)["g"] == ["Infinity", "-Infinity"]
    restored = loads(text)
    assert str(restored["f"]) == "nan" and restored["h"] == 1.5
