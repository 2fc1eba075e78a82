"""Compare two runs of the same suite, cell by cell and metric by metric: did B regress against A?

Cells are matched by id (the same configuration). For each metric, the per-cell ratios B/A
are summarised by their geometric mean; a metric regressed when that mean is worse than
``1 + threshold`` in the metric's bad direction. A cell that succeeded in A and not in B is a
regression of ``status`` whatever the threshold.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import analysis
from .errors import OptbenchError, ParameterError
from .results import Results
from .vocabulary import ORACLE_COUNTS, SUCCESS


class CompareError(OptbenchError):
    """Two runs that cannot be compared (different suites, no common cell)."""


@dataclass(frozen=True)
class Metric:
    """A compared cell metric: which way is better, and the floor below which values count as equal."""

    name: str
    better: str  # "lower" or "higher"
    floor: float
    accuracy: bool = False  # compared only where neither run's cell succeeded (both met the tolerance)


METRICS = (
    Metric("iterations", "lower", 1.0),
    Metric("oracle_calls", "lower", 1.0),
    Metric("solve_time", "lower", 1e-3),  # the optimizer's time to its stopping point
    Metric("time_to_target", "lower", 1e-3),  # time until f - f* <= TARGET (f(x0) - f*), where f* is known
    Metric("f_gap_final", "lower", 1e-12, accuracy=True),
    Metric("grad_norm_final", "lower", 1e-12, accuracy=True),
    Metric("per_second", "higher", 0.0),
)


def parse_threshold(text: str) -> float:
    """``"10%"`` or ``"0.1"`` as the fraction 0.1."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(%?)\s*", str(text))
    if match is None:
        raise ParameterError(f"--threshold expects a percentage like 10% or a fraction like 0.1, got {text!r}")
    value = float(match.group(1)) / (100.0 if match.group(2) else 1.0)
    if value <= 0:
        raise ParameterError(f"--threshold must be positive, got {text!r}")
    return value


@dataclass
class Comparison:
    """Per-cell ratios, the per-metric summary, and which metrics regressed."""

    ratios: pd.DataFrame  # cell_id, label, metric, a, b, ratio (B/A)
    summary: pd.DataFrame  # metric, better, cells, ratio, worst, worst_cell, verdict
    only_a: list[str]
    only_b: list[str]

    @property
    def regressed(self) -> list[str]:
        return self.summary.loc[self.summary["verdict"] == "REGRESSED", "metric"].tolist()


TARGET = 1e-6  # relative reduction of f - f* that defines time_to_target


def _derived(results: Results) -> pd.DataFrame:
    """The cells with ``oracle_calls`` and ``time_to_target`` added where their data allow."""
    cells = results.cells
    counts = [c for c in ORACLE_COUNTS if c in cells]
    if counts:
        cells = cells.assign(oracle_calls=cells[counts].sum(axis=1, min_count=1))
    traces = results.traces
    if len(traces) and "f_gap" in traces and traces["f_gap"].notna().any():
        reached = analysis.targets_reached(traces[traces["f_gap"].notna()], targets=(TARGET,))
        cells = cells.merge(reached[["cell_id", "time"]].rename(columns={"time": "time_to_target"}),
                            on="cell_id", how="left")
    return cells


def _ratios(matched: pd.DataFrame) -> pd.DataFrame:
    frames = []
    succeeded = matched["status_a"].isin(SUCCESS) | matched["status_b"].isin(SUCCESS)
    for metric in METRICS:
        if f"{metric.name}_a" not in matched or f"{metric.name}_b" not in matched:
            continue
        rows = matched[~succeeded] if metric.accuracy else matched
        a = pd.to_numeric(rows[f"{metric.name}_a"], errors="coerce")
        b = pd.to_numeric(rows[f"{metric.name}_b"], errors="coerce")
        keep = a.notna() & b.notna()
        a, b = a[keep], b[keep]
        ratio = np.maximum(b, metric.floor) / np.maximum(a, metric.floor)
        frames.append(pd.DataFrame({"cell_id": rows.loc[keep, "cell_id"], "label": rows.loc[keep, "label"],
                                    "metric": metric.name, "a": a, "b": b, "ratio": ratio.fillna(1.0)}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["cell_id", "label", "metric", "a", "b", "ratio"])


def _summary(ratios: pd.DataFrame, matched: pd.DataFrame, threshold: float) -> pd.DataFrame:
    rows = []
    for metric in METRICS:
        these = ratios[ratios["metric"] == metric.name]
        these = these[np.isfinite(these["ratio"]) & (these["ratio"] > 0)]
        if not len(these):
            continue
        mean = float(np.exp(np.log(these["ratio"]).mean()))
        worse = these["ratio"] if metric.better == "lower" else 1.0 / these["ratio"]
        worst = these.loc[worse.idxmax()]
        bad = mean if metric.better == "lower" else 1.0 / mean
        verdict = "REGRESSED" if bad > 1.0 + threshold else "improved" if bad < 1.0 / (1.0 + threshold) else "ok"
        rows.append({"metric": metric.name, "better": metric.better, "cells": len(these), "ratio": mean,
                     "worst": float(worst["ratio"]), "worst_cell": worst["label"] if worse.max() > 1 else "",
                     "verdict": verdict})
    lost = matched[matched["status_a"].isin(SUCCESS) & ~matched["status_b"].isin(SUCCESS)]
    rows.append({"metric": "status", "better": "success", "cells": len(matched), "ratio": np.nan,
                 "worst": np.nan, "worst_cell": (f"{len(lost)} lost success, e.g. {lost['label'].iloc[0]} "
                                                 f"({lost['status_b'].iloc[0]})") if len(lost) else "",
                 "verdict": "REGRESSED" if len(lost) else "ok"})
    return pd.DataFrame(rows)


def compare(a: Results, b: Results, threshold: float = 0.10) -> Comparison:
    """Compare run ``b`` against run ``a`` (each ``optbench.results.load(path, run=...)``)."""
    suite_a, suite_b = a.runs["suite_name"].iloc[-1], b.runs["suite_name"].iloc[-1]
    if suite_a != suite_b:
        raise CompareError(f"runs of different suites cannot be compared: {suite_a!r} and {suite_b!r}")
    cells_a, cells_b = _derived(a), _derived(b)
    if not len(cells_a) or not len(cells_b):
        raise CompareError("a run without finished cells cannot be compared")
    matched = cells_a.merge(cells_b.drop(columns=["label"]), on="cell_id", suffixes=("_a", "_b"))
    if not len(matched):
        raise CompareError("the two runs have no cell in common (was the suite changed?)")
    ratios = _ratios(matched)
    return Comparison(ratios, _summary(ratios, matched, threshold),
                      sorted(set(cells_a["cell_id"]) - set(cells_b["cell_id"])),
                      sorted(set(cells_b["cell_id"]) - set(cells_a["cell_id"])))


def format_comparison(comparison: Comparison, run_a: str, run_b: str, threshold: float) -> str:
    """The summary table and a verdict line, as the CLI prints them."""
    shown = comparison.summary.copy()
    for column in ("ratio", "worst"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    shown["worst_cell"] = shown["worst_cell"].str.slice(0, 70)
    lines = [f"run B {run_b} against run A {run_a}: {int(comparison.summary['cells'].iloc[-1])} cells matched, "
             f"{len(comparison.only_a)} only in A, {len(comparison.only_b)} only in B; "
             f"threshold {threshold:.0%}; ratio = geometric mean of B/A over the cells", "",
             shown.to_string(index=False), ""]
    regressed = comparison.regressed
    lines.append(f"regressed: {', '.join(regressed)}" if regressed else "no regression past the threshold")
    return "\n".join(lines)
