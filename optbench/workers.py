"""Reusable worker processes that run cells, and the supervision that survives them dying.

A worker is a separate Python process (``python -P -m optbench.workers``, isolated from the
working directory) that loads the plugins once and then runs cell after cell, so importing
torch is paid once per worker, not per cell.
It talks to its supervisor over two pipes: ``("ready", pid, host)`` once, then per cell
``("start",)``, ``("rows", [...])`` batches flushed every few milliseconds by a background
thread (so a cell killed later still has its trace up to then), and ``("done", status,
reason, metrics)``. A :class:`Slot` supervises one worker: a worker that dies is recorded as
``crashed`` and one that outlives the cell's timeout is killed and recorded as ``timeout``;
either way the slot starts a fresh worker for the next cell.
"""
from __future__ import annotations

import faulthandler
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection

from .store import CellRecord
from .tasks import prepare, run_cell
from .vocabulary import thread_env

# -P (Python >= 3.11): the working directory is not put on sys.path, so a folder there named
# optbench/ cannot shadow the installed package in the workers
WORKER_COMMAND = [sys.executable, *(["-P"] if sys.version_info >= (3, 11) else []), "-m", "optbench.workers"]
STARTUP_GRACE = 120.0  # seconds a new worker may take to import the plugins
FLUSH_EVERY = 0.02  # seconds between trace batches


# ---- inside the worker process ----------------------------------------------------------------
class RowStream:
    """Collects trace rows and sends them in batches from a background thread."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.rows: list[dict] = []
        self.lock = threading.Lock()
        self.parent = os.getppid()
        threading.Thread(target=self._flush_forever, daemon=True).start()

    def emit(self, row: dict) -> None:
        self.rows.append(row)

    def send(self, message: tuple) -> None:
        """Send ``message`` after the rows emitted before it."""
        with self.lock:
            self._flush_locked()
            self.connection.send(message)

    def _flush_locked(self) -> None:
        if self.rows:
            batch, self.rows = self.rows, []
            self.connection.send(("rows", batch))

    def _flush_forever(self) -> None:
        while True:
            time.sleep(FLUSH_EVERY)
            if os.getppid() != self.parent:  # the supervisor is gone: nobody reads our results
                os._exit(1)
            with self.lock:
                self._flush_locked()


def set_threads(threads: int) -> dict:
    """Apply the cell's thread count to torch (the pools read the environment at start-up)."""
    settings = {"threads": threads, "omp_threads": os.environ.get("OMP_NUM_THREADS")}
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)
        settings["torch_threads"] = torch.get_num_threads()
    return settings


def serve(inbox: Connection, outbox: Connection) -> None:
    """The worker's loop: receive a cell config, run it, report; stop on ``None`` or EOF."""
    from .registry import load_registry

    load_registry()  # import every plugin (torch included) before the first cell
    host, pid = socket.gethostname(), os.getpid()
    stream = RowStream(outbox)
    stream.send(("ready", pid, host))
    while True:
        try:
            config = inbox.recv()
        except EOFError:
            return
        if config is None:
            return
        prepare(config)  # the backend's imports (torch: ~1 s) are start-up, not the cell's time
        stream.send(("start",))
        settings = set_threads(config["threads"])
        wall, cpu = time.perf_counter(), time.process_time()
        outcome = run_cell(config, stream.emit)
        metrics = {**outcome.metrics, "wall_time": time.perf_counter() - wall,
                   "cpu_time": time.process_time() - cpu, "pid": pid, "host": host, **settings}
        stream.send(("done", outcome.status, outcome.reason, metrics))


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    faulthandler.enable()  # a segfault prints the Python stack on stderr before the process dies
    inbox = Connection(int(argv[0]), writable=False)
    outbox = Connection(int(argv[1]), readable=False)
    serve(inbox, outbox)


# ---- in the supervisor ----------------------------------------------------------------------------
class Worker:
    """A handle on one worker process."""

    def __init__(self, threads: int = 1):
        self.threads = threads
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        self.process = subprocess.Popen(
            [*WORKER_COMMAND, str(to_worker_r), str(from_worker_w)],
            pass_fds=(to_worker_r, from_worker_w), stdin=subprocess.DEVNULL,
            env={**os.environ, **thread_env(threads)})
        os.close(to_worker_r)  # our copies; the worker's end-of-file must be visible
        os.close(from_worker_w)
        self.outbox = Connection(to_worker_w, readable=False)
        self.inbox = Connection(from_worker_r, writable=False)
        self.pid, self.host = self.process.pid, socket.gethostname()

    def death(self) -> str:
        """Why the process ended, once it has."""
        code = self.process.wait()
        if code < 0:
            name = signal.Signals(-code).name
            hint = ", possibly out of memory" if -code == signal.SIGKILL else ""
            return f"worker process died from signal {-code} ({name}{hint})"
        return f"worker process exited with status {code}"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.inbox.close()
        self.outbox.close()

    def stop(self) -> None:
        """Ask the worker to exit after its current message; kill it if it does not."""
        try:
            self.outbox.send(None)
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class Slot:
    """Runs one cell at a time on a worker it starts, and replaces the worker when it dies."""

    def __init__(self):
        self.worker: Worker | None = None
        self.cell = None
        self.rows: list[dict] = []
        self.deadline = 0.0
        self.started: float | None = None
        self.pid: int | None = None
        self.host: str | None = None

    @property
    def busy(self) -> bool:
        return self.cell is not None

    @property
    def connection(self) -> Connection:
        return self.worker.inbox

    def assign(self, cell) -> None:
        """Send ``cell`` (a :class:`~optbench.suite.Cell`) to this slot's worker."""
        threads = cell.config["threads"]
        if self.worker is None or self.worker.threads != threads:
            self.close()
            self.worker = Worker(threads)
        self.pid, self.host = self.worker.pid, self.worker.host
        self.cell, self.rows, self.started = cell, [], None
        self.deadline = time.monotonic() + STARTUP_GRACE + cell.config["timeout"]
        self.worker.outbox.send(cell.config)

    def time_left(self) -> float:
        return self.deadline - time.monotonic()

    def poll(self) -> CellRecord | None:
        """Read what the worker sent; the finished cell's record, if it finished or died."""
        try:
            while self.worker.inbox.poll():
                record = self._handle(self.worker.inbox.recv())
                if record is not None:
                    return record
        except (EOFError, OSError):
            return self._end("crashed", self._died())
        return None

    def check(self, readable: bool) -> CellRecord | None:
        """After a wait: the finished cell's record if it finished, died or ran out of time."""
        record = self.poll() if readable else None
        if record is None and self.time_left() <= 0:
            record = self.expire()
        return record

    def expire(self) -> CellRecord:
        """End the cell that ran out of time: kill its worker, keep the rows it streamed."""
        record = self.poll()  # rows, or even the result, that arrived just before the deadline
        if record is not None:
            return record
        timeout = self.cell.config["timeout"]
        where = "before the cell started" if self.started is None else f"after {timeout:g} s"
        self.worker.kill()
        self.worker = None
        return self._end("timeout", f"no result {where}; worker killed")

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def _handle(self, message: tuple) -> CellRecord | None:
        kind = message[0]
        if kind == "ready":
            self.pid, self.host = message[1], message[2]
        elif kind == "start":
            self.started = time.time()
            self.deadline = time.monotonic() + self.cell.config["timeout"]
        elif kind == "rows":
            self.rows.extend(message[1])
        elif kind == "done":
            return self._end(message[1], message[2], message[3])
        return None

    def _died(self) -> str:
        """The worker's pipe closed: reap it and say why it is gone."""
        worker, self.worker = self.worker, None
        try:
            worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # closed its pipe but lingers
            worker.kill()
            return "worker process closed its pipe and was killed"
        reason = worker.death()
        worker.kill()
        return reason

    def _end(self, status: str, reason: str, metrics: dict | None = None) -> CellRecord:
        cell, self.cell = self.cell, None
        if metrics is None:
            metrics = {"pid": self.pid, "host": self.host}
            if self.rows:
                metrics["iterations"] = self.rows[-1].get("iter")
        return CellRecord(cell.id, cell.label, cell.config, status, reason, metrics, self.rows,
                          self.started, time.time())


if __name__ == "__main__":
    main(sys.argv[1:])
