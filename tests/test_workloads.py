"""The GradBench/ADBench workloads: inputs and outputs against GradBench's reference
implementations (tests/data/gradbench_reference.json), and every backend against torch."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

import optbench
from optbench.errors import CapabilityError, ParameterError

REFERENCE = json.loads((Path(__file__).parent / "data" / "gradbench_reference.json").read_text())
CASES = REFERENCE["cases"]
WORKLOADS = ("gmm", "ba", "lstm", "kmeans", "llsq", "lse", "det", "ode")


@pytest.fixture(scope="module")
def registry():
    return optbench.load_registry()


def case_id(case):
    return case["task"] + "(" + ",".join(f"{k}={v}" for k, v in case["params"].items()) + ")"


def assert_matches(ours, summary, rtol=1e-9):
    """``ours`` against a summary of the reference: all values, or head, tail and sums."""
    ours = np.asarray(ours, dtype=float).ravel()
    if "values" in summary:
        reference = np.asarray(summary["values"])
        np.testing.assert_allclose(ours, reference, rtol=rtol, atol=rtol * np.abs(reference).max())
        return
    assert ours.size == summary["size"]
    scale = max(summary["sum_abs"] / ours.size, np.abs(summary["head"] + summary["tail"]).max(), 1e-300)
    np.testing.assert_allclose(ours[:16], summary["head"], rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(ours[-16:], summary["tail"], rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(np.abs(ours).sum(), summary["sum_abs"], rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(ours.sum(), summary["sum"], rtol=rtol, atol=rtol * summary["sum_abs"])


def derivative(backend, objective, x):
    """What GradBench times for the task, through ``backend``."""
    if objective.derivative == "grad":
        return backend.grad(objective, x)
    if objective.derivative == "jacobian":
        return objective.jacobian(backend, x)
    return getattr(objective, objective.derivative)(backend, x)


def test_every_workload_is_registered_with_its_source(registry):
    for name in WORKLOADS:
        objective = registry.objective(name)
        assert objective.source and objective.properties()["derivative"] == objective.derivative


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_inputs_are_gradbenchs(registry, case):
    objective = registry.objective(case["task"], **case["params"])
    assert_matches(objective.x0(), case["input"]["x"], rtol=0)
    if "data" in case["input"]:
        data = objective.sequence if case["task"] == "lstm" else objective.data
        assert_matches(data, case["input"]["data"], rtol=0)


@pytest.mark.parametrize("case", [c for c in CASES if c["task"] != "ba"], ids=case_id)
def test_outputs_match_gradbenchs_reference(registry, case):
    objective = registry.objective(case["task"], **case["params"])
    torch_backend = registry.backend("torch")
    x = torch_backend.asarray(objective.x0())
    primal = objective.residuals(x) if case["task"] == "ode" else objective(x)
    assert_matches(torch_backend.to_numpy(primal), case["primal"] if isinstance(case["primal"], dict)
                   else {"values": [case["primal"]]}, rtol=1e-12)
    assert_matches(torch_backend.to_numpy(derivative(torch_backend, objective, x)), case["derivative"])


def test_ba_matches_gradbenchs_reference_in_its_format(registry):
    """GradBench transmits the first two reprojection errors, the first weight error and the
    first 30 and last entries of the CSR rows, columns and values."""
    case = next(c for c in CASES if c["task"] == "ba")
    objective = registry.objective("ba", problem=1)
    torch_backend = registry.backend("torch")
    x = torch_backend.asarray(objective.x0())
    residuals = torch_backend.to_numpy(objective.residuals(x))
    p = objective.observations
    np.testing.assert_allclose(residuals[:2], case["primal"]["reproj_error"]["elements"], rtol=1e-12)
    # GradBench's PyTorch tool stores the weight errors in float32 (torch.zeros' default dtype)
    np.testing.assert_allclose(residuals[2 * p], case["primal"]["w_err"]["element"], rtol=1e-7)
    assert case["primal"]["reproj_error"]["repeated"] == p
    offsets, columns = objective.sparsity()
    values = torch_backend.to_numpy(objective.jacobian(torch_backend, x))
    dedup = lambda a: [*a[:30], a[-1]]  # noqa: E731
    assert dedup(offsets.tolist()) == case["derivative"]["rows"]
    assert dedup(columns.tolist()) == case["derivative"]["cols"]
    np.testing.assert_allclose(dedup(values), case["derivative"]["vals"], rtol=1e-9)


@pytest.mark.parametrize("backend_name", ["torch", "dual", "tape"])
def test_ba_sparse_jacobian_is_the_jacobian(registry, backend_name):
    """The compressed Jacobian times random vectors equals the residuals' JVPs."""
    objective = registry.objective("ba", problem=0, mode="forward" if backend_name == "dual" else "reverse")
    backend = registry.backend(backend_name)
    x = backend.asarray(objective.x0())
    offsets, columns = objective.sparsity()
    values = backend.to_numpy(objective.jacobian(backend, x))
    matrix = scipy.sparse.csr_matrix((values, columns, offsets), shape=(3 * objective.observations, objective.n))
    v = np.random.default_rng(0).standard_normal(objective.n)
    expected = backend.to_numpy(backend.jvp(objective.residuals, x, backend.asarray(v)))
    np.testing.assert_allclose(matrix @ v, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())


SMALL = {"gmm": {"d": 3, "k": 4, "samples": 50}, "ba": {"problem": 0}, "lstm": {"layers": 2, "chars": 6},
         "kmeans": {"k": 10, "samples": 200, "d": 3}, "llsq": {"samples": 40, "n": 12}, "lse": {"n": 300},
         "det": {"ell": 6}, "ode": {"n": 60, "steps": 20}}


@pytest.mark.parametrize("backend_name", ["dual", "tape"])
@pytest.mark.parametrize("name", WORKLOADS)
def test_backends_agree_with_torch(registry, name, backend_name):
    objective = registry.objective(name, **SMALL[name])  # ba: reverse (3 VJPs)
    reference = registry.backend("torch")
    backend = registry.backend(backend_name)
    expected = reference.to_numpy(derivative(reference, objective, reference.asarray(objective.x0())))
    if backend_name == "dual" and name == "ba":  # forward mode compresses the columns (15 JVPs)
        objective = registry.objective(name, **SMALL[name], mode="forward")
    got = backend.to_numpy(derivative(backend, objective, backend.asarray(objective.x0())))
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())
    value = backend.to_numpy(objective(backend.asarray(objective.x0())))
    np.testing.assert_allclose(value, reference.to_numpy(objective(reference.asarray(objective.x0()))), rtol=1e-12)


@pytest.mark.parametrize("name", WORKLOADS)
def test_gradients_agree_with_finite_differences(registry, name):
    """Independent of every engine: central differences of the NumPy objective along one direction."""
    objective = registry.objective(name, **SMALL[name])
    torch_backend = registry.backend("torch")
    x = objective.x0()
    v = np.random.default_rng(1).standard_normal(objective.n)
    h = 1e-6
    difference = (objective(x + h * v) - objective(x - h * v)) / (2 * h)
    directional = float(torch_backend.to_numpy(torch_backend.grad(objective, torch_backend.asarray(x))) @ v)
    assert directional == pytest.approx(float(difference), rel=1e-5, abs=1e-7 * max(1.0, abs(directional)))


def test_dimension_follows_from_the_parameters(registry):
    assert registry.objective("gmm", d=10, k=5).n == 5 * (1 + 20 + 45)
    assert registry.objective("ba", problem=1).n == 11 * 49 + 3 * 7776 + 31843
    assert registry.objective("ba").n == 11 * 2 + 3 * 3 + 5  # the default: a small replica
    assert registry.objective("det", ell=7).n == 49
    with pytest.raises(ParameterError, match="follows from its parameters"):
        registry.objective("gmm", n=3, d=2, k=5)


def test_kmeans_newton_direction_needs_a_hessian_vector_product(registry):
    class GradientOnly(optbench.Backend):
        name = "gradient_only"

        def value_and_grad(self, f, x):
            return registry.backend("torch").value_and_grad(f, x)

    objective = registry.objective("kmeans")
    with pytest.raises(CapabilityError, match="hvp"):
        objective.newton_direction(GradientOnly(), objective.x0())


def test_lse_shares_log_sum_exp_s_implementation(registry):
    """lse(x) is log_sum_exp's log-sum-exp applied to x itself."""
    from optbench_plugins.objectives.convex import logsumexp

    x = registry.objective("lse", n=2500).x0()
    assert registry.objective("lse", n=2500)(x) == pytest.approx(float(logsumexp(optbench.namespace(x), x, axis=0)))
    assert registry.objective("lse", n=2500)(x) == pytest.approx(np.log(np.exp(x).sum()), rel=1e-14)
