"""Classic test functions of optimisation, each started uniformly in its usual search domain."""
from __future__ import annotations

import math

import numpy as np

import optbench
from optbench import Objective, Param

from .course_notes import eigenvalues


class BoxStarted(Objective):
    """A test function whose seeded start is uniform in the box ``domain`` (per coordinate)."""

    domain: tuple[float, float] = (-5.0, 5.0)

    def x0(self, seed=0):
        return np.random.default_rng(seed).uniform(*self.domain, self.n)


class Rosenbrock(BoxStarted):
    """sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2: a curved valley; minimum 0 at (1, ..., 1).

    Seed 0 starts at the classic point (-1.2, 1, -1.2, 1, ...).
    """

    name = "rosenbrock"
    dim_range = (2, None)
    default_dim = 2
    convex, smooth = False, True
    domain = (-2.0, 2.0)

    def __call__(self, x):
        xp = optbench.namespace(x)
        head, tail = x[:-1], x[1:]
        return xp.sum(100.0 * (tail - head**2) ** 2 + (1.0 - head) ** 2)

    def x0(self, seed=0):
        if seed == 0:
            return np.where(np.arange(self.n) % 2 == 0, -1.2, 1.0)
        return super().x0(seed)

    @property
    def minimizer(self):
        return np.ones(self.n)


class Beale(BoxStarted):
    """(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2: minimum 0 at (3, 0.5)."""

    name = "beale"
    dim_range = (2, 2)
    convex, smooth = False, True
    domain = (-4.5, 4.5)

    def __call__(self, z):
        x, y = z[0], z[1]
        return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2
                + (2.625 - x + x * y**3) ** 2)

    @property
    def minimizer(self):
        return np.array([3.0, 0.5])


class Himmelblau(BoxStarted):
    """(x^2 + y - 11)^2 + (x + y^2 - 7)^2: four global minima of value 0; (3, 2) is reported."""

    name = "himmelblau"
    dim_range = (2, 2)
    convex, smooth = False, True

    def __call__(self, z):
        x, y = z[0], z[1]
        return (x**2 + y - 11.0) ** 2 + (x + y**2 - 7.0) ** 2

    @property
    def minimizer(self):
        return np.array([3.0, 2.0])


class Rastrigin(BoxStarted):
    """A n + sum x_i^2 - A cos(2 pi x_i), A = 10: a regular grid of local minima; minimum 0 at 0."""

    name = "rastrigin"
    convex, smooth = False, True
    domain = (-5.12, 5.12)

    def __call__(self, x):
        xp = optbench.namespace(x)
        return xp.sum(x**2 - 10.0 * xp.cos(2.0 * math.pi * x) + 10.0)

    @property
    def minimizer(self):
        return np.zeros(self.n)

    @property
    def L(self):
        return 2.0 + 40.0 * math.pi**2  # the largest second derivative, at the integers


class Ackley(BoxStarted):
    """-20 exp(-0.2 sqrt(mean x^2)) - exp(mean cos 2 pi x) + 20 + e: minimum 0 at 0.

    Not differentiable at 0 itself (the square root), so its minimiser is not stationary.
    """

    name = "ackley"
    convex, smooth = False, False
    domain = (-5.0, 5.0)

    def __call__(self, x):
        xp = optbench.namespace(x)
        radius = xp.sqrt(xp.mean(x**2))
        waves = xp.mean(xp.cos(2.0 * math.pi * x))
        return -20.0 * xp.exp(-0.2 * radius) - xp.exp(waves) + 20.0 + math.e

    @property
    def minimizer(self):
        return np.zeros(self.n)

    @property
    def minimum(self):
        return 0.0  # f(0) evaluates to 4e-16 in floating point


STYBLINSKI_TANG_ROOT = min(np.roots([4.0, 0.0, -32.0, 5.0]).real)  # -2.903534...


class StyblinskiTang(BoxStarted):
    """1/2 sum x_i^4 - 16 x_i^2 + 5 x_i: 2^n local minima; minimum -39.166 n at x_i = -2.9035."""

    name = "styblinski_tang"
    convex, smooth = False, True

    def __call__(self, x):
        xp = optbench.namespace(x)
        return 0.5 * xp.sum(x**4 - 16.0 * x**2 + 5.0 * x)

    @property
    def minimizer(self):
        return np.full(self.n, STYBLINSKI_TANG_ROOT)


class Ellipsoid(BoxStarted):
    """sum_i cond^(i/(n-1)) x_i^2: axis-aligned and ill-conditioned; minimum 0 at 0."""

    name = "ellipsoid"
    default_dim = 10
    convex, smooth = True, True
    params = {"cond": Param(float, 1e6, "condition number (ratio of largest to smallest weight)", ge=1.0)}

    def setup(self):
        if self.n == 1 and self.p["cond"] != 1.0:
            raise optbench.ParameterError("objective 'ellipsoid': n = 1 admits only cond = 1")
        self.weights = eigenvalues(self.n, self.p["cond"], "log")

    def __call__(self, x):
        xp = optbench.namespace(x)
        return xp.sum(self.constant("weights", self.weights, x) * x**2)

    @property
    def minimizer(self):
        return np.zeros(self.n)

    @property
    def L(self):
        return 2.0 * float(self.weights[-1])

    @property
    def mu(self):
        return 2.0 * float(self.weights[0])




class SinExp(BoxStarted):
    """sum(sin(x) x + exp(-x^2)): the elementwise function optbench's throughput baselines use.

    Non-convex and bounded below; no known global minimiser.
    """

    name = "sin_exp"
    default_dim = 1000
    convex, smooth = False, True
    domain = (-1.0, 1.0)

    def __call__(self, x):
        xp = optbench.namespace(x)
        return xp.sum(xp.sin(x) * x + xp.exp(-x * x))


CLASSIC = (Rosenbrock, Beale, Himmelblau, Rastrigin, Ackley, StyblinskiTang, Ellipsoid, SinExp)
