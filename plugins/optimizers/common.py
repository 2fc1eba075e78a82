"""What several optimizers share: inner products as floats, constants taken from the objective,
and the Armijo backtracking line search."""
from __future__ import annotations

import math

from optbench import Param, ParameterError


def dot(xp, a, b) -> float:
    """<a, b> as a Python float (for step sizes and tests, which branch on it)."""
    return float(xp.sum(a * b))


def objective_constant(optimizer, oracle, constant: str, param: str) -> float:
    """The objective's positive ``L`` or ``mu``, needed because ``param`` was left unset."""
    value = getattr(oracle.objective, constant, None)
    if value is None or not (value > 0 and math.isfinite(value)):
        raise ParameterError(
            f"optimizer {optimizer.name!r}: parameter {param!r} was left unset, so it is derived "
            f"from the objective's {constant}, which objective {oracle.objective.name!r} does not "
            f"provide (got {value!r}); set {param} explicitly")
    return float(value)


ARMIJO_PARAMS = {
    "c1": Param(float, 1e-4, "sufficient-decrease constant of the Armijo condition", gt=0.0, lt=1.0),
    "shrink": Param(float, 0.5, "factor applied to the trial step after each rejection", gt=0.0, lt=1.0),
    "max_halvings": Param(int, 30, "most step reductions per iteration before giving up", ge=0),
}


def armijo(oracle, x, f, slope: float, direction, step: float, p: dict):
    """The first ``x + t d`` along ``t = step, step*shrink, ...`` with f(x + t d) <= f + c1 t slope.

    ``slope`` is <grad f(x), d> (negative for a descent direction). Returns ``(x_new, t)``, or
    ``(x, 0.0)`` when no trial step is accepted within ``max_halvings``, so f never increases.
    A non-finite trial value counts as a rejection.
    """
    f = float(f)
    for _ in range(p["max_halvings"] + 1):
        trial = x + step * direction
        if float(oracle.value(trial)) <= f + p["c1"] * step * slope:
            return trial, step
        step *= p["shrink"]
    return x, 0.0
