"""What solve() records per iteration, and what it skips when no metric or stop rule asks for it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import optbench
from optbench import loop
from optbench.loop import StopRules, solve


class NaNPastOneAndAHalf(optbench.Objective):
    """-sum x^2 until the first coordinate passes 1.5, then NaN: gradient descent walks out there."""

    name = "nan_past_one_and_a_half"

    def __call__(self, x):
        xp = optbench.namespace(x)
        return xp.where(x[0] > 1.5, xp.asarray(float("nan"), dtype=x.dtype), -xp.sum(x**2))

    def x0(self, seed=0):
        return np.array([1.0, 1.0])


def run(metrics, stop=StopRules(max_iter=5), objective=None, **params):
    objective = objective or optbench.objective("quadratic", n=4)
    return solve(objective, optbench.optimizer("gd", **{"step": 0.1, **params}), optbench.backend("torch"),
                 metrics=metrics, stop=stop)


def test_the_gradient_norm_is_recorded_only_when_a_metric_or_tol_grad_asks_for_it(monkeypatch):
    asked = []
    norm_of = loop.euclidean_norm
    monkeypatch.setattr(loop, "euclidean_norm", lambda like: (lambda a, norm=norm_of(like): asked.append(1) or norm(a)))
    skipped = run(["f"])
    assert not asked and all(row["grad_norm"] is None for row in skipped.trace)
    assert run(["f", "grad_norm"]).trace[-1]["grad_norm"] > 0 and len(asked) == 6
    stopped = run(["f"], StopRules(max_iter=500, tol_grad=1e-6))
    assert stopped.status == "converged" and stopped.reason.startswith("|grad| = ")


def test_without_the_gradient_norm_a_nan_still_ends_the_run_as_diverged():
    result = run(["f"], StopRules(max_iter=10), objective=NaNPastOneAndAHalf(), step=0.6)  # x grows by 2.2x
    assert result.status == "diverged" and result.reason == f"f = nan at iteration {result.iterations}"
    recorded = run(["f", "grad_norm"], StopRules(max_iter=10), objective=NaNPastOneAndAHalf(), step=0.6)
    assert recorded.status == "diverged" and recorded.reason.startswith("f = nan, |grad| = ")


def test_recording_on_the_cpu_never_asks_the_cuda_driver(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: pytest.fail("asked the CUDA driver per iteration"))
    if not torch.cuda.is_initialized():
        assert run(["f", "grad_norm"]).status == "max_iter"


class HugeThenInfinite(optbench.Objective):
    """-1e300 * sum x^2: |f(x0)| is so large that the blow-up bound, 1e12 * (1 + |f(x0)|),
    overflows; gradient descent triples x each step, until f itself overflows to -inf."""

    name = "huge_then_infinite"

    def __call__(self, x):
        xp = optbench.namespace(x)
        return -1e300 * xp.sum(x * x)

    def x0(self, seed=0):
        return np.array([1.0])


def test_an_infinite_f_is_diverged_even_when_the_blowup_bound_overflows():
    result = run(["f"], StopRules(max_iter=50), objective=HugeThenInfinite(), step=1e-300)
    assert result.status == "diverged" and result.reason == f"f = -inf at iteration {result.iterations}"
    assert result.iterations > 3
    assert all(np.isfinite(row["f"]) for row in result.trace[:-1])


@pytest.mark.parametrize(("stop", "status"), [(StopRules(max_iter=3), "max_iter"),
                                              (StopRules(max_iter=500, tol_grad=1e-3), "converged"),
                                              (StopRules(max_iter=500, tol_f=1e-3), "converged"),
                                              (StopRules(max_iter=10**6, time_budget=1e-3), "time_budget")])
def test_each_rule_ends_the_run_at_the_first_row_past_it(stop, status):
    result = run(["f", "grad_norm", "f_gap"], stop)
    last, before = result.trace[-1], result.trace[-2]
    assert result.status == status
    if status == "converged" and stop.tol_grad:
        assert last["grad_norm"] <= 1e-3 < before["grad_norm"]
    if status == "converged" and stop.tol_f:
        assert last["f_gap"] <= 1e-3 < before["f_gap"]
    if status == "time_budget":
        assert last["time"] >= 1e-3 > before["time"]


def test_the_step_wise_clock_is_paused_while_a_row_is_recorded():
    import time

    objective = optbench.objective("quadratic", n=4)
    result = solve(objective, optbench.optimizer("gd", step=0.1), optbench.backend("torch"),
                   stop=StopRules(max_iter=5), on_row=lambda row: time.sleep(0.05))
    assert result.trace[-1]["time"] < 0.05 and result.trace[-1]["cpu_time"] < 0.05  # five rows slept 0.25 s
    assert all(a["time"] <= b["time"] for a, b in zip(result.trace, result.trace[1:]))
