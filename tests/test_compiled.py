"""The compiled native engines (``tape_compiled``, ``dual_compiled``) against the interpreted ones.

Every primitive is checked through the captured program (``compiler="fx"``: the graph that
TorchInductor would compile, replayed as is); a composite of many primitives, an objective
and a whole optimizer run are checked through TorchInductor itself.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optbench
from optbench_plugins.dual.backend import CompiledDualBackend
from optbench_plugins.tape.backend import CompiledTapeBackend
from tests.test_tape_rules import CASES, _Const, _objective, _unwrap

TAPE = optbench.backend("tape", storage="torch")
DUAL = optbench.backend("dual", storage="torch")
TAPE_FX, DUAL_FX = CompiledTapeBackend(compiler="fx"), CompiledDualBackend(compiler="fx")


def _close(got, want, rtol=1e-12):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=rtol, atol=1e-12)


# ---- every primitive, through the captured program ------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_primitive_captured_matches_interpreted(case, data):
    arrays = [a if isinstance(a, _Const) else torch.tensor(a) for a in data.draw(case.draw)]
    out = case.fn(optbench.namespace(torch.zeros(1)), *_unwrap(arrays))
    weights = torch.tensor(np.random.default_rng(0).standard_normal(tuple(out.shape)))
    direction = torch.tensor(np.random.default_rng(1).standard_normal(tuple(arrays[0].shape)))
    f = _objective(case, arrays, 0, weights)
    for compiled, interpreted in ((TAPE_FX, TAPE), (DUAL_FX, DUAL)):
        value, grad = compiled.value_and_grad(f, arrays[0])
        want_value, want_grad = interpreted.value_and_grad(f, arrays[0])
        _close(value, want_value)
        _close(grad, want_grad, case.rtol)
        _close(compiled.hvp(f, arrays[0], direction), interpreted.hvp(f, arrays[0], direction), max(case.rtol, 1e-10))
        _close(compiled.jvp(f, arrays[0], direction), interpreted.jvp(f, arrays[0], direction), case.rtol)
        assert not compiled.fallbacks, compiled.fallbacks


# ---- TorchInductor itself ------------------------------------------------------------------------
def composite(x):
    """Unary, binary, reduction, matmul, indexing and shape primitives in one program."""
    xp = optbench.namespace(x)
    A = xp.reshape(x[:6], (2, 3))
    y = xp.tanh(x) * xp.exp(-x**2) + xp.log1p(x * x) - xp.sqrt(1.0 + xp.abs(x)) / (2.0 + xp.cos(x))
    z = xp.maximum(xp.sin(x), 0.1 * x) + xp.where(x > 0, x, 0.5 * x) + xp.clip(x, -0.5, 0.5)
    return xp.sum(y * z) + xp.sum(xp.matmul(A, xp.matrix_transpose(A))) + xp.prod(1.0 + 0.1 * x[:3]) \
        + xp.max(x) + xp.mean(xp.stack([x, x**3], axis=0))


@pytest.fixture(scope="module")
def inductor():
    return CompiledTapeBackend(compiler="inductor"), CompiledDualBackend(compiler="inductor")


@pytest.mark.slow
def test_inductor_programs_match_the_interpreted_engines(inductor):
    x = torch.tensor(np.random.default_rng(2).standard_normal(8))
    v = torch.tensor(np.random.default_rng(3).standard_normal(8))
    tape, dual = inductor
    _close(tape.value(composite, x), composite(x))
    for want, got in zip(TAPE.value_and_grad(composite, x), tape.value_and_grad(composite, x)):
        _close(got, want, 1e-10)
    _close(tape.hvp(composite, x, v), TAPE.hvp(composite, x, v), 1e-10)
    _close(dual.jvp(composite, x, v), DUAL.jvp(composite, x, v), 1e-10)
    assert not tape.fallbacks and not dual.fallbacks
    assert tape.compile_time > 0 and dual.compile_time > 0


@pytest.mark.slow
def test_an_optimizer_run_on_inductor_matches_the_interpreted_tape(inductor):
    f = optbench.objective("rosenbrock", n=4)
    runs = [optbench.solve(f, optbench.optimizer("lbfgs"), backend, stop=optbench.StopRules(max_iter=15))
            for backend in (inductor[0], optbench.backend("tape"))]
    np.testing.assert_allclose(runs[0].x, runs[1].x, rtol=1e-10, atol=1e-12)
    assert [r["nfev"] for r in runs[0].trace] == [r["nfev"] for r in runs[1].trace]


@pytest.mark.slow
@pytest.mark.parametrize("samples, n", [(20, 5), (1000, 100)], ids=["fused-products", "blas-products"])
def test_matrix_vector_products_small_and_large_match_on_inductor(inductor, samples, n):
    """Products of at most BLAS_FROM elements are fused into the program, larger ones stay BLAS
    calls: both give the interpreted engines' values, gradients, HVPs and JVPs."""
    f = optbench.objective("logistic_regression", n=n, samples=samples)
    w, v = (torch.tensor(np.random.default_rng(seed).standard_normal(n)) for seed in (4, 5))
    tape, dual = inductor
    for want, got in zip(TAPE.value_and_grad(f, w), tape.value_and_grad(f, w)):
        _close(got, want, 1e-10)
    _close(tape.hvp(f, w, v), TAPE.hvp(f, w, v), 1e-10)
    _close(dual.jvp(f, w, v), DUAL.jvp(f, w, v), 1e-10)
    assert not tape.fallbacks and not dual.fallbacks


@pytest.mark.parametrize("shape", [(20, 5), (1000, 100)], ids=["small", "large"])
@pytest.mark.parametrize("bias", [False, True], ids=["mv", "addmv"])
def test_a_cpu_capture_records_large_products_as_matrix_products(shape, bias):
    """What TorchInductor receives: small products decomposed (fused), large ones as ``mm``
    (a BLAS call), never a bare ``mv``, which TorchInductor refuses to fall back to under ``CI``."""
    from torch.fx.experimental.proxy_tensor import make_fx

    from optbench_plugins.ad.compiled import _capture_decompositions

    X, w, b = torch.randn(shape, dtype=torch.float64), torch.randn(shape[1], dtype=torch.float64), torch.randn(shape[0], dtype=torch.float64)
    product = (lambda X, w, b: torch.addmv(b, X, w, beta=0.5, alpha=2.0)) if bias else (lambda X, w, b: X @ w)
    graph = make_fx(product, _capture_decompositions())(X, w, b)
    ops = {str(node.target) for node in graph.graph.nodes if node.op == "call_function"}
    large = shape == (1000, 100)
    assert ("aten.mm.default" in ops) is large
    assert "aten.mv.default" not in ops
    assert ("aten.addmv.default" in ops) is (bias and not large)  # a small addmv is left to TorchInductor
    _close(graph(X, w, b), product(X, w, b), 1e-12)


# ---- guards, fallbacks, nesting ------------------------------------------------------------------
@pytest.fixture(params=[CompiledTapeBackend, CompiledDualBackend], ids=["tape_compiled", "dual_compiled"])
def backend(request):
    """A new compiled backend (its own programs and fallbacks), replaying captured graphs."""
    return request.param(compiler="fx")


def test_a_new_shape_or_dtype_gets_its_own_program(backend):
    f = optbench.objective("sin_exp", n=3)
    for data in (np.ones(3), np.ones(5), np.ones(3, dtype=np.float32)):
        x = torch.tensor(data)
        _close(backend.grad(f, x), torch.cos(x) * x + torch.sin(x) - 2 * x * torch.exp(-x**2), 1e-6)
    assert len(backend._programs[f]) == 3


def test_value_dependent_control_flow_falls_back_with_the_reason(backend):
    def branchy(x):
        xp = optbench.namespace(x)
        return xp.sum(x**2) if float(xp.sum(x)) > 0 else xp.sum(x**3)

    for sign in (1.0, -1.0):  # a replay would have kept the first branch for both
        x = torch.full((3,), sign, dtype=torch.float64)
        _close(backend.grad(branchy, x), 2 * x if sign > 0 else 3 * x**2)
    assert "cannot be captured" in backend.fallbacks["branchy.value_and_grad"]


def test_nested_derivatives_keep_their_meaning(backend):
    """d/dx [x * d/dy (x + y)] at y = 1 is 1, not 2 (perturbation confusion)."""
    one = torch.ones(1, dtype=torch.float64)

    def outer(x):
        xp = optbench.namespace(x)
        return xp.sum(x * backend.grad(lambda y: xp.sum(x + y), one))

    _close(backend.grad(outer, one), [1.0])
    assert not backend.fallbacks


def test_a_function_without_a_weak_reference_runs_interpreted():
    class Unreferenceable:
        __slots__ = ()
        name = "slotted"

        def __call__(self, x):
            return optbench.namespace(x).sum(x**2)

    backend = CompiledTapeBackend(compiler="fx")
    _close(backend.grad(Unreferenceable(), torch.ones(2, dtype=torch.float64)), [2.0, 2.0])
    assert "weakly referenced" in backend.fallbacks["slotted.value_and_grad"]


def test_registered_and_listed():
    registry = optbench.load_registry()
    assert {"tape_compiled", "dual_compiled"} <= set(registry.backends)
    with pytest.raises(ValueError, match="compiler must be one of"):
        CompiledTapeBackend(compiler="nvcc")


def test_calls_of_many_passes_stay_interpreted():
    """A capture would keep every pass's arrays alive: chunked gradients, Hessian rows."""
    f = optbench.objective("sin_exp", n=100)
    x = torch.linspace(-1, 1, 100, dtype=torch.float64)
    dual, tape = CompiledDualBackend(compiler="fx", chunk=1), CompiledTapeBackend(compiler="fx")
    _close(dual.grad(f, x), TAPE.grad(f, x))
    _close(tape.hessian(f, x), TAPE.hessian(f, x))
    assert "100 chunk passes, above 64" in dual.fallbacks["sin_exp.value_and_grad"]
    assert "100 reverse sweeps (one per Hessian row)" in tape.fallbacks["sin_exp.hessian"]
    _close(tape.grad(f, x), TAPE.grad(f, x))  # one sweep: captured
    assert "sin_exp.value_and_grad" not in tape.fallbacks


def test_an_array_passed_twice_is_captured_as_two_inputs(backend):
    """A warm-up may call hvp(f, x, x); the program must still take x and v apart later."""
    f = optbench.objective("logistic_regression", n=5, samples=20)
    x = torch.linspace(-1, 1, 5, dtype=torch.float64)
    backend.hvp(f, x, x)
    v = torch.ones(5, dtype=torch.float64)
    _close(backend.hvp(f, x, v), TAPE.hvp(f, x, v), 1e-10)
