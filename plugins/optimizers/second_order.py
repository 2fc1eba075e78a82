"""Curvature-aware methods: Newton with the backend's Hessian, Hessian-free Newton-CG, L-BFGS."""
from __future__ import annotations

import math
from collections import deque

import array_api_compat
import numpy as np

from optbench import Optimizer, Param

from .common import ARMIJO_PARAMS, armijo, dot

DAMPING = Param(float, 1.0, "step along the Newton direction (1: the pure Newton step)", gt=0.0, le=1.0)


def solve_newton_system(hessian: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """H^-1 g on the host; least squares when H is singular, NaN when H is not finite."""
    if not np.all(np.isfinite(hessian)):
        return np.full_like(gradient, np.nan)
    try:
        return np.linalg.solve(hessian, gradient)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(hessian, gradient, rcond=None)[0]


class Newton(Optimizer):
    """Damped Newton: x <- x - damping (H + shift I)^-1 grad f(x), H the backend's Hessian.

    The Array API has no linear solver on every engine, so H and the gradient are copied to
    the host and solved with NumPy (LAPACK); the direction is copied back to x's device.
    """

    name = "newton"
    needs = ("grad", "hessian")
    params = {
        "damping": DAMPING,
        "shift": Param(float, 0.0, "added to the Hessian's diagonal (Levenberg regularisation)", ge=0.0),
    }

    def step(self, oracle):
        to_numpy, x = oracle.backend.to_numpy, self.x
        hessian = np.asarray(to_numpy(oracle.hessian(x)), dtype=np.float64)
        hessian = hessian + self.p["shift"] * np.eye(hessian.shape[0])
        direction = solve_newton_system(hessian, np.asarray(to_numpy(oracle.grad(x)), dtype=np.float64))
        direction = self.xp.asarray(direction, dtype=x.dtype, device=array_api_compat.device(x))
        self.x = x - self.p["damping"] * direction
        return self.x


class NewtonCG(Optimizer):
    """Hessian-free Newton: solve H d = -grad f by conjugate gradient on HVPs, x <- x + damping d.

    CG stops at relative residual ``cg_tol``, after ``cg_max_iter`` iterations, or on
    non-positive curvature (then it keeps the direction so far, or -grad f if there is none).
    """

    name = "newton_cg"
    needs = ("grad", "hvp")
    params = {
        "damping": DAMPING,
        "cg_tol": Param(float, 1e-10, "CG stops when |H d + g| <= cg_tol |g|", gt=0.0, lt=1.0),
        "cg_max_iter": Param(int, None, "most CG iterations per step; unset: 20 n, as scipy (rounding "
                             "makes CG need more than n on ill-conditioned H)", ge=1, optional=True),
    }

    def step(self, oracle):
        self.x = self.x + self.p["damping"] * self.newton_direction(oracle, oracle.grad(self.x))
        return self.x

    def newton_direction(self, oracle, g):
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
    are skipped, and an ascent direction or a failed line search clears the memory.
    """

    name = "lbfgs"
    params = {"memory": Param(int, 10, "number of (s, y) pairs kept", ge=1), **ARMIJO_PARAMS}

    def init(self, oracle, x0):
        self.x, self.last = x0, None
        self.pairs: deque = deque(maxlen=self.p["memory"])

    def step(self, oracle):
        xp, x = self.xp, self.x
        f, g = oracle.value_and_grad(x)
        if self.last is not None:
            self.remember(self.last[0], g - self.last[1])
        direction = -self.inverse_hessian_times(g)
        slope = dot(xp, g, direction)
        if not slope < 0:
            self.pairs.clear()
            direction, slope = -g, -dot(xp, g, g)
        first = 1.0 if self.pairs or slope == 0 else min(1.0, 1.0 / math.sqrt(-slope))
        self.x, taken = armijo(oracle, x, f, slope, direction, first, self.p)
        self.last = (self.x - x, g) if taken > 0 else None
        if not taken:
            self.pairs.clear()
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
