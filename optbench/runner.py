"""The driver: run a suite's cells on an executor, commit each result, resume, replay.

The driver is the store's single writer. Cells that are already in the store for the run
being resumed are skipped, so a run killed at any point (Ctrl-C, SIGKILL) completes with
``--resume`` and no cell twice. Ctrl-C stops the workers and keeps every finished cell.
"""
from __future__ import annotations

import math
import secrets
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import environment
from .errors import OptbenchError
from .executors import Executor, LocalExecutor, make_executor
from .progress import Progress
from .registry import load_registry
from .store import CellRecord, Store, StoreError
from .suite import Suite, SuiteError, parse_suite
from .vocabulary import FAILED, TIMING_COLUMNS


@dataclass
class RunSummary:
    """What a call of :func:`run_suite` did."""

    run_id: str
    path: Path
    status: str
    total: int
    counts: Counter = field(default_factory=Counter)  # statuses of the cells finished by this call
    skipped_done: int = 0  # cells already in the store (resume)

    def line(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.counts.items())) or "nothing to run"
        resumed = f" ({self.skipped_done} already done)" if self.skipped_done else ""
        return f"run {self.run_id} {self.status}: {counts}{resumed}; results in {self.path}"


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def run_suite(suite: Suite, out: str | Path = "results", *, jobs: int = 1, executor: str | Executor = "local",
              scheduler: str | None = None, resume: str | None = None, only: str | None = None,
              quiet: bool = False, retry_failed: bool = False) -> RunSummary:
    """Run ``suite``'s cells (those matching ``only``) into the store at ``out``.

    ``executor``: a name (``--executor``), or an executor already made with ``jobs`` workers
    (and perhaps started early, as ``optbench run`` does); it is closed when the run ends.

    ``resume``: a run id, or ``latest``, to complete; ``retry_failed`` also reruns its
    ``crashed`` and ``timeout`` cells (their records are replaced). However the run ends, it
    gets a final status: ``complete``, ``interrupted`` (Ctrl-C) or ``failed`` (anything else,
    re-raised; a store that cannot be written is a :class:`~optbench.store.StoreError`).
    """
    store = None
    try:
        if retry_failed and resume is None:
            raise OptbenchError("--retry-failed reruns the failed cells of a resumed run: give --resume RUN (or latest)")
        cells = [cell for cell in suite.cells if only is None or cell.matches(only)]
        if not cells:
            raise OptbenchError(f"--only {only!r} matches none of the {len(suite.cells)} cells of {suite.path}")
        store = Store(out)
        run_id = new_run_id() if resume is None else store.latest_run() if resume == "latest" else resume
        store.claim(run_id)
        done = set() if resume is None else resumable(store, run_id, suite, retry_failed)
        todo = [cell for cell in cells if cell.id not in done]
        # bad settings (--jobs 0, no Dask) are refused before the run is recorded
        if isinstance(executor, str):
            runner, kind = make_executor(executor, jobs, scheduler) if todo else None, executor
        else:
            runner, kind = executor, executor.kind
        summary = RunSummary(run_id, store.path, "running", len(cells), skipped_done=len(cells) - len(todo))
        try:
            if resume is None:
                options = {"jobs": jobs, "executor": kind, "scheduler": scheduler, "only": only}
                env = environment.capture(load_registry(), suite.path, suite.hash, suite.data["threads"])
                store.create_run(run_id, suite, len(cells), options, env)
            else:
                store.set_run_status(run_id, "running")
            progress = Progress(len(cells), len(cells) - len(todo), quiet, running=getattr(runner, "running", None))
            summary.status = drive(store, run_id, todo, runner, progress, summary.counts)
            store.set_run_status(run_id, summary.status)
        except sqlite3.Error as exc:
            end_run(store, run_id, "failed")
            raise StoreError(f"writing to {str(store.path)!r} failed ({exc}); every cell committed before is kept "
                             f"({sum(summary.counts.values())} by this call): free the problem, then --resume "
                             f"{run_id}") from None
        except KeyboardInterrupt:  # before or after the cells ran
            end_run(store, run_id, "interrupted")
            raise
        except BaseException:
            end_run(store, run_id, "failed")
            raise
        return summary
    finally:
        if store is not None:
            store.close()
        if not isinstance(executor, str):  # also when the run failed before its cells ran
            executor.close()


def resumable(store: Store, run_id: str, suite: Suite, retry_failed: bool = False) -> set[str]:
    """The finished cells of run ``run_id``, which must have been started from ``suite``.

    ``retry_failed`` first forgets its ``crashed`` and ``timeout`` cells, so they run again.
    """
    if store.run(run_id)["suite_hash"] != suite.hash:
        raise SuiteError(suite.path, "", f"the suite file changed since run {run_id!r} started; "
                         "resume it with the same file or start a new run")
    if retry_failed:
        store.forget_cells(run_id, FAILED)
    return store.done_cells(run_id)


def end_run(store: Store, run_id: str, status: str) -> None:
    """Record the run's final ``status`` if the store still takes a write (a full disk may not)."""
    try:
        store.set_run_status(run_id, status)
    except sqlite3.Error:
        pass


def drive(store: Store, run_id: str, todo: list, runner, progress: Progress, counts: Counter) -> str:
    """Run ``todo`` on the executor ``runner`` and commit each cell as it finishes.

    Returns ``"complete"``, or ``"interrupted"`` on Ctrl-C; the executor is closed either way.
    """
    if runner is None:
        return "complete"
    try:
        for record in runner.run(todo):
            store.commit_cell(run_id, record)
            counts[record.status] += 1
            progress.update(record)
        return "complete"
    except KeyboardInterrupt:
        return "interrupted"
    finally:
        progress.close()
        runner.close()


# ---- replay ---------------------------------------------------------------------------------------
@dataclass
class Replay:
    """A recorded cell, its rerun, and the differences between them."""

    original: CellRecord
    rerun: CellRecord
    differences: list[str]

    @property
    def reproduces(self) -> bool:
        return not self.differences


def replay(out: str | Path, run_id: str, cell_prefix: str, registry=None) -> Replay:
    """Rerun one recorded cell from its stored configuration (in a fresh worker) and compare."""
    store = Store(out, create=False)
    try:
        original = store.cell(run_id, cell_prefix)
        suite_text = store.run(run_id)["suite_text"]
    finally:
        store.close()
    # the cell as the suite defines it now (a changed plugin default changes the config)
    suite = parse_suite(suite_text, f"run {run_id}", registry)
    cell = next((c for c in suite.cells if c.id == original.id), None)
    if cell is None:
        raise OptbenchError(f"cell {original.id} ({original.label}) is no longer produced by run {run_id}'s "
                            "suite with the installed plugins (a parameter default changed?)")
    executor = LocalExecutor(1)
    try:
        rerun = next(executor.run([cell]))
    finally:
        executor.close()
    return Replay(original, rerun, compare(original, rerun))


def compare(a: CellRecord, b: CellRecord, rtol: float = 1e-9) -> list[str]:
    """What differs between two records of one cell, timings aside."""
    out = []
    if a.status != b.status:
        out.append(f"status: {a.status} recorded, {b.status} now")
    if len(a.rows) != len(b.rows):
        out.append(f"trace: {len(a.rows)} rows recorded, {len(b.rows)} now")
    for ra, rb in zip(a.rows, b.rows):
        for key in ra.keys() - set(TIMING_COLUMNS):
            if not _close(ra[key], rb.get(key), rtol):
                out.append(f"trace at iteration {ra.get('iter')}: {key} = {ra[key]!r} recorded, {rb.get(key)!r} now")
                return out
    return out


def _close(x, y, rtol: float) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return x == y or (math.isnan(x) and math.isnan(y)) or abs(x - y) <= rtol * max(abs(x), abs(y))
    return x == y
