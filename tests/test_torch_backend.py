"""Every method of the torch backend, its nesting, dtypes, devices and errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import optbench

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")


@pytest.fixture
def backend():
    return optbench.backend("torch")


def f(x):
    xp = optbench.namespace(x)
    return xp.sum(xp.sin(x) * x + xp.exp(-x * x)) + x[0] * x[1] ** 2


def grad_f(x):
    g = np.cos(x) * x + np.sin(x) - 2 * x * np.exp(-x * x)
    g[0] += x[1] ** 2
    g[1] += 2 * x[0] * x[1]
    return g


def hess_f(x):
    h = np.diag(-np.sin(x) * x + 2 * np.cos(x) + (4 * x * x - 2) * np.exp(-x * x))
    h[0, 1] += 2 * x[1]
    h[1, 0] += 2 * x[1]
    h[1, 1] += 2 * x[0]
    return h


def F(x):  # R^3 -> R^2
    xp = optbench.namespace(x)
    return xp.stack([x[0] * x[1], xp.sin(x[2]) + x[0] ** 2])


def jac_F(x):
    return np.array([[x[1], x[0], 0.0], [2 * x[0], 0.0, np.cos(x[2])]])


X = np.array([0.3, -1.2, 2.0])


def test_value_and_grad_and_grad(backend):
    value, grad = backend.value_and_grad(f, X)
    assert isinstance(grad, torch.Tensor) and grad.dtype == torch.float64
    assert float(value) == pytest.approx(float(f(X)), rel=1e-14)
    np.testing.assert_allclose(grad.numpy(), grad_f(X), rtol=1e-12)
    np.testing.assert_allclose(backend.grad(f, X.tolist()).numpy(), grad_f(X), rtol=1e-12)


def test_second_order(backend):
    v = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(backend.hvp(f, X, v).numpy(), hess_f(X) @ v, rtol=1e-12)
    np.testing.assert_allclose(backend.hessian(f, X).numpy(), hess_f(X), rtol=1e-12)


def test_hvp_of_a_linear_function_is_zero(backend):
    np.testing.assert_array_equal(backend.hvp(lambda x: 3.0 * x.sum(), X, X).numpy(), np.zeros(3))


def test_jvp_vjp_jacobian(backend):
    v, u = np.array([1.0, 2.0, -1.0]), np.array([0.5, -3.0])
    np.testing.assert_allclose(backend.jvp(F, X, v).numpy(), jac_F(X) @ v, rtol=1e-12)
    np.testing.assert_allclose(backend.vjp(F, X, u).numpy(), u @ jac_F(X), rtol=1e-12)
    np.testing.assert_allclose(backend.jacobian(F, X).numpy(), jac_F(X), rtol=1e-12)


def test_nested_derivatives_do_not_confuse_variables(backend):
    one = np.ones(1)

    def outer(x):
        inner = backend.grad(lambda y: (x + y).sum(), one)  # d/dy (x + y) = 1
        return (x * inner).sum()

    assert float(backend.grad(outer, one)[0]) == 1.0  # not 2

    def outer_same_point(x):  # the inner derivative taken at the outer variable itself
        return (x * backend.grad(lambda y: (x * y).sum(), x)).sum()  # x * x -> 2x

    assert float(backend.grad(outer_same_point, np.array([3.0]))[0]) == 6.0


def test_derivative_of_a_gradient_is_the_hessian(backend):
    row = lambda x: backend.grad(f, x)[0]  # noqa: E731
    np.testing.assert_allclose(backend.grad(row, X).numpy(), hess_f(X)[0], rtol=1e-12)
    jac_of_grad = backend.jacobian(lambda x: backend.grad(f, x), X)
    np.testing.assert_allclose(jac_of_grad.numpy(), hess_f(X), rtol=1e-12)


def test_grad_mode_is_restored(backend):
    with torch.no_grad():
        backend.grad(f, X)
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtypes(backend, dtype):
    x = backend.asarray(X, dtype=dtype)
    assert x.dtype == getattr(torch, dtype)
    assert backend.grad(f, x).dtype == getattr(torch, dtype)


def test_asarray_and_to_numpy(backend):
    assert backend.asarray([1, 2]).dtype == torch.float64  # integers become float64
    assert backend.asarray(np.ones(2, dtype=np.float32)).dtype == torch.float32
    t = torch.ones(2, dtype=torch.float32)
    assert backend.asarray(t) is t
    np.testing.assert_array_equal(backend.to_numpy(backend.asarray(X)), X)


def test_devices_and_synchronize(backend):
    devices = backend.devices()
    assert devices[0] == "cpu"
    assert len(devices) == 1 + torch.cuda.device_count()
    backend.synchronize()
    backend.synchronize("cpu")


def test_capability_errors_name_backend_and_what_is_missing(backend):
    with pytest.raises(optbench.CapabilityError, match="backend 'torch' does not support dtype 'float16'"):
        backend.check(dtype="float16")
    with pytest.raises(optbench.CapabilityError, match="does not support device 'tpu'"):
        backend.check(device="tpu")
    with pytest.raises(NotImplementedError, match="backend 'torch' does not implement 'trace'"):
        backend.trace(f, X)
    assert backend.supports("hessian") and not backend.supports("trace") and backend.supports("graph")


def test_graph_marks_input_and_output(backend):
    dot = backend.graph(optbench.objective("ad_example"), [2.0, 5.0])
    assert dot.startswith("digraph") and "output" in dot and 'label="x\\n(2,)"' in dot
    for op in ("LogBackward0", "MulBackward0", "SinBackward0", "SubBackward0", "AddBackward0"):
        assert op in dot


@cuda
def test_cuda_gradient_matches_cpu(backend):
    x = backend.asarray(X, device="cuda")
    np.testing.assert_allclose(backend.to_numpy(backend.grad(f, x)), grad_f(X), rtol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(backend.hvp(f, x, x)), hess_f(X) @ X, rtol=1e-12)
    backend.synchronize("cuda")
