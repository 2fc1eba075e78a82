"""GradBench's k-means: the clustering cost of k centroids and its Newton direction."""
from __future__ import annotations

import itertools
import math

import optbench
from optbench import Param

from .base import SEED, Workload, legacy_sequence

KMEANS_GRID = sorted(itertools.product([10, 100, 1000], [1000, 10000], [8, 16]), key=math.prod)


class KMeans(Workload):
    """sum_i min_j |c_j - p_i|^2 over the centroids c (x, k x d row-major) for fixed points p.

    GradBench times ``dir``, the Newton direction J H^-1: the Hessian is diagonal, so it is the
    gradient divided by the Hessian-vector product with ones (:meth:`newton_direction`). The
    points are GradBench's (uniform, one global sequence over its grid); the centroids start at
    the last k points, which keeps every cluster non-empty."""

    name = "kmeans"
    source = "GradBench evals/kmeans"
    size_params = ("k", "samples", "d")
    derivative = "newton_direction"
    products = ("newton_direction",)
    params = {
        "k": Param(int, 10, "number of centroids", ge=1),
        "samples": Param(int, 1000, "number of points (GradBench's n)", ge=1),
        "d": Param(int, 8, "dimension of the points", ge=1),
        "seed": SEED,
    }

    @classmethod
    def dimension(cls, params):
        return params["k"] * params["d"]

    def setup(self):
        k, samples, d = self.p["k"], self.p["samples"], self.p["d"]
        if k > samples:
            raise optbench.ParameterError(f"objective 'kmeans': k = {k} centroids need as many points, got {samples}")
        self.data = legacy_sequence(KMEANS_GRID, (k, samples, d), lambda rng, size: rng.random_sample(size[1:]),
                                    self.p["seed"])
        self.point = self.data[-k:].ravel()

    def __call__(self, x):
        xp = optbench.namespace(x)
        centroids = xp.reshape(x, (self.p["k"], self.p["d"]))
        points = self.constant("points", self.data, x)
        # GradBench's all-pairs form: |p|^2 + |c|^2 - 2 c.p, (k, samples)
        distances = (self.constant("norms", (self.data ** 2).sum(1), x)[None, :]
                     + xp.sum(centroids * centroids, axis=1)[:, None] - 2 * (centroids @ points.T))
        return xp.sum(xp.min(distances, axis=0))

    def newton_direction(self, backend, x):
        """The gradient divided by the Hessian's diagonal (a Hessian-vector product with ones)."""
        backend.check("hvp")
        xp = optbench.namespace(x)
        return backend.grad(self, x) / backend.hvp(self, x, xp.ones_like(x))
