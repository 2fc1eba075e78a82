"""Minimisers without a closed form, computed once (lazily) by damped Newton in torch float64.

Only for the smooth convex objectives of this library, so that their traces can report
``f - f*`` and the distance to ``x*``; the result is exact to rounding (gradient ~1e-13).
"""
from __future__ import annotations

import numpy as np
import torch


def newton_minimizer(objective, x0: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Minimise a smooth convex ``objective`` from ``x0`` by Newton with backtracking."""
    x = torch.as_tensor(np.asarray(x0, dtype=np.float64))
    for _ in range(max_iter):
        xx = x.detach().requires_grad_(True)
        value = objective(xx)
        (g,) = torch.autograd.grad(value, xx)
        f = value.detach()
        if float(torch.linalg.vector_norm(g)) <= 1e-13 * (1.0 + abs(float(f))):
            break
        hessian = torch.autograd.functional.hessian(objective, x)
        direction = -torch.linalg.lstsq(hessian, g.unsqueeze(1)).solution.squeeze(1)
        step, slope = 1.0, float(g @ direction)
        while step > 1e-12 and float(objective(x + step * direction)) > float(f) + 1e-4 * step * slope:
            step /= 2
        x = x + step * direction
    return x.detach().numpy()
