"""COCO's instance generation for the bbob functions, reproduced bit for bit in NumPy.

A bbob instance is fixed by a seed ``rseed = function + 10000 * instance``: the optimum's
location x_opt, the rotations and the value f_opt all come from the legacy BBOB-2009 random
number generator that COCO keeps (``code-experiments/src/suite_bbob_legacy_code.c`` of
numbbo/coco): a Park-Miller generator behind a 32-entry shuffle table, and Box-Muller for
Gaussians. Everything here runs once per instance, on the host.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np


def uniform(count: int, seed: int) -> np.ndarray:
    """``bbob2009_unif``: ``count`` uniform numbers in (0, 1] from ``seed``."""
    seed = max(abs(seed), 1)
    table = [0] * 32
    for i in range(39, -1, -1):  # warm up, filling the shuffle table on the way
        seed = _park_miller(seed)
        if i < 32:
            table[i] = seed
    current = table[0]
    out = np.empty(count)
    for i in range(count):
        seed = _park_miller(seed)
        slot = current // 67108865
        current, table[slot] = table[slot], seed
        out[i] = current / 2.147483647e9 or 1e-99
    return out


def _park_miller(seed: int) -> int:
    """One step of the minimal standard generator, Schrage's overflow-free form."""
    high = seed // 127773
    seed = 16807 * (seed - high * 127773) - 2836 * high
    return seed + 2147483647 if seed < 0 else seed


def gauss(count: int, seed: int) -> np.ndarray:
    """``bbob2009_gauss``: ``count`` standard normal numbers by Box-Muller."""
    u = uniform(2 * count, seed)
    g = np.sqrt(-2.0 * np.log(u[:count])) * np.cos(2.0 * math.pi * u[count:])
    return np.where(g == 0.0, 1e-99, g)


def rotation(seed: int, n: int) -> np.ndarray:
    """``bbob2009_compute_rotation``: Gram-Schmidt on the columns of a seeded Gaussian matrix."""
    return _rotation(seed, n).copy()


@lru_cache(maxsize=256)  # most functions use two rotations; a suite builds each instance once per cell
def _rotation(seed: int, n: int) -> np.ndarray:
    matrix = gauss(n * n, seed).reshape(n, n).T.copy()  # column-major fill, as in the C code
    for i in range(n):
        for j in range(i):
            matrix[:, i] -= (matrix[:, i] @ matrix[:, j]) * matrix[:, j]
        matrix[:, i] /= math.sqrt(matrix[:, i] @ matrix[:, i])
    matrix.setflags(write=False)
    return matrix


def xopt(seed: int, n: int) -> np.ndarray:
    """``bbob2009_compute_xopt``: uniform on a 1e-4 grid in [-4, 4), never exactly 0."""
    x = 8.0 * np.floor(1e4 * uniform(n, seed)) / 1e4 - 4.0
    return np.where(x == 0.0, -1e-5, x)


def fopt(function: int, instance: int) -> float:
    """``bbob2009_compute_fopt``: a Cauchy-like value rounded to 0.01, clipped to [-1000, 1000]."""
    seed = {4: 3, 18: 17}.get(function, function) + 10000 * instance
    scaled = 100.0 * 100.0 * gauss(1, seed)[0] / gauss(1, seed + 1)[0]  # the C code's order of operations
    return min(1000.0, max(-1000.0, math.floor(scaled + 0.5) / 100.0))


def scaling(n: int, condition: float) -> np.ndarray:
    """sqrt(condition)^(i / (n - 1)), i = 0..n-1: the diagonal Lambda^condition of the bbob definitions."""
    return np.array([math.pow(math.sqrt(condition), i / (n - 1.0)) for i in range(n)])


def rotated_scaling(seed: int, n: int, condition: float) -> np.ndarray:
    """Q Lambda^condition R, with Q from ``seed + 1000000`` and R from ``seed`` (COCO's usual M)."""
    return rotation(seed + 1000000, n) @ (scaling(n, condition)[:, None] * rotation(seed, n))


def gallagher_peaks(seed: int, n: int, peaks: int) -> dict[str, np.ndarray]:
    """Peak centres, heights and per-coordinate conditionings of Gallagher's functions (f21, f22).

    From ``f_gallagher_bbob_problem_allocate``: 101 peaks (f21) or 21 peaks (f22); peak 0 is
    the global optimum, of height 10, the others have heights spread over [1.1, 9.1].
    """
    b, c, top_condition = (10.0, 5.0, math.sqrt(1000.0)) if peaks == 101 else (9.8, 4.9, 1000.0)
    order = np.argsort(uniform(peaks - 1, seed), kind="stable")
    conditions = np.concatenate([[top_condition], 1000.0 ** (order / (peaks - 2.0))])
    heights = np.concatenate([[10.0], np.arange(peaks - 1) / (peaks - 2.0) * (9.1 - 1.1) + 1.1])
    scales = np.empty((peaks, n))
    for i in range(peaks):
        ranks = np.argsort(uniform(n, seed + 1000 * i), kind="stable")
        scales[i] = conditions[i] ** (ranks / (n - 1.0) - 0.5)
    R = rotation(seed, n)
    draws = b * uniform(n * peaks, seed).reshape(peaks, n) - c
    centres = draws @ R.T  # row i: R (b u_i - c)
    centres[0] *= 0.8
    return {"R": R, "centres": centres, "scales": scales, "heights": heights, "xopt": 0.8 * draws[0]}
