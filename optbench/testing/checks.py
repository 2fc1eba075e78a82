"""The conformance checks, collected as tests by ``from optbench.testing.checks import *``.

Objectives: finite at ``x0``; gradient against central finite differences on every loaded
backend; the known minimiser is stationary (smooth) or locally minimal (non-smooth) and
``f(minimizer) == minimum``. Optimizers: run on every capable backend; leave their inputs
alone; deterministic for a seed; stop with ``diverged`` (no exception, no hang) on NaN;
float64 iterates agree across backends; a loop-owning one calls back once per iteration
with the backend's arrays and ends its loop when the callback says so. Backends: a battery of functions covering the
primitives against torch float64 (gradient, and JVP, VJP, HVP, Hessian, Jacobian where
supported); nested derivatives; every declared dtype and available device; a clear
``NotImplementedError`` naming the backend for each missing method; torch's derivatives at
kinks (docs/plugins.md), failed when the backend claims ``torch_conventions`` and reported
as a skip with both values when it does not.
"""
from __future__ import annotations

import numpy as np
import pytest

import optbench
from optbench.backend import DERIVATIVE_METHODS

from . import central_difference

def _backend(spec):
    return spec.cls()


def _rtol(backend) -> float:
    """Agreement expected of a backend's derivatives: rounding, or approximation error."""
    return 1e-10 if backend.capabilities.exact else 1e-4


def _grad(backend, f, x):
    return backend.to_numpy(backend.grad(f, backend.asarray(x, dtype="float64")))


def _needs_float64_grad(backend):
    if not backend.supports("grad") or "float64" not in backend.capabilities.dtypes:
        pytest.skip(f"backend {backend.name!r} has no float64 gradient")


# ---- objectives --------------------------------------------------------------------------------
def test_objective_is_finite_at_x0(optbench_objective):
    f = optbench_objective.cls()
    x0 = f.x0(0)
    assert x0.shape == (f.n,) and x0.dtype == np.float64
    assert np.isfinite(float(f(x0)))
    np.testing.assert_array_equal(x0, f.x0(0))  # seeded


def test_objective_gradient_matches_finite_differences(optbench_objective, any_backend):
    backend = _backend(any_backend)
    _needs_float64_grad(backend)
    f = optbench_objective.cls()
    x = f.x0(0)
    scale = 1.0 + abs(float(f(x)))
    grad, expected = _grad(backend, f, x), central_difference(f, x)
    if not (f.smooth or backend.capabilities.torch_conventions or np.allclose(grad, expected, 1e-5, 1e-6 * scale)):
        pytest.skip(f"objective {f.name!r} is not smooth and backend {backend.name!r} does not follow torch's "
                    f"conventions at kinks: gradient {grad.tolist()} at x0, finite differences {expected.tolist()}")
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6 * scale)


def test_objective_minimizer_is_a_minimum(optbench_objective):
    f = optbench_objective.cls()
    x_star = f.minimizer
    if x_star is None:
        pytest.skip(f"objective {f.name!r} declares no minimiser")
    x_star = np.asarray(x_star, dtype=np.float64)
    f_star = float(f(x_star))
    assert f_star == pytest.approx(f.minimum, rel=1e-9, abs=1e-12)
    if f.smooth:
        g = _grad(optbench.backend("torch"), f, x_star)
        assert np.linalg.norm(g) <= 1e-6 * (1.0 + abs(f_star))
    rng = np.random.default_rng(0)
    for _ in range(20):
        nearby = x_star + 1e-4 * rng.standard_normal(x_star.shape)
        assert float(f(nearby)) >= f_star - 1e-12 * (1.0 + abs(f_star))


# ---- optimizers --------------------------------------------------------------------------------
class KitQuadratic(optbench.Objective):
    """Diagonal quadratic sum(d_i (x_i - 1)^2) / 2, the kit's reference problem."""

    name = "kit_quadratic"
    default_dim = 5
    convex, smooth = True, True

    def setup(self):
        self.d = np.linspace(1.0, 10.0, self.n)

    def __call__(self, x):
        xp = optbench.namespace(x)
        return 0.5 * xp.sum(self.constant("d", self.d, x) * (x - 1.0) ** 2)

    @property
    def minimizer(self):
        return np.ones(self.n)

    @property
    def L(self):
        return 10.0

    @property
    def mu(self):
        return 1.0


class KitNaN(KitQuadratic):
    """Finite at x0 and NaN everywhere else: an optimizer must stop, not loop or raise."""

    name = "kit_nan"

    def __call__(self, x):
        xp = optbench.namespace(x)
        moved = xp.sum((x - self.constant("x0", self.x0(0), x)) ** 2) > 0
        return super().__call__(x) + xp.where(moved, float("nan"), 0.0)


def _capable(backend, optimizer_cls) -> bool:
    try:
        backend.check("value_and_grad")
        optimizer_cls().check(backend)
    except optbench.CapabilityError:
        return False
    return "float64" in backend.capabilities.dtypes


def _reference_backend(optimizer_cls):
    """torch, or the first loaded backend the optimizer can run on (a library may need its own)."""
    registry = optbench.load_registry()
    names = ["torch", *sorted(set(registry.backends) - {"torch"})]
    backend = next((b for b in map(optbench.backend, names) if _capable(b, optimizer_cls)), None)
    if backend is None:
        pytest.skip(f"no loaded backend can run {optimizer_cls.name!r}")
    return backend


def _run(optimizer_spec, backend=None, objective=None, iterations=20, seed=3):
    backend = backend or _reference_backend(optimizer_spec.cls)
    return optbench.solve(objective or KitQuadratic(), optimizer_spec.cls(), backend, seed=seed,
                          stop=optbench.StopRules(max_iter=iterations))


def _iterate(optimizer, oracle, x0, iterations: int) -> list:
    """The iterates of either form, driven without ``solve`` (the kit checks the contract itself)."""
    optimizer.start(oracle, x0, seed=0)
    if not isinstance(optimizer, optbench.LoopOwningOptimizer):
        return [optimizer.step(oracle) for _ in range(iterations)]
    seen: list = []
    optimizer.run(oracle, x0, lambda x: seen.append(x) or len(seen) >= iterations)
    return seen


def test_optimizer_runs_on_every_capable_backend(optbench_optimizer, any_backend):
    backend = _backend(any_backend)
    if not _capable(backend, optbench_optimizer.cls):
        pytest.skip(f"backend {backend.name!r} lacks what {optbench_optimizer.name!r} needs")
    result = _run(optbench_optimizer, backend)
    assert result.status in ("max_iter", "converged") and np.all(np.isfinite(result.x))
    assert result.trace[-1]["f"] <= result.trace[0]["f"] + 1e-12


def test_optimizer_does_not_mutate_its_input(optbench_optimizer):
    backend = _reference_backend(optbench_optimizer.cls)
    with backend.scope("float64"):  # as solve holds it around a run
        x0 = backend.asarray(KitQuadratic().x0(0))
        before = backend.to_numpy(x0).copy()
        _iterate(optbench_optimizer.cls(), optbench.Oracle(KitQuadratic(), backend), x0, 5)
        np.testing.assert_array_equal(backend.to_numpy(x0), before)


def test_loop_owning_optimizer_calls_back_every_iteration_and_stops_when_told(optbench_optimizer):
    if not issubclass(optbench_optimizer.cls, optbench.LoopOwningOptimizer):
        pytest.skip(f"{optbench_optimizer.name!r} is step-wise")
    backend = _reference_backend(optbench_optimizer.cls)
    x0 = backend.asarray(KitQuadratic().x0(0))
    optimizer, seen = optbench_optimizer.cls(), []
    optimizer.start(optbench.Oracle(KitQuadratic(), backend), x0, seed=0)
    stop = optimizer.run(optbench.Oracle(KitQuadratic(), backend), x0, lambda x: seen.append(x) or len(seen) >= 3)
    assert isinstance(stop, optbench.LibraryStop)
    assert len(seen) == 3  # the library's loop ended at the callback's word, not later
    assert all(type(x) is type(x0) and tuple(x.shape) == tuple(x0.shape) for x in seen)


def test_optimizer_is_deterministic_for_a_seed(optbench_optimizer):
    first, second = (_run(optbench_optimizer, seed=7) for _ in range(2))
    assert [r["f"] for r in first.trace] == [r["f"] for r in second.trace]


def test_optimizer_stops_on_nan(optbench_optimizer):
    result = _run(optbench_optimizer, objective=KitNaN(), iterations=50)
    assert result.status == "diverged"


def test_optimizer_iterates_agree_across_backends(optbench_optimizer, any_backend):
    backend = _backend(any_backend)
    if not _capable(backend, optbench_optimizer.cls):
        pytest.skip(f"backend {backend.name!r} lacks what {optbench_optimizer.name!r} needs")
    ours = [r["f"] for r in _run(optbench_optimizer, backend).trace]
    reference = [r["f"] for r in _run(optbench_optimizer).trace]
    np.testing.assert_allclose(ours, reference, rtol=100 * _rtol(backend), atol=1e-12)


# ---- backends: the primitive battery ---------------------------------------------------------
def _elementwise(x):
    xp = optbench.namespace(x)
    return xp.sum(xp.sin(x) * x + xp.exp(-x * x) + xp.cos(x) ** 2 + xp.tanh(x) + xp.atan(x)
                  + 0.1 * (xp.sinh(x) + xp.cosh(x)) + 0.3 * xp.expm1(x) + xp.log1p(x * x)
                  + xp.sqrt(x * x + 1.0) + xp.tan(0.3 * x) - xp.log(x * x + 2.0) + xp.square(x))


def _powers(x):
    xp = optbench.namespace(x)
    return xp.sum(x**3 / (1.0 + x**2) + xp.abs(x) ** 1.5 + 2.0**x + (x * x + 1.0) ** (0.5 * x)
                  + xp.logaddexp(x, 0.5 * x) - (-x) + (+x))


def _selection(x):
    xp = optbench.namespace(x)
    return xp.sum(xp.where(x > 0, x**2, -x) + xp.clip(x, -0.5, 0.5) * x + xp.maximum(x, 0.2) * xp.minimum(x, 0.1)
                  + xp.sign(x) * x)


def _reductions(x):
    xp = optbench.namespace(x)
    m = xp.reshape(x, (2, 3))
    return (xp.sum(xp.prod(m, axis=1) ** 2) + xp.sum(xp.mean(m, axis=0, keepdims=True) * m)
            + xp.max(m) + xp.sum(xp.min(m, axis=1)) + xp.mean(xp.sum(m * m, axis=(0, 1))))


def _linear_algebra(x):
    xp = optbench.namespace(x)
    a = xp.asarray(np.arange(1.0, 19.0).reshape(3, 6) / 10.0, dtype=x.dtype)
    m = xp.reshape(x, (2, 3))
    y = a @ x
    return (xp.sum(y * y) + xp.sum(xp.matmul(m, xp.matrix_transpose(m))) + xp.sum(xp.vecdot(m, m))
            + xp.sum(xp.tensordot(m, m, axes=2)))


def _shapes(x):
    xp = optbench.namespace(x)
    m = xp.reshape(x, (2, 3))
    stacked = xp.stack([x[:3], x[3:]], axis=0)
    joined = xp.concat([m, stacked * 2.0], axis=1)
    column = xp.expand_dims(x, axis=1)
    return (xp.sum(joined**2) + xp.sum(xp.squeeze(column[1:2], axis=1)) * x[0] + xp.sum(m[:, None, 1] * m[1])
            + xp.sum(x[x > 0.0] ** 3) + m[1, 2] * x[-1])


BATTERY = {f.__name__.strip("_"): f for f in (_elementwise, _powers, _selection, _reductions,
                                               _linear_algebra, _shapes)}
POINT = np.array([0.7, -1.3, 0.4, 1.9, -0.6, 1.1])


def _vector_function(x):
    xp = optbench.namespace(x)
    return xp.stack([xp.sum(xp.sin(x) * x), x[0] * x[1] - xp.exp(x[2]), xp.sum(x**2) ** 0.5])


@pytest.mark.parametrize("function", sorted(BATTERY))
def test_backend_gradients_match_torch(optbench_backend, function):
    backend = _backend(optbench_backend)
    _needs_float64_grad(backend)
    f = BATTERY[function]
    reference = optbench.backend("torch")
    tol = _rtol(backend)
    np.testing.assert_allclose(_grad(backend, f, POINT), _grad(reference, f, POINT), rtol=tol, atol=tol)


@pytest.mark.parametrize("method", ["jvp", "vjp", "hvp", "hessian", "jacobian"])
@pytest.mark.parametrize("function", ["elementwise", "linear_algebra", "shapes"])
def test_backend_derivatives_match_torch(optbench_backend, method, function):
    backend, reference = _backend(optbench_backend), optbench.backend("torch")
    if not backend.supports(method) or "float64" not in backend.capabilities.dtypes:
        pytest.skip(f"backend {backend.name!r} does not implement {method!r}")
    scalar = BATTERY[function]
    v = np.linspace(-1.0, 1.0, POINT.size)
    call = {"jvp": lambda b: b.jvp(_vector_function, b.asarray(POINT), b.asarray(v)),
            "vjp": lambda b: b.vjp(_vector_function, b.asarray(POINT), b.asarray([1.0, -2.0, 0.5])),
            "hvp": lambda b: b.hvp(scalar, b.asarray(POINT), b.asarray(v)),
            "hessian": lambda b: b.hessian(scalar, b.asarray(POINT)),
            "jacobian": lambda b: b.jacobian(_vector_function, b.asarray(POINT))}[method]
    tol = 10 * _rtol(backend)
    np.testing.assert_allclose(backend.to_numpy(call(backend)), reference.to_numpy(call(reference)), rtol=tol, atol=tol)


def test_backend_nested_derivatives(optbench_backend):
    backend = _backend(optbench_backend)
    _needs_float64_grad(backend)
    one = backend.asarray([1.0], dtype="float64")

    def outer(x):
        inner = backend.grad(lambda y: optbench.namespace(y).sum(x + y), one)  # d/dy (x + y) = 1
        return optbench.namespace(x).sum(x * inner)

    assert float(backend.to_numpy(backend.grad(outer, one))[0]) == pytest.approx(1.0, rel=_rtol(backend))


def test_backend_declared_dtypes_and_devices(optbench_backend):
    backend = _backend(optbench_backend)
    expected = _grad(optbench.backend("torch"), BATTERY["elementwise"], POINT)
    for dtype in backend.capabilities.dtypes:
        x = backend.asarray(POINT, dtype=dtype)
        assert str(backend.to_numpy(x).dtype) == dtype
        if backend.supports("grad"):
            g = backend.to_numpy(backend.grad(BATTERY["elementwise"], x))
            assert str(g.dtype) == dtype
            np.testing.assert_allclose(g, expected, rtol=1e-4 if dtype == "float32" else 1e-5)
    for device in backend.devices():
        x = backend.asarray(POINT, dtype="float64", device=device)
        if backend.supports("grad"):
            np.testing.assert_allclose(backend.to_numpy(backend.grad(BATTERY["elementwise"], x)), expected, rtol=1e-5)
        backend.synchronize(device)


# ---- backends: conventions at kinks (docs/plugins.md) ------------------------------------------------
def _reduce(op):
    return lambda x: op(optbench.namespace(x), x)


# name -> (f, point, torch's gradient there)
CONVENTIONS = {
    "abs at 0": (_reduce(lambda xp, x: xp.sum(xp.abs(x))), [0.0], [0.0]),
    "sign": (_reduce(lambda xp, x: xp.sum(xp.sign(x))), [0.0, 1.0], [0.0, 0.0]),
    "maximum tie": (_reduce(lambda xp, x: xp.sum(xp.maximum(x, xp.full_like(x, 0.5)))), [0.5], [0.5]),
    "minimum tie": (_reduce(lambda xp, x: xp.sum(xp.minimum(x, xp.full_like(x, 0.5)))), [0.5], [0.5]),
    "max reduction ties": (_reduce(lambda xp, x: xp.max(x)), [1.0, 1.0, 0.0], [0.5, 0.5, 0.0]),
    "min reduction ties": (_reduce(lambda xp, x: xp.min(x)), [0.0, 1.0, 0.0], [0.5, 0.0, 0.5]),
    "clip at its bounds": (_reduce(lambda xp, x: xp.sum(xp.clip(x, min=-1.0, max=1.0))), [-1.0, 1.0], [1.0, 1.0]),
    "sqrt at 0": (_reduce(lambda xp, x: xp.sum(xp.sqrt(x))), [0.0], [float("inf")]),
    "vector_norm at 0": (_reduce(lambda xp, x: xp.linalg.vector_norm(x)), [0.0, 0.0], [0.0, 0.0]),
    "where": (_reduce(lambda xp, x: xp.sum(xp.where(x > 0.0, x**2, -x))), [0.0, 2.0], [-1.0, 4.0]),
}


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
def test_backend_follows_torch_conventions(optbench_backend, convention):
    backend = _backend(optbench_backend)
    _needs_float64_grad(backend)
    f, point, expected = CONVENTIONS[convention]
    got = _grad(backend, f, np.array(point))
    if np.allclose(got, expected, rtol=_rtol(backend), atol=_rtol(backend)):
        return
    difference = f"{convention}: backend {backend.name!r} gives the gradient {got.tolist()}, torch {expected}"
    if backend.capabilities.torch_conventions:
        pytest.fail(f"{difference}, yet it declares torch_conventions=True")
    pytest.skip(f"{difference} (it does not declare torch_conventions)")


def test_backend_missing_methods_fail_clearly(optbench_backend):
    backend = _backend(optbench_backend)
    x = backend.asarray(POINT)
    for method in DERIVATIVE_METHODS:
        if backend.supports(method):
            continue
        vector = (x,) if method in ("jvp", "vjp", "hvp") else ()
        with pytest.raises(NotImplementedError, match=backend.name):
            getattr(backend, method)(BATTERY["elementwise"], x, *vector)


__all__ = [name for name in dir() if name.startswith("test_")]
