"""The throughput task's ``derivative`` measure, limits on objective parameters, derived
dimensions in the grid, and the ADBench tables of the report (optbench.adbench)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import optbench
from optbench import adbench
from optbench.errors import CapabilityError
from optbench.suite import SuiteError, parse_suite
from optbench.tasks import run_cell
from optbench.throughput import evaluation_rate

SUITE = """
name = "w"
task = "throughput"
measures = ["f", "derivative"]
backends = ["torch", "dual"]
devices = ["cpu"]
dtypes = ["float64"]
objectives = [
  { name = "det", params = { ell = [3, 4] } },
  { name = "kmeans", params = { k = 2, samples = 10, d = 2 } },
  { name = "sin_exp", params = { n = 5 } },
]
limits = [
  { objective = "det", backend = "dual", params = { ell = 4 }, reason = "too slow" },
  { objective = "kmeans", max_n = 3, reason = "above three" },
]
[timing]
min_time = 0.001
rounds = 1
"""


def cells():
    return {cell.label: cell.config for cell in parse_suite(SUITE).cells}


def test_workload_dimensions_are_derived_in_the_grid():
    found = cells()
    assert found["det(ell=4)/f/torch/cpu/float64"]["objective"]["params"]["n"] == 16
    with pytest.raises(SuiteError, match="n follows from its parameters"):
        parse_suite(SUITE.replace("ell = [3, 4]", "ell = 3, n = 5"))


def test_limits_match_objective_parameters_and_max_n_is_optional():
    found = cells()
    assert found["det(ell=4)/derivative/dual/cpu/float64"]["skip"] == "ell = 4: too slow"
    assert "skip" not in found["det(ell=3)/derivative/dual/cpu/float64"]
    assert "skip" not in found["det(ell=4)/derivative/torch/cpu/float64"]
    assert found["kmeans(k=2,samples=10,d=2)/f/torch/cpu/float64"]["skip"] == \
        "n = 4 is above this suite's limit 3: above three"


def test_derivative_cells_time_what_the_objective_asks_for():
    found = cells()
    det = run_cell(found["det(ell=3)/derivative/dual/cpu/float64"], lambda row: None)
    assert det.status == "ok" and det.metrics["computes"] == "grad" and det.metrics["seconds"] > 0
    assert (det.metrics["size"], det.metrics["size_name"]) == (3, "ell")
    plain = run_cell(found["sin_exp(n=5)/derivative/torch/cpu/float64"], lambda row: None)
    assert plain.status == "ok" and plain.metrics["computes"] == "grad" and "size" not in plain.metrics


def test_a_backend_without_the_asked_derivative_is_skipped_with_the_reason():
    class GradientOnly(optbench.Backend):
        name = "gradient_only"

        def asarray(self, data, dtype=None, device=None):
            return np.asarray(data, dtype=dtype or "float64")

        def value_and_grad(self, f, x):
            return optbench.backend("torch").value_and_grad(f, x)

    kmeans = optbench.objective("kmeans", k=2, samples=10, d=2)
    with pytest.raises(CapabilityError, match="'hvp'"):
        evaluation_rate(GradientOnly(), kmeans, "derivative", min_time=0.001, repeats=1)
    rate = evaluation_rate(optbench.backend("torch"), kmeans, "derivative", min_time=0.001, repeats=1)
    assert rate["computes"] == "newton_direction"


def fake_cells() -> pd.DataFrame:
    """Two sizes of one workload: torch twice as slow as tape at the first size, half at the second."""
    rows = []
    for n, size, times in ((10, 2, {"torch": 2.0, "tape": 1.0}), (20, 4, {"torch": 1.0, "tape": 2.0})):
        for backend, seconds in times.items():
            for measure, t in (("f", seconds / 4), ("derivative", seconds)):
                rows.append({"task": "throughput", "objective": "w", "objective.n": n, "measure": measure,
                             "backend": backend, "device": "cpu", "dtype": "float64", "status": "ok", "reason": "",
                             "seconds": t, "size": size, "size_name": "s", "computes": "grad"})
    rows.append({"task": "throughput", "objective": "w", "objective.n": 20, "measure": "derivative",
                 "backend": "dual", "device": "cpu", "dtype": "float64", "status": "skipped", "reason": "slow",
                 "seconds": np.nan, "size": np.nan, "size_name": np.nan, "computes": np.nan})
    rows.append({"task": "throughput", "objective": "plain", "objective.n": 3, "measure": "f", "backend": "torch",
                 "device": "cpu", "dtype": "float64", "status": "ok", "reason": "", "seconds": 1.0})
    return pd.DataFrame(rows)


def test_workload_table_pairs_objective_and_derivative_times():
    table = adbench.workload_table(fake_cells())
    assert set(table["objective"]) == {"w"}  # objectives without derivative cells are not workloads
    ran = table[table["status"] == "ok"]
    assert np.allclose(ran["ratio"], 4.0)
    skipped = table[table["status"] == "skipped"].iloc[0]
    assert skipped["reason"] == "slow" and math.isnan(skipped["seconds_derivative"]) and skipped["size"] == 4


def test_slowdowns_are_geometric_means_against_the_fastest_at_each_size():
    slowdown = adbench.slowdowns(adbench.workload_table(fake_cells())).set_index("series")
    # torch: 2x then 1x -> sqrt(2); tape: 1x then 2x -> sqrt(2); each fastest once
    assert slowdown.loc["torch cpu float64", "slowdown"] == pytest.approx(math.sqrt(2))
    assert slowdown.loc["tape cpu float64", "slowdown"] == pytest.approx(math.sqrt(2))
    assert slowdown["fastest"].tolist() == [1, 1] and slowdown["sizes"].tolist() == [2, 2]
    matrix = adbench.slowdown_matrix(slowdown.reset_index())
    assert matrix.loc["w", "torch cpu float64"] == "1.41x (2)"


def test_sizes_sharing_a_dimension_stay_apart():
    """llsq's sizes all have n = 128: a cell is identified by all its objective parameters."""
    rows = [{"task": "throughput", "objective": "w", "objective.n": 8, "objective.samples": samples,
             "measure": measure, "backend": backend, "device": "cpu", "dtype": "float64",
             "status": "skipped" if backend == "dual" else "ok", "reason": "",
             "seconds": np.nan if backend == "dual" else 1.0, "size": np.nan if backend == "dual" else 8 * samples,
             "size_name": np.nan if backend == "dual" else "samples*n"}
            for samples in (1, 2) for measure in ("f", "derivative") for backend in ("torch", "dual")]
    table = adbench.workload_table(pd.DataFrame(rows))
    assert sorted(table["size"]) == [8, 8, 16, 16]
    assert set(table.loc[table["backend"] == "dual", "size"]) == {8, 16}
