"""Projected gradient descent onto a box, a Euclidean ball or the simplex."""
from __future__ import annotations

import math

import array_api_compat

from optbench import Optimizer, Param
from optbench.optimizer import require


def onto_box(xp, x, p):
    """Clip each coordinate into [lower, upper]."""
    return xp.clip(x, p["lower"], p["upper"])


def onto_ball(xp, x, p):
    """Scale x back onto the ball ||x|| <= radius when it lies outside."""
    norm = math.sqrt(float(xp.sum(x * x)))
    return x if norm <= p["radius"] else x * (p["radius"] / norm)


def onto_simplex(xp, x, p):
    """Euclidean projection onto {x >= 0, sum x = radius} by sorting (Duchi et al., 2008)."""
    radius, n = p["radius"], x.shape[0]
    descending = xp.sort(x, descending=True)
    partial_sums = xp.cumulative_sum(descending)
    ranks = xp.arange(1, n + 1, dtype=x.dtype, device=array_api_compat.device(x))
    support = int(xp.sum(xp.astype(descending - (partial_sums - radius) / ranks > 0, xp.int64)))
    threshold = (partial_sums[support - 1] - radius) / support
    return xp.clip(x - threshold, 0.0, None)


PROJECTIONS = {"box": onto_box, "ball": onto_ball, "simplex": onto_simplex}


class ProjectedGradientDescent(Optimizer):
    """x <- P(x - step grad f(x)), P the Euclidean projection onto ``set``; x0 is projected first.

    box: lower <= x_i <= upper; ball: ||x|| <= radius; simplex: x >= 0, sum x = radius.
    """

    name = "projected_gd"
    params = {
        "step": Param(float, 0.1, "step size (learning rate)", gt=0.0),
        "set": Param(str, "box", "feasible set: box, ball or simplex", choices=tuple(PROJECTIONS)),
        "lower": Param(float, -1.0, "lower bound of every coordinate (box)"),
        "upper": Param(float, 1.0, "upper bound of every coordinate (box)"),
        "radius": Param(float, 1.0, "radius of the ball, or sum of the simplex", gt=0.0),
    }

    def validate(self):
        require(self.p["lower"] <= self.p["upper"], self.name,
                f"parameter 'lower' ({self.p['lower']}) must be <= parameter 'upper' ({self.p['upper']})")

    def project(self, x):
        """The Euclidean projection of ``x`` onto the feasible set."""
        return PROJECTIONS[self.p["set"]](self.xp, x, self.p)

    def init(self, oracle, x0):
        self.x = self.project(x0)

    def step(self, oracle):
        self.x = self.project(self.x - self.p["step"] * oracle.grad(self.x))
        return self.x


PROJECTED = (ProjectedGradientDescent,)
