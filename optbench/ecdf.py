"""COCO's runtime distributions: the empirical CDF of the budget to reach each target.

For every run and every target value f_opt + Delta f, Delta f in 51 values spaced
log-uniformly from 1e2 down to 1e-8 (COCO's default for bbob), the runtime is the budget
spent until ``f - f*`` first fell to Delta f; its ECDF over all (problem, target) pairs,
against the budget divided by the dimension, is the curve COCO draws (Hansen et al., "COCO: a
platform for comparing continuous optimizers in a black-box setting", 2021, section 5). Runs
that never reach a target count as not reaching it at any budget (no simulated restarts).
Pure functions over the ``cells`` and ``traces`` frames of :func:`optbench.results.load`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas loads with the report, not with the bbob objective that reads BBOB_GROUPS
    import pandas as pd

TARGETS = 10.0 ** np.linspace(2.0, -8.0, 51)
ALL = "all functions"
# COCO's five groups of the 24 bbob functions (Hansen et al., RR-6829)
BBOB_GROUPS = {
    "separable": range(1, 6),
    "low or moderate conditioning": range(6, 10),
    "high conditioning and unimodal": range(10, 15),
    "multimodal with adequate global structure": range(15, 20),
    "multimodal with weak global structure": range(20, 25),
}


def bbob_group(function: int) -> str:
    """COCO's group of bbob function ``function`` (1-24)."""
    return next(name for name, members in BBOB_GROUPS.items() if int(function) in members)


def function_groups(cells: pd.DataFrame) -> pd.Series:
    """COCO's group of each bbob cell; other objectives have no group (NaN)."""
    import pandas as pd

    groups = pd.Series(np.nan, index=cells.index, dtype=object)
    if "objective.function" in cells:
        bbob = cells["objective"] == "bbob"
        groups[bbob] = cells.loc[bbob, "objective.function"].map(bbob_group)
    return groups


def runtimes(cells: pd.DataFrame, traces: pd.DataFrame, budget: str = "oracle",
             targets=TARGETS) -> pd.DataFrame:
    """The budget each run of a known-f* problem spent to reach each target.

    Columns: ``run_id``, ``cell_id``, ``solver``, ``group`` (COCO's, NaN outside bbob), ``n``,
    ``target`` (Delta f), ``runtime`` (budget at the first recorded f - f* <= target, divided by
    n except for the ``time`` budget; inf where never reached).
    """
    import pandas as pd

    from .analysis import budget_values, solver_labels

    columns = ["run_id", "cell_id", "solver", "group", "n", "target", "runtime"]
    cells = cells[cells["task"] == "optimize"] if "task" in cells else cells
    if not len(cells) or not len(traces) or "f_gap" not in traces:
        return pd.DataFrame(columns=columns)
    cells = cells.assign(solver=solver_labels(cells), group=function_groups(cells),
                         n=cells["objective.n"].astype(float))
    rows = traces[traces["f_gap"].notna()]
    rows = rows.assign(spent=budget_values(rows, budget)).sort_values(["run_id", "cell_id", "iter"])
    targets = np.sort(np.asarray(targets, dtype=float))[::-1]
    found = []
    for (run, cell), trace in rows.groupby(["run_id", "cell_id"], sort=False):
        best = np.minimum.accumulate(trace["f_gap"].to_numpy(dtype=float))  # non-increasing
        spent = trace["spent"].to_numpy(dtype=float)
        first = np.searchsorted(-best, -targets, side="left")  # first row with best <= target
        hit = np.where(first < len(best), spent[np.minimum(first, len(best) - 1)], np.inf)
        found.append(pd.DataFrame({"run_id": run, "cell_id": cell, "target": targets, "spent": hit}))
    if not found:
        return pd.DataFrame(columns=columns)
    out = pd.concat(found).merge(cells[["run_id", "cell_id", "solver", "group", "n"]], on=["run_id", "cell_id"])
    out["runtime"] = out["spent"] if budget == "time" else out["spent"] / out["n"]
    return out[columns].reset_index(drop=True)


def runtime_distribution(times: pd.DataFrame) -> pd.DataFrame:
    """The ECDF of :func:`runtimes`: per solver and group, and over all functions (``ALL``).

    Columns: ``solver``, ``group``, ``budget`` (a runtime, budget / n), ``fraction`` (of the
    group's (problem, target) pairs reached within it), ``pairs`` (how many pairs). One row
    per step of each curve, and one at budget 0.
    """
    import pandas as pd

    columns = ["solver", "group", "budget", "fraction", "pairs"]
    if not len(times):
        return pd.DataFrame(columns=columns)
    grouped = times[times["group"].notna()]
    parts = [grouped, times.assign(group=ALL)] if len(grouped) else [times.assign(group=ALL)]
    rows = []
    for (solver, group), part in pd.concat(parts).groupby(["solver", "group"], sort=False):
        reached = np.sort(part["runtime"].to_numpy(dtype=float))
        reached = reached[np.isfinite(reached)]
        steps = np.unique(np.concatenate([[0.0], reached]))
        fractions = np.searchsorted(reached, steps, side="right") / len(part)
        rows.append(pd.DataFrame({"solver": solver, "group": group, "budget": steps, "fraction": fractions,
                                  "pairs": len(part)}))
    order = {name: i for i, name in enumerate([*BBOB_GROUPS, ALL])}  # COCO's order, the aggregate last
    out = pd.concat(rows, ignore_index=True)[columns]
    return out.sort_values("group", key=lambda g: g.map(order).fillna(-1), kind="stable").reset_index(drop=True)


__all__ = ["ALL", "BBOB_GROUPS", "TARGETS", "bbob_group", "function_groups", "runtime_distribution", "runtimes"]
