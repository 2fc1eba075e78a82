"""Throughput measurements and the throughput task: Jacobian modes, skips, limits, the suite format."""
from __future__ import annotations

import numpy as np
import pytest

import optbench
from optbench.suite import SuiteError, parse_suite
from optbench.tasks import cuda_available, run_cell
from optbench.throughput import JacobianProbe, jacobian_call, jacobian_rate

THROUGHPUT = '''
name = "t"
task = "throughput"
objectives = [{ name = "sin_exp", params = { n = [10, 100000] } }]
measures = ["f", "grad"]
backends = ["torch", "dual"]
devices = ["cpu", "cuda"]
jacobian = { n = 4, m = [2, 8] }
timing = { min_time = 0.001, rounds = 2, probe_mib = 8 }
limits = [{ backend = "dual", measure = "grad", max_n = 1000, reason = "forward mode" }]
'''


@pytest.mark.parametrize("backend", ["torch", "dual", "tape"])
@pytest.mark.parametrize("mode", ["forward", "reverse", "native"])
def test_every_jacobian_mode_builds_the_jacobian(backend, mode):
    backend = optbench.backend(backend)
    probe = JacobianProbe(5, 3)
    x = np.linspace(-1.0, 1.0, 5)
    expected = (1 - np.tanh(probe.W @ x) ** 2)[:, None] * probe.W
    jacobian = jacobian_call(backend, probe, backend.asarray(x, dtype="float64"), 3, mode)()
    np.testing.assert_allclose(backend.to_numpy(jacobian), expected, rtol=1e-10, atol=1e-12)


def test_jacobian_rate_reports_its_shape_and_mode():
    rate = jacobian_rate(optbench.backend("torch"), 6, 2, mode="reverse", min_time=0.001, repeats=2)
    assert (rate["n"], rate["m"], rate["mode"]) == (6, 2, "reverse") and rate["seconds"] > 0
    with pytest.raises(ValueError, match="unknown Jacobian mode 'sideways'"):
        jacobian_rate(optbench.backend("torch"), 6, 2, mode="sideways")


def test_throughput_suite_expands_into_evaluations_jacobians_and_probes():
    cells = {cell.label: cell for cell in parse_suite(THROUGHPUT).cells}
    assert len(cells) == 2 * 2 * 2 * 2 + 2 * 2 * 2 * 2 + 2  # evaluations, Jacobians, one probe per device
    assert "sin_exp(n=10)/grad/torch/cpu/float64" in cells
    assert "jacobian_probe(n=4,m=8)/jacobian:reverse/dual/cuda/float64" in cells
    assert {"bandwidth/cpu", "bandwidth/cuda"} <= set(cells)
    capped = cells["sin_exp(n=100000)/grad/dual/cpu/float64"].config
    assert capped["skip"] == "n = 100000 is above this suite's limit 1000: forward mode"
    assert "skip" not in cells["sin_exp(n=100000)/grad/torch/cpu/float64"].config
    assert "skip" not in cells["sin_exp(n=100000)/f/dual/cpu/float64"].config


def test_throughput_cells_measure_skip_and_probe():
    cells = {cell.label: cell.config for cell in parse_suite(THROUGHPUT).cells}
    ok = run_cell(cells["sin_exp(n=10)/grad/torch/cpu/float64"], lambda row: None)
    assert ok.status == "ok" and ok.metrics["per_second"] > 0 and ok.metrics["achieved_gbps"] > 0
    limited = run_cell(cells["sin_exp(n=100000)/grad/dual/cpu/float64"], lambda row: None)
    assert (limited.status, limited.reason) == ("skipped", "n = 100000 is above this suite's limit 1000: forward mode")
    probe = run_cell(cells["bandwidth/cpu"], lambda row: None)
    assert probe.status == "ok" and probe.metrics["gbps"] > 0 and probe.metrics["bytes"] == 8 * 2**20
    jacobian = run_cell(cells["jacobian_probe(n=4,m=2)/jacobian:forward/dual/cpu/float64"], lambda row: None)
    assert jacobian.status == "ok" and jacobian.metrics["seconds"] > 0


@pytest.mark.skipif(cuda_available(), reason="checks the no-GPU skip")
def test_gpu_cells_are_skipped_without_cuda():
    cells = {cell.label: cell.config for cell in parse_suite(THROUGHPUT).cells}
    for label in ("sin_exp(n=10)/f/torch/cuda/float64", "bandwidth/cuda"):
        outcome = run_cell(cells[label], lambda row: None)
        assert (outcome.status, outcome.reason) == ("skipped", "no GPU: CUDA is not available on this machine")


@pytest.mark.skipif(not cuda_available(), reason="needs CUDA")
def test_gpu_cells_run_with_cuda():
    cells = {cell.label: cell.config for cell in parse_suite(THROUGHPUT).cells}
    for label in ("sin_exp(n=10)/grad/torch/cuda/float64", "bandwidth/cuda"):
        assert run_cell(cells[label], lambda row: None).status == "ok"


@pytest.mark.parametrize("text, path, message", [
    (THROUGHPUT + 'optimizers = [{ name = "gd" }]\n', "optimizers", "only task 'optimize' reads this key"),
    (THROUGHPUT.replace('task = "throughput"\n', ""), "measures", "only task 'throughput' reads this key"),
    (THROUGHPUT.replace('backend = "dual", measure', 'backend = "tape", measure'), "limits[0].backend",
     "'tape' is not among the suite's backends"),
    (THROUGHPUT + 'exclude = [{ optimizer = "gd" }]\n', "exclude[0].optimizer", "task 'throughput' has no optimizers"),
    (THROUGHPUT + 'exclude = [{ measure = "hvp" }]\n', "exclude[0].measure", "'hvp' is not among the suite's measures"),
    ('name = "x"\nobjectives = [{ name = "quadratic", params = { n = 2 }, x0 = [[1.0, 2.0, 3.0]] }]\n'
     'optimizers = [{ name = "gd" }]\n', "objectives[0].x0[0]", "needs n = 2 coordinates, got 3"),
    ('name = "x"\n[[grid]]\nobjectives = [{ name = "quadratic" }]\noptimizers = [{ name = "gd" }]\n'
     '[[grid]]\ntask = "throughput"\nobjectives = [{ name = "quadratik" }]\n', "grid[1].objectives[0].name",
     "did you mean 'quadratic'"),
    ('name = "x"\n[[grid]]\noptimizers = [{ name = "gd" }]\n', "grid[0].objectives", "missing required key"),
])
def test_throughput_and_grid_errors_name_the_key(text, path, message):
    with pytest.raises(SuiteError) as info:
        parse_suite(text)
    assert info.value.path == path and message in info.value.message


def test_starting_points_are_a_grid_axis_and_reach_the_solver():
    suite = parse_suite('name = "x"\nobjectives = [{ name = "xcos4x", x0 = [-3.5, -0.5] }]\n'
                        'optimizers = [{ name = "gd", params = { step = 0.001 } }]\nstop = { max_iter = 3 }\n')
    assert [c.label for c in suite.cells] == ["xcos4x(x0=-3.5)/gd(step=0.001)/torch/cpu/float64/seed=0",
                                              "xcos4x(x0=-0.5)/gd(step=0.001)/torch/cpu/float64/seed=0"]
    rows: list[dict] = []
    outcome = run_cell(suite.cells[1].config, rows.append)
    assert outcome.status == "max_iter" and rows[0]["f"] == pytest.approx(-0.5 * np.cos(-2.0) + 1.0)


def test_a_suite_without_starting_points_keeps_its_cell_ids():
    text = 'name = "x"\nobjectives = [{ name = "xcos4x" }]\noptimizers = [{ name = "gd" }]\n'
    assert "x0" not in parse_suite(text).cells[0].config
