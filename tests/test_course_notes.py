"""The course notes' numbers, reproduced through the registry on the torch backend."""
from __future__ import annotations

import numpy as np
import pytest

import optbench


@pytest.fixture
def torch_backend():
    return optbench.backend("torch")


def test_ad_example_value_and_gradient(torch_backend):
    f = optbench.objective("ad_example")
    value, grad = torch_backend.value_and_grad(f, f.x0())
    assert float(value) == pytest.approx(11.652, abs=5e-4)
    np.testing.assert_allclose(grad.numpy(), [5.5, 1.7163], atol=5e-5)


def test_mean_log_plus_linear_autograd_example(torch_backend):
    f = optbench.objective("mean_log_plus_linear")
    value, grad = torch_backend.value_and_grad(f, f.x0())
    assert float(value) == pytest.approx(11.4877, abs=5e-5)
    np.testing.assert_allclose(grad.numpy(), [1.0, 1.2, 1.16, 1.12, 1.0941], atol=5e-5)


def test_sum_of_squares_backward_example(torch_backend):
    f = optbench.objective("sum_of_squares")
    value, grad = torch_backend.value_and_grad(f, f.x0())
    assert float(value) == 29.0
    np.testing.assert_array_equal(grad.numpy(), [10.0, 4.0])


def test_tanh_vanishing_gradient(torch_backend):
    f = optbench.objective("tanh")
    assert float(torch_backend.grad(f, f.x0())[0]) == pytest.approx(0.0013, abs=5e-5)


def test_gradient_descent_on_abs_quadratic_ends_at_4_5(torch_backend):
    result = optbench.solve(optbench.objective("abs_quadratic"), optbench.optimizer("gd", step=0.05),
                            torch_backend, stop=optbench.StopRules(max_iter=150))
    assert result.status == "max_iter" and result.iterations == 150
    assert abs(result.x[0] - 4.5) < 1e-5


def test_quadratic_has_the_prescribed_spectrum():
    f = optbench.objective("quadratic", n=6, cond=1e3, seed=3)
    eig = np.linalg.eigvalsh(f.A)
    assert eig[0] == pytest.approx(1.0) and eig[-1] == pytest.approx(1e3)
    assert (f.mu, f.L) == pytest.approx((1.0, 1e3))
    assert not np.allclose(f.A, np.diag(np.diag(f.A)))  # rotated
    np.testing.assert_allclose(f.A @ f.minimizer + f.b, 0, atol=1e-9)
    assert f.minimum == pytest.approx(float(f(f.minimizer)), rel=1e-12)
    with pytest.raises(optbench.ParameterError, match="parameter 'cond' must be >= 1.0"):
        optbench.objective("quadratic", cond=0.5)
    np.testing.assert_array_equal(optbench.objective("quadratic", n=3, rotate=False, cond=4, spectrum="linear").A,
                                  np.diag([1.0, 2.5, 4.0]))
