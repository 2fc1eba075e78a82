"""COCO's runtime distributions (optbench.ecdf) on hand-made traces whose answers are known."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optbench import ecdf


def cell(cell_id: str, optimizer: str, function: int, n: int = 2) -> dict:
    return {"run_id": "r", "cell_id": cell_id, "task": "optimize", "objective": "bbob", "objective.function": function,
            "objective.n": n, "optimizer": optimizer}


def trace(cell_id: str, gaps: list[float], per_iteration: int = 1) -> pd.DataFrame:
    k = np.arange(len(gaps))
    return pd.DataFrame({"run_id": "r", "cell_id": cell_id, "iter": k, "f_gap": gaps, "nfev": 0,
                         "ngev": per_iteration * k, "nhvp": 0, "nhev": 0, "time": 0.1 * k})


def test_targets_are_cocos_51_from_1e2_to_1e_8():
    assert len(ecdf.TARGETS) == 51 and ecdf.TARGETS[0] == pytest.approx(1e2) and ecdf.TARGETS[-1] == pytest.approx(1e-8)
    assert np.allclose(np.diff(np.log10(ecdf.TARGETS)), -0.2)


def test_runtime_is_the_budget_at_the_first_hit_divided_by_n():
    cells = pd.DataFrame([cell("a", "gd", 1, n=4)])
    times = ecdf.runtimes(cells, trace("a", [50.0, 5.0, 0.05, 0.2], per_iteration=2), "oracle", targets=[10.0, 0.1, 1e-3])
    got = times.set_index("target")["runtime"]
    assert got[10.0] == 2 * 1 / 4 and got[0.1] == 2 * 2 / 4 and got[1e-3] == np.inf
    assert (times["group"] == "separable").all()


def test_distribution_counts_pairs_reached_per_group_and_over_all():
    cells = pd.DataFrame([cell("a", "gd", 1), cell("b", "gd", 20)])
    traces = pd.concat([trace("a", [1.0, 0.01]), trace("b", [1.0, 1.0])])
    table = ecdf.runtime_distribution(ecdf.runtimes(cells, traces, "iterations", targets=[2.0, 0.1]))
    final = table.groupby("group")["fraction"].max()
    assert final["separable"] == 1.0  # both targets, at iteration 0 and 1
    assert final["multimodal with weak global structure"] == 0.5  # only the target 2 (at x0)
    assert final[ecdf.ALL] == 0.75 and (table.loc[table["group"] == ecdf.ALL, "pairs"] == 4).all()
    assert list(dict.fromkeys(table["group"]))[-1] == ecdf.ALL
    # the curve is a non-decreasing step function starting at budget 0
    for _, curve in table.groupby(["solver", "group"]):
        assert curve["budget"].iloc[0] == 0.0 and curve["fraction"].is_monotonic_increasing


def test_objectives_outside_bbob_count_in_the_aggregate_only():
    cells = pd.DataFrame([cell("a", "gd", 3), {**cell("b", "gd", 0), "objective": "quadratic"}])
    cells.loc[1, "objective.function"] = np.nan
    traces = pd.concat([trace("a", [1.0, 1e-9]), trace("b", [1.0, 1e-9])])
    table = ecdf.runtime_distribution(ecdf.runtimes(cells, traces))
    assert set(table["group"]) == {"separable", ecdf.ALL}
    assert table.loc[table["group"] == ecdf.ALL, "pairs"].iloc[0] == 2 * 51


def test_no_known_minimum_means_no_runtimes():
    cells = pd.DataFrame([cell("a", "gd", 1)])
    assert not len(ecdf.runtimes(cells, trace("a", [1.0]).drop(columns="f_gap")))
    assert not len(ecdf.runtime_distribution(ecdf.runtimes(cells, trace("a", [1.0]).drop(columns="f_gap"))))


def test_a_run_without_f_gap_has_no_counterpart_table():
    """Moré-Wild runs record f only (f* is unknown); the library-counterpart table is then empty."""
    from optbench import analysis

    cells = pd.DataFrame([{**cell("a", "lbfgs", 1), "optimizer": "scipy", "optimizer.method": "L-BFGS-B",
                           "solve_time": 1.0, "iterations": 2, "dtype": "float64", "seed": 0},
                          {**cell("b", "lbfgs", 1), "solve_time": 1.0, "iterations": 2, "dtype": "float64", "seed": 0}])
    traces = pd.concat([trace("a", [1.0, 0.5]), trace("b", [1.0, 0.5])]).drop(columns="f_gap")
    assert not len(analysis.counterpart_table(cells, traces))
