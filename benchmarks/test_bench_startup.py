"""Start-up of commands that run no cell: ``optbench list objectives`` against the bare interpreter.

Target (issue 20): ``optbench list objectives`` in at most 0.5 s; it imports no backend.
"""
from __future__ import annotations

import subprocess
import sys

GROUP = "start-up: a fresh process"


def run(*args: str) -> None:
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)


def test_list_objectives(benchmark):
    benchmark.group = GROUP
    benchmark.extra_info["role"] = "subject"
    benchmark.pedantic(run, args=("-m", "optbench.cli", "list", "objectives"), rounds=5, warmup_rounds=1)


def test_bare_interpreter(benchmark):
    benchmark.group = GROUP
    benchmark.extra_info["role"] = "baseline"
    benchmark.pedantic(run, args=("-c", "pass"), rounds=5, warmup_rounds=1)
