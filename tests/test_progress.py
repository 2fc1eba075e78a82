"""The run's progress display: a rich live view on a terminal, plain lines in logs, nothing when quiet."""
from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from optbench import progress as progress_module
from optbench.cli import main
from optbench.progress import Progress

LABELS = ["quadratic(n=2)/gd(step=0.1)/torch/cpu/float64/seed=0", None]


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    """A monotonic clock the test moves by hand."""
    now = SimpleNamespace(t=100.0)
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: now.t)
    return now


def finish(progress, clock, *statuses, seconds=2.0):
    for status in statuses:
        clock.t += seconds
        progress.update(SimpleNamespace(status=status))


def test_a_log_gets_a_plain_line_every_ten_seconds_and_at_the_end(clock):
    log = io.StringIO()
    progress = Progress(4, 0, stream=log, running=lambda: LABELS)
    finish(progress, clock, "converged", "crashed")
    assert log.getvalue() == ""  # 4 s in: too early for a line
    finish(progress, clock, "converged", seconds=6.0)
    finish(progress, clock, "timeout")
    progress.close()
    first, last = log.getvalue().splitlines()
    assert first == f"3/4 cells, 1 failed, 0.3 cells/s, ETA 0:00:03; running: {LABELS[0]}"
    assert last.startswith("4/4 cells, 2 failed, 0.33 cells/s, ETA 0:00:00")


def test_a_resumed_run_counts_its_rate_from_the_cells_run_now(clock):
    progress = Progress(10, 6, stream=io.StringIO())
    assert progress.eta() == "?"
    finish(progress, clock, "converged", "converged", seconds=5.0)
    assert progress.done == 8 and progress.rate() == pytest.approx(0.2) and progress.eta() == "0:00:10"


def test_a_terminal_gets_the_live_view_with_the_cell_on_each_worker(clock):
    terminal = Terminal()
    progress = Progress(3, 0, stream=terminal, running=lambda: LABELS)
    assert progress.live is not None
    finish(progress, clock, "converged", "crashed")
    progress.live.refresh()
    progress.close()
    shown = terminal.getvalue()
    assert "2/3 cells" in shown and "1 failed" in shown and "cells/s" in shown and "ETA 0:00:02" in shown
    assert f"worker 1: {LABELS[0]}" in shown and "worker 2: idle" in shown
    assert progress.live is None


def test_quiet_shows_nothing_anywhere(clock):
    for stream in (io.StringIO(), Terminal()):
        progress = Progress(2, 0, quiet=True, stream=stream, running=lambda: LABELS)
        finish(progress, clock, "converged", "converged")
        progress.close()
        assert stream.getvalue() == "" and progress.live is None


def test_a_run_in_a_log_ends_with_a_plain_progress_line(tmp_path, capsys):
    suite = tmp_path / "s.toml"
    suite.write_text('name = "s"\nobjectives = [{ name = "quadratic", params = { n = 2 } }]\n'
                     'optimizers = [{ name = "gd" }]\nseeds = [0, 1]\n[stop]\nmax_iter = 3\n')
    assert main(["run", str(suite), "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("2/2 cells, 0 failed, ") and "ETA 0:00:00" in err
