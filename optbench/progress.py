"""The progress of a suite run on stderr: cells done and failed, rate, ETA, what each worker runs.

On a terminal it is a ``rich`` live display, redrawn four times a second (so a long cell's
worker stays visible); elsewhere (a log, a CI job) it is one plain line every ``LINE_EVERY``
seconds and at the end, which reads well in a file.
"""
from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

from .vocabulary import FAILED

LINE_EVERY = 10.0  # seconds between plain lines when stderr is not a terminal


class Progress:
    """Counts finished cells (:meth:`update`) and shows them until :meth:`close`.

    ``running`` returns, per worker, the label of the cell it runs (``None`` when idle); the
    executors that know it pass it, others show no worker lines.
    """

    def __init__(self, total: int, done: int, quiet: bool = False, stream=None,
                 running: Callable[[], list[str | None]] | None = None):
        self.total, self.done, self.quiet, self.running = total, done, quiet, running
        self.stream = stream or sys.stderr
        self.failed = self.finished_here = 0
        self.start = self.last_line = time.monotonic()
        self.live = None
        if not quiet and self.stream.isatty():
            self.live = _live_display(self)

    def update(self, record) -> None:
        """One more cell finished with ``record.status``."""
        self.done += 1
        self.finished_here += 1
        self.failed += record.status in FAILED
        now = time.monotonic()
        if self.live is None and not self.quiet and (now - self.last_line >= LINE_EVERY or self.done == self.total):
            self.last_line = now
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    # ---- what is shown ----------------------------------------------------------------------
    def rate(self) -> float:
        """Cells finished per second in this process (resumed cells do not count)."""
        return self.finished_here / max(time.monotonic() - self.start, 1e-9)

    def eta(self) -> str:
        """The time left at the current rate, ``h:mm:ss``, or ``?`` before the first cell."""
        rate = self.rate()
        left = (self.total - self.done) / rate if rate > 0 else math.inf
        return "?" if math.isinf(left) else _clock(left)

    def workers(self) -> list[str]:
        """``worker k: LABEL`` (or ``idle``) per worker, when the executor says."""
        labels = self.running() if self.running is not None else []
        return [f"worker {k}: {label or 'idle'}" for k, label in enumerate(labels, 1)]

    def line(self) -> str:
        """The plain line: ``12/40 cells, 1 failed, 0.8 cells/s, ETA 0:00:35; running: ...``."""
        text = (f"{self.done}/{self.total} cells, {self.failed} failed, {self.rate():.2g} cells/s, "
                f"ETA {self.eta()}")
        busy = [label for label in (self.running() if self.running else []) if label]
        return text + (f"; running: {', '.join(busy)}" if busy else "")

    def close(self) -> None:
        """Stop redrawing; the last state stays on the terminal."""
        if self.live is not None:
            self.live.stop()
            self.live = None


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _live_display(progress: Progress):
    """A started ``rich.live.Live`` that redraws ``progress`` (bar, counts, rate, ETA, workers)."""
    from rich.console import Console, Group
    from rich.live import Live
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    class View:
        def __rich__(self):
            head = Table.grid(padding=(0, 1))
            head.add_row(ProgressBar(total=max(progress.total, 1), completed=progress.done, width=30),
                         Text(f"{progress.done}/{progress.total} cells"),
                         Text(f"{progress.failed} failed", style="red" if progress.failed else "dim"),
                         Text(f"{progress.rate():.2g} cells/s"), Text(f"ETA {progress.eta()}"))
            return Group(head, *(Text(line, style="dim", overflow="ellipsis", no_wrap=True)
                                 for line in progress.workers()))

    console = Console(file=progress.stream, stderr=progress.stream is sys.stderr)
    live = Live(View(), console=console, refresh_per_second=4, transient=False)
    live.start()
    return live
