"""The task registry and the layering it keeps: reading results never imports the runtime."""
from __future__ import annotations

import subprocess
import sys

from optbench.schema import SCHEMA
from optbench.tasks import TASKS

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
