"""Convergence theory checked numerically, and the course notes' gradient-descent examples
(the abs_quadratic example is in test_course_notes.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import optbench


def solve(objective, name, max_iter, x0=None, **params):
    return optbench.solve(objective, optbench.optimizer(name, **params), optbench.backend("torch"),
                          x0=x0, stop=optbench.StopRules(max_iter=max_iter))


def gaps(result):
    return np.array([row["f_gap"] for row in result.trace])


@pytest.mark.parametrize("cond", [10.0, 100.0])
def test_gradient_descent_with_step_one_over_L_contracts_by_one_minus_one_over_kappa(cond):
    objective = optbench.objective("quadratic", n=8, cond=cond, seed=2)
    gap = gaps(solve(objective, "gd", 200, step=1.0 / objective.L))
    meaningful = gap[:-1] > 1e-12  # below that the gap is rounding
    assert meaningful.sum() > 20
    assert np.all(gap[1:][meaningful] <= (1 - 1 / cond) * gap[:-1][meaningful] + 1e-15)


def test_exact_line_search_contracts_by_the_kantorovich_factor():
    cond = 50.0
    objective = optbench.objective("quadratic", n=8, cond=cond, seed=1)
    gap = gaps(solve(objective, "steepest_exact", 100))
    meaningful = gap[:-1] > 1e-12
    factor = ((cond - 1) / (cond + 1)) ** 2
    assert np.all(gap[1:][meaningful] <= factor * gap[:-1][meaningful] + 1e-15)


def iterations_to(objective, name, tol, **params):
    result = optbench.solve(objective, optbench.optimizer(name, **params), optbench.backend("torch"),
                            stop=optbench.StopRules(max_iter=100_000, tol_f=tol))
    assert result.status == "converged"
    return result.iterations


@pytest.mark.parametrize("name", ["heavy_ball", "nesterov"])
def test_momentum_with_textbook_parameters_needs_about_sqrt_kappa_fewer_iterations(name):
    cond = 1e3
    objective = optbench.objective("quadratic", n=20, cond=cond, seed=0)
    tol = 1e-6 * (objective.x0(0) @ objective.A @ objective.x0(0))
    plain = iterations_to(objective, "gd", tol, step=1.0 / objective.L)
    accelerated = iterations_to(objective, name, tol)
    assert math.sqrt(cond) / 4 <= plain / accelerated <= 4 * math.sqrt(cond)


@pytest.mark.parametrize("name", ["newton", "newton_cg"])
def test_newton_solves_a_quadratic_in_one_step(name):
    objective = optbench.objective("quadratic", n=10, cond=1e4, seed=5)
    result = solve(objective, name, 1)
    np.testing.assert_allclose(result.x, objective.minimizer, rtol=1e-8, atol=1e-8)
    assert result.trace[-1]["f_gap"] <= 1e-12 * result.trace[0]["f_gap"]


@pytest.mark.parametrize("objective_name, params", [
    ("rosenbrock", {"n": 6}), ("rastrigin", {"n": 3}), ("xcos4x", {}), ("himmelblau", {}),
    ("ackley", {"n": 4}), ("log_sum_exp", {}),
])
def test_armijo_backtracking_never_increases_f(objective_name, params):
    for step in (1.0, 100.0):
        values = [row["f"] for row in solve(optbench.objective(objective_name, **params), "gd_armijo", 60,
                                            step=step).trace]
        assert all(later <= earlier for earlier, later in zip(values, values[1:]))


def test_gradient_descent_on_xcos4x_oscillates_with_step_0_05():
    # the notes' [53]: from -3.5 the iterates settle into a two-cycle and never converge
    xs = [solve(optbench.objective("xcos4x"), "gd", k, x0=[-3.5], step=0.05).x[0] for k in (146, 148, 149, 150)]
    assert xs[0] == pytest.approx(xs[1], abs=1e-6) == pytest.approx(xs[3], abs=1e-6)
    assert abs(xs[3] - xs[2]) > 0.1


def test_gradient_descent_on_xcos4x_settles_with_step_0_001():
    # the notes' [54]: the same start with a small step ends in the local minimum near -3.12
    result = solve(optbench.objective("xcos4x"), "gd", 150, x0=[-3.5], step=0.001)
    assert result.x[0] == pytest.approx(-3.1215, abs=1e-3)
    assert result.trace[-1]["grad_norm"] < 0.01 and np.all(np.diff([r["f"] for r in result.trace]) <= 0)


def test_gradient_descent_on_xcos4x_ends_in_the_minimum_of_its_start_basin():
    # the notes' [54]-[58]: the start decides the local minimum; only -0.5 reaches the global
    # one at 0. The notes run 150 steps; 3000 let the slower starts (-1, -0.5) arrive too.
    ends = {start: solve(optbench.objective("xcos4x"), "gd", 3000, x0=[start], step=0.001).x[0]
            for start in (-3.5, -2.5, -2.0, -1.0, -0.5)}
    assert ends[-3.5] == pytest.approx(-3.1215, abs=1e-3) and ends[-2.5] == pytest.approx(-3.1215, abs=1e-3)
    assert ends[-2.0] == pytest.approx(-1.5292, abs=1e-3) and ends[-1.0] == pytest.approx(-1.5292, abs=1e-3)
    assert abs(ends[-0.5]) < 0.01  # |x| + ... is not differentiable at 0: GD chatters around it
