"""The objective library: gradients against finite differences, declared minimisers and
constants against the functions themselves, and agreement across the built-in backends."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import optbench
from optbench_plugins.objectives import BUILTIN_OBJECTIVES

NAMES = [cls.name for cls in BUILTIN_OBJECTIVES]
# those that follow torch at kinks, so they agree at a non-smooth objective's x0 (jax: test_jax_backend)
OTHER_BACKENDS = [name for name, spec in optbench.load_registry().backends.items()
                  if spec.distribution == "optbench" and name != "torch" and spec.cls.capabilities.torch_conventions]


def torch_value_and_grad(objective, x):
    xx = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    value = objective(xx)
    (grad,) = torch.autograd.grad(value, xx)
    return float(value.detach()), grad.numpy()


def central_differences(objective, x, h=1e-6):
    def f(z):
        return float(objective(torch.tensor(z)))
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


def torch_hessian(objective, x):
    return torch.autograd.functional.hessian(objective, torch.tensor(np.asarray(x, dtype=np.float64))).numpy()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1])
def test_torch_gradient_matches_central_differences(name, seed):
    objective = optbench.objective(name)
    x = objective.x0(seed)
    value, grad = torch_value_and_grad(objective, x)
    # rounding in f(x +- h e) costs about 1e-16 |f| / h in each difference
    np.testing.assert_allclose(grad, central_differences(objective, x), rtol=1e-6, atol=1e-8 * (1 + abs(value)))


@pytest.mark.parametrize("name", NAMES)
def test_known_minimiser_is_a_local_minimum_and_stationary_where_smooth(name):
    objective = optbench.objective(name)
    x_star = objective.minimizer
    if x_star is None:
        pytest.skip(f"{name} has no minimiser")
    f_star, grad = torch_value_and_grad(objective, x_star)
    assert f_star == pytest.approx(objective.minimum, abs=1e-12)
    if objective.smooth:
        assert np.linalg.norm(grad) <= 1e-8 * (1 + abs(f_star))
    nearby = x_star + 1e-3 * np.random.default_rng(0).standard_normal((20, objective.n))
    assert all(float(objective(torch.tensor(z))) >= f_star - 1e-12 for z in nearby)


@pytest.mark.parametrize("name", NAMES)
def test_declared_curvature_bounds_the_hessian(name):
    objective = optbench.objective(name)
    L, mu = objective.L, objective.mu
    if L is None and mu is None:
        pytest.skip(f"{name} declares neither L nor mu")
    for seed in (0, 1):
        eigenvalues = np.linalg.eigvalsh(torch_hessian(objective, objective.x0(seed)))
        if L is not None:
            assert eigenvalues[-1] <= L * (1 + 1e-9) + 1e-12
        if mu is not None:
            assert eigenvalues[0] >= mu * (1 - 1e-9) - 1e-12


@pytest.mark.parametrize("name", NAMES)
def test_start_is_seeded_float64_of_dimension_n(name):
    objective = optbench.objective(name)
    x0 = objective.x0(3)
    assert x0.shape == (objective.n,) and x0.dtype == np.float64
    np.testing.assert_array_equal(x0, objective.x0(3))
    assert objective.properties()["n"] == objective.n


@pytest.mark.parametrize("name, params", [
    ("beale", {"n": 3}), ("himmelblau", {"n": 1}), ("rosenbrock", {"n": 1}),
    ("softmax_regression", {"n": 10, "classes": 3}), ("unit_circle", {"px": 0.0, "py": 0.0}),
    ("ellipsoid", {"n": 1, "cond": 10.0}), ("logistic_regression", {"reg": 0.0}),
    ("huber", {"delta": -1.0}), ("weighted_convex_sum", {"l1": -1.0}),
])
def test_invalid_dimension_or_parameter_is_rejected(name, params):
    with pytest.raises(optbench.ParameterError):
        optbench.objective(name, **params)


def test_unit_circle_minimiser_maps_to_the_nearest_point_of_the_circle():
    objective = optbench.objective("unit_circle", px=-3.0, py=4.0)
    np.testing.assert_allclose(objective.circle_point(objective.minimizer), [-0.6, 0.8], rtol=1e-12)
    assert objective.minimum == pytest.approx(16.0)


def test_seeded_data_differ_between_seeds_and_repeat_within_one():
    same = [optbench.objective("logistic_regression", seed=4).X for _ in range(2)]
    other = optbench.objective("logistic_regression", seed=5).X
    np.testing.assert_array_equal(*same)
    assert not np.array_equal(same[0], other)


def test_weighted_sum_with_an_l1_term_is_non_smooth_without_minimiser():
    objective = optbench.objective("weighted_convex_sum", l1=0.5)
    assert objective.smooth is False and objective.minimizer is None and objective.L is None


def test_ellipsoid_and_quadratic_condition_numbers_are_as_declared():
    for objective in (optbench.objective("ellipsoid", cond=1e4), optbench.objective("quadratic", cond=1e4)):
        assert objective.L / objective.mu == pytest.approx(1e4)


@pytest.mark.parametrize("backend_name", OTHER_BACKENDS or [pytest.param(None, marks=pytest.mark.skip(
    reason="no built-in backend besides torch loads yet"))])
@pytest.mark.parametrize("name", NAMES)
def test_value_and_gradient_agree_with_torch_on_every_builtin_backend(backend_name, name):
    objective, torch_backend = optbench.objective(name), optbench.backend("torch")
    backend = optbench.backend(backend_name)
    x = objective.x0(0)
    value, grad = backend.value_and_grad(objective, backend.asarray(x, dtype="float64"))
    expected_value, expected_grad = torch_backend.value_and_grad(objective, torch_backend.asarray(x, dtype="float64"))
    np.testing.assert_allclose(float(value), float(expected_value), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(grad), expected_grad.numpy(), rtol=1e-10, atol=1e-12)
