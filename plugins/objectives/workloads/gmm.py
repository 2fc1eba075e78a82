"""ADBench's Gaussian mixture model: the log-posterior of K components in d dimensions.

Parameterised as in ADBench (Srajer et al. 2018): weights by logits alpha, means mu, each
precision's Cholesky-like factor Q_k by its log-diagonal q_k and its strictly lower part l_k
(packed column by column), with a Wishart prior. x is (alpha, mu, q, l) flattened in that order,
GradBench's gradient layout.
"""
from __future__ import annotations

import math

import array_api_compat
import numpy as np

import optbench
from optbench import Param

from ..convex import logsumexp
from .base import SEED, Workload


def multigammaln(a: float, p: int) -> float:
    """log of the multivariate gamma function Gamma_p(a)."""
    return p * (p - 1) / 4 * math.log(math.pi) + sum(math.lgamma(a + (1 - j) / 2) for j in range(1, p + 1))


class GaussianMixture(Workload):
    """ADBench's GMM log-posterior (d dimensions, k components, 1000 points by default).

    GradBench's ``objective`` and ``jacobian`` (the gradient); inputs from GradBench's
    ``generate`` with its seed, so every (d, k) matches GradBench's input exactly."""

    name = "gmm"
    source = "ADBench GMM, GradBench evals/gmm"
    size_params = ("d", "k")
    params = {
        "d": Param(int, 2, "dimension of the data", ge=1),
        "k": Param(int, 5, "number of mixture components", ge=1),
        "samples": Param(int, 1000, "number of data points (GradBench's n)", ge=1),
        "m": Param(int, 0, "additional degrees of freedom of the Wishart prior", ge=0),
        "gamma": Param(float, 1.0, "precision of the Wishart prior", gt=0.0),
        "seed": SEED,
    }

    @classmethod
    def dimension(cls, params):
        d, k = params["d"], params["k"]
        return k * (1 + 2 * d + d * (d - 1) // 2)

    def setup(self):
        d, k, samples = self.p["d"], self.p["k"], self.p["samples"]
        rng = np.random.default_rng(seed=self.p["seed"])  # GradBench's generate(), draw for draw
        self.data = rng.normal(size=(samples, d))
        alpha = rng.normal(size=k)
        mu = rng.uniform(size=(k, d))
        q = rng.normal(size=(k, d))
        l = rng.normal(size=(k, d * (d - 1) // 2))
        self.point = np.concatenate([alpha, mu.ravel(), q.ravel(), l.ravel()])
        self.starts = np.cumsum([0] + [d - 1 - c for c in range(d)])  # where column c of L starts in l_k

    def __call__(self, x):
        xp = optbench.namespace(x)
        d, k, samples, m, gamma = (self.p[key] for key in ("d", "k", "samples", "m", "gamma"))
        alpha = x[:k]
        mu = xp.reshape(x[k:k + k * d], (k, d))
        q = xp.reshape(x[k + k * d:k + 2 * k * d], (k, d))
        l = xp.reshape(x[k + 2 * k * d:], (k, d * (d - 1) // 2))
        diagonal = xp.exp(q)
        sum_q = xp.sum(q, axis=1)
        lower = self.strictly_lower(xp, l, x)  # (k, d, d)
        # the data transposed, (d, samples), centred per component: (k, d, samples)
        centred = self.constant("data_t", self.data.T, x)[None, :, :] - mu[:, :, None]
        scaled = diagonal[:, :, None] * centred + xp.matmul(lower, centred)
        inner = (alpha + sum_q)[:, None] - 0.5 * xp.sum(scaled * scaled, axis=1)  # (k, samples)
        dof = d + m + 1
        prior = (-xp.sum(0.5 * gamma * gamma * (xp.sum(diagonal * diagonal, axis=1) + xp.sum(l * l, axis=1))
                         - m * sum_q)
                 + k * (dof * d * math.log(gamma / math.sqrt(2)) - multigammaln(0.5 * dof, d)))
        return (-samples * d * 0.5 * math.log(2 * math.pi) + xp.sum(logsumexp(xp, inner, axis=0))
                - samples * logsumexp(xp, alpha, axis=0) + prior)

    def strictly_lower(self, xp, l, like):
        """The k strictly lower triangular d x d factors with l_k packed column by column."""
        d, k = self.p["d"], self.p["k"]
        device = array_api_compat.device(like)
        columns = [xp.concat([xp.zeros((k, c + 1), dtype=like.dtype, device=device),
                              l[:, int(self.starts[c]):int(self.starts[c + 1])]], axis=1) for c in range(d - 1)]
        columns.append(xp.zeros((k, d), dtype=like.dtype, device=device))
        return xp.stack(columns, axis=2)
