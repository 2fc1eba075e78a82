"""Reference solves: each minimiser matches a tight scipy solve of the same objective."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import optbench

scipy_optimize = pytest.importorskip("scipy.optimize")

CASES = [
    ("logistic_regression", {"n": 30, "samples": 300}),
    ("logistic_regression", {"n": 10, "samples": 40, "reg": 1e-4}),  # nearly separable, ill-conditioned
    ("softmax_regression", {"n": 24, "classes": 4, "samples": 200}),
    ("weighted_convex_sum", {"n": 10}),
    ("log_sum_exp", {"n": 10}),
    ("huber", {"n": 10}),
    ("huber", {"n": 40, "samples": 400}),  # most residuals start in the linear zone: singular Hessians
]


def value_and_grad(objective):
    def fun(x):
        xx = torch.tensor(x, requires_grad=True)
        value = objective(xx)
        (g,) = torch.autograd.grad(value, xx)
        return float(value.detach()), g.numpy()

    return fun


@pytest.mark.parametrize("name, params", CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_reference_matches_a_tight_scipy_solve(name, params):
    objective = optbench.objective(name, **params)
    fun = value_and_grad(objective)
    tight = scipy_optimize.minimize(fun, np.zeros(objective.n), jac=True, method="L-BFGS-B",
                                    options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 20000, "maxcor": 30})
    x_star = objective.minimizer
    f_star, g_star = fun(x_star)
    assert f_star <= tight.fun + 1e-12 * (1 + abs(tight.fun))  # never worse than scipy's
    assert np.linalg.norm(g_star) <= 1e-8 * (1 + abs(f_star))
    np.testing.assert_allclose(x_star, tight.x, rtol=1e-5, atol=1e-5)

