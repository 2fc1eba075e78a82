"""Every built-in objective and optimizer on ``array-api-strict``, the reference implementation
of the Array API standard: no NumPy habit (flat indexing of 2-D arrays, implicit conversions,
functions outside the standard) survives it, so the same code runs on any conforming library.

The standard has no automatic differentiation, so the test backend evaluates f on strict arrays
and borrows derivatives from torch; everything an optimizer computes is on strict arrays.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import optbench
from optbench import Backend, Capabilities
from test_optimizers import CONFIGS

xps = pytest.importorskip("array_api_strict")

# objectives that are families: one instance per member
FAMILIES = {"mgh": ("problem", range(1, 36)), "more_wild": ("problem", range(1, 23)),
            "bbob": ("function", range(1, 25)), "ba": ("mode", ("reverse", "forward"))}


class StrictBackend(Backend):
    """f on ``array_api_strict`` arrays; gradients, HVPs and Hessians from torch on a copy."""

    name = "array_api_strict"
    capabilities = Capabilities(dtypes=("float64",))

    def __init__(self):
        self.torch = optbench.backend("torch")

    def asarray(self, data, dtype=None, device=None):
        return xps.asarray(np.asarray(data, dtype=np.float64))

    def to_numpy(self, a):
        return np.asarray(a)

    def _from_torch(self, tensor):
        return self.asarray(tensor.detach().numpy())

    def _to_torch(self, a):
        return torch.asarray(self.to_numpy(a))

    def value_and_grad(self, f, x):
        return f(x), self._from_torch(self.torch.grad(f, self._to_torch(x)))

    def hvp(self, f, x, v):
        return self._from_torch(self.torch.hvp(f, self._to_torch(x), self._to_torch(v)))

    def hessian(self, f, x):
        return self._from_torch(self.torch.hessian(f, self._to_torch(x)))


def objective_configurations():
    registry = optbench.load_registry()
    for name, spec in sorted(registry.objectives.items()):
        if spec.distribution != "optbench":
            continue
        key, values = FAMILIES.get(name, (None, [None]))
        for value in values:
            params = {} if key is None else {key: value}
            yield pytest.param(name, params, id=name + ("" if key is None else f"-{value}"))


@pytest.mark.parametrize("name, params", objective_configurations())
def test_every_builtin_objective_evaluates_on_strict_arrays(name, params):
    objective = optbench.objective(name, **params)
    x0 = objective.x0(0)
    value = objective(xps.asarray(x0))
    assert type(value) is type(xps.asarray(0.0)) and value.shape == ()
    assert float(value) == pytest.approx(float(objective(np.asarray(x0))), rel=1e-12, abs=1e-12)


# each optimizer's configuration from test_optimizers, and the branches it does not take
OPTIMIZER_CONFIGURATIONS = [*CONFIGS.items(), ("projected_gd", {"set": "box", "lower": -0.2, "upper": 0.3}),
                            ("projected_gd", {"set": "simplex"}), ("newton", {"line_search": "none"}),
                            ("newton_cg", {"line_search": "none"}), ("coordinate_descent", {"order": "cyclic"})]


@pytest.mark.parametrize("name, params", OPTIMIZER_CONFIGURATIONS,
                         ids=[f"{name}-{'-'.join(map(str, p.values()))}" for name, p in OPTIMIZER_CONFIGURATIONS])
def test_every_builtin_optimizer_runs_on_strict_arrays_with_torchs_iterates(name, params):
    objective = optbench.objective("logistic_regression", n=5, samples=50, reg=0.1)

    def run(backend):
        optimizer = optbench.optimizer(name, **params)
        return optbench.solve(objective, optimizer, backend, seed=3, stop=optbench.StopRules(max_iter=15))

    strict, reference = run(StrictBackend()), run(optbench.backend("torch"))
    assert strict.status == reference.status and strict.iterations == reference.iterations
    np.testing.assert_allclose(strict.x, reference.x, rtol=1e-9, atol=1e-12)
