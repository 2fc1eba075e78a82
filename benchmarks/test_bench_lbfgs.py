"""lbfgs against scipy's L-BFGS-B at n = 100, both on the same torch function and gradient.

Logistic regression, 1000 samples x 100 features, lambda = 1e-4 (so neither converges within
the budget), 30 iterations each: the ratio of the two is the ratio of their per-iteration
costs, recording included on optbench's side. Target (issue 20): at most 1.5.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import optbench

scipy_optimize = pytest.importorskip("scipy.optimize")

ITERATIONS = 30
GROUP = "lbfgs: 30 iterations, logistic regression 1000 x 100"


@pytest.fixture(scope="module")
def problem():
    objective = optbench.objective("logistic_regression", n=100, samples=1000, reg=1e-4)
    return objective, optbench.backend("torch")


def test_optbench_lbfgs(benchmark, problem):
    objective, backend = problem

    def run():
        return optbench.solve(objective, optbench.optimizer("lbfgs"), backend,
                              stop=optbench.StopRules(max_iter=ITERATIONS), metrics=["f", "grad_norm"])

    benchmark.group = GROUP
    benchmark.extra_info.update(role="subject", target=1.5)
    result = benchmark.pedantic(run, rounds=10, warmup_rounds=1)
    assert result.status == "max_iter" and result.iterations == ITERATIONS


def test_scipy_lbfgsb(benchmark, problem):
    objective, backend = problem

    def value_and_grad(x):
        value, grad = backend.value_and_grad(objective, torch.from_numpy(x))
        return float(value), grad.numpy().astype(np.float64)

    def run():
        return scipy_optimize.minimize(value_and_grad, objective.x0(0), jac=True, method="L-BFGS-B",
                                       options={"maxiter": ITERATIONS, "gtol": 0.0, "ftol": 0.0, "maxcor": 10})

    benchmark.group = GROUP
    benchmark.extra_info["role"] = "baseline"
    result = benchmark.pedantic(run, rounds=10, warmup_rounds=1)
    assert result.nit == ITERATIONS
