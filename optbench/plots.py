"""The report's figures: one matplotlib figure per table of ``optbench.report.tables``, as PNG bytes.

Every function takes the tidy table behind its figure and draws nothing else, so what a
figure shows is exactly what ``tables()`` returns. Names from plugins and suite files pass
through :func:`plain` first: matplotlib would read a ``$`` in them as mathematics. Figures are
built with matplotlib's object API, not pyplot, so drawing a report never changes the
caller's pyplot backend (a notebook's inline plots keep working) and needs no display.
"""
from __future__ import annotations

import io
import math

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

PANEL = (4.2, 3.2)  # inches per panel
MAX_PANELS = 24


def plain(text) -> str:
    """``text`` as matplotlib prints it literally (no mathtext)."""
    return str(text).replace("$", r"\$")


def png(figure: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    return buffer.getvalue()


def panels(count: int, columns: int = 3):
    """A figure with ``count`` axes in a grid (unused ones hidden)."""
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(PANEL[0] * columns, PANEL[1] * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return figure, list(axes.flat[:count])


def legend(figure, axes) -> None:
    """One legend for the whole figure, from the labels of every panel, below the panels."""
    seen = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    if seen:
        figure.legend(seen.values(), seen.keys(), loc="lower center", ncol=min(4, len(seen)),
                      bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize="small")


def colours(names) -> dict:
    """A stable colour per name, in order of first appearance."""
    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    return {name: cycle[i % len(cycle)] for i, name in enumerate(dict.fromkeys(names))}


# ---- convergence --------------------------------------------------------------------------
def resolution(values: np.ndarray, dtype: str) -> float:
    """The smallest value of a curve its dtype resolves: eps x max(1, the value at x0).

    f - f* and |grad f| below that are rounding (or exactly 0), which a log axis cannot show.
    """
    start = abs(values[0]) if np.isfinite(values[0]) else 1.0
    return float(np.finfo(dtype).eps) * max(1.0, start)


def convergence(table: pd.DataFrame, budget_label: str, solved_at: str = "{}") -> bytes:
    """f - f* (or the gradient norm where f* is unknown) against the budget, a panel per problem.

    Every problem of ``table`` has a finite value to draw (:func:`optbench.report.convergence_table`
    keeps those rows only). A curve that reaches its :func:`resolution` (0 included) ends on that floor, drawn dotted,
    with a triangle where it first got there; each panel lists, per method, the budget
    (``solved_at`` words it: ``"iteration {}"``; a range over the method's cells) at which that happened. A cell with one point is drawn as a dot.
    """
    measures = {problem: "f_gap" if np.isfinite(rows["f_gap"].to_numpy(dtype=float)).any() else "grad_norm"
                for problem, rows in table.groupby("problem", sort=False)}
    problems = list(measures)[:MAX_PANELS]
    figure, axes = panels(len(problems))
    colour = colours(table["method"])
    for ax, problem in zip(axes, problems):
        rows, measure = table[table["problem"] == problem], measures[problem]
        solved: dict[str, list[float]] = {}
        for (method, _), cell in rows.groupby(["method", "cell_id"], sort=False):
            values, budget = cell[measure].to_numpy(dtype=float), cell["budget"].to_numpy(dtype=float)
            floor = resolution(values, cell["dtype"].iloc[0])
            reached = np.flatnonzero(values <= floor)
            end = reached[0] + 1 if reached.size else len(values)
            shown = np.where(np.isfinite(values[:end]), np.maximum(values[:end], floor), np.nan)
            ax.plot(budget[:end], shown, color=colour[method], label=plain(method), linewidth=1.2,
                    marker="o" if np.isfinite(shown).sum() == 1 and not reached.size else None, markersize=3)
            if reached.size:
                ax.plot(budget[end - 1:], np.full(len(budget) - end + 1, floor), color=colour[method], linestyle=":")
                ax.plot(budget[end - 1], floor, "v", color=colour[method], markersize=6)
                solved.setdefault(method, []).append(budget[end - 1])
        for line, (method, budgets) in enumerate(solved.items()):
            first, last = min(budgets), max(budgets)
            when = solved_at.format(f"{first:.4g}" if first == last else f"{first:.4g}-{last:.4g}")
            ax.annotate(f"{plain(method)}: solved at {when}", (0.98, 0.97 - 0.08 * line), xycoords="axes fraction",
                        ha="right", va="top", fontsize="x-small", color=colour[method])
        ax.set_yscale("log")
        ax.set_title(plain(problem), fontsize="medium")
        ax.set_xlabel(budget_label)
        ax.set_ylabel("f - f*" if measure == "f_gap" else "|grad f|")
        ax.grid(True, which="major", alpha=0.3)
    legend(figure, axes)
    return png(figure)


# ---- conditioning -------------------------------------------------------------------------
def _kappa_series(frame: pd.DataFrame, several_n: bool) -> pd.Series:
    name = frame["optimizer"].astype(str)
    return name + " n=" + frame["objective.n"].map(lambda n: f"{n:g}") if several_n else name


def kappa(points: pd.DataFrame, fits: pd.DataFrame) -> bytes:
    """Iterations to tolerance against kappa, log-log, with the fitted line, its slope and theory's."""
    figure, (ax,) = panels(1, 1)
    figure.set_size_inches(7.5, 5.0)
    several_n = points["objective.n"].nunique() > 1
    points = points.assign(series=_kappa_series(points, several_n))
    fits = fits.assign(series=_kappa_series(fits, several_n))
    colour = colours(points["series"])
    for series, rows in points.groupby("series", sort=False):
        ax.loglog(rows["kappa"], rows["iterations"], "o", color=colour[series], markersize=4)
        fit = fits[(fits["series"] == series) & fits["exponent"].notna()]
        if not len(fit):
            ax.plot([], [], "o", color=colour[series], label=f"{plain(series)}: no fit")
            continue
        fit = fit.iloc[0]
        grid = np.geomspace(fit["kappa_min"], fit["kappa_max"], 50)
        theory = "" if pd.isna(fit["theory"]) else f", theory {fit['theory']:g}"
        ax.loglog(grid, fit["constant"] * grid ** fit["exponent"], "-", color=colour[series],
                  label=f"{plain(series)}: slope {fit['exponent']:.2f}{theory}")
    ax.set_xlabel("condition number kappa")
    ax.set_ylabel("iterations to tolerance")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small", frameon=False)
    return png(figure)


# ---- AD workloads (ADBench's figures) ------------------------------------------------------
def per_workload(table: pd.DataFrame, column: str, ylabel: str) -> bytes:
    """``column`` against each workload's size on log-log axes: a panel per workload, a line per series
    (a colour per backend; forward-mode compression, ba's only, dashed)."""
    table = table.dropna(subset=[column])
    workloads = list(dict.fromkeys(table["objective"]))[:MAX_PANELS]
    figure, axes = panels(len(workloads), columns=4)
    colour = colours(table["backend"])
    for ax, workload in zip(axes, workloads):
        rows = table[table["objective"] == workload]
        for series, line in rows.groupby("series", sort=False):
            line = line.sort_values(["size", "n"])
            style = "s--" if "(forward)" in series else "o-"
            ax.loglog(line["size"], line[column], style, color=colour[line["backend"].iloc[0]], label=plain(series),
                      markersize=3)
        ax.set_title(plain(workload), fontsize="medium")
        ax.set_xlabel(plain(f"size ({rows['size_name'].iloc[0]})"))
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
    legend(figure, axes)
    return png(figure)


# ---- throughput ---------------------------------------------------------------------------
def throughput(table: pd.DataFrame) -> bytes:
    """Evaluations per second against n, a panel per measure, a line per backend/device/dtype."""
    return per_measure(table, "per_second", "evaluations per second")


def bandwidth(table: pd.DataFrame) -> bytes:
    """Achieved GB/s against n, a panel per measure, with the same run's copy-bandwidth probe dashed."""
    def probes(ax, rows):
        for device, probe in rows.groupby("device")["probe_gbps"].first().items():
            ax.axhline(probe, color="black", linestyle="--", linewidth=1, label=plain(f"copy probe {device}"))

    return per_measure(table, "achieved_gbps", "achieved GB/s", probes)


def per_measure(table: pd.DataFrame, column: str, ylabel: str, decorate=None) -> bytes:
    """``column`` against n on log-log axes: a panel per measure, a line per series."""
    measures = list(dict.fromkeys(table["measure"]))[:MAX_PANELS]
    figure, axes = panels(len(measures))
    colour = colours(table["series"])
    for ax, measure in zip(axes, measures):
        rows = table[table["measure"] == measure]
        for series, line in rows.groupby("series", sort=False):
            line = line.sort_values("n")
            ax.loglog(line["n"], line[column], "o-", color=colour[series], label=plain(series), markersize=3)
        if decorate is not None:
            decorate(ax, rows)
        ax.set_title(plain(measure), fontsize="medium")
        ax.set_xlabel("problem size n")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
    legend(figure, axes)
    return png(figure)


def jacobian(table: pd.DataFrame, crossover: pd.DataFrame) -> bytes:
    """Seconds per Jacobian against m, a panel per backend/device/dtype and n, a line per mode."""
    keys = ["backend", "device", "dtype", "n"]
    groups = list(table.groupby(keys, sort=False))[:MAX_PANELS]
    figure, axes = panels(len(groups))
    colour = colours(table["mode"])
    for ax, (key, rows) in zip(axes, groups):
        for mode, line in rows.groupby("mode", sort=False):
            line = line.sort_values("m")
            ax.loglog(line["m"], line["seconds"], "o-", color=colour[mode], label=plain(mode), markersize=3)
        cross = crossover.merge(pd.DataFrame([dict(zip(keys, key))]), on=keys)["crossover_m"].dropna()
        for m in cross:
            ax.axvline(m, color="grey", linestyle=":", linewidth=1)
            ax.annotate(f"m = {m:.3g}", (m, 0.95), xycoords=("data", "axes fraction"), fontsize="small",
                        ha="left", va="top")
        ax.set_title(plain(" ".join(map(str, key[:-1])) + f", n = {key[-1]}"), fontsize="medium")
        ax.set_xlabel("outputs m")
        ax.set_ylabel("seconds per Jacobian")
        ax.grid(True, which="major", alpha=0.3)
    legend(figure, axes)
    return png(figure)


# ---- profiles -----------------------------------------------------------------------------
def profile(table: pd.DataFrame, x: str, xlabel: str, log_x: bool) -> bytes:
    """Step curves of the fraction of problems solved, a curve per solver (both kinds of profile).

    One panel per ``accuracy`` (Moré and Wild's tau) when the table has that column.
    """
    accuracies = list(dict.fromkeys(table["accuracy"])) if "accuracy" in table else [None]
    figure, axes = panels(len(accuracies), columns=2)
    if len(accuracies) == 1:
        figure.set_size_inches(7.0, 4.8)
    colour = colours(table["solver"])
    right = table[x].max()  # every curve runs on to one common right edge, so a flat one still shows
    right = (right * (2.0 if log_x else 1.05)) if right > 0 else 1.0
    for ax, accuracy in zip(axes, accuracies):
        rows_of = table if accuracy is None else table[table["accuracy"] == accuracy]
        for solver, rows in rows_of.groupby("solver", sort=False):
            rows = rows.sort_values(x)
            xs, ys = [*rows[x], right], [*rows["fraction"], rows["fraction"].iloc[-1]]
            ax.step(xs, ys, where="post", color=colour[solver], label=plain(solver))
        if log_x:
            ax.set_xscale("log", base=2)
        if accuracy is not None:
            ax.set_title(f"accuracy tau = {accuracy:g}", fontsize="medium")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fraction of problems solved")
        ax.grid(True, which="major", alpha=0.3)
    legend(figure, axes)
    return png(figure)


def runtime_distribution(table: pd.DataFrame, xlabel: str) -> bytes:
    """COCO's ECDF of runtimes: one panel per function group, a step curve per solver, log budget."""
    groups = list(dict.fromkeys(table["group"]))
    figure, axes = panels(len(groups), columns=3)
    colour = colours(table["solver"])
    for ax, group in zip(axes, groups):
        for solver, rows in table[table["group"] == group].groupby("solver", sort=False):
            rows = rows[rows["budget"] > 0].sort_values("budget")
            if len(rows):
                ax.step(rows["budget"], rows["fraction"], where="post", color=colour[solver], label=plain(solver))
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(plain(group), fontsize="medium")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fraction of (problem, target) pairs")
        ax.grid(True, which="major", alpha=0.3)
    legend(figure, axes)
    return png(figure)
