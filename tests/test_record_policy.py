"""The record policies keep every target crossing: targets reached and profiles are exact on fewer rows."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optbench import analysis
from optbench.recording import Recorder, log_spaced, lowest_target, target
from optbench.suite import parse_suite
from optbench.tasks import TASKS

GRID = [target(k) for k in range(-60, 11)]  # 10^-12 .. 10^2, 5 per decade


def frame(values: list[float], policy: str, cell: str = "c") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A trace of f - f* ``values`` (and |grad f| their square root), all rows and the rows ``policy`` keeps."""
    rows = [{"iter": i, "nfev": 0, "ngev": i + 1, "nhvp": 0, "nhev": 0, "time": 0.01 * i, "f": 1.0 + v,
             "f_gap": v, "grad_norm": math.sqrt(v)} for i, v in enumerate(values)]
    recorder = Recorder(policy)
    kept = [row for row in rows if recorder.keep(row)]
    if kept[-1] is not rows[-1]:
        kept.append(rows[-1])  # the task always keeps the last row
    full = pd.DataFrame(rows).assign(run_id="r", cell_id=cell)
    return full, pd.DataFrame(kept).assign(run_id="r", cell_id=cell)


gaps = st.lists(st.floats(1e-13, 1e3), min_size=1, max_size=300)


@settings(max_examples=150, deadline=None)
@given(gaps, st.sampled_from(["log", "improvements"]), st.booleans(), st.sampled_from(["f_gap", "grad_norm"]))
def test_every_grid_target_is_reached_at_the_same_row_on_the_kept_rows(values, policy, relative, metric):
    full, kept = frame(values, policy)
    assert len(kept) <= len(full)
    exact = analysis.targets_reached(full, GRID, metric=metric, relative=relative)
    thinned = analysis.targets_reached(kept, GRID, metric=metric, relative=relative)
    pd.testing.assert_frame_equal(thinned, exact)


@settings(max_examples=60, deadline=None)
@given(gaps, gaps)
def test_profiles_are_exact_on_the_rows_improvements_keeps(first, second):
    cells = pd.DataFrame({"run_id": "r", "cell_id": ["a", "b"], "task": "optimize", "objective": "q",
                          "objective.n": 2, "optimizer": ["gd", "nesterov"], "backend": "torch", "device": "cpu",
                          "dtype": "float64", "seed": 0})
    fulls, kepts = zip(frame(first, "improvements", "a"), frame(second, "improvements", "b"))
    for budget in ("iterations", "oracle", "time"):
        exact = analysis.problem_costs(cells, pd.concat(fulls), budget)
        assert analysis.problem_costs(cells, pd.concat(kepts), budget).equals(exact)


def test_lowest_target_is_the_comparison_targets_reached_makes():
    for value in (1e-2, 10 ** -0.4, 0.0123, 7.0, 1e-300):
        k = lowest_target(value)
        assert value <= target(k) and not value <= target(k - 1)
    assert lowest_target(0.0) == -math.inf and lowest_target(math.nan) == math.inf


def test_log_spacing_keeps_about_twenty_iterations_a_decade():
    kept = [i for i in range(100_001) if log_spaced(i)]
    assert kept[:21] == list(range(21)) and 20 * 4 <= len(kept) <= 21 + 20 * 4 + 4


def test_the_policies_are_suite_keys_that_reach_the_cell_and_leave_default_ids_alone():
    base = "name = 's'\nobjectives = [{ name = 'quadratic', params = { n = 4, cond = 100.0 } }]\n" \
           "optimizers = [{ name = 'gd', params = { step = 0.005 } }]\n[stop]\nmax_iter = 3000\n"
    plain = parse_suite(base).cells[0]
    assert "record" not in plain.config
    assert parse_suite("record = 'all'\n" + base).cells[0].id == plain.id
    cell = parse_suite("record = 'log'\n" + base).cells[0]
    assert cell.config["record"] == "log" and cell.id != plain.id
    rows = {"all": [], "log": []}
    for policy, config in (("all", plain.config), ("log", cell.config)):
        TASKS["optimize"].run(config, rows[policy].append)
    full, kept = pd.DataFrame(rows["all"]), pd.DataFrame(rows["log"])
    assert len(kept) < len(full) / 5 and kept["iter"].iloc[-1] == full["iter"].iloc[-1]
    for frame_ in (full, kept):
        frame_[["run_id", "cell_id"]] = ["r", "c"]
    columns = ["target", "reached", "iterations", "oracle"]  # times differ between two runs
    pd.testing.assert_frame_equal(analysis.targets_reached(kept, GRID)[columns],
                                  analysis.targets_reached(full, GRID)[columns])
    with pytest.raises(Exception, match="record"):
        parse_suite("record = 'sometimes'\n" + base)


def test_an_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="unknown record policy"):
        Recorder("some")
    assert np.isfinite(target(0))
