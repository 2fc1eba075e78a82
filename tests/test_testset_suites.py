"""The standard-test-set suites: more-wild, bbob and real-data validate, and slices of them run
end to end into reports with their profiles and runtime distributions."""
from __future__ import annotations

from pathlib import Path

import pytest

import optbench.results
from optbench import analysis, ecdf
from optbench.report import tables
from optbench.runner import run_suite
from optbench.suite import load_suite

SUITES = Path(__file__).parents[1] / "suites"


def run_slice(name: str, tmp_path: Path, keep):
    suite = load_suite(SUITES / f"{name}.toml")
    suite.cells = [cell for cell in suite.cells if keep(cell.config)]
    summary = run_suite(suite, tmp_path, jobs=2, quiet=True)
    return optbench.results.load(tmp_path, run=summary.run_id)


def objective(config: dict) -> dict:
    return config["objective"]["params"]


def test_more_wild_lists_their_53_instances():
    cells = load_suite(SUITES / "more-wild.toml").cells
    instances = {tuple(objective(c.config)[k] for k in ("problem", "n", "m", "x0_scale")) for c in cells}
    assert len(instances) == 53 and len({i[0] for i in instances}) == 22
    assert (11, 12, 31, 10.0) in instances and (19, 8, 8, 1.0) in instances  # Watson s = 1, BDQRTIC


def test_bbob_covers_24_functions_5_dimensions_15_instances():
    cells = load_suite(SUITES / "bbob.toml").cells
    problems = {tuple(objective(c.config)[k] for k in ("function", "n", "instance")) for c in cells}
    assert len(problems) == 24 * 5 * 15
    assert {p[1] for p in problems} == {2, 3, 5, 10, 20} and {p[2] for p in problems} == set(range(1, 16))


@pytest.mark.slow
def test_more_wild_slice_reports_profiles_at_four_accuracies(tmp_path):
    results = run_slice("more-wild", tmp_path, lambda c: objective(c)["problem"] in (4, 7)
                        and c["optimizer"]["name"] in ("lbfgs", "gd_armijo"))
    assert not set(results.cells["status"]) & {"crashed", "timeout"}, analysis.failures(results.cells).to_string()
    found = tables(results, "oracle")
    assert sorted(found["data_profile"]["accuracy"].unique()) == [1e-7, 1e-5, 1e-3, 1e-1]
    assert sorted(found["performance_profile"]["accuracy"].unique()) == [1e-7, 1e-5, 1e-3, 1e-1]
    assert "runtime_distribution" not in found  # no bbob cells


@pytest.mark.slow
def test_bbob_slice_reports_runtime_distributions_per_group(tmp_path):
    results = run_slice("bbob", tmp_path, lambda c: objective(c)["function"] in (1, 15) and objective(c)["n"] == 2
                        and objective(c)["instance"] == 1 and c["optimizer"]["name"] in ("lbfgs", "adam"))
    assert not set(results.cells["status"]) & {"crashed", "timeout"}, analysis.failures(results.cells).to_string()
    table = tables(results, "oracle")["runtime_distribution"]
    assert set(table["group"]) == {"separable", "multimodal with adequate global structure", ecdf.ALL}
    sphere = table[(table["group"] == "separable") & (table["solver"] == "lbfgs")]
    assert sphere["fraction"].max() == 1.0  # L-BFGS reaches every target on the sphere
    assert (table["pairs"][table["group"] == ecdf.ALL] == 2 * 51).all()


@pytest.mark.slow
def test_real_data_slice_runs(tmp_path):
    pytest.importorskip("sklearn")
    results = run_slice("real-data", tmp_path, lambda c: objective(c)["dataset"] == "iris" and c["seed"] == 0
                        and c["optimizer"]["name"] in ("lbfgs", "newton_cg"))
    cells = results.cells
    assert len(cells) == 6 and not set(cells["status"]) & {"crashed", "timeout"}, analysis.failures(cells).to_string()
    convex = cells[cells["objective"] != "real_mlp"]
    assert (convex["f_gap_final"] < 1e-8).all()  # both solve the convex problems (f* from a Newton solve)
