"""Curvature-aware methods: Newton with the backend's Hessian, Hessian-free Newton-CG, L-BFGS.

Both Newton methods are globalised by default: Armijo backtracking along the Newton direction
from the unit step (Boyd and Vandenberghe, Convex Optimization, §9.5: the sufficient decrease
is measured by the Newton decrement λ² = -<∇f, d>). Near a strong minimiser the unit step is
accepted and convergence is quadratic; ``line_search = "none"`` keeps the pure step.
"""
from __future__ import annotations

import math
from collections import deque

import array_api_compat
import numpy as np

from optbench import Optimizer, Param, Stalled
from optbench.optimizer import require

from .common import ARMIJO_PARAMS, armijo, dot

DAMPING = Param(float, 1.0, "step along the Newton direction: the fixed step without a line search, "
                "the first trial step with one (1: the pure Newton step)", gt=0.0, le=1.0)
LINE_SEARCH = Param(str, "armijo", "armijo: backtrack until f decreases by c1 t λ² (damped Newton); "
                    "none: always take the step `damping` (pure Newton when 1)", choices=("armijo", "none"))
NEWTON_PARAMS = {"line_search": LINE_SEARCH, "damping": DAMPING, **ARMIJO_PARAMS}


class GlobalisedNewton(Optimizer):
    """What both Newton methods share: the line search along a descent direction, or the pure step."""

    def validate(self):
        # c1 < 1/2 lets the unit step pass near the minimiser, which quadratic convergence needs
        require(self.p["c1"] < 0.5, self.name, f"parameter 'c1' must be < 0.5 for a Newton method, "
                f"got {self.p['c1']!r}")

    def step(self, oracle):
        if self.p["line_search"] == "none":
            self.x = self.x + self.p["damping"] * self.direction(oracle, oracle.grad(self.x))
            return self.x
        f, g = oracle.value_and_grad(self.x)
        direction = self.direction(oracle, g)
        slope = dot(self.xp, g, direction)  # -λ², the squared Newton decrement
        if not slope < 0:  # rounding made the direction useless: fall back on steepest descent
            direction, slope = -g, -dot(self.xp, g, g)
        if -slope <= self.xp.finfo(self.x.dtype).eps * abs(float(f)):
            # the predicted decrease λ²/2 is below f's rounding, so Armijo cannot see it and would
            # reject every step; the quadratic model is exact there, so take the step untested
            self.x = self.x + self.p["damping"] * direction
            return self.x
        self.x, _, _ = armijo(oracle, self.x, f, slope, direction, self.p["damping"], self.p)
        return self.x

    def direction(self, oracle, g):
        """The (possibly modified) Newton direction at ``self.x`` for the gradient ``g``."""
        raise NotImplementedError


def positive_definite_shift(hessian: np.ndarray) -> float:
    """The smallest tau of 0, b, 2b, 4b, ... that makes H + tau I Cholesky-factorisable.

    Nocedal and Wright, Numerical Optimization, Algorithm 3.3 (Cholesky with added multiple of
    the identity), with b = 1e-3 times the largest |H_ii| so that the shift scales with H.
    """
    diagonal = np.diag(hessian)
    floor = 1e-3 * (float(np.max(np.abs(diagonal))) or 1.0)
    tau = 0.0 if np.min(diagonal) > 0 else floor - float(np.min(diagonal))
    identity = np.eye(hessian.shape[0])
    while True:
        try:
            np.linalg.cholesky(hessian + tau * identity)
            return tau
        except np.linalg.LinAlgError:
            tau = max(2.0 * tau, floor)


def solve_newton_system(hessian: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """H^-1 g on the host; least squares when H is singular, NaN when H is not finite."""
    if not np.all(np.isfinite(hessian)):
        return np.full_like(gradient, np.nan)
    try:
        return np.linalg.solve(hessian, gradient)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(hessian, gradient, rcond=None)[0]


class Newton(GlobalisedNewton):
    """Damped Newton: d = -(H + shift I)^-1 grad f(x), H the backend's Hessian; x <- x + t d.

    With the line search, an H that is not positive definite gets the smallest added multiple
    of the identity that makes it so (:func:`positive_definite_shift`), so d is a descent
    direction; the pure step (``line_search = "none"``) solves with H as it is, and may head
    for a saddle point or a maximum, as the textbook method does.
    The Array API has no linear solver on every engine, so H and the gradient are copied to
    the host and solved with NumPy (LAPACK); the direction is copied back to x's device.
    """

    name = "newton"
    needs = ("grad", "hessian")
    params = {
        **NEWTON_PARAMS,
        "shift": Param(float, 0.0, "added to the Hessian's diagonal (Levenberg regularisation)", ge=0.0),
    }

    def direction(self, oracle, g):
        to_numpy, x = oracle.backend.to_numpy, self.x
        hessian = np.asarray(to_numpy(oracle.hessian(x)), dtype=np.float64)
        hessian = hessian + self.p["shift"] * np.eye(hessian.shape[0])
        if self.p["line_search"] == "armijo" and np.all(np.isfinite(hessian)):
            hessian = hessian + positive_definite_shift(hessian) * np.eye(hessian.shape[0])
        direction = -solve_newton_system(hessian, np.asarray(to_numpy(g), dtype=np.float64))
        return self.xp.asarray(direction, dtype=x.dtype, device=array_api_compat.device(x))


class NewtonCG(GlobalisedNewton):
    """Truncated (Hessian-free) Newton: d from conjugate gradient on H d = -grad f with HVPs.

    CG stops at relative residual ``cg_tol``, after ``cg_max_iter`` iterations, or on
    non-positive curvature (then it keeps the direction so far, or -grad f if there is none),
    so d is a descent direction (Nocedal and Wright, Algorithm 7.1, line search Newton-CG).
    """

    name = "newton_cg"
    needs = ("grad", "hvp")
    params = {
        **NEWTON_PARAMS,
        "cg_tol": Param(float, 1e-10, "CG stops when |H d + g| <= cg_tol |g|", gt=0.0, lt=1.0),
        "cg_max_iter": Param(int, None, "most CG iterations per step; unset: 20 n, as scipy (rounding "
                             "makes CG need more than n on ill-conditioned H)", ge=1, optional=True),
    }

    def direction(self, oracle, g):
        """Truncated conjugate gradient on H d = -g, started at d = 0."""
        xp, x = self.xp, self.x
        direction, residual = xp.zeros_like(g), -g
        search, squared = residual, dot(xp, residual, residual)
        tolerance = self.p["cg_tol"] * math.sqrt(squared)
        for i in range(self.p["cg_max_iter"] or 20 * x.shape[0]):
            h_search = oracle.hvp(x, search)
            curvature = dot(xp, search, h_search)
            if curvature <= 0:
                return -g if i == 0 else direction
            alpha = squared / curvature
            direction = direction + alpha * search
            residual = residual - alpha * h_search
            new_squared = dot(xp, residual, residual)
            if math.sqrt(new_squared) <= tolerance:
                break
            search, squared = residual + (new_squared / squared) * search, new_squared
        return direction


class LBFGS(Optimizer):
    """L-BFGS: the two-loop recursion over the last ``memory`` pairs (s, y), Armijo backtracking.

    The first trial step is 1 (min(1, 1/|g|) with an empty memory); pairs with s.y <= 1e-10 |s||y|
    are skipped, and an ascent direction or a failed line search clears the memory. Trials are
    evaluated with their gradient, so the accepted one costs nothing more (one f and grad f per
    iteration, as scipy's L-BFGS-B). The run ends as converged when the line search finds no
    decrease above f's rounding, and as stopped when it fails along -grad f short of that.
    """

    name = "lbfgs"
    params = {"memory": Param(int, 10, "number of (s, y) pairs kept", ge=1), **ARMIJO_PARAMS}

    def init(self, oracle, x0):
        self.x, self.last, self.evaluation = x0, None, None
        self.pairs: deque = deque(maxlen=self.p["memory"])

    def step(self, oracle):
        xp, x = self.xp, self.x
        f, g = self.evaluation or oracle.value_and_grad(x)
        if self.last is not None:
            self.remember(self.last[0], g - self.last[1])
        direction = -self.inverse_hessian_times(g)
        slope = dot(xp, g, direction)
        if not slope < 0:
            self.pairs.clear()
            direction, slope = -g, -dot(xp, g, g)
        steepest = not self.pairs  # an empty memory searches along -g
        first = 1.0 if self.pairs or slope == 0 else min(1.0, 1.0 / math.sqrt(-slope))
        self.x, taken, evaluation = armijo(oracle, x, f, slope, direction, first, self.p, with_grad=True)
        if not taken:
            if steepest:
                raise Stalled(f"the line search along -grad f failed (|grad f| = {math.sqrt(-slope):.3g})")
            self.pairs.clear()
        self.last = (self.x - x, g) if taken else None
        self.evaluation = evaluation if taken else (f, g)
        return self.x

    def remember(self, s, y):
        sy = dot(self.xp, s, y)
        if sy > 1e-10 * math.sqrt(dot(self.xp, s, s) * dot(self.xp, y, y)):
            self.pairs.append((s, y, 1.0 / sy))

    def inverse_hessian_times(self, g):
        """The two-loop recursion: H_k g with H_0 = (s.y / y.y) I from the newest pair."""
        xp, q, alphas = self.xp, g, []
        for s, y, rho in reversed(self.pairs):
            alpha = rho * dot(xp, s, q)
            q = q - alpha * y
            alphas.append(alpha)
        if self.pairs:
            s, y, rho = self.pairs[-1]
            q = q / (rho * dot(xp, y, y))
        for (s, y, rho), alpha in zip(self.pairs, reversed(alphas)):
            q = q + (alpha - rho * dot(xp, y, q)) * s
        return q


SECOND_ORDER = (Newton, NewtonCG, LBFGS)
