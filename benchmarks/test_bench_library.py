"""The loop-owning path against calling the library directly: scipy's L-BFGS-B, time per iteration.

Baseline: ``scipy.optimize.minimize`` as a user calls it, f and gradient from the torch
backend (``torch.from_numpy`` in, ``.numpy()`` out). Subject: the ``scipy`` optimizer's
``run`` with a callback that records nothing, which is what ``solve`` charges to the library
(it pauses the clock while it records a row); its overhead is the adapter's: counting oracle,
copies in and out of the backend's arrays, the callback. The full ``solve``, recording
included, is measured too, without a target: recording is work optbench does off the clock.
Both run a fixed number of iterations (tolerances 0), so time per iteration is time / ITERATIONS.
Timed in CPU seconds of the process (single-threaded torch): on a shared machine wall-clock
ratios of runs this short swing with the load.
"""
from __future__ import annotations

import time

import pytest
import torch

import optbench
from optbench import Oracle, StopRules, solve

scipy_optimize = pytest.importorskip("scipy.optimize")

ITERATIONS = 30
OPTIONS = {"maxiter": ITERATIONS, "ftol": 0.0, "gtol": 0.0}
SIZES = (10, 10_000)


def problem(n: int):
    objective = optbench.objective("rosenbrock", n=n)
    backend = optbench.backend("torch")
    return objective, backend, backend.asarray(objective.x0(0))


def direct(objective, backend, x0, optimizer) -> int:
    def value_and_grad(x):
        value, grad = backend.value_and_grad(objective, torch.from_numpy(x))
        return float(value), grad.numpy()

    return scipy_optimize.minimize(value_and_grad, x0.numpy(), jac=True, method="L-BFGS-B", options=OPTIONS).nit


def loop_owning(objective, backend, x0, optimizer) -> int:
    oracle = Oracle(objective, backend)
    optimizer.start(oracle, x0)
    return optimizer.run(oracle, x0, lambda x: False).counts["nit"]


def recorded(objective, backend, x0, optimizer) -> int:
    return solve(objective, optimizer, backend, stop=StopRules(max_iter=10 * ITERATIONS), warmup=False).iterations


@pytest.mark.benchmark(timer=time.process_time)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("path, role, target", [(direct, "baseline", None), (loop_owning, "subject", 1.10),
                                                (recorded, "subject", None)], ids=["direct", "loop_owning", "solve"])
def test_scipy_lbfgsb_per_iteration(benchmark, n, path, role, target):
    objective, backend, x0 = problem(n)
    optimizer = optbench.optimizer("scipy", method="L-BFGS-B", options=OPTIONS)  # built (and checked) once
    benchmark.group = f"scipy L-BFGS-B, {ITERATIONS} iterations, rosenbrock n = {n}"
    benchmark.extra_info.update(role=role, target=target)
    assert benchmark.pedantic(path, args=(objective, backend, x0, optimizer), rounds=15, warmup_rounds=1) == ITERATIONS
