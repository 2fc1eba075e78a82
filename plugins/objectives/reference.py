"""Reference solves: minimisers of the smooth convex objectives, exact to rounding, found fast.

Each solve uses what the objective knows about its structure. Logistic regression writes its
Hessian down (one Cholesky solve per Newton step); softmax regression has an analytic
Hessian-vector product (Newton-CG, no d k x d k matrix); any other smooth convex objective gets
Newton-CG on torch's double-backward Hessian-vector products, so no solve ever builds a Hessian
by autograd. Quadratics and least squares have closed forms in their own classes.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

ValueAndGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]
Direction = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (x, g) -> d with H(x) d ~ -g


def newton(value_and_grad: ValueAndGrad, direction: Direction, x0: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Newton's method with Armijo backtracking, until the gradient is at round-off level.

    It also stops when a step no longer decreases f (round-off reached before the tolerance).
    """
    x = np.asarray(x0, dtype=np.float64)
    f, g = value_and_grad(x)
    for _ in range(max_iter):
        if np.linalg.norm(g) <= 1e-13 * (1.0 + abs(f)):
            break
        d = direction(x, g)
        slope = float(g @ d)
        if not slope < 0:  # an inexact direction that does not descend: fall back on -g
            d, slope = -g, -float(g @ g)
        step = 1.0
        while True:
            trial = x + step * d
            f_trial, g_trial = value_and_grad(trial)
            if f_trial <= f + 1e-4 * step * slope or step < 1e-12:
                break
            step /= 2
        if not f_trial < f:
            break  # no further decrease possible at round-off
        x, f, g = trial, f_trial, g_trial
    return x


def conjugate_gradient(hvp: Callable[[np.ndarray], np.ndarray], g: np.ndarray) -> np.ndarray:
    """An inexact Newton direction: CG on H d = -g to relative residual min(0.1, |g|).

    The forcing term shrinking with |g| keeps Newton's quadratic convergence; CG stops early
    on non-positive curvature (then the direction so far, or -g).
    """
    d, residual = np.zeros_like(g), -g
    search, squared = residual, float(residual @ residual)
    tolerance = min(0.1, math.sqrt(squared)) * math.sqrt(squared)
    for _ in range(20 * g.size):
        h_search = hvp(search)
        curvature = float(search @ h_search)
        if curvature <= 0:
            return d if d.any() else -g
        alpha = squared / curvature
        d = d + alpha * search
        residual = residual - alpha * h_search
        new_squared = float(residual @ residual)
        if math.sqrt(new_squared) <= tolerance:
            break
        search, squared = residual + (new_squared / squared) * search, new_squared
    return d


def softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(z, 0.0)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for large |z|


def logistic_regression_minimizer(X: np.ndarray, y: np.ndarray, reg: float) -> np.ndarray:
    """argmin (1/m) sum softplus(-y_i x_i^T w) + reg/2 |w|^2, by Newton on the analytic Hessian.

    Forming X^T D X costs m n^2, a hundred gradients' worth, so an inverse Hessian is kept while
    it still cuts |g| tenfold per step (near the minimiser the Hessian hardly changes) and
    formed again only when progress slows.
    """
    m, n = X.shape
    kept = {"inverse": None, "g_norm": math.inf}

    def value_and_grad(w):
        margins = y * (X @ w)
        return (float(np.mean(softplus(-margins)) + 0.5 * reg * (w @ w)),
                X.T @ (-y * sigmoid(-margins)) / m + reg * w)

    def direction(w, g):
        g_norm = float(np.linalg.norm(g))
        if kept["inverse"] is None or g_norm > 0.1 * kept["g_norm"]:
            p = sigmoid(X @ w)
            weighted = X * np.sqrt(p * (1.0 - p) / m)[:, None]
            kept["inverse"] = np.linalg.inv(weighted.T @ weighted + reg * np.eye(n))
        kept["g_norm"] = g_norm
        return -(kept["inverse"] @ g)

    return newton(value_and_grad, direction, np.zeros(n))


def softmax_regression_minimizer(X: np.ndarray, onehot: np.ndarray, reg: float) -> np.ndarray:
    """argmin (1/m) sum [logsumexp(x_i^T W) - x_i^T W_{y_i}] + reg/2 |W|^2 (W flattened row-major),
    by Newton-CG on the analytic Hessian-vector product."""
    m, d = X.shape
    k = onehot.shape[1]

    def probabilities(w):
        scores = X @ w.reshape(d, k)
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        return scores, p / p.sum(axis=1, keepdims=True)

    def value_and_grad(w):
        scores, p = probabilities(w)
        log_partition = np.log(np.exp(scores).sum(axis=1))
        value = float(np.mean(log_partition - (onehot * scores).sum(axis=1)) + 0.5 * reg * (w @ w))
        return value, (X.T @ (p - onehot) / m).ravel() + reg * w

    def direction(w, g):
        _, p = probabilities(w)

        def hvp(v):
            u = X @ v.reshape(d, k)
            pu = p * u
            return (X.T @ (pu - p * pu.sum(axis=1, keepdims=True)) / m).ravel() + reg * v

        return conjugate_gradient(hvp, g)

    return newton(value_and_grad, direction, np.zeros(d * k))


def newton_minimizer(objective, x0: np.ndarray) -> np.ndarray:
    """Minimise any smooth convex ``objective`` by Newton-CG on torch Hessian-vector products.

    The Hessian is shifted by min(1, |g|) (regularised Newton): where it is singular, as Huber's
    is when most residuals lie in the linear zone, CG still solves a well-posed system, and the
    shift vanishes near the minimiser, so convergence stays superlinear.
    """
    import torch  # only this generic solve needs it

    def value_and_grad(x):
        xx = torch.from_numpy(x).requires_grad_(True)
        value = objective(xx)
        (g,) = torch.autograd.grad(value, xx)
        return float(value.detach()), g.numpy()

    def direction(x, g):
        xx = torch.from_numpy(x).requires_grad_(True)
        (gg,) = torch.autograd.grad(objective(xx), xx, create_graph=True)
        shift = min(1.0, float(np.linalg.norm(g)))

        def hvp(v):
            (hv,) = torch.autograd.grad(gg, xx, torch.from_numpy(v), retain_graph=True)
            return hv.numpy() + shift * v

        return conjugate_gradient(hvp, g)

    return newton(value_and_grad, direction, np.asarray(x0, dtype=np.float64))
