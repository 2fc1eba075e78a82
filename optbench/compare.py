"""Compare two runs of the same suite, cell by cell and metric by metric: did B regress against A?

Cells are matched by id (the same configuration, repeats included). For each metric, the
per-cell ratios B/A are summarised by their geometric mean; a metric regressed when that mean
is worse than ``1 + threshold`` in the metric's bad direction. Timings are noisy, so for them
a 95% bootstrap interval of the mean over the cells (repeats included) is the noise estimate,
and a regression must also be significant: the interval lies wholly on the bad side of 1.
Beyond the threshold but not significant is ``noise``.
A cell that succeeded in A and not in B is a regression of ``status`` whatever the threshold.
Runs measured under different machine load (their load averages at start and end) are
compared with a warning.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

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
    timing: bool = False  # a measured time: noisy, so a regression must also be significant


METRICS = (
    Metric("iterations", "lower", 1.0),
    Metric("oracle_calls", "lower", 1.0),
    Metric("solve_time", "lower", 1e-3, timing=True),  # the optimizer's time to its stopping point
    Metric("time_to_target", "lower", 1e-3, timing=True),  # time until f - f* <= TARGET (f(x0) - f*), where f* is known
    Metric("f_gap_final", "lower", 1e-12, accuracy=True),
    Metric("grad_norm_final", "lower", 1e-12, accuracy=True),
    Metric("per_second", "higher", 0.0, timing=True),
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
    """Per-cell ratios, the per-metric summary, which metrics regressed, and warnings."""

    ratios: pd.DataFrame  # cell_id, label, metric, a, b, ratio (B/A)
    summary: pd.DataFrame  # metric, better, cells, ratio, low, high, worst, worst_cell, verdict
    only_a: list[str]
    only_b: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> list[str]:
        return self.summary.loc[self.summary["verdict"] == "REGRESSED", "metric"].tolist()


TARGET = 1e-6  # relative reduction of f - f* that defines time_to_target
TRACE_COLUMNS = (*ORACLE_COUNTS, "time", "f_gap")  # all compare reads of the traces
CONFIDENCE = 0.95  # of the bootstrap interval of a metric's mean ratio
RESAMPLES = 2000
LOAD_TOLERANCE = 1.0  # load averages further apart than one busy core: the runs competed differently


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


def interval(log_ratios: np.ndarray) -> tuple[float, float]:
    """A 95% bootstrap interval of the geometric mean ratio (resampling cells; fixed seed, so reproducible)."""
    if len(log_ratios) < 2:
        value = float(np.exp(log_ratios.mean()))
        return value, value  # one cell: no noise estimate, the threshold alone decides
    rng = np.random.default_rng(0)
    means = log_ratios[rng.integers(0, len(log_ratios), (RESAMPLES, len(log_ratios)))].mean(axis=1)
    tail = (1.0 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(np.exp(low)), float(np.exp(high))


def _verdict(metric: Metric, mean: float, low: float, high: float, threshold: float) -> str:
    """Past the threshold (and, for timings, significant: the interval excludes 1) is a regression or an improvement."""
    if not metric.timing:  # counts and accuracies are deterministic: any change is real
        low = high = mean
    if metric.better == "higher":  # as factors of badness: above 1 is worse
        mean, low, high = 1.0 / mean, 1.0 / high, 1.0 / low
    if mean > 1.0 + threshold:
        return "REGRESSED" if low > 1.0 else "noise"
    if mean < 1.0 / (1.0 + threshold):
        return "improved" if high < 1.0 else "noise"
    return "ok"


def _summary(ratios: pd.DataFrame, matched: pd.DataFrame, threshold: float) -> pd.DataFrame:
    rows = []
    for metric in METRICS:
        these = ratios[ratios["metric"] == metric.name]
        these = these[np.isfinite(these["ratio"]) & (these["ratio"] > 0)]
        if not len(these):
            continue
        logs = np.log(these["ratio"].to_numpy(dtype=float))
        mean = float(np.exp(logs.mean()))
        low, high = interval(logs) if metric.timing else (np.nan, np.nan)
        worse = these["ratio"] if metric.better == "lower" else 1.0 / these["ratio"]
        worst = these.loc[worse.idxmax()]
        rows.append({"metric": metric.name, "better": metric.better, "cells": len(these), "ratio": mean,
                     "low": low, "high": high, "worst": float(worst["ratio"]),
                     "worst_cell": worst["label"] if worse.max() > 1 else "",
                     "verdict": _verdict(metric, mean, low, high, threshold)})
    lost = matched[matched["status_a"].isin(SUCCESS) & ~matched["status_b"].isin(SUCCESS)]
    rows.append({"metric": "status", "better": "success", "cells": len(matched), "ratio": np.nan, "low": np.nan,
                 "high": np.nan, "worst": np.nan, "worst_cell": (f"{len(lost)} lost success, e.g. "
                                                                 f"{lost['label'].iloc[0]} ({lost['status_b'].iloc[0]})")
                 if len(lost) else "", "verdict": "REGRESSED" if len(lost) else "ok"})
    return pd.DataFrame(rows)


def load_warnings(a: Results, b: Results) -> list[str]:
    """A warning when the two runs were measured under different machine load."""
    def load(results: Results) -> float:
        run = results.runs.iloc[-1]
        values = [run.get(k) for k in ("load_start", "load_end")]
        values = [float(v) for v in values if v is not None and pd.notna(v)]
        return float(np.mean(values)) if values else np.nan

    load_a, load_b = load(a), load(b)
    if np.isnan(load_a) or np.isnan(load_b):
        return ["the load average of " + ("both runs" if np.isnan(load_a) and np.isnan(load_b) else
                "run A" if np.isnan(load_a) else "run B") + " is unknown (a store written before it was recorded)"]
    if abs(load_a - load_b) > LOAD_TOLERANCE:
        return [f"run A was measured at load average {load_a:.1f} and run B at {load_b:.1f}: "
                "timings may differ because of the machine, not the code"]
    return []


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
                      sorted(set(cells_b["cell_id"]) - set(cells_a["cell_id"])), load_warnings(a, b))


def format_comparison(comparison: Comparison, run_a: str, run_b: str, threshold: float) -> str:
    """The summary table and a verdict line, as the CLI prints them."""
    shown = comparison.summary.copy()
    for column in ("ratio", "low", "high", "worst"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    shown["worst_cell"] = shown["worst_cell"].str.slice(0, 70)
    lines = [f"run B {run_b} against run A {run_a}: {int(comparison.summary['cells'].iloc[-1])} cells matched, "
             f"{len(comparison.only_a)} only in A, {len(comparison.only_b)} only in B; "
             f"threshold {threshold:.0%}; ratio = geometric mean of B/A over the cells, low-high its "
             f"{CONFIDENCE:.0%} bootstrap interval (a regression must be past the threshold and significant)", "",
             shown.to_string(index=False), "", *(f"warning: {w}" for w in comparison.warnings)]
    regressed = comparison.regressed
    lines.append(f"regressed: {', '.join(regressed)}" if regressed else "no regression past the threshold")
    return "\n".join(lines)
