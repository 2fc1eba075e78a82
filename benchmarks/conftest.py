"""Shared set-up of the pytest-benchmark micro-benchmarks.

Engines are compared single-threaded (see docs/benchmarks.md), and every group's times
are printed as ratios to its baseline measured in the same run: set ``benchmark.group``,
``benchmark.extra_info["role"]`` (``"subject"`` or ``"baseline"``) and optionally
``benchmark.extra_info["target"]`` (the largest acceptable subject/baseline ratio). A ratio
measured inside one benchmark (iteration 1 against the median iteration of one run, say)
goes in ``extra_info["ratio"]``, with ``"subject_us"`` and ``"baseline_us"``, and is listed too.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

_measured: list[dict] = []


@pytest.fixture(autouse=True)
def _collect_ratio(request):
    """After each benchmark, keep its minimum time, group and role for the ratio table."""
    yield
    bench = request.node.funcargs.get("benchmark")
    if bench is None or getattr(bench, "stats", None) is None:
        return
    info = bench.extra_info
    _measured.append({"test": request.node.name, "group": bench.group, "role": info.get("role", "subject"),
                      "target": info.get("target"), "min_s": bench.stats.stats.min, "ratio": info.get("ratio"),
                      "subject_us": info.get("subject_us"), "baseline_us": info.get("baseline_us"),
                      "baseline": info.get("baseline")})


def ratio_rows(measured: list[dict]) -> list[dict]:
    """subject/baseline ratios of minimum times, per group with exactly one baseline."""
    rows = []
    for group in sorted({m["group"] for m in measured if m["group"]}):
        members = [m for m in measured if m["group"] == group]
        baselines = [m for m in members if m["role"] == "baseline"]
        if len(baselines) != 1:
            continue
        base = baselines[0]
        for m in members:
            if m is base:
                continue
            ratio = m["min_s"] / base["min_s"]
            rows.append({"group": group, "subject": m["test"], "baseline": base["test"],
                         "subject_us": m["min_s"] * 1e6, "baseline_us": base["min_s"] * 1e6,
                         "ratio": ratio, "target": m["target"],
                         "met": None if m["target"] is None else ratio <= m["target"]})
    for m in measured:
        if m["ratio"] is not None:
            rows.append({"group": m["group"], "subject": m["test"], "baseline": m["baseline"],
                         "subject_us": m["subject_us"], "baseline_us": m["baseline_us"], "ratio": m["ratio"],
                         "target": m["target"], "met": None if m["target"] is None else m["ratio"] <= m["target"]})
    return rows


def pytest_terminal_summary(terminalreporter):
    rows = ratio_rows(_measured)
    if not rows:
        return
    tr = terminalreporter
    tr.section("same-run ratios (subject / baseline, minimum times, 1 thread)")
    for r in rows:
        verdict = "" if r["met"] is None else ("  ok" if r["met"] else "  MISSED")
        target = "" if r["target"] is None else f" (target <= {r['target']:g})"
        tr.write_line(f"{r['group']}: {r['subject']} {r['subject_us']:.1f} us / {r['baseline']} "
                      f"{r['baseline_us']:.1f} us = {r['ratio']:.3f}x{target}{verdict}")
    out = Path(os.environ.get("OPTBENCH_RATIOS", ".benchmarks/ratios.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    tr.write_line(f"ratios written to {out}")
