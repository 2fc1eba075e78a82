"""The tasks a suite can run, by name, and the call a worker makes to run one cell.

Each task lives in one module of this package (see :class:`~optbench.tasks.base.Task`): its
suite keys, grid expansion, what a cell does, and its report tables and figures. Adding a task
is a new module and one line in :data:`TASKS` (and the name in the schema's ``task`` enum).
"""
from __future__ import annotations

from ..errors import CapabilityError
from ..vocabulary import describe
from . import optimize, throughput
from .base import Emit, Figure, Outcome, Task
from .throughput import cuda_available

TASKS: dict[str, Task] = {task.name: task for task in (optimize.TASK, throughput.TASK)}


_made: set[str] = set()  # the backends this process has made


def prepare(config: dict) -> None:
    """Make the cell's backend, so that its imports happen before the cell's clock starts; the
    first time, the task's look-ahead (:attr:`Task.ahead`) runs meanwhile.

    Nothing raised here ends the worker: a backend that cannot be made, or a look-ahead that
    fails, is left for the cell to meet again and report.
    """
    from ..registry import load_registry

    backend, task = config.get("backend"), TASKS.get(config.get("task"))  # a probe cell has no backend
    if backend not in _made and task is not None and task.ahead is not None:
        try:
            task.ahead(config)
        except (Exception, SystemExit):  # noqa: BLE001 - the cell meets the failure again and reports it
            pass
    if backend is None:
        return
    try:
        load_registry().backend(backend)
    except Exception:  # noqa: BLE001 - run_cell records the same failure as the cell's outcome
        return
    _made.add(backend)


def run_cell(config: dict, emit: Emit) -> Outcome:
    """Run one cell's task; exceptions become ``skipped`` or ``crashed`` outcomes."""
    try:
        return TASKS[config["task"]].run(config, emit)
    except CapabilityError as exc:
        return Outcome("skipped", str(exc))
    except (Exception, SystemExit) as exc:  # the cell's failure is a result; the worker goes on
        return Outcome("crashed", describe(exc))


__all__ = ["TASKS", "Emit", "Figure", "Outcome", "Task", "cuda_available", "prepare", "run_cell"]
