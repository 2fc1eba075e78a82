"""Where cells run: a local pool of worker processes, or a Dask distributed cluster.

Both yield one :class:`~optbench.store.CellRecord` per cell, in completion order, and both
run every cell through a :class:`~optbench.workers.Slot`, so a cell crashes, times out and
streams its trace the same way everywhere. On Dask each Dask worker process keeps its own
slot (and so its own reusable optbench worker process) across the tasks it runs.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.connection import wait
from typing import TYPE_CHECKING

from .errors import OptbenchError
from .workers import STOP_GRACE, Slot

if TYPE_CHECKING:
    from .store import CellRecord

EXECUTORS = ("local", "dask")


class LocalExecutor:
    """``jobs`` worker processes on this machine, each reused across cells."""

    kind = "local"

    def __init__(self, jobs: int = 1):
        if jobs < 1:
            raise OptbenchError(f"--jobs must be >= 1, got {jobs}")
        self.slots = [Slot() for _ in range(jobs)]

    def start(self, threads: int = 1) -> None:
        """Start the workers before the cells are known, so that their start-up (Python, the
        plugins) overlaps the driver's own (parsing the suite, recording the run). A cell that
        needs another thread count replaces its worker, as it would any reused one."""
        for slot in self.slots:
            slot.start(threads)

    def run(self, cells: Iterable) -> Iterator[CellRecord]:
        pending = deque(cells)
        slots = self.slots
        while pending or any(slot.busy for slot in slots):
            for slot in slots:
                if not slot.busy and pending:
                    slot.assign(pending.popleft())
            busy = [slot for slot in slots if slot.busy]
            ready = wait([slot.connection for slot in busy], timeout=max(0.0, min(s.time_left() for s in busy)))
            for slot in busy:
                record = slot.check(slot.connection in ready)
                if record is not None:
                    yield record

    def running(self) -> list[str | None]:
        """The label of the cell each worker runs, ``None`` where idle (for the progress display)."""
        return [slot.cell.label if slot.cell is not None else None for slot in self.slots]

    def close(self) -> None:
        """Stop all workers at once (one after the other took seconds each on Ctrl-C)."""
        for slot in self.slots:
            slot.begin_close()
        deadline = time.monotonic() + STOP_GRACE
        for slot in self.slots:
            slot.finish_close(deadline)


# ---- Dask ---------------------------------------------------------------------------------------
_local = threading.local()


def run_in_slot(cell) -> CellRecord:
    """A Dask task: run ``cell`` on this Dask worker's own slot, supervised as locally."""
    slot = getattr(_local, "slot", None)
    if slot is None:
        slot = _local.slot = Slot()
    slot.assign(cell)
    while True:
        ready = wait([slot.connection], timeout=max(0.0, slot.time_left()))
        record = slot.check(bool(ready))
        if record is not None:
            return record


class DaskExecutor:
    """Cells as Dask tasks: on the cluster at ``address``, or on a new ``LocalCluster``.

    Checked when made, started on the first :meth:`run`, so a wrong setting is refused before
    the run is recorded.
    """

    kind = "dask"

    def __init__(self, jobs: int = 1, address: str | None = None):
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise OptbenchError("the dask executor needs dask.distributed: pip install 'optbench[dask]'") from None
        if jobs < 1:
            raise OptbenchError(f"--jobs must be >= 1, got {jobs}")
        self.jobs, self.address = jobs, address
        self.cluster = self.client = None

    def _start(self) -> None:
        from distributed import Client, LocalCluster

        if self.address is None:
            self.cluster = LocalCluster(n_workers=self.jobs, threads_per_worker=1, processes=True,
                                        host="127.0.0.1", dashboard_address=None)
        self.client = Client(self.cluster if self.address is None else self.address)

    def run(self, cells: Iterable) -> Iterator[CellRecord]:
        from distributed import as_completed

        if self.client is None:
            self._start()
        futures = [self.client.submit(run_in_slot, cell, key=f"optbench-cell-{cell.id}", pure=False)
                   for cell in cells]
        for future in as_completed(futures):
            yield future.result()
            future.release()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


Executor = LocalExecutor | DaskExecutor


def make_executor(kind: str = "local", jobs: int = 1, scheduler: str | None = None) -> Executor:
    """The executor named ``kind`` (``--executor``), with ``jobs`` workers."""
    if kind == "local":
        if scheduler is not None:
            raise OptbenchError("--scheduler needs --executor dask")
        return LocalExecutor(jobs)
    if kind == "dask":
        return DaskExecutor(jobs, scheduler)
    raise OptbenchError(f"unknown executor {kind!r}; available: {', '.join(EXECUTORS)}")
