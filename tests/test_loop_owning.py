"""The loop-owning optimizer form: one row per library iteration, paused clock, stop rules, statuses."""
from __future__ import annotations

import time

import numpy as np
import pytest

import optbench
from optbench import LibraryStop, LoopOwningOptimizer, Param, StopRules, solve


class OwnLoopGD(LoopOwningOptimizer):
    """Gradient descent that runs its own loop, as a library would, with its own stopping test."""

    name = "own_loop_gd"
    params = {"step": Param(float, 0.1, "step size", gt=0.0), "gtol": Param(float, 1e-6, "own tolerance", gt=0.0),
              "maxiter": Param(int, 10_000, "own iteration limit", ge=1), "sleep": Param(float, 0.0, "per step")}

    def run(self, oracle, x0, callback):
        x, nit = x0, 0
        while nit < self.p["maxiter"]:
            g = oracle.grad(x)
            if float(self.xp.linalg.vector_norm(g)) <= self.p["gtol"]:
                return LibraryStop(True, "gradient small enough", {"nit": nit})
            time.sleep(self.p["sleep"])
            x, nit = x - self.p["step"] * g, nit + 1
            if callback(x):
                return LibraryStop(False, "stopped by the callback", {"nit": nit})
        return LibraryStop(False, "iteration limit reached", {"nit": nit})


@pytest.fixture
def quadratic():
    return optbench.objective("quadratic", n=5, cond=10.0)


def run(objective, stop=StopRules(max_iter=50), on_row=None, **params):
    return solve(objective, OwnLoopGD(**params), optbench.backend("torch"), stop=stop, on_row=on_row)


def test_one_row_per_library_iteration_with_step_wise_columns(quadratic):
    result = run(quadratic, step=0.05)
    assert result.status == "max_iter" and result.iterations == 50
    assert [row["iter"] for row in result.trace] == list(range(51))
    assert all(set(row) == set(optbench.loop.TRACE_COLUMNS) for row in result.trace)
    assert result.library == {"nit": 50}


def test_iterates_match_the_step_wise_form(quadratic):
    own = run(quadratic, step=0.05)
    step_wise = solve(quadratic, optbench.optimizer("gd", step=0.05), optbench.backend("torch"),
                      stop=StopRules(max_iter=50))
    np.testing.assert_allclose([r["f"] for r in own.trace], [r["f"] for r in step_wise.trace], rtol=1e-14)
    assert [r["ngev"] for r in own.trace] == [r["ngev"] for r in step_wise.trace]


@pytest.mark.parametrize("stop, status", [(StopRules(max_iter=7), "max_iter"),
                                          (StopRules(tol_grad=1e-3), "converged"),
                                          (StopRules(tol_f=1e-4), "converged")])
def test_stop_rules_reach_the_library_through_the_callback(quadratic, stop, status):
    result = run(quadratic, stop=stop, step=0.05)
    assert result.status == status
    assert result.library["nit"] == result.iterations  # the library stopped at the rule, not later


def test_time_budget_counts_only_library_time(quadratic):
    result = run(quadratic, stop=StopRules(max_iter=1000, time_budget=0.05), sleep=0.01)
    times = [row["time"] for row in result.trace]
    assert result.status == "time_budget" and times[-1] >= 0.05 > times[-2]  # stopped at the first row over
    assert result.iterations <= 5  # each iteration sleeps 0.01 s of library time


def test_the_clock_is_paused_while_a_row_is_recorded(quadratic):
    result = run(quadratic, stop=StopRules(max_iter=5), on_row=lambda row: time.sleep(0.05))
    assert result.trace[-1]["time"] < 0.05  # five recordings slept 0.25 s


def test_the_library_ending_its_loop_gives_converged_or_stopped(quadratic):
    converged = run(quadratic, stop=StopRules(max_iter=10_000), step=0.05, gtol=1e-3)
    assert converged.status == "converged" and converged.reason == "gradient small enough"
    stopped = run(quadratic, stop=StopRules(max_iter=10_000), step=0.05, maxiter=3)
    assert (stopped.status, stopped.reason, stopped.iterations) == ("stopped", "iteration limit reached", 3)


def test_divergence_is_detected_in_the_callback(quadratic):
    result = run(quadratic, step=10.0, stop=StopRules(max_iter=10_000))
    assert result.status == "diverged"

