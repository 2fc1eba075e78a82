"""The suites in suites/: each validates, quickstart runs end to end, the course-notes suite
reproduces the notes' numbers and the conditioning suite's exponents match theory."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

import optbench.results
from optbench import analysis
from optbench.runner import run_suite
from optbench.suite import load_suite
from optbench.tasks import cuda_available

SUITES = sorted((Path(__file__).parents[1] / "suites").glob("*.toml"))


def run(name: str, tmp_path: Path, keep=None):
    """Run suites/<name>.toml (only the cells ``keep`` accepts) and load its results."""
    suite = load_suite(Path(__file__).parents[1] / "suites" / f"{name}.toml")
    if keep is not None:
        suite.cells = [cell for cell in suite.cells if keep(cell.config)]
    summary = run_suite(suite, tmp_path, jobs=2, quiet=True)
    return optbench.results.load(tmp_path, run=summary.run_id)


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.stem)
def test_every_suite_validates(path):
    assert load_suite(path).cells


def test_the_issue_suites_are_there():
    assert {p.stem for p in SUITES} >= {"quickstart", "course-notes", "convergence", "conditioning", "throughput"}


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    start = time.perf_counter()
    results = run("quickstart", tmp_path_factory.mktemp("quickstart"))
    return results, time.perf_counter() - start


def test_quickstart_runs_every_measurement(quickstart):
    results, _ = quickstart
    cells = results.cells
    assert set(cells["task"]) == {"optimize", "throughput"}
    assert not set(cells["status"]) & {"crashed", "timeout"}, analysis.failures(cells).to_string()
    rates = analysis.throughput_table(cells)
    cpu = rates[(rates["device"] == "cpu") & (rates["status"] == "ok")]
    assert set(cpu["backend"]) == {"torch", "dual", "tape"}
    assert (cpu["per_second"] > 0).all()
    gpu = rates[rates["device"] == "cuda"]
    if not cuda_available():
        assert (gpu["status"] == "skipped").all() and gpu["reason"].str.startswith("no GPU").all()
    assert analysis.bandwidth_table(cells)["probe_gbps"].gt(0).all()
    assert len(analysis.jacobian_crossover(cells)) == 3  # one per backend on the CPU
    assert analysis.kappa_exponents(cells)["exponent"].notna().any()
    assert len(results.traces) > 0


def test_quickstart_skips_dual_gradients_above_its_limit(quickstart):
    rates = analysis.throughput_table(quickstart[0].cells)
    capped = rates[(rates["backend"] == "dual") & (rates["measure"] == "grad") & (rates["n"] > 10000)
                   & (rates["device"] == "cpu")]
    assert len(capped) and (capped["status"] == "skipped").all()
    assert capped["reason"].str.contains("above this suite's limit 10000").all()


def test_course_notes_suite_reproduces_the_notes(tmp_path):
    cells = run("course-notes", tmp_path).cells.set_index(["objective", "x0", "optimizer.step", "dtype"])
    assert (cells["status"] == "max_iter").all() and (cells["iterations"] == 150).all()
    # |x| + (x - 5)^2, step 0.05, 150 steps: the notes print 4.499998 (float32) from 0, and from 10 too
    for x0 in (0.0, 10.0):
        end = cells.loc[("abs_quadratic", x0, 0.05, "float32")]
        assert end["dist_final"] == pytest.approx(2e-6, abs=5e-7) and end["f_final"] == pytest.approx(4.75)
        assert cells.loc[("abs_quadratic", x0, 0.05, "float64"), "dist_final"] < 2e-6
    # x cos 4x + 2|x|: step 0.05 from -3.5 oscillates (no stationary point in sight)
    assert cells.loc[("xcos4x", -3.5, 0.05, "float64"), "grad_norm_final"] > 1.0
    # step 0.001: -3.5 settles in a local minimum far from 0; -0.5 ends closest to the global one
    small = cells.xs((0.001, "float64"), level=("optimizer.step", "dtype")).loc["xcos4x"]
    assert small.loc[-3.5, "grad_norm_final"] < 0.01 and small.loc[-3.5, "dist_final"] > 3.0
    assert small["dist_final"].idxmin() == -0.5 and small.loc[-0.5, "dist_final"] < 0.15
    # tanh from 4: the gradient 0.0013 hardly moves x in 150 steps
    assert cells.loc[("tanh", 4.0, 0.05, "float64"), "grad_norm_final"] == pytest.approx(0.00137, abs=5e-5)


def test_conditioning_exponents_match_theory(tmp_path):
    """A reduced grid of suites/conditioning.toml (n = 10, kappa 10..1000); the full run is in docs."""
    def keep(config):
        params = config["objective"]["params"]
        return (config["optimizer"]["name"] in ("gd", "heavy_ball") and params["n"] == 10 and params["rotate"]
                and 10 <= params["cond"] <= 1000)

    fits = analysis.kappa_exponents(run("conditioning", tmp_path, keep).cells).set_index("optimizer")
    for name in ("gd", "heavy_ball"):
        assert fits.loc[name, "points"] == 3
        assert abs(fits.loc[name, "exponent"] - fits.loc[name, "theory"]) <= 0.15, fits.to_string()
