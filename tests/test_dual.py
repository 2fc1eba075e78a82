"""The dual engine: every primitive's JVP rule against torch and finite differences, chunks,
nesting and tags, second order, storage kinds, the trace and the errors."""
from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import optbench
from optbench_plugins.ad.primitives import PRIMITIVES
from optbench_plugins.dual import Dual, DualBackend, TagError
from optbench_plugins.dual.backend import default_chunk
from optbench_plugins.dual.rules import JVP

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
DUAL = DualBackend()


def torch_jacobian(f, x: np.ndarray) -> np.ndarray:
    """The reference: torch autograd's Jacobian of the same Array API function, float64."""
    return torch.autograd.functional.jacobian(f, torch.tensor(x, dtype=torch.float64)).numpy()


def central_jacobian(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        e = e.reshape(x.shape)
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(cols, axis=-1).reshape(np.shape(f(x)) + x.shape)


def check_jacobian(f, x: np.ndarray, fd: bool = True) -> None:
    jac = DUAL.jacobian(f, x)
    np.testing.assert_allclose(jac, torch_jacobian(f, x), rtol=1e-10, atol=1e-12)
    if fd:
        np.testing.assert_allclose(jac, central_jacobian(f, x), rtol=1e-5, atol=1e-6)


def test_rule_table_covers_the_primitives_exactly():
    assert set(JVP) == set(PRIMITIVES)


# ---- elementwise primitives, drawn shapes and values -------------------------------------------
def ns(x):
    return optbench.namespace(x)


def const(z, value, dtype=None):
    """``value`` as a plain storage array next to ``z`` (torch for the reference, numpy otherwise)."""
    return torch.as_tensor(value, dtype=dtype) if isinstance(z, torch.Tensor) else np.asarray(value, dtype=dtype)


UNARY_DOMAINS = {  # name: (low, high) of |x| or x; abs and sign keep away from their kink at 0
    "negative": (-2, 2), "positive": (-2, 2), "abs": (0.1, 2), "sign": (0.1, 2), "sqrt": (0.1, 3),
    "square": (-2, 2), "exp": (-2, 2), "expm1": (-2, 2), "log": (0.1, 3), "log1p": (-0.5, 3),
    "sin": (-3, 3), "cos": (-3, 3), "tan": (-1.2, 1.2), "tanh": (-2, 2), "sinh": (-2, 2),
    "cosh": (-2, 2), "atan": (-2, 2),
}
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)


@pytest.mark.parametrize("name", sorted(UNARY_DOMAINS))
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_unary_primitive(name, data):
    low, high = UNARY_DOMAINS[name]
    x = data.draw(hnp.arrays(np.float64, data.draw(shapes), elements=st.floats(low, high)))
    if name in ("abs", "sign"):
        x = x * data.draw(hnp.arrays(np.float64, x.shape, elements=st.sampled_from([-1.0, 1.0])))
    check_jacobian(lambda z: getattr(ns(z), name)(z), x)


BINARY_DOMAINS = {"add": (-2, 2), "subtract": (-2, 2), "multiply": (-2, 2), "divide": (0.2, 2),
                  "pow": (0.2, 2), "maximum": (-2, 2), "minimum": (-2, 2), "logaddexp": (-2, 2)}


@pytest.mark.parametrize("name", sorted(BINARY_DOMAINS))
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_binary_primitive_with_broadcasting(name, data):
    # the two operands have different ranks, so the k tangent directions must stay in front
    low, high = BINARY_DOMAINS[name]
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    tail = shape[data.draw(st.integers(0, len(shape) - 1)):]
    x = data.draw(hnp.arrays(np.float64, (math.prod(shape) + math.prod(tail),), unique=True,
                             elements=st.floats(low, high).map(lambda v: round(v, 2))))  # ties stay far apart

    def f(z):
        a, b = ns(z).reshape(z[:math.prod(shape)], shape), ns(z).reshape(z[math.prod(shape):], tail)
        op = getattr(ns(z), name)
        return ns(z).stack([ns(z).sum(op(a, b)), ns(z).sum(op(b, a))])

    check_jacobian(f, x)


@pytest.mark.parametrize("expr", [
    lambda z: z * 3.0, lambda z: 3.0 * z, lambda z: 3.0 - z, lambda z: 2.0 / z, lambda z: z ** 3,
    lambda z: 2.0 ** z, lambda z: z ** 0.5, lambda z: ns(z).maximum(z, 1.0), lambda z: -z + z / 4,
    lambda z: ns(z).asarray(np.arange(1.0, 4.0), dtype=z.dtype) @ ns(z).reshape(z, (3, 2)),
    lambda z: const(z, np.arange(1.0, 4.0)) * z[:3],  # a storage array on the left
])
def test_constants_and_scalars_in_either_order(expr):
    check_jacobian(expr, np.array([0.5, 1.5, 2.0, 0.7, 1.1, 1.9]))


# ---- reductions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), 1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_over_axes(name, axis, keepdims):
    x = np.random.default_rng(1).uniform(0.5, 1.5, (2, 3, 2))
    check_jacobian(lambda z: getattr(ns(z), name)(z, axis=axis, keepdims=keepdims), x)


@pytest.mark.parametrize("name", ["max", "min"])
def test_extremes_share_the_derivative_among_ties(name):
    x = np.array([1.0, 3.0, 3.0, -1.0]) * (1 if name == "max" else -1)
    check_jacobian(lambda z: getattr(ns(z), name)(z), x, fd=False)


@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0, 4.0, 1.5, 0.5], [0.0, 0.0, 3.0, 4.0, 0.0, 2.0]])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_prod_with_zeros_is_exact_to_second_order(x, axis):
    x = np.array(x)

    def f(z):
        return ns(z).sum(ns(z).prod(ns(z).reshape(z, (2, 3)), axis=axis) ** 2)

    check_jacobian(lambda z: ns(z).prod(ns(z).reshape(z, (2, 3)), axis=axis, keepdims=True), x)
    expected = torch.autograd.functional.hessian(f, torch.tensor(x)).numpy()
    np.testing.assert_allclose(DUAL.hessian(f, x), expected, rtol=1e-12, atol=1e-12)


# ---- linear algebra and shapes ------------------------------------------------------------------
def pieces(z, *shapes):
    """Consecutive slices of ``z`` reshaped to ``shapes``."""
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(ns(z).reshape(z[start:start + size], shape))
        start += size
    return out


LINEAR_CASES = {
    "matmul 2x2": lambda z: ns(z).matmul(*pieces(z, (2, 3), (3, 2))),
    "matmul 1x2": lambda z: ns(z).matmul(*pieces(z, (3,), (3, 2))),
    "matmul 2x1": lambda z: ns(z).matmul(*pieces(z, (2, 3), (3,))),
    "matmul 1x1": lambda z: ns(z).matmul(*pieces(z, (3,), (3,))),
    "matmul batched": lambda z: ns(z).matmul(*pieces(z, (2, 1, 2), (2, 3))),
    "matmul 1x3": lambda z: ns(z).matmul(*pieces(z, (2,), (2, 2, 1))),
    "matmul 3x1": lambda z: ns(z).matmul(*pieces(z, (2, 1, 2), (2,))),
    "@": lambda z: (lambda a, b: a @ b)(*pieces(z, (2, 3), (3,))),
    "vecdot": lambda z: ns(z).vecdot(*pieces(z, (2, 3), (3,))),
    "vecdot axis 0": lambda z: ns(z).vecdot(*pieces(z, (2, 2), (2, 2)), axis=0),
    "tensordot 1": lambda z: ns(z).tensordot(*pieces(z, (2, 3), (3, 2)), axes=1),
    "tensordot pairs": lambda z: ns(z).tensordot(*pieces(z, (2, 3), (2, 2)), axes=([0], [1])),
    "matrix_transpose": lambda z: ns(z).matrix_transpose(ns(z).reshape(z, (2, 3, 2))),
    ".mT": lambda z: ns(z).reshape(z, (3, 4)).mT,
    "reshape": lambda z: ns(z).reshape(z, (3, -1)),
    "expand_dims": lambda z: ns(z).expand_dims(ns(z).reshape(z, (3, 4)), axis=1),
    "squeeze": lambda z: ns(z).squeeze(ns(z).reshape(z, (3, 1, 4)), axis=-2),
    "broadcast_to": lambda z: ns(z).broadcast_to(ns(z).reshape(z, (3, 1, 4)), (2, 3, 2, 4)),
    "stack": lambda z: ns(z).stack([z[:4], ns(z).asarray(np.ones(4)), z[8:]], axis=-1),
    "concat": lambda z: ns(z).concat([ns(z).reshape(z[:6], (2, 3)), ns(z).reshape(z[6:], (2, 3))], axis=1),
    "concat None": lambda z: ns(z).concat([ns(z).reshape(z[:6], (2, 3)), z[6:]], axis=None),
    "getitem int": lambda z: ns(z).reshape(z, (3, 4))[1],
    "getitem slices": lambda z: ns(z).reshape(z, (3, 4))[::2, 1:-1],
    "getitem None": lambda z: ns(z).reshape(z, (3, 4))[None, :, 2],
    "getitem ellipsis": lambda z: ns(z).reshape(z, (3, 2, 2))[..., 0],
    "getitem mask": lambda z: z[const(z, np.arange(12) % 3 == 0)],
    "getitem 2-d mask": lambda z: ns(z).reshape(z, (3, 4))[:, const(z, [True, False, True, True])],
    "take rows": lambda z: ns(z).take(ns(z).reshape(z, (3, 4)), const(z, [2, 0, 2]), axis=0),
    "take columns": lambda z: ns(z).take(ns(z).reshape(z, (3, 4)), const(z, [3, 1]), axis=-1),
    "take 1-d": lambda z: ns(z).take(z, const(z, [11, 0, 0, 5])),
    "astype": lambda z: ns(z).astype(z, ns(z).float64),
    "where": lambda z: ns(z).where(z > 0.5, z * z, ns(z).sin(z)),
    "where broadcast": lambda z: ns(z).where(const(z, [True, False, True]), ns(z).reshape(z, (4, 3)), z[:3]),
    "clip": lambda z: ns(z).clip(z, min=0.2, max=0.8),
    "vector_norm": lambda z: ns(z).linalg.vector_norm(ns(z).reshape(z, (3, 4)), axis=1),
}


@pytest.mark.parametrize("case", sorted(LINEAR_CASES))
def test_linear_algebra_and_shape_primitives(case):
    x = np.random.default_rng(2).uniform(0.05, 0.95, 12)
    check_jacobian(LINEAR_CASES[case], x)


def test_comparisons_return_plain_booleans():
    def f(z):
        mask = z > 0.5
        assert type(mask) is np.ndarray and mask.dtype == bool
        return ns(z).where(mask, z, 0.0)

    DUAL.jacobian(f, np.array([0.2, 0.7]))


# ---- composites, second order, chunks ---------------------------------------------------------------
def rosenbrock(x):
    return ns(x).sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def logistic(x):
    A = ns(x).asarray(np.random.default_rng(0).standard_normal((6, x.shape[0])), dtype=x.dtype)
    return ns(x).mean(ns(x).logaddexp(0.0, -(A @ x))) + 0.1 * ns(x).sum(x * x)


def course(x):
    return ns(x).log(x[0]) + x[0] * x[1] - ns(x).sin(x[1])


@pytest.mark.parametrize("f", [rosenbrock, logistic, course])
@pytest.mark.parametrize("chunk", [None, 1, 2])
def test_grad_hvp_hessian_of_composites(f, chunk):
    backend = DualBackend(chunk=chunk)
    x = np.array([1.2, 0.7, 1.9, 0.4, 1.3])[: 2 if f is course else 5]
    xt = torch.tensor(x)
    v = np.linspace(-1, 1, x.size)
    value, grad = backend.value_and_grad(f, x)
    hess = torch.autograd.functional.hessian(f, xt).numpy()
    assert float(value) == pytest.approx(float(f(xt)), rel=1e-14)
    np.testing.assert_allclose(grad, torch.func.grad(f)(xt).numpy(), rtol=1e-10)
    np.testing.assert_allclose(backend.hessian(f, x), hess, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(backend.hvp(f, x, v), hess @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(backend.jvp(f, x, v), grad @ v, rtol=1e-12)
    np.testing.assert_allclose(backend.vjp(f, x, 2.0), 2 * grad, rtol=1e-12)


def test_jacobian_and_vjp_of_a_vector_function():
    def F(x):
        return ns(x).stack([x[0] * x[1], ns(x).sin(x[2]) + x[0] ** 2, ns(x).tanh(x[1] * x[2])])

    x, u = np.array([0.3, -1.2, 2.0]), np.array([1.0, -2.0, 0.5])
    jac = torch_jacobian(F, x)
    for chunk in (None, 2):
        np.testing.assert_allclose(DualBackend(chunk=chunk).jacobian(F, x), jac, rtol=1e-12)
        np.testing.assert_allclose(DualBackend(chunk=chunk).vjp(F, x, u), u @ jac, rtol=1e-12)


def test_gradient_of_a_matrix_input_keeps_its_shape():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    grad = DUAL.grad(lambda z: ns(z).sum(ns(z).sin(z) * z[0]), x)
    np.testing.assert_allclose(grad, torch.func.grad(lambda t: torch.sum(torch.sin(t) * t[0]))(torch.tensor(x)))


@pytest.mark.parametrize("n, chunk, passes", [(10, None, 1), (10, 3, 4), (10, 10, 1), (7, 1, 7)])
def test_chunks_take_ceil_n_over_k_passes(n, chunk, passes):
    calls = []

    def f(x):
        calls.append(x.tangent.shape[0])
        return rosenbrock(x)

    x = np.linspace(0.1, 1.0, n)
    np.testing.assert_allclose(DualBackend(chunk=chunk).grad(f, x), DUAL.grad(rosenbrock, x), rtol=1e-14)
    assert len(calls) == passes and sum(calls) == n


def test_default_chunk_is_one_pass_for_small_inputs_and_bounded_for_large():
    assert default_chunk(16, 16) == 16
    assert default_chunk(100, 100) == 100
    assert default_chunk(10**5, 10**5) == 8
    assert default_chunk(1000, 1000) == 250  # equal chunks: 4 passes of 250, not 262 + remainder


def test_chunked_gradient_memory_is_o_k_times_n_not_n_squared():
    n, k = 8_000, 8
    x = np.linspace(0.1, 1.0, n)
    tracemalloc.start()
    DualBackend(chunk=k).grad(lambda z: ns(z).sum(ns(z).sin(z) * z), x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 12 * k * n * 8  # a handful of (k, n) tangents; n^2 would be 512 MB


# ---- nesting and tags -----------------------------------------------------------------------------
def test_nested_derivative_is_not_confused():
    # d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1, not 2
    def outer(x):
        inner = DUAL.grad(lambda y: ns(y).sum(x + y), np.ones(1))
        return ns(x).sum(x * inner)

    assert DUAL.grad(outer, np.ones(1))[0] == pytest.approx(1.0, abs=0)


def test_nested_derivative_through_captured_and_passed_duals():
    # f(x) = d/dy [sin(x y)] at y = x, i.e. x cos(x^2); f'(x) = cos(x^2) - 2 x^2 sin(x^2)
    def f(x):
        return ns(x).sum(DUAL.grad(lambda y: ns(y).sum(ns(y).sin(x * y)), x))

    x = np.array([0.7])
    expected = np.cos(0.49) - 2 * 0.49 * np.sin(0.49)
    assert DUAL.grad(f, x)[0] == pytest.approx(expected, rel=1e-14)
    assert DUAL.hessian(f, x)[0, 0] == pytest.approx(float(central_jacobian(
        lambda z: np.array([np.cos(z[0] ** 2) - 2 * z[0] ** 2 * np.sin(z[0] ** 2)]), x)[0, 0]), rel=1e-6)


def test_third_order_by_nesting_three_levels():
    x = np.array([0.3])
    third = DUAL.jacobian(lambda z: DUAL.hessian(lambda y: ns(y).sum(ns(y).sin(y)), z), x)
    assert third[0, 0, 0] == pytest.approx(-np.cos(0.3), rel=1e-14)


def test_a_leaked_dual_is_an_error():
    leaked = []
    DUAL.grad(lambda x: leaked.append(x) or ns(x).sum(x), np.ones(2))
    with pytest.raises(TagError, match="finished differentiation"):
        DUAL.grad(lambda y: ns(y).sum(y * leaked[0]), np.ones(2))


# ---- storage kinds -----------------------------------------------------------------------------------
def test_torch_storage_on_cpu():
    backend = DualBackend(storage="torch")
    x = np.array([1.2, 0.7, 1.9, 0.4])
    value, grad = backend.value_and_grad(rosenbrock, x)
    assert isinstance(grad, torch.Tensor) and grad.dtype == torch.float64
    np.testing.assert_allclose(grad.numpy(), DUAL.grad(rosenbrock, x), rtol=1e-13)
    np.testing.assert_allclose(backend.hessian(rosenbrock, x).numpy(), DUAL.hessian(rosenbrock, x), rtol=1e-13)
    assert backend.to_numpy(backend.jvp(logistic, x, x)) == pytest.approx(DUAL.jvp(logistic, x, x), rel=1e-13)


def test_float32_stays_float32():
    x = DUAL.asarray([1.0, 2.0], dtype="float32")
    assert DUAL.grad(rosenbrock, x).dtype == np.float32
    assert DualBackend(storage="torch").grad(rosenbrock, torch.tensor([1.0, 2.0])).dtype == torch.float32


@cuda
def test_cuda_storage():
    backend = DualBackend()
    x = backend.asarray([1.2, 0.7, 1.9], device="cuda")
    grad = backend.grad(rosenbrock, x)
    assert grad.device.type == "cuda"
    np.testing.assert_allclose(backend.to_numpy(grad), DUAL.grad(rosenbrock, np.array([1.2, 0.7, 1.9])), rtol=1e-12)
    assert "cuda:0" in backend.devices()
    backend.synchronize("cuda")


# ---- the course notes, the trace, the loop, errors ------------------------------------------------------
def test_course_notes_example():
    value, grad = DUAL.value_and_grad(course, [2.0, 5.0])
    assert float(value) == pytest.approx(11.652, abs=5e-4)
    np.testing.assert_allclose(grad, [5.5, 1.716], atol=5e-4)


def test_forward_trace_of_the_course_notes_example():
    rows = DUAL.trace(course, [2.0, 5.0])
    assert [r["node"] for r in rows] == ["v_-1", "v_0", "v_1", "v_2", "v_3", "v_4", "v_5"]
    assert [r["op"] for r in rows[2:]] == ["ln v_-1", "v_-1 * v_0", "sin v_0", "v_1 + v_2", "v_4 - v_3"]
    np.testing.assert_allclose([r["value"] for r in rows], [2, 5, 0.693, 10, -0.959, 10.693, 11.652], atol=5e-4)
    np.testing.assert_allclose([r["tangent"] for r in rows], [1, 0, 0.5, 5, 0, 5.5, 5.5], atol=1e-12)
    along_x2 = DUAL.trace(course, [2.0, 5.0], [0.0, 1.0])
    assert along_x2[-1]["tangent"] == pytest.approx(1.716, abs=5e-4)


def test_registered_and_used_by_the_loop():
    backend = optbench.backend("dual")
    assert isinstance(backend, DualBackend)
    result = optbench.solve(optbench.objective("abs_quadratic"), optbench.optimizer("gd", step=0.05),
                            backend, stop=optbench.StopRules(max_iter=300))
    assert result.x[0] == pytest.approx(4.5, abs=1e-6)


@pytest.mark.parametrize("call", [lambda xp, z: xp.fft.fft(z), lambda xp, z: xp.cumulative_sum(z),
                                  lambda xp, z: xp.linalg.vector_norm(z, ord=1)])
def test_unsupported_operation_names_itself_and_the_backend(call):
    with pytest.raises(NotImplementedError, match=r"'(fft|cumulative_sum|linalg.vector_norm\(ord=1\))'.*'dual'"):
        DUAL.grad(lambda z: call(ns(z), z), np.ones(3))


def test_differentiable_clip_bounds_and_array_indices_are_refused():
    with pytest.raises(NotImplementedError, match="clip"):
        DUAL.grad(lambda z: ns(z).sum(ns(z).clip(z, min=z[0])), np.ones(3))
    with pytest.raises(NotImplementedError, match="more than one array index"):
        DUAL.grad(lambda z: ns(z).sum(ns(z).reshape(z, (2, 2))[np.array([0, 1]), np.array([1, 0])]), np.ones(4))


def test_dual_array_attributes():
    seen = {}

    def f(z):
        seen.update(shape=z.shape, ndim=z.ndim, size=z.size, dtype=z.dtype, device=z.device, n=len(z))
        assert isinstance(z, Dual)
        return ns(z).sum(z)

    DUAL.grad(f, np.ones((2, 3)))
    assert seen == {"shape": (2, 3), "ndim": 2, "size": 6, "dtype": np.float64, "device": "cpu", "n": 2}
