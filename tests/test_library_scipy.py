"""The ``scipy`` optimizer: scipy.optimize.minimize driven through the loop-owning form."""
from __future__ import annotations

import numpy as np
import pytest

import optbench
from optbench import CapabilityError, ParameterError, StopRules, solve
from optbench.tasks import run_cell
from optbench_plugins.torch_backend import TorchBackend

scipy_optimize = pytest.importorskip("scipy.optimize")

EQUIVALENT = ("L-BFGS-B", "BFGS", "CG", "Newton-CG", "trust-ncg")


def direct(objective, method, options):
    """scipy.optimize.minimize called as a user would, with the torch backend's derivatives."""
    backend = optbench.backend("torch")

    def value_and_grad(x):
        value, grad = backend.value_and_grad(objective, backend.asarray(x))
        return float(value), backend.to_numpy(grad)

    hessp = lambda x, v: backend.to_numpy(backend.hvp(objective, backend.asarray(x), backend.asarray(v)))  # noqa: E731
    extra = {"hessp": hessp} if method in ("Newton-CG", "trust-ncg") else {}
    return scipy_optimize.minimize(value_and_grad, objective.x0(0), jac=True, method=method, options=options,
                                   **extra)


@pytest.mark.parametrize("method", EQUIVALENT)
def test_same_iterations_and_final_f_as_calling_scipy_directly(method):
    objective = optbench.objective("rosenbrock", n=10)
    options = {"maxiter": 500}
    expected = direct(objective, method, options)
    result = solve(objective, optbench.optimizer("scipy", method=method, options=options), optbench.backend("torch"),
                   stop=StopRules(max_iter=10_000))
    assert result.status == ("converged" if expected.success else "stopped")
    assert result.iterations == expected.nit == result.library["nit"]
    assert len(result.trace) == expected.nit + 1  # a row per library iteration, plus the start
    assert result.f == pytest.approx(expected.fun, rel=1e-12, abs=1e-300)
    assert result.library["nfev"] == expected.nfev


def test_oracle_counts_every_evaluation_scipy_makes():
    objective = optbench.objective("rosenbrock", n=10)
    result = solve(objective, optbench.optimizer("scipy", method="Newton-CG"), optbench.backend("torch"))
    last = result.trace[-1]
    assert last["nfev"] == last["ngev"] == result.library["nfev"]
    assert last["nhvp"] == result.library["nhev"] > 0


@pytest.mark.parametrize("stop, status", [(StopRules(max_iter=5), "max_iter"), (StopRules(tol_grad=1e-2), "converged"),
                                          (StopRules(time_budget=1e-9), "time_budget")])
@pytest.mark.parametrize("method", ["L-BFGS-B", "TNC", "Nelder-Mead"])
def test_stop_rules_end_the_library_loop(method, stop, status):
    result = solve(optbench.objective("rosenbrock", n=4), optbench.optimizer("scipy", method=method),
                   optbench.backend("torch"), stop=stop)
    assert result.status == status
    if status == "max_iter":
        assert result.iterations == 5 and len(result.trace) == 6
    elif status == "time_budget":
        assert result.iterations == 1


@pytest.mark.parametrize("backend", ["dual", "tape"])
def test_runs_on_every_backend_with_the_same_iterates(backend):
    objective = optbench.objective("rosenbrock", n=4)
    runs = [solve(objective, optbench.optimizer("scipy", method="trust-exact"), optbench.backend(name))
            for name in ("torch", backend)]
    assert runs[0].iterations == runs[1].iterations
    np.testing.assert_allclose(runs[1].x, runs[0].x, rtol=1e-9)


def test_float32_iterates_stay_float32():
    result = solve(optbench.objective("quadratic", n=5), optbench.optimizer("scipy", method="BFGS"),
                   optbench.backend("torch"), dtype="float32")
    assert result.status == "converged" and result.x.dtype == np.float64 and result.f < 1e-6


def test_bounds_keep_the_iterates_in_the_box():
    result = solve(optbench.objective("rosenbrock", n=4), optbench.optimizer("scipy", method="L-BFGS-B", upper=0.5),
                   optbench.backend("torch"))
    assert result.status == "converged" and result.x.max() <= 0.5


@pytest.mark.parametrize("params, message", [
    ({"method": "BFGS", "options": {"maxcor": 5}}, "method 'BFGS' has no option 'maxcor'; it accepts: c1, c2, disp"),
    ({"method": "trust-constr", "options": {"bogus": 1}}, "method 'trust-constr' has no option 'bogus'; it accepts:"),
    ({"method": "L-BFGS-B", "options": {"maxcor": -1}}, "method 'L-BFGS-B' rejects its options"),
    ({"method": "lbfgs"}, "parameter 'method' must be one of"),
    ({"method": "CG", "lower": 0.0}, "method 'CG' takes no bounds; these do: Nelder-Mead"),
    ({"options": 3}, "parameter 'options' must be of type dict"),
])
def test_bad_methods_and_options_are_one_clear_error(params, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(")):
        optbench.optimizer("scipy", **params)


def test_options_may_be_json_text_on_the_command_line():
    assert optbench.optimizer("scipy", options='{"maxcor": 3}').p["options"] == {"maxcor": 3}


class FirstOrderTorch(TorchBackend):
    name = "first_order_torch"
    capabilities = optbench.Capabilities(max_order=1)


@pytest.mark.parametrize("method, lacking", [("trust-exact", "hessian"), ("Newton-CG", "hvp")])
def test_a_method_needing_what_the_backend_lacks_is_skipped_with_the_reason(method, lacking):
    with pytest.raises(CapabilityError, match=f"does not implement '{lacking}'"):
        solve(optbench.objective("quadratic", n=3), optbench.optimizer("scipy", method=method), FirstOrderTorch())


def test_a_cell_records_the_library_counters_beside_the_oracle_counters():
    config = {"task": "optimize", "objective": {"name": "rosenbrock", "params": {"n": 4}},
              "optimizer": {"name": "scipy", "params": {"method": "BFGS"}}, "backend": "torch", "seed": 0,
              "dtype": "float64", "device": "cpu", "stop": {"max_iter": 1000}, "metrics": ["f"], "trace_every": 1}
    rows = []
    outcome = run_cell(config, rows.append)
    assert outcome.status == "converged"
    assert outcome.metrics["library_nit"] == outcome.metrics["iterations"] == len(rows) - 1
    assert outcome.metrics["library_nfev"] == outcome.metrics["nfev"]
