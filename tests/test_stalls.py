"""Step-wise optimizers that cannot make progress end the run instead of burning evaluations."""
from __future__ import annotations

import pytest

import optbench
from optbench import Converged, Optimizer, Stalled
from optbench.loop import StopRules, solve


@pytest.mark.parametrize("name", ["lbfgs", "gd_armijo"])
def test_a_line_search_at_round_off_ends_the_run_as_converged(name):
    """Regression: lbfgs used to run failing Armijo searches for every remaining iteration."""
    objective = optbench.objective("logistic_regression", n=20, samples=200)
    result = solve(objective, optbench.optimizer(name), optbench.backend("torch"),
                   stop=StopRules(max_iter=5000), metrics=["f", "grad_norm"])
    assert result.status == "converged"
    assert result.reason.startswith("no further decrease possible at round-off")
    assert result.iterations < 5000
    last = result.trace[-1]
    assert last["grad_norm"] < 1e-7
    if name == "lbfgs":  # one f and grad f per iteration, plus the occasional backtrack
        assert last["nfev"] == last["ngev"] <= 1.2 * result.iterations + 2


class Scripted(Optimizer):
    """Halves x twice, then raises what it was given."""

    name = "scripted"

    def __init__(self, ending: Exception):
        super().__init__()
        self.ending = ending

    def init(self, oracle, x0):
        self.x, self.steps = x0, 0

    def step(self, oracle):
        self.steps += 1
        if self.steps > 2:
            oracle.value(self.x)  # the evaluations of a failed search still count
            raise self.ending
        self.x = self.x / 2
        return self.x


@pytest.mark.parametrize("ending, status", [(Converged("nothing left to gain"), "converged"),
                                            (Stalled("stuck"), "stopped")])
def test_an_optimizer_ends_the_run_by_raising(ending, status):
    objective = optbench.objective("quadratic", n=3)
    result = solve(objective, Scripted(ending), optbench.backend("torch"), stop=StopRules(max_iter=50))
    assert (result.status, result.reason) == (status, str(ending))
    assert result.iterations == 3 == len(result.trace) - 1
    assert result.trace[-1]["f"] == result.trace[-2]["f"]  # recorded again at the unchanged iterate
    assert result.trace[-1]["nfev"] == result.trace[-2]["nfev"] + 1
