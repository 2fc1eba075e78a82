"""Convex families on seeded synthetic data: sums of convex terms, log-sum-exp, Huber, and
L2-regularised logistic and softmax regression.

Data live on the host as NumPy arrays and reach each backend once through
:meth:`Objective.constant`. Minimisers are computed lazily by the reference solves of
:mod:`.reference`: analytic Newton for logistic and softmax regression, Newton-CG on
Hessian-vector products for the others.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np

import optbench
from optbench import Objective, Param

from .reference import logistic_regression_minimizer, newton_minimizer, softmax_regression_minimizer


def softplus(xp, z):
    """log(1 + exp(z)), stable for large |z|."""
    return xp.logaddexp(z, xp.zeros_like(z))


def logsumexp(xp, z, axis=-1):
    """log sum exp(z) along ``axis``, shifted by the maximum so it never overflows."""
    top = xp.max(z, axis=axis, keepdims=True)
    return xp.squeeze(top, axis=axis) + xp.log(xp.sum(xp.exp(z - top), axis=axis))


def spectral_norm_squared(matrix: np.ndarray) -> float:
    """||M||_2^2, the largest eigenvalue of M^T M."""
    return float(np.linalg.norm(matrix, 2) ** 2)


class SyntheticData(Objective):
    """An objective over ``samples`` seeded data points; the minimiser is computed on demand."""

    def setup(self):
        self.rng = np.random.default_rng(self.p["seed"])
        self.make_data()

    def make_data(self) -> None:
        """Draw the data set from ``self.rng``."""

    def x0(self, seed=0):
        return np.random.default_rng(seed).standard_normal(self.n)

    @cached_property
    def minimizer(self):
        return newton_minimizer(self, np.zeros(self.n))


SAMPLES = Param(int, 200, "number m of synthetic data points", ge=1)
SEED = Param(int, 0, "seed of the synthetic data", ge=0)
REG = Param(float, 1e-2, "L2 regularisation weight lambda (the strong-convexity constant)", gt=0.0)


class WeightedConvexSum(SyntheticData):
    """w_q/2 ||x - c||^2 + w_s mean_i softplus(a_i^T x) + w_1 ||x||_1: non-negative weights
    keep it convex; smooth only when w_1 = 0 (the minimiser is then computed)."""

    name = "weighted_convex_sum"
    default_dim = 10
    convex = True
    params = {
        "quadratic": Param(float, 1.0, "weight w_q of 1/2 ||x - c||^2", ge=0.0),
        "softplus": Param(float, 1.0, "weight w_s of the mean softplus of a_i^T x", ge=0.0),
        "l1": Param(float, 0.0, "weight w_1 of ||x||_1 (non-smooth)", ge=0.0),
        "samples": SAMPLES,
        "seed": SEED,
    }

    def make_data(self):
        self.smooth = self.p["l1"] == 0.0
        self.center = self.rng.standard_normal(self.n)
        self.A = self.rng.standard_normal((self.p["samples"], self.n))

    def __call__(self, x):
        xp = optbench.namespace(x)
        w = self.p
        shifted = x - self.constant("center", self.center, x)
        return (0.5 * w["quadratic"] * xp.sum(shifted**2)
                + w["softplus"] * xp.mean(softplus(xp, self.constant("A", self.A, x) @ x))
                + w["l1"] * xp.sum(xp.abs(x)))

    @cached_property
    def minimizer(self):
        if not self.smooth or self.p["quadratic"] == 0.0:
            return None  # Newton needs the smooth part; softplus alone need not attain its infimum
        return newton_minimizer(self, np.zeros(self.n))

    @property
    def L(self):
        if not self.smooth:
            return None
        return self.p["quadratic"] + self.p["softplus"] * spectral_norm_squared(self.A) / (4 * self.p["samples"])

    @property
    def mu(self):
        return self.p["quadratic"]


class LogSumExp(SyntheticData):
    """log sum_i exp(a_i^T x - b_i) over rows a_i of [G; -G], which make it bounded below.

    Smooth, convex, not strongly convex; L = ||A||^2 / 2 (Boehning's bound on the softmax Hessian).
    """

    name = "log_sum_exp"
    default_dim = 10
    convex, smooth = True, True
    params = {"samples": Param(int, 20, "number m of rows of G (A has 2m rows)", ge=1), "seed": SEED}

    def make_data(self):
        gaussian = self.rng.standard_normal((self.p["samples"], self.n))
        self.A = np.concatenate([gaussian, -gaussian])
        self.b = self.rng.standard_normal(2 * self.p["samples"])

    def __call__(self, x):
        xp = optbench.namespace(x)
        return logsumexp(xp, self.constant("A", self.A, x) @ x - self.constant("b", self.b, x))

    @property
    def L(self):
        return spectral_norm_squared(self.A) / 2


class Huber(SyntheticData):
    """(1/m) sum_i huber_delta(a_i^T x - b_i): robust regression on data with 10% outliers.

    huber(r) = r^2/2 for |r| <= delta, else delta (|r| - delta/2). Convex, gradient
    Lipschitz with L = ||A||^2 / m, not twice differentiable at |r| = delta.
    """

    name = "huber"
    default_dim = 10
    convex, smooth = True, True
    params = {
        "delta": Param(float, 1.0, "threshold between the quadratic and the linear part", gt=0.0),
        "samples": SAMPLES,
        "seed": SEED,
    }

    def make_data(self):
        m = self.p["samples"]
        self.A = self.rng.standard_normal((m, self.n))
        noise = 0.1 * self.rng.standard_normal(m)
        outliers = self.rng.random(m) < 0.1
        noise[outliers] += 10.0 * self.rng.standard_normal(int(outliers.sum()))
        self.b = self.A @ self.rng.standard_normal(self.n) + noise

    def __call__(self, x):
        xp = optbench.namespace(x)
        delta = self.p["delta"]
        r = self.constant("A", self.A, x) @ x - self.constant("b", self.b, x)
        size = xp.abs(r)
        return xp.mean(xp.where(size <= delta, 0.5 * r**2, delta * (size - 0.5 * delta)))

    @property
    def L(self):
        return spectral_norm_squared(self.A) / self.p["samples"]


class L2Regularised:
    """Mixin of objectives with a term lambda/2 ||w||^2: ``reg`` is lambda (the ``reg`` parameter)."""

    @property
    def reg(self) -> float:
        return self.p["reg"]


class LogisticRegression(L2Regularised, SyntheticData):
    """(1/m) sum_i log(1 + exp(-y_i x_i^T w)) + lambda/2 ||w||^2, labels y_i in {-1, 1} drawn
    from the logistic model of a seeded w_true. L = ||X||^2/(4m) + lambda, mu = lambda."""

    name = "logistic_regression"
    default_dim = 10
    convex, smooth = True, True
    params = {"samples": SAMPLES, "reg": REG, "seed": SEED}

    def make_data(self):
        m = self.p["samples"]
        self.X = self.rng.standard_normal((m, self.n))
        margin = self.X @ self.rng.standard_normal(self.n)
        self.y = np.where(self.rng.random(m) < 1.0 / (1.0 + np.exp(-margin)), 1.0, -1.0)

    def __call__(self, w):
        xp = optbench.namespace(w)
        margins = self.constant("y", self.y, w) * (self.constant("X", self.X, w) @ w)
        return xp.mean(softplus(xp, -margins)) + 0.5 * self.reg * xp.sum(w**2)

    @cached_property
    def minimizer(self):
        return logistic_regression_minimizer(self.X, self.y, self.reg)

    @property
    def L(self):
        return spectral_norm_squared(self.X) / (4 * len(self.X)) + self.reg

    @property
    def mu(self):
        return self.reg


class SoftmaxRegression(L2Regularised, SyntheticData):
    """(1/m) sum_i [logsumexp(x_i^T W) - x_i^T W_{y_i}] + lambda/2 ||W||^2 over W of d x k
    (flattened row-major, n = d k), labels drawn from the softmax model of a seeded W_true.
    L = ||X||^2/(2m) + lambda (Boehning's bound), mu = lambda."""

    name = "softmax_regression"
    default_dim = 12
    convex, smooth = True, True
    params = {
        "classes": Param(int, 3, "number k of classes; n must be a multiple of k", ge=2),
        "samples": SAMPLES, "reg": REG, "seed": SEED,
    }

    def make_data(self):
        k, m = self.p["classes"], self.p["samples"]
        if self.n % k:
            raise optbench.ParameterError(
                f"objective 'softmax_regression': dimension n = {self.n} must be a multiple of classes = {k}")
        self.features = self.n // k
        self.X = self.rng.standard_normal((m, self.features))
        scores = self.X @ self.rng.standard_normal((self.features, k))
        labels = np.argmax(scores + self.rng.gumbel(size=(m, k)), axis=1)
        self.onehot = np.eye(k)[labels]

    def __call__(self, w):
        xp = optbench.namespace(w)
        scores = self.constant("X", self.X, w) @ xp.reshape(w, (self.features, self.onehot.shape[1]))
        true_scores = xp.sum(self.constant("onehot", self.onehot, w) * scores, axis=1)
        return xp.mean(logsumexp(xp, scores) - true_scores) + 0.5 * self.reg * xp.sum(w**2)

    @cached_property
    def minimizer(self):
        return softmax_regression_minimizer(self.X, self.onehot, self.reg)

    @property
    def L(self):
        return spectral_norm_squared(self.X) / (2 * len(self.X)) + self.reg

    @property
    def mu(self):
        return self.reg


CONVEX = (WeightedConvexSum, LogSumExp, Huber, LogisticRegression, SoftmaxRegression)
