"""What several optimizers share: inner products as floats, constants taken from the objective,
and the Armijo backtracking line search."""
from __future__ import annotations

import math

import array_api_compat

from optbench import Converged, Param, ParameterError


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


def armijo(oracle, x, f, slope: float, direction, step: float, p: dict, with_grad: bool = False):
    """The first ``x + t d`` along ``t = step, step*shrink, ...`` with f(x + t d) <= f + c1 t slope.

    ``slope`` is <grad f(x), d> (negative for a descent direction). Returns ``(x_new, t,
    evaluation)``: the trial's f, or its ``(f, grad f)`` with ``with_grad`` (one backward pass
    per trial, which pays when the first trial is usually accepted, as in quasi-Newton methods).
    When no trial is accepted within ``max_halvings`` it returns ``(x, 0.0, None)``, so f never
    increases. A non-finite trial value counts as a rejection.

    Raises :class:`~optbench.Converged`, evaluating nothing, when the decrease the first trial
    promises, -t slope, is below one rounding unit of f: no trial could then show a decrease,
    and every one would be accepted or rejected by rounding alone.
    """
    f = float(f)
    if -slope * step <= array_api_compat.array_namespace(x).finfo(x.dtype).eps * abs(f):
        raise Converged(f"no further decrease possible at round-off (a step could gain at most "
                        f"{-slope * step:.3g} at f = {f:.17g})")
    evaluate = oracle.value_and_grad if with_grad else oracle.value
    for _ in range(p["max_halvings"] + 1):
        trial = x + step * direction
        evaluation = evaluate(trial)
        if float(evaluation[0] if with_grad else evaluation) <= f + p["c1"] * step * slope:
            return trial, step, evaluation
        step *= p["shrink"]
    return x, 0.0, None
