"""optbench.analysis on hand-made tables whose answers are known."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optbench import analysis


def costs(table: dict) -> pd.DataFrame:
    """{problem: {solver: cost}} as the long table the profiles take."""
    return pd.DataFrame([{"problem": p, "solver": s, "cost": c, "n": 2} for p, row in table.items()
                         for s, c in row.items()])


COSTS = costs({"p1": {"a": 10, "b": 20}, "p2": {"a": 40, "b": 20}, "p3": {"a": 5, "b": np.inf},
               "p4": {"a": np.inf, "b": np.inf}})


def test_performance_profile_by_hand():
    profile = analysis.performance_profile(COSTS, taus=[1, 2, 10]).set_index(["solver", "tau"])["fraction"]
    # ratios: a = 1, 2, 1, inf; b = 2, 1, inf, inf
    assert profile[("a", 1)] == 0.5 and profile[("a", 2)] == 0.75 and profile[("a", 10)] == 0.75
    assert profile[("b", 1)] == 0.25 and profile[("b", 2)] == 0.5 and profile[("b", 10)] == 0.5


def test_performance_profile_steps_at_every_ratio():
    profile = analysis.performance_profile(COSTS)
    assert sorted(profile["tau"].unique()) == [1.0, 2.0]
    assert profile.groupby("solver")["fraction"].is_monotonic_increasing.all()


def test_data_profile_by_hand():
    profile = analysis.data_profile(COSTS, alphas=[5, 20, 40]).set_index(["solver", "alpha"])["fraction"]
    assert profile[("a", 5)] == 0.25 and profile[("a", 20)] == 0.5 and profile[("a", 40)] == 0.75
    assert profile[("b", 5)] == 0.0 and profile[("b", 20)] == 0.5
    per_dim = analysis.data_profile(COSTS, alphas=[10 / 3], per_dimension=True).set_index("solver")["fraction"]
    assert per_dim["a"] == 0.5  # costs 5 and 10 are at most 10/3 simplex gradients of n + 1 = 3


def trace(cell: str, optimizer: str, f: list[float], f_star: float, nfev: int = 1) -> pd.DataFrame:
    k = np.arange(len(f))
    return pd.DataFrame({"run_id": "r", "cell_id": cell, "objective": "q", "optimizer": optimizer, "backend": "torch",
                         "device": "cpu", "dtype": "float64", "seed": 0, "repeat": 0, "iter": k, "f": f,
                         "f_gap": np.array(f) - f_star, "grad_norm": 1.0, "nfev": nfev * k, "ngev": k,
                         "nhvp": 0, "nhev": 0, "time": 0.5 * k})


def test_targets_reached_on_every_budget():
    traces = trace("c", "gd", [1.0, 0.1, 0.01, 0.001], 0.0)
    out = analysis.targets_reached(traces, targets=[0.05, 1e-6]).set_index("target")
    assert out.loc[0.05, "reached"] and out.loc[0.05, "iterations"] == 2
    assert out.loc[0.05, "oracle"] == 4 and out.loc[0.05, "time"] == 1.0
    assert not out.loc[1e-6, "reached"] and np.isnan(out.loc[1e-6, "iterations"])


def test_problem_costs_use_the_more_wild_test_and_the_chosen_budget():
    traces = pd.concat([trace("c1", "gd", [10.0, 5.0, 1.0, 0.0], 0.0, nfev=2),
                        trace("c2", "newton", [10.0, 0.0], 0.0)])
    cells = pd.DataFrame({"run_id": "r", "cell_id": ["c1", "c2"], "task": "optimize", "objective": "q",
                          "objective.n": 2, "optimizer": ["gd", "newton"], "backend": "torch", "device": "cpu",
                          "dtype": "float64", "seed": 0, "x0": np.nan})  # no starting point given: NaN
    by_iter = analysis.problem_costs(cells, traces, "iterations", tau=0.2).set_index("solver")["cost"]
    assert by_iter["gd"] == 2 and by_iter["newton"] == 1  # f0 - f >= (1 - 0.2)(10 - 0)
    by_oracle = analysis.problem_costs(cells, traces, "oracle", tau=0.2).set_index("solver")["cost"]
    assert by_oracle["gd"] == 6 and by_oracle["newton"] == 2
    assert analysis.problem_costs(cells, traces, "time", tau=1e-9).set_index("solver")["cost"]["gd"] == 1.5


def test_kappa_exponents_recover_a_known_power_law():
    kappa = np.array([1.0, 10.0, 100.0, 1e3, 1e4])
    rows = [{"task": "optimize", "optimizer": name, "objective.n": 10, "objective.cond": k, "status": "converged",
             "iterations": round(c * k ** p)} for name, c, p in (("gd", 3, 1.0), ("heavy_ball", 5, 0.5)) for k in kappa]
    rows.append({"task": "optimize", "optimizer": "gd", "objective.n": 10, "objective.cond": 1e5,
                 "status": "max_iter", "iterations": 1000})
    fits = analysis.kappa_exponents(pd.DataFrame(rows)).set_index("optimizer")
    assert fits.loc["gd", "exponent"] == pytest.approx(1.0, abs=1e-3)
    assert fits.loc["heavy_ball", "exponent"] == pytest.approx(0.5, abs=1e-2)
    assert fits.loc["gd", "censored"] == 1 and fits.loc["gd", "points"] == 4 and fits.loc["gd", "kappa_min"] == 10
    assert fits.loc["heavy_ball", "theory"] == 0.5


def test_preconditioning_speedup():
    rows = [{"task": "optimize", "optimizer": o, "objective": "quadratic", "objective.cond": k,
             "objective.rotate": False, "backend": "torch", "device": "cpu", "dtype": "float64", "seed": 0,
             "status": "converged", "iterations": it}
            for k, its in ((10.0, (80, 10)), (100.0, (800, 10))) for o, it in zip(("gd", "jacobi"), its)]
    out = analysis.preconditioning_effect(pd.DataFrame(rows)).set_index("kappa")
    assert out.loc[10.0, "speedup"] == 8 and out.loc[100.0, "speedup"] == 80


def throughput_cells() -> pd.DataFrame:
    rows = []
    for n, f_s, g_s in ((10, 1e-5, 3e-5), (1000, 1e-4, 4e-4)):
        for measure, seconds in (("f", f_s), ("grad", g_s)):
            rows.append({"run_id": "r", "task": "throughput", "measure": measure, "objective": "sin_exp",
                         "objective.n": n, "backend": "tape", "device": "cpu", "dtype": "float64", "status": "ok",
                         "reason": "", "seconds": seconds, "per_second": 1 / seconds,
                         "achieved_gbps": 16 * n / seconds / 1e9})
    rows.append({"run_id": "r", "task": "throughput", "measure": "bandwidth", "device": "cpu", "status": "ok",
                 "reason": "", "gbps": 10.0})
    for m, forward, reverse in ((1, 4.0, 1.0), (10, 4.0, 2.0), (100, 4.0, 8.0)):
        for mode, seconds in (("forward", forward), ("reverse", reverse)):
            rows.append({"run_id": "r", "task": "throughput", "measure": "jacobian", "mode": mode,
                         "objective": "jacobian_probe", "objective.n": 50, "objective.m": m, "backend": "torch",
                         "device": "cpu", "dtype": "float64", "status": "ok", "reason": "", "seconds": seconds})
    return pd.DataFrame(rows)


def test_cost_ratio_and_bandwidth():
    ratios = analysis.cost_ratios(throughput_cells()).set_index("n")["ratio"]
    assert ratios[10] == pytest.approx(3.0) and ratios[1000] == pytest.approx(4.0)
    bandwidth = analysis.bandwidth_table(throughput_cells())
    assert (bandwidth["probe_gbps"] == 10.0).all()
    assert bandwidth["fraction"].to_numpy() == pytest.approx(bandwidth["achieved_gbps"].to_numpy() / 10.0)


def test_a_throughput_run_without_the_bandwidth_probe_has_no_bandwidth_panel():
    from optbench.results import Results
    from optbench.tasks import throughput

    cells = throughput_cells()
    without_probe = cells[cells["measure"] != "bandwidth"].drop(columns="gbps")
    probe_alone = cells[cells["measure"] == "bandwidth"].dropna(axis=1, how="all")  # no objective columns at all
    for part in (without_probe, probe_alone):
        assert analysis.bandwidth_table(part).empty
        found = throughput.tables(Results(pd.DataFrame(), part, pd.DataFrame()), "iterations")
        assert found["bandwidth"].empty  # the report leaves out a figure whose table is empty
    assert len(throughput.tables(Results(pd.DataFrame(), without_probe, pd.DataFrame()), "iterations")["throughput"])


def test_jacobian_crossover_interpolates_in_log_m():
    row = analysis.jacobian_crossover(throughput_cells()).iloc[0]
    # log(reverse/forward) is log(1/2) at m = 10 and log 2 at m = 100: zero halfway, m = sqrt(1000)
    assert row["crossover_m"] == pytest.approx(1000 ** 0.5)
    assert row["crossover_ratio"] == pytest.approx(1000 ** 0.5 / 50)


def test_budget_names_are_checked():
    with pytest.raises(ValueError, match="unknown budget 'calls'"):
        analysis.budget_values(trace("c", "gd", [1.0], 0.0), "calls")


def test_problem_costs_use_the_gap_when_f_was_not_recorded():
    """A suite with metrics = ["f_gap", ...] still gets profiles (the conditioning suite does)."""
    import pandas as pd

    from optbench.analysis import problem_costs

    cells = pd.DataFrame({"run_id": "r", "cell_id": ["a", "b"], "task": "optimize", "objective": "quadratic",
                          "objective.n": 2, "objective.cond": 10.0, "optimizer": ["gd", "nesterov"]})
    traces = pd.DataFrame({"run_id": "r", "cell_id": ["a"] * 3 + ["b"] * 3, "iter": [0, 1, 2] * 2,
                           "f_gap": [1.0, 0.5, 1e-4, 1.0, 1e-4, 1e-6], "nfev": 0, "ngev": [0, 1, 2] * 2,
                           "nhvp": 0, "nhev": 0, "time": 0.0, "cpu_time": 0.0})
    costs = problem_costs(cells, traces).set_index("solver")["cost"]
    assert costs["gd"] == 2 and costs["nesterov"] == 1
