"""First-order methods: gradient descent and its line searches, coordinate descent, momentum
(heavy ball, Nesterov) and diagonal (Jacobi) preconditioning."""
from __future__ import annotations

import math

import array_api_compat

from optbench import Optimizer, Param, Stalled

from .common import ARMIJO_PARAMS, armijo, dot, objective_constant

OPTIONAL_STEP = Param(float, None, "step size; unset: derived from the objective's L (and mu)",
                      gt=0.0, optional=True)


class GradientDescent(Optimizer):
    """Gradient descent x <- x - a_t grad f(x), with a fixed step or the 1/t schedule a_t = step/t."""

    name = "gd"
    params = {
        "step": Param(float, 0.1, "step size (learning rate)", gt=0.0),
        "schedule": Param(str, "constant", "step schedule: constant, or 1/t (step / t at iteration t)",
                          choices=("constant", "1/t")),
    }

    def init(self, oracle, x0):
        self.x, self.t = x0, 0

    def step(self, oracle):
        self.t += 1
        step = self.p["step"] if self.p["schedule"] == "constant" else self.p["step"] / self.t
        self.x = self.x - step * oracle.grad(self.x)
        return self.x


class SteepestDescentExact(Optimizer):
    """Steepest descent with the exact line search of quadratics: a = <g, g> / <g, H g>.

    On a quadratic this is argmin_a f(x - a g); elsewhere it minimises the local quadratic
    model along -g. Where the curvature <g, H g> is not positive it takes ``max_step``.
    """

    name = "steepest_exact"
    needs = ("grad", "hvp")
    params = {"max_step": Param(float, 1e3, "largest step taken (also the step on non-positive curvature)",
                                gt=0.0)}

    def step(self, oracle):
        g = oracle.grad(self.x)
        gg, curvature = dot(self.xp, g, g), dot(self.xp, g, oracle.hvp(self.x, g))
        step = min(gg / curvature, self.p["max_step"]) if curvature > 0 else self.p["max_step"]
        self.x = self.x - step * g
        return self.x


class ArmijoDescent(Optimizer):
    """Steepest descent with Armijo backtracking: from ``step`` shrink until f decreases enough.

    f never increases: when no trial step is accepted the run ends, as converged when the decrease
    the search could see was below f's rounding, else as stopped.
    """

    name = "gd_armijo"
    params = {"step": Param(float, 1.0, "first trial step of every line search", gt=0.0), **ARMIJO_PARAMS}

    def step(self, oracle):
        f, g = oracle.value_and_grad(self.x)
        self.x, taken, _ = armijo(oracle, self.x, f, -dot(self.xp, g, g), -g, self.p["step"], self.p)
        if not taken:  # the next search would repeat this one exactly
            raise Stalled(f"the line search along -grad f failed (|grad f| = {dot(self.xp, g, g) ** 0.5:.3g})")
        return self.x


class CoordinateDescent(Optimizer):
    """One coordinate per iteration: x_i <- x_i - step d_i f(x), i cyclic or uniformly random.

    The gradient is computed in full (AD gives all partials at once); ``step`` unset is 1/L.
    """

    name = "coordinate_descent"
    params = {
        "step": OPTIONAL_STEP,
        "order": Param(str, "cyclic", "coordinate order: cyclic (0, 1, ..., n-1, 0, ...) or random",
                       choices=("cyclic", "random")),
    }

    def init(self, oracle, x0):
        self.x, self.t = x0, 0
        self.indices = self.xp.arange(x0.shape[0], device=array_api_compat.device(x0))
        self.rate = self.p["step"] or 1.0 / objective_constant(self, oracle, "L", "step")

    def step(self, oracle):
        n = self.x.shape[0]
        i = self.t % n if self.p["order"] == "cyclic" else int(self.rng.integers(n))
        self.t += 1
        g = oracle.grad(self.x)
        self.x = self.x - self.rate * self.xp.where(self.indices == i, g, self.xp.zeros_like(g))
        return self.x


class HeavyBall(Optimizer):
    """Polyak's heavy ball: x+ = x - step grad f(x) + momentum (x - x_prev).

    Unset parameters take the textbook values for an L-smooth mu-strongly convex objective:
    step = 4 / (sqrt L + sqrt mu)^2, momentum = ((sqrt kappa - 1) / (sqrt kappa + 1))^2.
    """

    name = "heavy_ball"
    params = {
        "step": OPTIONAL_STEP,
        "momentum": Param(float, None, "momentum beta in [0, 1); unset: the textbook value from L and mu",
                          ge=0.0, lt=1.0, optional=True),
    }

    def init(self, oracle, x0):
        self.x = self.previous = x0
        self.rate, self.beta = self.p["step"], self.p["momentum"]
        if self.rate is None or self.beta is None:
            L = objective_constant(self, oracle, "L", "step" if self.rate is None else "momentum")
            mu = objective_constant(self, oracle, "mu", "step" if self.rate is None else "momentum")
            root_kappa = math.sqrt(L / mu)
            if self.rate is None:
                self.rate = 4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2
            if self.beta is None:
                self.beta = ((root_kappa - 1.0) / (root_kappa + 1.0)) ** 2

    def step(self, oracle):
        x = self.x
        self.x = x - self.rate * oracle.grad(x) + self.beta * (x - self.previous)
        self.previous = x
        return self.x


class Nesterov(Optimizer):
    """Nesterov's accelerated gradient: y = x + beta_k (x - x_prev), x+ = y - step grad f(y).

    Unset ``step`` is 1/L. Unset ``momentum`` is (sqrt kappa - 1) / (sqrt kappa + 1) when the
    objective knows mu > 0, else the convex schedule beta_k = (k - 1) / (k + 2).
    """

    name = "nesterov"
    params = {
        "step": OPTIONAL_STEP,
        "momentum": Param(float, None, "constant momentum in [0, 1); unset: textbook value or schedule",
                          ge=0.0, lt=1.0, optional=True),
    }

    def init(self, oracle, x0):
        self.x = self.previous = x0
        self.k = 0
        self.rate = self.p["step"] or 1.0 / objective_constant(self, oracle, "L", "step")
        self.beta = self.p["momentum"]
        mu, L = getattr(oracle.objective, "mu", None), getattr(oracle.objective, "L", None)
        if self.beta is None and mu and L and mu > 0:
            root_kappa = math.sqrt(L / mu)
            self.beta = (root_kappa - 1.0) / (root_kappa + 1.0)

    def step(self, oracle):
        self.k += 1
        beta = self.beta if self.beta is not None else (self.k - 1) / (self.k + 2)
        x = self.x
        y = x + beta * (x - self.previous)
        self.x, self.previous = y - self.rate * oracle.grad(y), x
        return self.x


class JacobiPreconditioned(Optimizer):
    """Gradient descent preconditioned by the Hessian's diagonal: x <- x - step D^-1 grad f(x).

    D_ii = max(|H_ii|, min_curvature) from the backend's Hessian at x0, recomputed every
    ``refresh`` iterations (0: never). Stable on a quadratic when step < 2 / lambda_max(D^-1 A).
    """

    name = "jacobi"
    needs = ("grad", "hessian")
    params = {
        "step": Param(float, 0.5, "step size applied to the preconditioned gradient", gt=0.0),
        "refresh": Param(int, 0, "recompute D every this many iterations (0: only at x0)", ge=0),
        "min_curvature": Param(float, 1e-8, "floor on |H_ii|, so D stays invertible", gt=0.0),
    }

    def init(self, oracle, x0):
        self.x, self.t = x0, 0
        self.inverse_diagonal = self.precondition(oracle)

    def precondition(self, oracle):
        """1 / max(|diag H(x)|, min_curvature), the diagonal taken with core Array API only."""
        xp, n = self.xp, self.x.shape[0]
        hessian = oracle.hessian(self.x)
        eye = xp.eye(n, dtype=hessian.dtype, device=array_api_compat.device(hessian))
        diagonal = xp.abs(xp.sum(hessian * eye, axis=1))
        return 1.0 / xp.maximum(diagonal, xp.full_like(diagonal, self.p["min_curvature"]))

    def step(self, oracle):
        self.t += 1
        if self.p["refresh"] and self.t % self.p["refresh"] == 0:
            self.inverse_diagonal = self.precondition(oracle)
        self.x = self.x - self.p["step"] * self.inverse_diagonal * oracle.grad(self.x)
        return self.x


FIRST_ORDER = (GradientDescent, SteepestDescentExact, ArmijoDescent, CoordinateDescent, HeavyBall,
               Nesterov, JacobiPreconditioned)
