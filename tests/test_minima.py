"""Known minima: looked up only when needed, found once per configuration, cached as JSON."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import optbench
from optbench import Objective, minima
from optbench.loop import StopRules, solve


class CountedQuadratic(Objective):
    """|x - 1|^2 / 2, counting how often its minimiser is asked for."""

    name = "counted_quadratic"
    default_dim = 3
    asked = 0

    def __call__(self, x):
        xp = optbench.namespace(x)
        return 0.5 * xp.sum((x - 1.0) ** 2)

    @property
    def minimizer(self):
        type(self).asked += 1
        return np.ones(self.n)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache directory and an empty in-process memory."""
    monkeypatch.setenv(minima.ENV_CACHE_DIR, str(tmp_path))
    monkeypatch.setattr(minima, "_memory", {})
    monkeypatch.setattr(CountedQuadratic, "asked", 0)
    return tmp_path


def run(metrics, stop=StopRules(max_iter=3)):
    return solve(CountedQuadratic(), optbench.optimizer("gd", step=0.5), optbench.backend("torch"),
                 metrics=metrics, stop=stop)


def test_no_minimum_is_looked_up_unless_a_metric_or_tol_f_needs_it(cache):
    result = run(["f", "grad_norm"])
    assert CountedQuadratic.asked == 0 and result.f_star is None and result.setup_time == 0.0
    assert all(row["f_gap"] is None and row["dist"] is None for row in result.trace)
    run(["f"], StopRules(max_iter=3, tol_f=1e-3))
    assert CountedQuadratic.asked == 1


def test_f_gap_and_dist_use_the_known_minimum_found_once(cache):
    first = run(["f", "f_gap", "dist"])
    second = run(["f_gap"])
    assert CountedQuadratic.asked == 1
    assert first.f_star == second.f_star == 0.0
    assert first.trace[-1]["f_gap"] == pytest.approx(first.trace[-1]["f"])
    assert first.trace[0]["dist"] > first.trace[-1]["dist"] > 0


def test_a_slow_reference_solve_is_cached_as_json_and_read_back(cache, monkeypatch):
    monkeypatch.setattr(minima, "WORTH_CACHING", 0.0)
    objective = optbench.objective("logistic_regression", n=8, samples=60)
    found = minima.known_minimum(objective)
    assert found.seconds > 0
    (entry,) = cache.glob("*.json")
    stored = json.loads(entry.read_text())
    assert stored["objective"] == "logistic_regression" and stored["minimum"] == found.minimum

    monkeypatch.setattr(minima, "_memory", {})  # a new process: only the file is left
    again = optbench.objective("logistic_regression", n=8, samples=60)
    monkeypatch.setattr(type(again), "minimizer", property(lambda self: pytest.fail("solved again")))
    read = minima.known_minimum(again)
    assert read.minimum == found.minimum
    np.testing.assert_array_equal(read.minimizer, found.minimizer)


def test_an_entry_that_no_longer_matches_the_objective_is_solved_again(cache, monkeypatch):
    monkeypatch.setattr(minima, "WORTH_CACHING", 0.0)
    objective = CountedQuadratic()
    minima.known_minimum(objective)
    (entry,) = cache.glob("*.json")
    stored = json.loads(entry.read_text())
    entry.write_text(json.dumps({**stored, "minimum": 5.0}))  # as if the objective's data had changed
    monkeypatch.setattr(minima, "_memory", {})
    assert minima.known_minimum(objective).minimum == 0.0
    assert CountedQuadratic.asked == 2


def test_different_parameters_are_different_entries():
    a = optbench.objective("logistic_regression", n=8, samples=60)
    b = optbench.objective("logistic_regression", n=8, samples=61)
    assert minima.configuration_key(a) != minima.configuration_key(b)
    assert minima.configuration_key(a) == minima.configuration_key(
        optbench.objective("logistic_regression", n=8, samples=60))


def test_an_empty_cache_variable_turns_the_cache_off(monkeypatch, tmp_path):
    monkeypatch.setenv(minima.ENV_CACHE_DIR, "")
    assert minima.cache_dir() is None

@pytest.mark.skipif(sys.platform != "linux", reason="XDG_CACHE_HOME is the Linux convention")
def test_the_cache_defaults_to_the_user_cache_directory(monkeypatch, tmp_path):
    monkeypatch.delenv(minima.ENV_CACHE_DIR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert minima.cache_dir() == tmp_path / "optbench" / "minima"


def test_a_look_ahead_leaves_the_seconds_it_took_to_the_run_that_uses_them(cache):
    objective = CountedQuadratic()
    ahead = minima.known_minimum(objective, charge=False)
    assert minima.known_minimum(objective, charge=False) == ahead  # not charged yet
    assert minima.known_minimum(objective) == ahead and ahead.seconds > 0  # charged to this run
    assert minima.known_minimum(objective).seconds == 0.0  # and to no later one
    assert CountedQuadratic.asked == 1
