"""bbob against COCO's own implementation (``cocoex``): values, optima, and gradients on every backend.

All 24 functions in dimensions 2, 3, 5, 10, 20 and 40, instances 1-15, at COCO's optimum
and at seeded random points inside and just outside the region of interest [-5, 5]^n.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import optbench
from optbench.ecdf import bbob_group
from optbench_plugins.objectives.bbob import FUNCTIONS

cocoex = pytest.importorskip("cocoex", reason="coco-experiment (the bbob reference) is not installed")

DIMENSIONS = (2, 3, 5, 10, 20, 40)
INSTANCES = range(1, 16)
EPS = np.finfo(np.float64).eps
# Weierstrass (f16) agrees to ~1e-9 only: a line-by-line Python transcription of COCO's C code (same
# operation order, libm cos) agrees with optbench to 1e-14 and differs from the compiled cocoex by the
# same 1e-9, so the residual is in how cocoex was compiled, not in the instance.
RELATIVE = {16: 2e-9}


@pytest.fixture(scope="module")
def suite():
    return cocoex.Suite("bbob", "instances: 1-15", "dimensions: 2,3,5,10,20,40")


def value_and_gradient(objective, x):
    xx = torch.tensor(x, requires_grad=True)
    value = objective(xx)
    (grad,) = torch.autograd.grad(value, xx)
    return float(value.detach()), grad.numpy()


@pytest.mark.parametrize("function", range(1, 25))
def test_values_match_cocoex_in_every_dimension_and_instance(suite, function):
    rng = np.random.default_rng(function)
    for n in DIMENSIONS:
        for instance in INSTANCES:
            reference = suite.get_problem_by_function_dimension_instance(function, n, instance)
            objective = optbench.objective("bbob", n=n, function=function, instance=instance)
            for x in (rng.uniform(-5.0, 5.0, n), rng.uniform(-6.0, 6.0, n)):
                expected = reference(x)
                value, grad = value_and_gradient(objective, x)
                # 1e-10 relative; where the function is that ill-conditioned at x (Griewank-Rosenbrock far
                # from the optimum), rounding in a matrix product, a few eps |x|, moves f by |grad f| times
                # as much in either implementation. A wrong instance misses by orders more.
                tolerance = RELATIVE.get(function, 1e-10) * abs(expected) + 16 * EPS * np.linalg.norm(grad) * np.linalg.norm(x)
                assert abs(value - expected) <= tolerance, (function, n, instance, x.tolist(), value, expected)


@pytest.mark.parametrize("function", range(1, 25))
def test_minimum_is_cocos_f_opt_at_cocos_optimum(suite, function):
    for n in (2, 10, 40):
        for instance in (1, 8, 15):
            reference = suite.get_problem_by_function_dimension_instance(function, n, instance)
            objective = optbench.objective("bbob", n=n, function=function, instance=instance)
            x_star = objective.minimizer
            assert reference(x_star) == pytest.approx(objective.minimum, rel=1e-12, abs=1e-9)
            assert float(objective(x_star)) == pytest.approx(objective.minimum, rel=1e-12, abs=1e-9)
            assert objective.minimum == round(objective.minimum, 2) and abs(objective.minimum) <= 1000


@pytest.mark.parametrize("function", range(1, 25))
def test_gradients_agree_across_backends(function):
    """At random points every bbob function is differentiable (the steps of f7 and f23 are flat there)."""
    objective = optbench.objective("bbob", n=5, function=function, instance=3)
    x = np.random.default_rng(function).uniform(-4.0, 4.0, 5)
    _, expected = value_and_gradient(objective, x)
    for name in ("dual", "tape"):
        backend = optbench.backend(name)
        value, grad = backend.value_and_grad(objective, backend.asarray(x, dtype="float64"))
        assert float(value) == pytest.approx(float(objective(x)), rel=1e-12)
        np.testing.assert_allclose(backend.to_numpy(grad), expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())


@pytest.mark.parametrize("function", [f for f, spec in FUNCTIONS.items() if spec.smooth])
def test_gradient_of_smooth_functions_matches_central_differences(function):
    objective = optbench.objective("bbob", n=4, function=function, instance=2)
    x = np.random.default_rng(0).uniform(-1.0, 1.0, 4)  # where central differences resolve the curvature
    value, grad = value_and_gradient(objective, x)
    h = 1e-6
    differences = [(float(objective(x + h * e)) - float(objective(x - h * e))) / (2 * h) for e in np.eye(4)]
    np.testing.assert_allclose(grad, differences, rtol=1e-5, atol=1e-7 * (1 + abs(value)))


def test_groups_follow_coco():
    assert optbench.objective("bbob", function=12).group == "high conditioning and unimodal"
    assert [bbob_group(f) for f in (1, 5, 6, 9, 10, 14, 15, 19, 20, 24)] == [
        "separable", "separable", "low or moderate conditioning", "low or moderate conditioning",
        "high conditioning and unimodal", "high conditioning and unimodal",
        "multimodal with adequate global structure", "multimodal with adequate global structure",
        "multimodal with weak global structure", "multimodal with weak global structure"]


@pytest.mark.parametrize("params", [{"function": 0}, {"function": 25}, {"instance": 0}, {"n": 1}])
def test_out_of_range_function_instance_or_dimension_is_rejected(params):
    with pytest.raises(optbench.ParameterError):
        optbench.objective("bbob", **params)
