"""GradBench's small tasks: llsq, lse, det and ode (llsq, det and ode come from cmpad).

Each input is drawn as GradBench's eval draws it (:func:`.base.legacy_sequence` over the eval's
default grid), so a size on that grid gets GradBench's own numbers.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

import optbench
from optbench import Param

from ..convex import logsumexp
from .base import SEED, Workload, legacy_sequence

LLSQ_GRID = sorted(itertools.product([16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8196, 16392], [128]),
                   key=math.prod)
LSE_GRID = [(n,) for n in (2500, 5000, 10000, 20000, 40000, 80000, 160000, 320000, 640000, 1280000)]
DET_GRID = [(ell,) for ell in range(5, 12)]
ODE_GRID = sorted(itertools.product([1000, 10000, 100000], [1, 10, 100]), key=math.prod)


class LinearLeastSquares(Workload):
    """1/2 sum_i (s_i - sum_j x_j t_i^j)^2 with t_i = -1 + 2i/(n_t - 1), s_i = sign(t_i):
    cmpad's llsq_obj, a polynomial fit of a step; GradBench times its gradient."""

    name = "llsq"
    source = "GradBench evals/llsq (cmpad llsq_obj)"
    size_params = ("samples", "n")
    default_dim = 128
    convex = True
    params = {"samples": Param(int, 16, "number of points t_i (GradBench's n)", ge=2), "seed": SEED}

    def setup(self):
        samples = self.p["samples"]
        t = -1 + np.arange(samples) * 2 / (samples - 1)
        # t_i^j as the reference builds it, one multiplication at a time
        self.powers = np.cumprod(np.concatenate([np.ones((samples, 1)), np.repeat(t[:, None], self.n - 1, 1)], 1), 1)
        self.signs = np.sign(t)
        self.point = legacy_sequence(LLSQ_GRID, (samples, self.n), lambda rng, size: rng.random_sample(size[1]),
                                     self.p["seed"])

    def __call__(self, x):
        xp = optbench.namespace(x)
        residual = self.constant("signs", self.signs, x) - self.constant("powers", self.powers, x) @ x
        return xp.sum(residual * residual) / 2


class LogSumExpTask(Workload):
    """max(x) + log sum_i exp(x_i - max(x)), written with max, exp, sum and log as GradBench asks.

    The same :func:`..convex.logsumexp` as the ``log_sum_exp`` objective, which composes it with
    an affine map of synthetic data to make an optimisation problem; here x is the data."""

    name = "lse"
    source = "GradBench evals/lse"
    default_dim = 2500
    convex = True
    params = {"seed": SEED}

    def setup(self):
        self.point = legacy_sequence(LSE_GRID, (self.n,), lambda rng, size: rng.random_sample(size[0]), self.p["seed"])

    def __call__(self, x):
        return logsumexp(optbench.namespace(x), x, axis=0)


def minors_plan(ell: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Index arrays expanding every minor of the bottom k rows along its first row, k = 2..ell.

    The minors of level k are indexed by their column sets (combinations of k columns, in
    lexicographic order); entry (S, i) names S's i-th column, the level-(k-1) minor without it
    and the sign (-1)^i."""
    plan = []
    previous = {subset: i for i, subset in enumerate(itertools.combinations(range(ell), 1))}
    for k in range(2, ell + 1):
        subsets = list(itertools.combinations(range(ell), k))
        columns = np.array(subsets)
        minors = np.array([[previous[s[:i] + s[i + 1:]] for i in range(k)] for s in subsets])
        signs = np.tile((-1.0) ** np.arange(k), (len(subsets), 1))
        plan.append((columns, minors, signs))
        previous = {subset: i for i, subset in enumerate(subsets)}
    return plan


class DeterminantByMinors(Workload):
    """det(A) of an ell x ell matrix (x is A row-major) by expansion by minors along first rows.

    GradBench (after cmpad's det_by_minor) recurses, O(ell!); this computes each sub-minor once,
    level by level from the bottom row up (O(ell 2^ell), vectorised): the same value and
    gradient, far fewer operations, so its times are not comparable to GradBench's det times."""

    name = "det"
    source = "GradBench evals/det (cmpad det_by_minor)"
    size_params = ("ell",)
    params = {"ell": Param(int, 5, "edge length of the matrix", ge=1), "seed": SEED}

    @classmethod
    def dimension(cls, params):
        return params["ell"] ** 2

    def setup(self):
        ell = self.p["ell"]
        self.plan = minors_plan(ell)
        self.point = legacy_sequence(DET_GRID, (ell,), lambda rng, size: rng.random_sample(size[0] ** 2),
                                     self.p["seed"])

    def __call__(self, x):
        xp = optbench.namespace(x)
        ell = self.p["ell"]
        minors = x[(ell - 1) * ell:]  # level 1: the bottom row's entries
        for k, (columns, below, signs) in enumerate(self.plan, start=2):
            row = x[(ell - k) * ell:(ell - k + 1) * ell]
            terms = (self.constant(f"signs{k}", signs, x) * row[self.index(f"columns{k}", columns, x)]
                     * minors[self.index(f"below{k}", below, x)])
            minors = xp.sum(terms, axis=1)
        return xp.reshape(minors, ())


class OdeSolution(Workload):
    """y_{n-1}(2) for y' = (x_0, x_1 y_0, ..., x_{n-1} y_{n-2}), y(0) = 0, by s classical
    Runge-Kutta steps (cmpad's an_ode). :meth:`residuals` is the whole y(2), GradBench's primal."""

    name = "ode"
    source = "GradBench evals/ode (cmpad an_ode)"
    size_params = ("n", "steps")
    default_dim = 1000
    params = {"steps": Param(int, 1, "number s of Runge-Kutta steps", ge=1), "seed": SEED}

    def setup(self):
        self.point = legacy_sequence(ODE_GRID, (self.n, self.p["steps"]),
                                     lambda rng, size: rng.random_sample(size[0]), self.p["seed"])

    def residuals(self, x):
        xp = optbench.namespace(x)
        steps = self.p["steps"]
        h = 2.0 / steps
        head, tail = x[:1], x[1:]

        def slope(y):
            return xp.concat([head, tail * y[:-1]])

        y = xp.zeros_like(x)
        for _ in range(steps):
            k1 = slope(y)
            k2 = slope(y + h * k1 / 2)
            k3 = slope(y + h * k2 / 2)
            k4 = slope(y + h * k3)
            y = y + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6
        return y

    def __call__(self, x):
        return self.residuals(x)[-1]


ELEMENTARY = (LinearLeastSquares, LogSumExpTask, DeterminantByMinors, OdeSolution)
