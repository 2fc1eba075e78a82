"""The oracle is honest for every engine (issue 12): plain values go through the backend, every
method an optimizer needs is warmed up before the clock starts, derivatives of the wrong shape
or dtype end the cell as crashed, cached constants never hold a traced or boxed value."""
from __future__ import annotations

import numpy as np
import pytest

import optbench
from optbench import BackendResultError
from optbench.environment import capture
from optbench.objective import cached_constant
from optbench.tasks import run_cell
from optbench.throughput import evaluation_rate
from optbench.workers import set_threads
from optbench_plugins.torch_backend import TorchBackend

BAD_BACKENDS = '''
import torch
import optbench
from optbench_plugins.torch_backend import TorchBackend


class GradTooShort(TorchBackend):
    name = "test_grad_too_short"
    def value_and_grad(self, f, x):
        value, grad = super().value_and_grad(f, x)
        return value, grad[:1]


@optbench.hookimpl
def optbench_register_backends(register):
    register(GradTooShort)
'''


class Counting(TorchBackend):
    """torch, counting what the oracle asks for and when."""

    name = "test_counting"

    def __init__(self):
        super().__init__()
        self.calls: list[str] = []

    def value(self, f, x):
        self.calls.append("value")
        return super().value(f, x)

    def hessian(self, f, x):
        self.calls.append("hessian")
        return super().hessian(f, x)

    def hvp(self, f, x, v):
        self.calls.append("hvp")
        return super().hvp(f, x, v)


class Wrong(TorchBackend):
    """torch, with one method's result replaced by ``wrong(result)``."""

    name = "test_wrong"

    def __init__(self, method: str, wrong):
        super().__init__()
        self.method, self.wrong = method, wrong

    def value_and_grad(self, f, x):
        value, grad = super().value_and_grad(f, x)
        return value, self.wrong(grad) if self.method == "grad" else grad

    def hvp(self, f, x, v):
        result = super().hvp(f, x, v)
        return self.wrong(result) if self.method == "hvp" else result

    def hessian(self, f, x):
        result = super().hessian(f, x)
        return self.wrong(result) if self.method == "hessian" else result


def _solve(optimizer: str, backend, max_iter: int = 3, **options):
    return optbench.solve(optbench.objective("rosenbrock", n=4), optbench.optimizer(optimizer), backend,
                          stop=optbench.StopRules(max_iter=max_iter), **options)


# ---- Backend.value ---------------------------------------------------------------------------
def test_line_searches_evaluate_through_backend_value():
    backend = Counting()
    _solve("gd_armijo", backend)
    assert backend.calls.count("value") >= 2  # the warm-up and the line search's trial points


def test_throughput_f_measure_evaluates_through_backend_value():
    backend = Counting()
    evaluation_rate(backend, optbench.objective("sin_exp", n=3), "f", min_time=1e-4, repeats=1)
    assert "value" in backend.calls


# ---- warm-up -----------------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer, method", [("newton", "hessian"), ("newton_cg", "hvp")])
def test_warm_up_calls_every_method_the_optimizer_needs(optimizer, method):
    backend = Counting()
    result = _solve(optimizer, backend, max_iter=0)  # no iteration: only the warm-up asked
    assert method in backend.calls
    assert result.warmup_time > 0 and result.summary()["warmup_time"] == result.warmup_time


def test_no_warm_up_when_asked_not_to():
    backend = Counting()
    result = _solve("newton", backend, max_iter=0, warmup=False)
    assert backend.calls == [] and result.warmup_time == 0.0


def test_throughput_records_warm_up_time():
    rate = evaluation_rate(TorchBackend(), optbench.objective("sin_exp", n=3), "hessian", min_time=1e-4,
                           repeats=1)
    assert rate["warmup_time"] > 0


# ---- shapes and dtypes ---------------------------------------------------------------------------
@pytest.mark.parametrize("method, optimizer, wrong, actual", [
    ("grad", "gd", lambda g: g[:1], "(1,)"),
    ("grad", "gd", lambda g: g[:, None] * g, "(4, 4)"),
    ("hvp", "newton_cg", lambda h: h[:2], "(2,)"),
    ("hessian", "newton", lambda h: h[0], "(4,)"),
])
def test_wrong_shapes_are_never_broadcast(method, optimizer, wrong, actual):
    with pytest.raises(BackendResultError) as info:
        _solve(optimizer, Wrong(method, wrong))
    message = str(info.value)
    assert "'test_wrong'" in message and method in message and actual in message
    assert ("(4, 4)" if method == "hessian" else "(4,)") in message.split("expected")[1]


def test_wrong_dtype_is_an_error():
    import torch

    with pytest.raises(BackendResultError, match=r"grad .*torch.float32.*expected .*torch.float64"):
        _solve("gd", Wrong("grad", lambda g: g.to(torch.float32)))


def test_a_wrong_shape_crashes_the_cell_with_the_reason(fake_dist):
    fake_dist("optbench-test-bad", {"test_bad": "optbench_test_bad"}, {"optbench_test_bad": BAD_BACKENDS})
    config = {"task": "optimize", "objective": {"name": "rosenbrock", "params": {"n": 4}},
              "optimizer": {"name": "gd", "params": {}}, "backend": "test_grad_too_short", "seed": 0,
              "dtype": "float64", "device": "cpu", "stop": {"max_iter": 3}, "metrics": ["f", "grad_norm"],
              "trace_every": 1}
    outcome = run_cell(config, lambda row: None)
    assert outcome.status == "crashed"
    assert ("backend 'test_grad_too_short' returned grad of shape (1,) and dtype torch.float64, "
            "expected shape (4,)") in outcome.reason


# ---- cached constants ------------------------------------------------------------------------------
def test_cached_constants_never_hold_a_jax_tracer():
    jax = pytest.importorskip("jax")
    f = optbench.objective("quadratic", n=3)
    x = jax.numpy.ones(3)
    jax.jit(jax.grad(f))(x)
    hessian = jax.jit(jax.hessian(f))(x)  # raised UnexpectedTracerError: the first trace's constant
    np.testing.assert_allclose(np.asarray(hessian), optbench.backend("torch").hessian(f, np.ones(3)).numpy(),
                               rtol=1e-5)


@pytest.mark.parametrize("engine", ["dual", "tape"])
def test_cached_constants_never_hold_a_boxed_value(engine):
    backend = optbench.backend(engine)
    f = optbench.objective("quadratic", n=3)
    x = backend.asarray(np.ones(3))
    backend.grad(f, x)
    hessian = backend.to_numpy(backend.hessian(f, x))  # nested: a derivative of a derivative
    np.testing.assert_allclose(hessian, optbench.backend("torch").hessian(f, np.ones(3)).numpy(), rtol=1e-12)
    assert {type(v).__name__ for v in f._constants.values()} <= {"ndarray", "Tensor"}
    assert not any(getattr(v, "requires_grad", False) for v in f._constants.values())


def test_cached_constants_are_keyed_on_the_storage_dtype():
    cache: dict = {}
    single = cached_constant(cache, "a", np.ones(2), np.zeros(2, dtype=np.float32))
    double = cached_constant(cache, "a", np.ones(2), np.zeros(2))
    assert single.dtype == np.float32 and double.dtype == np.float64 and len(cache) == 2


# ---- threads and the environment ------------------------------------------------------------------------
def test_set_threads_reaches_the_cells_backend():
    settings = set_threads(1, "torch")
    assert settings["torch_threads"] == 1


def test_environment_records_plugin_requirements():
    env = capture(optbench.load_registry(), "suites/quickstart.toml", "hash", 1)
    assert env["requirements"]["optbench"]["numpy"] == np.__version__


# ---- conventions at kinks ---------------------------------------------------------------------------------
class AbsOneAtZero(TorchBackend):
    """torch, except that abs'(0) comes out as 1 (as in JAX)."""

    name = "test_abs_one"

    def value_and_grad(self, f, x):
        value, grad = super().value_and_grad(f, x)
        return value, grad + (x == 0).to(grad.dtype)


@pytest.mark.parametrize("claims, outcome", [(True, pytest.fail.Exception), (False, pytest.skip.Exception)])
def test_the_kit_fails_a_broken_claim_and_reports_the_rest(claims, outcome):
    from optbench.registry import Spec
    from optbench.testing.checks import test_backend_follows_torch_conventions as check

    cls = type("Checked", (AbsOneAtZero,), {"capabilities": optbench.Capabilities(torch_conventions=claims)})
    with pytest.raises(outcome, match=r"abs at 0: backend 'test_abs_one' gives the gradient \[1.0\], torch \[0.0\]"):
        check(Spec("test_abs_one", "backends", cls, "test", "test"), "abs at 0")


@pytest.mark.parametrize("engine", ["dual", "tape"])
def test_vector_norm_derivative_at_zero_is_zero(engine):
    backend = optbench.backend(engine)
    grad = backend.grad(lambda x: optbench.namespace(x).linalg.vector_norm(x), backend.asarray(np.zeros(3)))
    np.testing.assert_array_equal(backend.to_numpy(grad), np.zeros(3))  # was nan (0/0)
