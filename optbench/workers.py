"""Reusable worker processes that run cells, and the supervision that survives them dying.

A worker is a separate Python process (``python -P -m optbench.workers``, isolated from the
working directory) that loads the plugins once and then runs cell after cell, so importing
torch is paid once per worker, not per cell.
It talks to its supervisor over two pipes: ``("ready", pid, host)`` once, then per cell
``("start",)``, ``("rows", [...])`` batches flushed every few milliseconds by a background
thread (so a cell killed later still has its trace up to then), and ``("done", status,
reason, metrics)``. A :class:`Slot` supervises one worker: a worker that dies while running
a cell gets that cell recorded as ``crashed``, one that outlives the cell's timeout is killed
and the cell recorded as ``timeout``; either way the slot starts a fresh worker for the next
cell. What a worker prints goes to a file the slot reads into the cell's ``output`` metric,
and a worker dies with its supervisor (docs/reliability.md lists every fault).
"""
from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import gc
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from .vocabulary import thread_env

if TYPE_CHECKING:  # the supervisor starts workers before it imports NumPy and the rest
    from .store import CellRecord

# -P (Python >= 3.11): the working directory is not put on sys.path, so a folder there named
# optbench/ cannot shadow the installed package in the workers; -u: a plugin's prints reach the
# cell's output file at once, even when the worker then dies
WORKER_COMMAND = [sys.executable, *(["-P"] if sys.version_info >= (3, 11) else []), "-u", "-m", "optbench.workers"]
STARTUP_GRACE = 120.0  # seconds a new worker may take to import the plugins
FLUSH_EVERY = 0.02  # seconds between trace batches
STOP_GRACE = 5.0  # seconds idle workers get to exit when the executor closes
EXIT_GRACE = 30.0  # seconds a worker that closed its pipe gets to finish exiting (a loaded machine is slow)
MAX_WAIT = 60.0  # longest single wait on the workers (a huge timeout must not overflow select)
RESENDS = 2  # times a cell is sent to a fresh worker when the last one died before starting it
OUTPUT_LIMIT = 64 * 1024  # bytes of a cell's printed output kept (its head and its tail)
PR_SET_PDEATHSIG = 1  # prctl option, <linux/prctl.h>


# ---- inside the worker process ----------------------------------------------------------------
class RowStream:
    """Collects trace rows and sends them in batches from a background thread."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.rows: list[dict] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._flush_forever, daemon=True).start()

    def emit(self, row: dict) -> None:
        self.rows.append(row)

    def send(self, message: tuple) -> None:
        """Send ``message`` after the rows emitted before it."""
        with self.lock:
            self._flush_locked()
            self._send(message)

    def _flush_locked(self) -> None:
        if self.rows:
            batch, self.rows = self.rows, []
            self._send(("rows", batch))

    def _send(self, message: tuple) -> None:
        try:
            self.connection.send(message)
        except OSError:  # the supervisor is gone: nobody reads our results, and no traceback helps
            os._exit(0)

    def _flush_forever(self) -> None:
        while True:
            time.sleep(FLUSH_EVERY)
            with self.lock:
                self._flush_locked()


def die_with(parent: int) -> None:
    """End this worker when its supervisor ends, however it ends and whatever the worker is doing.

    On Linux the kernel sends SIGKILL (a parent-death signal), which also stops a worker busy
    in C code holding the GIL; elsewhere a thread checks the parent now and then.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it ended before the signal was armed
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def set_threads(threads: int, backend: str | None = None) -> dict:
    """Apply the cell's thread count to its backend's engine (``Backend.set_threads``); the
    OpenMP/BLAS pools read the environment at start-up (:func:`thread_env`)."""
    from .registry import load_registry

    settings = {"threads": threads, "omp_threads": os.environ.get("OMP_NUM_THREADS")}
    if backend is not None:
        try:
            in_effect = load_registry().backend(backend).set_threads(threads)
        except Exception:  # noqa: BLE001 - a backend that cannot be made is the cell's to report
            in_effect = None
        if in_effect is not None:
            settings[f"{backend}_threads"] = in_effect
    return settings


def serve(inbox: Connection, outbox: Connection) -> None:
    """The worker's loop: receive a cell config, run it, report; stop on ``None`` or EOF."""
    with imports_kept_out_of_collections():
        from .registry import load_registry
        from .tasks import prepare, run_cell

        load_registry()  # import every plugin before the first cell
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
        with imports_kept_out_of_collections():
            prepare(config)  # the backend's imports (torch: ~1 s) are start-up, not the cell's time
        stream.send(("start",))
        settings = set_threads(config["threads"], config.get("backend"))
        wall, cpu = time.perf_counter(), time.process_time()
        outcome = run_cell(config, stream.emit)
        sys.stdout.flush()  # the plugin's prints belong to this cell's output
        sys.stderr.flush()
        metrics = {**outcome.metrics, "wall_time": time.perf_counter() - wall,
                   "cpu_time": time.process_time() - cpu, "pid": pid, "host": host, **settings}
        stream.send(("done", outcome.status, outcome.reason, metrics))


@contextlib.contextmanager
def imports_kept_out_of_collections():
    """Import with the garbage collector off, then freeze what the imports made.

    Imported modules live as long as the worker (torch's are about 170,000 objects). The
    collector's passes during an import scan them again and again (0.1-0.15 s of torch's 1.1 s
    import), and a full pass after it (50-70 ms) lands in the first cell, in its set-up or its
    solve. Frozen (``gc.freeze``), they are left out of every later pass. Only imports are
    frozen: a cell's own cyclic garbage must stay collectable.
    """
    modules = len(sys.modules)
    gc.disable()
    try:
        yield
    finally:
        if len(sys.modules) > modules:
            gc.freeze()
        gc.enable()


def main(argv: list[str]) -> None:
    die_with(int(argv[2]))
    for stop in (signal.SIGINT, signal.SIGHUP):  # Ctrl-C, a closed terminal: the driver's to handle
        signal.signal(stop, signal.SIG_IGN)
    faulthandler.enable()  # a segfault prints the Python stack on stderr before the process dies
    inbox = Connection(int(argv[0]), writable=False)
    outbox = Connection(int(argv[1]), readable=False)
    serve(inbox, outbox)
    # Every result is sent: skip the interpreter's teardown, which takes 0.3-0.4 s with torch
    # loaded and which the supervisor would wait for (it reaps its workers before returning).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# ---- in the supervisor ----------------------------------------------------------------------------
class Worker:
    """A handle on one worker process; what it prints goes to a file of its own."""

    def __init__(self, threads: int = 1):
        self.threads = threads
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        self.output = tempfile.TemporaryFile()
        self.mark = 0  # where the current cell's output starts
        self.process = subprocess.Popen(
            [*WORKER_COMMAND, str(to_worker_r), str(from_worker_w), str(os.getpid())],
            pass_fds=(to_worker_r, from_worker_w), stdin=subprocess.DEVNULL, stdout=self.output,
            stderr=self.output, env={**os.environ, **thread_env(threads)})
        os.close(to_worker_r)  # our copies; the worker's end-of-file must be visible
        os.close(from_worker_w)
        self.outbox = Connection(to_worker_w, readable=False)
        self.inbox = Connection(from_worker_r, writable=False)
        self.pid, self.host = self.process.pid, socket.gethostname()

    def alive(self) -> bool:
        return self.process.poll() is None

    def death(self) -> str:
        """Why the process ended, once it has."""
        code = self.process.wait()
        if code < 0:
            name = signal.Signals(-code).name
            hint = ", possibly out of memory" if -code == signal.SIGKILL else ""
            return f"worker process died from signal {-code} ({name}{hint})"
        return f"worker process exited with status {code}"

    def mark_output(self) -> None:
        """What the worker prints from now on belongs to the cell about to be sent.

        Marked when the cell is sent (the worker is idle then, its last cell's output taken),
        not when its "start" arrives, which may be read after the cell has printed.
        """
        self.mark = os.fstat(self.output.fileno()).st_size

    def take_output(self) -> str:
        """What the worker printed since the mark (its head and tail when long); moves the mark."""
        fd, end = self.output.fileno(), os.fstat(self.output.fileno()).st_size
        size, half = end - self.mark, OUTPUT_LIMIT // 2
        if size <= OUTPUT_LIMIT:
            data = os.pread(fd, size, self.mark)
        else:
            data = (os.pread(fd, half, self.mark) + f"\n[... {size - 2 * half} bytes left out ...]\n".encode()
                    + os.pread(fd, half, end - half))
        self.mark = end
        return data.decode(errors="replace")

    def ask_to_stop(self) -> None:
        """Ask the worker to exit after its current message (see :meth:`reap`)."""
        try:
            self.outbox.send(None)
        except OSError:  # already gone
            pass

    def reap(self, deadline: float) -> None:
        """Wait until ``deadline`` (monotonic) for the worker to exit, then kill it."""
        try:
            self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.inbox.close()
        self.outbox.close()
        self.output.close()


class Slot:
    """Runs one cell at a time on a worker it starts, and replaces the worker when it dies.

    Only the cell a worker had started is blamed for its death: a worker found dead, or dying
    before it starts the cell sent to it, is replaced and the cell sent again.
    """

    def __init__(self):
        self.worker: Worker | None = None
        self.cell = None
        self.rows: list[dict] = []
        self.output = ""
        self.deadline = 0.0
        self.started: float | None = None
        self.resends = 0
        self.pid: int | None = None
        self.host: str | None = None

    @property
    def busy(self) -> bool:
        return self.cell is not None

    @property
    def connection(self) -> Connection:
        return self.worker.inbox

    def start(self, threads: int) -> None:
        """Start a worker with ``threads`` threads now, if this slot has none."""
        if self.worker is None:
            self.worker = Worker(threads)

    def assign(self, cell) -> None:
        """Send ``cell`` (a :class:`~optbench.suite.Cell`) to this slot's worker."""
        self.cell, self.rows, self.output, self.started, self.resends = cell, [], "", None, 0
        self._send()

    def _send(self) -> None:
        """Send the cell to a live worker with the cell's thread count, starting one if needed."""
        threads = self.cell.config["threads"]
        if self.worker is not None and (self.worker.threads != threads or not self.worker.alive()):
            self.worker.ask_to_stop()
            self.worker.reap(time.monotonic() + STOP_GRACE)
            self.worker = None
        self.start(threads)
        self.worker.mark_output()
        self.pid, self.host = self.worker.pid, self.worker.host
        self.deadline = time.monotonic() + STARTUP_GRACE + self.cell.config["timeout"]
        try:
            self.worker.outbox.send(self.cell.config)
        except OSError:  # it died just now: poll() sees the end of its pipe and sends the cell again
            pass

    def time_left(self) -> float:
        """Seconds until the cell's deadline (at most :data:`MAX_WAIT`, a safe wait)."""
        return min(self.deadline - time.monotonic(), MAX_WAIT)

    def poll(self) -> CellRecord | None:
        """Read what the worker sent; the finished cell's record, if it finished or died."""
        try:
            while self.worker.inbox.poll():
                record = self._handle(self.worker.inbox.recv())
                if record is not None:
                    return record
        except (EOFError, OSError):
            reason = self._died()
            if self.started is None and self.resends < RESENDS:  # the cell never ran: not its fault
                self.resends += 1
                self._send()
                return None
            return self._end("crashed", reason)
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
        self._retire_worker()
        return self._end("timeout", f"no result {where}; worker killed")

    def begin_close(self) -> None:
        """Start stopping the worker: an idle one is asked to exit, a busy one (its cell abandoned) killed."""
        if self.worker is not None:
            if self.busy:
                self.worker.kill()
            else:
                self.worker.ask_to_stop()

    def finish_close(self, deadline: float) -> None:
        if self.worker is not None:
            self.worker.reap(deadline)
            self.worker = None

    def close(self) -> None:
        self.begin_close()
        self.finish_close(time.monotonic() + STOP_GRACE)

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
            self.output += self.worker.take_output()
            return self._end(message[1], message[2], message[3])
        return None

    def _died(self) -> str:
        """The worker's pipe closed: reap it and say why it is gone."""
        worker = self.worker
        try:
            worker.process.wait(timeout=EXIT_GRACE)
        except subprocess.TimeoutExpired:  # closed its pipe but lingers
            self._retire_worker()
            return "worker process closed its pipe and was killed"
        reason = worker.death()
        self._retire_worker()
        return reason

    def _retire_worker(self) -> None:
        """Kill the worker, keeping what it printed for the cell."""
        self.output += self.worker.take_output()
        self.worker.kill()
        self.worker = None

    def _end(self, status: str, reason: str, metrics: dict | None = None) -> CellRecord:
        from .store import CellRecord

        cell, self.cell = self.cell, None
        if metrics is None:
            metrics = {"pid": self.pid, "host": self.host}
            if self.rows:
                metrics["iterations"] = self.rows[-1].get("iter")
        if self.output:
            metrics["output"] = self.output
        return CellRecord(cell.id, cell.label, cell.config, status, reason, metrics, self.rows,
                          self.started, time.time())


if __name__ == "__main__":
    main(sys.argv[1:])
