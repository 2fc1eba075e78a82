"""The task registry, the layering it keeps (reading results never imports the runtime), and a
cell's look-ahead."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from optbench import minima, tasks
from optbench.schema import SCHEMA
from optbench.suite import parse_suite
from optbench.tasks import TASKS, optimize, run_cell

RUNTIME = ("torch", "optbench.workers", "optbench.runner", "optbench.executors", "optbench.throughput")


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_results_analysis_and_report_do_not_import_the_runtime():
    loaded = imported_after("import optbench.results, optbench.analysis, optbench.report")
    assert "optbench.tasks" in loaded  # the report draws through the tasks...
    assert not loaded & set(RUNTIME)  # ...whose modules import the runtime only to run a cell


def test_the_schema_names_exactly_the_registered_tasks():
    assert SCHEMA["properties"]["task"]["enum"] == list(TASKS)


def test_each_task_owns_distinct_keys_and_figures():
    keys = [key for task in TASKS.values() for key in task.keys]
    figures = [figure.id for task in TASKS.values() for figure in task.figures]
    assert len(keys) == len(set(keys)) and len(figures) == len(set(figures))
    for task in TASKS.values():
        assert set(task.required) <= set(SCHEMA["properties"]), task.name
        assert set(task.keys) <= set(SCHEMA["properties"]), task.name


# ---- a cell's look-ahead: its objective and f*, made while the worker imports the backend ---------
AHEAD_SUITE = """
name = "ahead"
objectives = [{ name = "logistic_regression", params = { n = 8, samples = 60 } }]
optimizers = [{ name = "gd", params = { step = 0.5 } }]
metrics = ["f", "f_gap"]
[stop]
max_iter = 3
"""


@pytest.fixture
def config(tmp_path, monkeypatch):
    """The one cell of AHEAD_SUITE, with an empty cache of known minima."""
    monkeypatch.setenv(minima.ENV_CACHE_DIR, str(tmp_path))
    monkeypatch.setattr(minima, "_memory", {})
    return parse_suite(AHEAD_SUITE).cells[0].config


def test_a_look_ahead_makes_the_objective_and_f_star_once_and_the_cell_is_charged_for_them(config, monkeypatch):
    made, solved = [], []
    make, find = optimize._objective, minima._find
    monkeypatch.setattr(optimize, "_objective", lambda config: made.append(1) or make(config))
    monkeypatch.setattr(minima, "_find", lambda *args: solved.append(1) or find(*args))
    optimize.ahead(config)
    outcome = run_cell(config, [].append)
    assert (len(made), len(solved)) == (1, 1)
    assert outcome.status == "max_iter" and outcome.metrics["f_star"] is not None
    assert outcome.metrics["setup_time"] > 0  # the look-ahead's reference solve, charged to the cell
    assert run_cell(config, [].append).metrics["setup_time"] == 0.0 and len(solved) == 1


def test_a_look_ahead_that_fails_leaves_the_failure_to_the_cell(config, monkeypatch):
    calls = []

    def fails(config):
        calls.append(1)
        raise RuntimeError("no such dataset")
    monkeypatch.setattr(optimize, "_objective", fails)
    monkeypatch.setattr(tasks, "_made", set())
    tasks.prepare(config)  # the look-ahead fails, and the worker goes on
    outcome = run_cell(config, [].append)
    assert outcome.status == "crashed" and "no such dataset" in outcome.reason and len(calls) == 2


def test_prepare_looks_ahead_only_before_a_backends_first_cell(config, monkeypatch):
    seen = []
    monkeypatch.setattr(tasks, "_made", set())
    monkeypatch.setitem(TASKS, "optimize", dataclasses.replace(TASKS["optimize"], ahead=seen.append))
    tasks.prepare(config)
    tasks.prepare(config)
    assert seen == [config] and tasks._made == {config["backend"]}


def test_the_look_ahead_starts_a_reference_solve_only_for_an_unknown_f_star_that_the_cell_reads(config):
    def started(config) -> bool:
        optimize.ahead(config)
        ((_, reference),) = optimize._ahead.values()
        return reference is not None
    assert started({**config, "metrics": ["f", "grad_norm"]}) is False  # nothing reads f*
    assert started(config) is True
    run_cell(config, [].append)  # f* is known from now on
    assert started(config) is False
    optimize._ahead.clear()


def test_prepare_never_raises_for_a_cell_without_a_backend_or_a_look_ahead_that_exits(config, monkeypatch):
    monkeypatch.setattr(tasks, "_made", set())

    def exits(config):
        raise SystemExit(3)
    monkeypatch.setitem(TASKS, "optimize", dataclasses.replace(TASKS["optimize"], ahead=exits))
    tasks.prepare(config)
    tasks.prepare({"task": "throughput", "measure": "bandwidth"})  # a probe cell: no backend key
    assert tasks._made == {config["backend"]}
