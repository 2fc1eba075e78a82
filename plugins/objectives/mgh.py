"""Moré, Garbow and Hillstrom's 35 unconstrained test problems, and the Moré-Wild benchmark set.

Each problem is a sum of squares f(x) = sum_i r_i(x)^2 of m residuals in n variables:
Moré, Garbow and Hillstrom, "Testing unconstrained optimization software", ACM TOMS 7(1),
17-41, 1981 (section 3 gives the residuals, standard starts and the minima quoted in
``f_star``). Moré and Wild, "Benchmarking derivative-free optimization algorithms", SIAM J.
Optim. 20(1), 172-191, 2009, build their 53 instances from 22 functions: 18 of these
and four more (BDQRTIC, CUBE, MANCINO, HEART8; their ``dfovec.m`` and ``dfoxs.m`` give the
formulas and starts). Residuals are written once against the Array API; data are constants.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

import optbench
from optbench import Objective, Param

# ---- data of the data-fitting problems (MGH section 3) ----------------------------------------
BARD_Y = [0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39]
GAUSSIAN_Y = [0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989, 0.3521, 0.2420, 0.1295,
              0.0540, 0.0175, 0.0044, 0.0009]
MEYER_Y = [34780, 28610, 23650, 19630, 16370, 13720, 11540, 9744, 8261, 7030, 6005, 5147, 4427, 3820,
           3307, 2872]
KOWALIK_Y = [0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235, 0.0246]
KOWALIK_U = [4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625]
OSBORNE1_Y = [0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751, 0.718, 0.685,
              0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490, 0.478, 0.467, 0.457, 0.448,
              0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406]
OSBORNE2_Y = [1.366, 1.191, 1.112, 1.013, 0.991, 0.885, 0.831, 0.847, 0.786, 0.725, 0.746, 0.679, 0.608,
              0.655, 0.616, 0.606, 0.602, 0.626, 0.651, 0.724, 0.649, 0.649, 0.694, 0.644, 0.624, 0.661,
              0.612, 0.558, 0.533, 0.495, 0.500, 0.423, 0.395, 0.375, 0.372, 0.391, 0.396, 0.405, 0.428,
              0.429, 0.523, 0.562, 0.607, 0.653, 0.672, 0.708, 0.633, 0.668, 0.645, 0.632, 0.591, 0.559,
              0.597, 0.625, 0.739, 0.710, 0.729, 0.720, 0.636, 0.581, 0.428, 0.292, 0.162, 0.098, 0.054]
PENALTY_A = 1e-5


def index(m: int) -> np.ndarray:
    """1, 2, ..., m as floats: the paper's i."""
    return np.arange(1.0, m + 1.0)


# ---- residuals: r(x) for each function, (xp, x, c, n, m) -> array of m ----------------------
def rosenbrock(xp, x, c, n, m):
    return xp.stack([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def freudenstein_roth(xp, x, c, n, m):
    return xp.stack([-13.0 + x[0] + ((5.0 - x[1]) * x[1] - 2.0) * x[1],
                     -29.0 + x[0] + ((x[1] + 1.0) * x[1] - 14.0) * x[1]])


def powell_badly_scaled(xp, x, c, n, m):
    return xp.stack([1e4 * x[0] * x[1] - 1.0, xp.exp(-x[0]) + xp.exp(-x[1]) - 1.0001])


def brown_badly_scaled(xp, x, c, n, m):
    return xp.stack([x[0] - 1e6, x[1] - 2e-6, x[0] * x[1] - 2.0])


def beale(xp, x, c, n, m):
    powers = xp.stack([x[1], x[1] ** 2, x[1] ** 3])
    return c["y"] - x[0] * (1.0 - powers)


def jennrich_sampson(xp, x, c, n, m):
    return 2.0 + 2.0 * c["i"] - (xp.exp(c["i"] * x[0]) + xp.exp(c["i"] * x[1]))


def helical_valley(xp, x, c, n, m):
    angle = xp.atan(x[1] / x[0]) / (2.0 * math.pi)
    theta = xp.where(x[0] < 0.0, angle + 0.5, angle)
    return xp.stack([10.0 * (x[2] - 10.0 * theta), 10.0 * (xp.sqrt(x[0] ** 2 + x[1] ** 2) - 1.0), x[2]])


def bard(xp, x, c, n, m):
    return c["y"] - (x[0] + c["u"] / (c["v"] * x[1] + c["w"] * x[2]))


def gaussian(xp, x, c, n, m):
    return x[0] * xp.exp(-x[1] * (c["t"] - x[2]) ** 2 / 2.0) - c["y"]


def meyer(xp, x, c, n, m):
    return x[0] * xp.exp(x[1] / (c["t"] + x[2])) - c["y"]


def gulf(xp, x, c, n, m):
    return xp.exp(-(xp.abs(c["y"] - x[1]) ** x[2]) / x[0]) - c["t"]


def box_3d(xp, x, c, n, m):
    t = c["t"]
    return xp.exp(-t * x[0]) - xp.exp(-t * x[1]) - x[2] * (xp.exp(-t) - xp.exp(-10.0 * t))


def powell_singular(xp, x, c, n, m):
    return xp.stack([x[0] + 10.0 * x[1], math.sqrt(5.0) * (x[2] - x[3]), (x[1] - 2.0 * x[2]) ** 2,
                     math.sqrt(10.0) * (x[0] - x[3]) ** 2])


def wood(xp, x, c, n, m):
    return xp.stack([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0], math.sqrt(90.0) * (x[3] - x[2] ** 2), 1.0 - x[2],
                     math.sqrt(10.0) * (x[1] + x[3] - 2.0), (x[1] - x[3]) / math.sqrt(10.0)])


def kowalik_osborne(xp, x, c, n, m):
    u = c["u"]
    return c["y"] - x[0] * (u * u + u * x[1]) / (u * u + u * x[2] + x[3])


def brown_dennis(xp, x, c, n, m):
    t = c["t"]
    return (x[0] + t * x[1] - xp.exp(t)) ** 2 + (x[2] + x[3] * xp.sin(t) - xp.cos(t)) ** 2


def osborne1(xp, x, c, n, m):
    t = c["t"]
    return c["y"] - (x[0] + x[1] * xp.exp(-t * x[3]) + x[2] * xp.exp(-t * x[4]))


def biggs_exp6(xp, x, c, n, m):
    t = c["t"]
    return x[2] * xp.exp(-t * x[0]) - x[3] * xp.exp(-t * x[1]) + x[5] * xp.exp(-t * x[4]) - c["y"]


def osborne2(xp, x, c, n, m):
    t = c["t"]
    return c["y"] - (x[0] * xp.exp(-t * x[4]) + x[1] * xp.exp(-((t - x[8]) ** 2) * x[5])
                     + x[2] * xp.exp(-((t - x[9]) ** 2) * x[6]) + x[3] * xp.exp(-((t - x[10]) ** 2) * x[7]))


def watson(xp, x, c, n, m):
    fits = c["derivative"] @ x - (c["powers"] @ x) ** 2 - 1.0
    return xp.concat([fits, xp.stack([x[0], x[1] - x[0] ** 2 - 1.0])])


def extended_rosenbrock(xp, x, c, n, m):
    odd, even = x[0::2], x[1::2]
    return xp.concat([10.0 * (even - odd**2), 1.0 - odd])


def extended_powell_singular(xp, x, c, n, m):
    a, b, d, e = x[0::4], x[1::4], x[2::4], x[3::4]
    return xp.concat([a + 10.0 * b, math.sqrt(5.0) * (d - e), (b - 2.0 * d) ** 2, math.sqrt(10.0) * (a - e) ** 2])


def penalty1(xp, x, c, n, m):
    return xp.concat([math.sqrt(PENALTY_A) * (x - 1.0), xp.stack([xp.sum(x * x) - 0.25])])


def penalty2(xp, x, c, n, m):
    e = xp.exp(x / 10.0)
    root = math.sqrt(PENALTY_A)
    return xp.concat([xp.stack([x[0] - 0.2]), root * (e[1:] + e[:-1] - c["y"]), root * (e[1:] - math.exp(-0.1)),
                      xp.stack([xp.sum(c["weights"] * x * x) - 1.0])])


def variably_dimensioned(xp, x, c, n, m):
    s = xp.sum(c["j"] * (x - 1.0))
    return xp.concat([x - 1.0, xp.stack([s, s * s])])


def trigonometric(xp, x, c, n, m):
    return n - xp.sum(xp.cos(x)) + c["i"] * (1.0 - xp.cos(x)) - xp.sin(x)


def brown_almost_linear(xp, x, c, n, m):
    return xp.concat([x[:-1] + xp.sum(x) - (n + 1.0), xp.stack([xp.prod(x) - 1.0])])


def discrete_boundary_value(xp, x, c, n, m):
    return c["second_difference"] @ x + c["h"] ** 2 * (x + c["t"] + 1.0) ** 3 / 2.0


def discrete_integral_equation(xp, x, c, n, m):
    return x + c["kernel"] @ ((x + c["t"] + 1.0) ** 3)


def broyden_tridiagonal(xp, x, c, n, m):
    return (3.0 - 2.0 * x) * x - c["neighbours"] @ x + 1.0


def broyden_banded(xp, x, c, n, m):
    return x * (2.0 + 5.0 * x * x) + 1.0 - c["band"] @ (x * (1.0 + x))


def linear_full_rank(xp, x, c, n, m):
    return c["identity"] @ x - 2.0 / m * xp.sum(x) - 1.0


def linear_rank1(xp, x, c, n, m):
    return c["rows"] * (c["columns"] @ x) - 1.0


def chebyquad(xp, x, c, n, m):
    y = 2.0 * x - 1.0
    previous, current, rows = xp.ones_like(y), y, []
    for _ in range(m):  # T_1 .. T_m of the shifted Chebyshev polynomials, by their recurrence
        rows.append(xp.mean(current))
        previous, current = current, 2.0 * y * current - previous
    return xp.stack(rows) - c["integrals"]


# Moré and Wild's four additions (dfovec.m problems 19-22)
def bdqrtic(xp, x, c, n, m):
    quartic = x[:-4] ** 2 + 2.0 * x[1:-3] ** 2 + 3.0 * x[2:-2] ** 2 + 4.0 * x[3:-1] ** 2 + 5.0 * x[-1] ** 2
    return xp.concat([-4.0 * x[:-4] + 3.0, quartic])


def cube(xp, x, c, n, m):
    return xp.concat([xp.stack([x[0] - 1.0]), 10.0 * (x[1:] - x[:-1] ** 3)])


def mancino(xp, x, c, n, m):
    v = xp.sqrt(xp.expand_dims(x * x, axis=1) + c["ratios"])
    log_v = xp.log(v)
    return 1400.0 * x + c["cubes"] + xp.sum(v * (xp.sin(log_v) ** 5 + xp.cos(log_v) ** 5), axis=1)


def heart8(xp, x, c, n, m):
    a, b, cc, d, t, u, v, w = (x[k] for k in range(8))
    return xp.stack([
        a + b + 0.69, cc + d + 0.044, t * a + u * b - v * cc - w * d + 1.57, v * a + w * b + t * cc + u * d + 1.31,
        a * (t**2 - v**2) - 2.0 * cc * t * v + b * (u**2 - w**2) - 2.0 * d * u * w + 2.65,
        cc * (t**2 - v**2) + 2.0 * a * t * v + d * (u**2 - w**2) + 2.0 * b * u * w - 2.0,
        a * t * (t**2 - 3.0 * v**2) + cc * v * (v**2 - 3.0 * t**2) + b * u * (u**2 - 3.0 * w**2)
        + d * w * (w**2 - 3.0 * u**2) + 12.6,
        cc * t * (t**2 - 3.0 * v**2) - a * v * (v**2 - 3.0 * t**2) + d * u * (u**2 - 3.0 * w**2)
        - b * w * (w**2 - 3.0 * v**2) - 9.48])


# ---- constants each function reads, from (n, m) --------------------------------------------
def no_data(n, m):
    return {}


def data_i(n, m):
    return {"i": index(m)}


def data_bard(n, m):
    u = index(15)
    return {"y": np.array(BARD_Y), "u": u, "v": 16.0 - u, "w": np.minimum(u, 16.0 - u)}


def data_watson(n, m):
    t = index(29) / 29.0
    j = np.arange(n)
    powers = t[:, None] ** j
    derivative = np.zeros((29, n))
    derivative[:, 1:] = j[1:] * t[:, None] ** (j[1:] - 1)
    return {"powers": powers, "derivative": derivative}


def data_penalty2(n, m):
    i = index(n)
    return {"y": (np.exp(i / 10.0) + np.exp((i - 1.0) / 10.0))[1:], "weights": n - i + 1.0}


def data_grid(n, m):
    h = 1.0 / (n + 1.0)
    return {"h": np.array(h), "t": h * index(n)}


def data_boundary(n, m):
    return data_grid(n, m) | {"second_difference": 2.0 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1)}


def data_integral(n, m):
    grid = data_grid(n, m)
    t = grid["t"]
    lower = np.tril(np.ones((n, n)))
    kernel = np.where(lower == 1.0, np.outer(1.0 - t, t), np.outer(t, 1.0 - t))
    return grid | {"kernel": grid["h"] / 2.0 * kernel}


def data_banded(n, m):
    i, j = np.indices((n, n))
    return {"band": ((j != i) & (j >= i - 5) & (j <= i + 1)).astype(float)}


def data_rank1(n, m):
    return {"rows": index(m), "columns": index(n)}


def data_rank1_zero(n, m):
    rows = index(m) - 1.0
    rows[-1] = 0.0
    columns = index(n)
    columns[[0, -1]] = 0.0
    return {"rows": rows, "columns": columns}


def data_chebyquad(n, m):
    k = index(m)
    return {"integrals": np.where(k % 2 == 0, -1.0 / np.maximum(k * k - 1.0, 1.0), 0.0)}


def data_mancino(n, m):
    i, j = np.indices((n, n)) + 1.0
    return {"ratios": i / j, "cubes": (index(n) - 50.0) ** 3}


DATA = {
    beale: lambda n, m: {"y": np.array([1.5, 2.25, 2.625])},
    jennrich_sampson: data_i, trigonometric: data_i,
    bard: data_bard,
    gaussian: lambda n, m: {"t": (8.0 - index(15)) / 2.0, "y": np.array(GAUSSIAN_Y)},
    meyer: lambda n, m: {"t": 45.0 + 5.0 * index(16), "y": np.array(MEYER_Y, dtype=float)},
    gulf: lambda n, m: {"t": index(m) / 100.0, "y": 25.0 + (-50.0 * np.log(index(m) / 100.0)) ** (2.0 / 3.0)},
    box_3d: lambda n, m: {"t": 0.1 * index(m)},
    kowalik_osborne: lambda n, m: {"y": np.array(KOWALIK_Y), "u": np.array(KOWALIK_U)},
    brown_dennis: lambda n, m: {"t": index(m) / 5.0},
    osborne1: lambda n, m: {"t": 10.0 * (index(33) - 1.0), "y": np.array(OSBORNE1_Y)},
    biggs_exp6: lambda n, m: {"t": 0.1 * index(m), "y": np.exp(-0.1 * index(m)) - 5.0 * np.exp(-index(m))
                              + 3.0 * np.exp(-0.4 * index(m))},
    osborne2: lambda n, m: {"t": (index(65) - 1.0) / 10.0, "y": np.array(OSBORNE2_Y)},
    watson: data_watson,
    penalty2: data_penalty2,
    variably_dimensioned: lambda n, m: {"j": index(n)},
    discrete_boundary_value: data_boundary,
    discrete_integral_equation: data_integral,
    broyden_tridiagonal: lambda n, m: {"neighbours": np.eye(n, k=-1) + 2.0 * np.eye(n, k=1)},
    broyden_banded: data_banded,
    linear_full_rank: lambda n, m: {"identity": np.eye(m, n)},
    linear_rank1: data_rank1,
    chebyquad: data_chebyquad,
    mancino: data_mancino,
}


# ---- the problems: dimensions, standard starts, minima ------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One test function: residuals, admissible (n, m), standard start and what is known of its minimum.

    ``f_star`` is the minimum as the paper prints it (6 significant digits, or exact where
    ``exact``); ``minimizer`` a known global minimiser.
    """

    name: str
    residuals: Callable
    n: int
    m: Callable[[int], int]  # the standard m for a given n
    start: Callable[[int], np.ndarray]
    n_rule: tuple[Callable[[int], bool], str] = (lambda n: True, "")
    m_rule: tuple[Callable[[int, int], bool], str] = (lambda n, m: True, "")
    f_star: Callable[[int, int], float | None] = lambda n, m: None
    exact: Callable[[int, int], bool] = lambda n, m: True  # False: f_star is the paper's 6-digit rounding
    minimizer: Callable[[int, int], np.ndarray | None] = lambda n, m: None
    smooth: bool = True
    data: Callable[[int, int], dict] = field(default=no_data)

    def constants(self, n: int, m: int) -> dict:
        build = self.data if self.data is not no_data else DATA.get(self.residuals, no_data)
        return build(n, m)


def fixed(n: int):
    return (lambda k: k == n, f"n = {n}")


def fixed_m(m: int) -> tuple:
    return (lambda n, k: k == m, f"m = {m}")


def at_least_n() -> tuple:
    return (lambda n, m: m >= n, "m >= n")


def const(value):
    return lambda *_: value


def point(*values):
    return lambda *_: np.array(values, dtype=float)


def table(values: dict):
    """f* known for some (n, m) only: ``values`` maps (n, m) to it."""
    return lambda n, m: values.get((n, m))


ZERO = const(0.0)
ROUNDED = const(False)

MGH = {
    1: Problem("Rosenbrock", rosenbrock, 2, const(2), point(-1.2, 1.0), fixed(2), fixed_m(2), ZERO,
               minimizer=point(1.0, 1.0)),
    2: Problem("Freudenstein and Roth", freudenstein_roth, 2, const(2), point(0.5, -2.0), fixed(2), fixed_m(2), ZERO,
               minimizer=point(5.0, 4.0)),
    3: Problem("Powell badly scaled", powell_badly_scaled, 2, const(2), point(0.0, 1.0), fixed(2), fixed_m(2), ZERO),
    4: Problem("Brown badly scaled", brown_badly_scaled, 2, const(3), point(1.0, 1.0), fixed(2), fixed_m(3), ZERO,
               minimizer=point(1e6, 2e-6)),
    5: Problem("Beale", beale, 2, const(3), point(1.0, 1.0), fixed(2), fixed_m(3), ZERO, minimizer=point(3.0, 0.5)),
    6: Problem("Jennrich and Sampson", jennrich_sampson, 2, const(10), point(0.3, 0.4), fixed(2), at_least_n(),
               table({(2, 10): 124.362}), exact=ROUNDED),
    7: Problem("Helical valley", helical_valley, 3, const(3), point(-1.0, 0.0, 0.0), fixed(3), fixed_m(3), ZERO,
               minimizer=point(1.0, 0.0, 0.0)),
    8: Problem("Bard", bard, 3, const(15), point(1.0, 1.0, 1.0), fixed(3), fixed_m(15), const(8.21487e-3),
               exact=ROUNDED),
    9: Problem("Gaussian", gaussian, 3, const(15), point(0.4, 1.0, 0.0), fixed(3), fixed_m(15), const(1.12793e-8),
               exact=ROUNDED),
    10: Problem("Meyer", meyer, 3, const(16), point(0.02, 4000.0, 250.0), fixed(3), fixed_m(16), const(87.9458),
                exact=ROUNDED),
    11: Problem("Gulf research and development", gulf, 3, const(10), point(5.0, 2.5, 0.15), fixed(3),
                (lambda n, m: n <= m <= 100, "n <= m <= 100"), ZERO, minimizer=point(50.0, 25.0, 1.5)),
    12: Problem("Box three-dimensional", box_3d, 3, const(10), point(0.0, 10.0, 20.0), fixed(3), at_least_n(), ZERO,
                minimizer=point(1.0, 10.0, 1.0)),
    13: Problem("Powell singular", powell_singular, 4, const(4), point(3.0, -1.0, 0.0, 1.0), fixed(4), fixed_m(4),
                ZERO, minimizer=lambda n, m: np.zeros(4)),
    14: Problem("Wood", wood, 4, const(6), point(-3.0, -1.0, -3.0, -1.0), fixed(4), fixed_m(6), ZERO,
                minimizer=lambda n, m: np.ones(4)),
    15: Problem("Kowalik and Osborne", kowalik_osborne, 4, const(11), point(0.25, 0.39, 0.415, 0.39), fixed(4),
                fixed_m(11), const(3.07505e-4), exact=ROUNDED),
    16: Problem("Brown and Dennis", brown_dennis, 4, const(20), point(25.0, 5.0, -5.0, -1.0), fixed(4), at_least_n(),
                table({(4, 20): 85822.2}), exact=ROUNDED),
    17: Problem("Osborne 1", osborne1, 5, const(33), point(0.5, 1.5, -1.0, 0.01, 0.02), fixed(5), fixed_m(33),
                const(5.46489e-5), exact=ROUNDED),
    # the paper's 5.65565e-3 (m = 13) is a local minimum; the data fit exactly at (1, 10, 1, 5, 4, 3)
    18: Problem("Biggs EXP6", biggs_exp6, 6, const(13), point(1.0, 2.0, 1.0, 1.0, 1.0, 1.0), fixed(6), at_least_n(),
                ZERO, minimizer=point(1.0, 10.0, 1.0, 5.0, 4.0, 3.0)),
    19: Problem("Osborne 2", osborne2, 11, const(65), point(1.3, 0.65, 0.65, 0.7, 0.6, 3.0, 5.0, 7.0, 2.0, 4.5, 5.5),
                fixed(11), fixed_m(65), const(4.01377e-2), exact=ROUNDED),
    20: Problem("Watson", watson, 6, const(31), lambda n: np.zeros(n), (lambda n: 2 <= n <= 31, "2 <= n <= 31"),
                fixed_m(31), table({(6, 31): 2.28767e-3, (9, 31): 1.39976e-6, (12, 31): 4.72238e-10}), exact=ROUNDED),
    21: Problem("Extended Rosenbrock", extended_rosenbrock, 10, lambda n: n,
                lambda n: np.where(np.arange(n) % 2 == 0, -1.2, 1.0), (lambda n: n % 2 == 0, "n even"),
                (lambda n, m: m == n, "m = n"), ZERO, minimizer=lambda n, m: np.ones(n)),
    22: Problem("Extended Powell singular", extended_powell_singular, 12, lambda n: n,
                lambda n: np.tile([3.0, -1.0, 0.0, 1.0], n // 4), (lambda n: n % 4 == 0, "n a multiple of 4"),
                (lambda n, m: m == n, "m = n"), ZERO, minimizer=lambda n, m: np.zeros(n)),
    23: Problem("Penalty I", penalty1, 10, lambda n: n + 1, lambda n: index(n), m_rule=(lambda n, m: m == n + 1,
                "m = n + 1"), f_star=table({(4, 5): 2.24997e-5, (10, 11): 7.08765e-5}), exact=ROUNDED),
    24: Problem("Penalty II", penalty2, 10, lambda n: 2 * n, lambda n: np.full(n, 0.5),
                m_rule=(lambda n, m: m == 2 * n, "m = 2 n"),
                f_star=table({(4, 8): 9.37629e-6, (10, 20): 2.93660e-4}), exact=ROUNDED),
    25: Problem("Variably dimensioned", variably_dimensioned, 10, lambda n: n + 2, lambda n: 1.0 - index(n) / n,
                m_rule=(lambda n, m: m == n + 2, "m = n + 2"), f_star=ZERO, minimizer=lambda n, m: np.ones(n)),
    26: Problem("Trigonometric", trigonometric, 10, lambda n: n, lambda n: np.full(n, 1.0 / n),
                m_rule=(lambda n, m: m == n, "m = n"), f_star=ZERO),
    27: Problem("Brown almost-linear", brown_almost_linear, 10, lambda n: n, lambda n: np.full(n, 0.5),
                m_rule=(lambda n, m: m == n, "m = n"), f_star=ZERO, minimizer=lambda n, m: np.ones(n)),
    28: Problem("Discrete boundary value", discrete_boundary_value, 10, lambda n: n,
                lambda n: index(n) / (n + 1.0) * (index(n) / (n + 1.0) - 1.0), m_rule=(lambda n, m: m == n, "m = n"),
                f_star=ZERO),
    29: Problem("Discrete integral equation", discrete_integral_equation, 10, lambda n: n,
                lambda n: index(n) / (n + 1.0) * (index(n) / (n + 1.0) - 1.0), m_rule=(lambda n, m: m == n, "m = n"),
                f_star=ZERO),
    30: Problem("Broyden tridiagonal", broyden_tridiagonal, 10, lambda n: n, lambda n: np.full(n, -1.0),
                m_rule=(lambda n, m: m == n, "m = n"), f_star=ZERO),
    31: Problem("Broyden banded", broyden_banded, 10, lambda n: n, lambda n: np.full(n, -1.0),
                m_rule=(lambda n, m: m == n, "m = n"), f_star=ZERO),
    32: Problem("Linear function - full rank", linear_full_rank, 10, lambda n: 2 * n, lambda n: np.ones(n),
                m_rule=at_least_n(), f_star=lambda n, m: float(m - n), minimizer=lambda n, m: -np.ones(n)),
    33: Problem("Linear function - rank 1", linear_rank1, 10, lambda n: 2 * n, lambda n: np.ones(n),
                m_rule=at_least_n(), f_star=lambda n, m: m * (m - 1.0) / (2.0 * (2.0 * m + 1.0))),
    34: Problem("Linear function - rank 1 with zero columns and rows", linear_rank1, 10, lambda n: 2 * n,
                lambda n: np.ones(n), (lambda n: n >= 3, "n >= 3"), at_least_n(),
                f_star=lambda n, m: (m * m + 3.0 * m - 6.0) / (2.0 * (2.0 * m - 3.0)), data=data_rank1_zero),
    35: Problem("Chebyquad", chebyquad, 8, lambda n: n, lambda n: index(n) / (n + 1.0), m_rule=at_least_n(),
                f_star=lambda n, m: 0.0 if m == n and n in (1, 2, 3, 4, 5, 6, 7, 9) else
                {(8, 8): 3.51687e-3, (10, 10): 6.50395e-3}.get((n, m)), exact=lambda n, m: m == n and n != 8 and n < 10),
}


def mancino_start(n: int) -> np.ndarray:
    """dfoxs.m: x_i = -8.710996e-4 ((i - 50)^3 + sum_j sqrt(i/j) (sin^5 + cos^5)(log sqrt(i/j)))."""
    ratios = np.sqrt(data_mancino(n, n)["ratios"])
    waves = np.sin(np.log(ratios)) ** 5 + np.cos(np.log(ratios)) ** 5
    return -8.710996e-4 * ((index(n) - 50.0) ** 3 + np.sum(ratios * waves, axis=1))


def same(number: int, **changes) -> Problem:
    """MGH problem ``number``, as Moré and Wild use it (a different start, any n)."""
    return replace(MGH[number], **changes)


# Moré and Wild's numbering (dfovec.m); their starts where they differ from MGH's (Watson: 1/2, not 0)
MORE_WILD = {
    1: same(32), 2: same(33), 3: same(34), 4: same(1), 5: same(7), 6: same(13), 7: same(2), 8: same(8),
    9: same(15), 10: same(10), 11: same(20, start=lambda n: np.full(n, 0.5)), 12: same(12), 13: same(6),
    14: same(16), 15: same(35), 16: same(27), 17: same(17), 18: same(19),
    19: Problem("BDQRTIC", bdqrtic, 8, lambda n: 2 * (n - 4), lambda n: np.ones(n), (lambda n: n >= 5, "n >= 5"),
                (lambda n, m: m == 2 * (n - 4), "m = 2 (n - 4)")),
    20: Problem("CUBE", cube, 5, lambda n: n, lambda n: np.full(n, 0.5), (lambda n: n >= 2, "n >= 2"),
                (lambda n, m: m == n, "m = n"), ZERO, minimizer=lambda n, m: np.ones(n)),
    21: Problem("MANCINO", mancino, 5, lambda n: n, mancino_start, (lambda n: n >= 2, "n >= 2"),
                (lambda n, m: m == n, "m = n")),
    22: Problem("HEART8", heart8, 8, const(8), point(-0.3, -0.39, 0.3, -0.344, -1.2, 2.69, 1.59, -1.5), fixed(8),
                fixed_m(8), ZERO),
}


class SumOfSquares(Objective):
    """f(x) = sum_i r_i(x)^2 for one problem of a numbered collection (``problems``)."""

    problems: dict[int, Problem] = {}
    default_dim = 2
    convex = False

    @classmethod
    def default_n(cls, params):
        """The problem's standard dimension."""
        return cls.problems[params["problem"]].n

    def setup(self):
        owner = f"objective {self.name!r} problem {self.p['problem']}"
        self.problem = self.problems[self.p["problem"]]
        n_ok, n_text = self.problem.n_rule
        if not n_ok(self.n):
            raise optbench.ParameterError(f"{owner} ({self.problem.name}): n must be {n_text}, got {self.n}")
        self.m = self.problem.m(self.n) if self.p["m"] is None else self.p["m"]
        m_ok, m_text = self.problem.m_rule
        if not m_ok(self.n, self.m):
            raise optbench.ParameterError(f"{owner} ({self.problem.name}): m must be {m_text}, got {self.m}")
        self.smooth = self.problem.smooth
        self.data = self.problem.constants(self.n, self.m)

    def residuals(self, x):
        """The m residuals r_i(x)."""
        constants = {key: self.constant(key, value, x) for key, value in self.data.items()}
        return self.problem.residuals(optbench.namespace(x), x, constants, self.n, self.m)

    def __call__(self, x):
        r = self.residuals(x)
        return optbench.namespace(x).sum(r * r)

    def standard_start(self) -> np.ndarray:
        """The problem's standard starting point x_s."""
        return np.asarray(self.problem.start(self.n), dtype=np.float64)

    def x0(self, seed=0):
        """x0_scale times the standard start (seed 0); other seeds perturb it by 10% of its scale."""
        start = self.scaled_start()
        if seed == 0:
            return start
        scale = max(np.abs(start).max(), 1.0)
        return start + 0.1 * scale * np.random.default_rng(seed).standard_normal(self.n)

    def scaled_start(self) -> np.ndarray:
        return self.p["x0_scale"] * self.standard_start()

    @property
    def f_star(self) -> float | None:
        """The minimum as published (rounded to 6 digits where not exact), or ``None``."""
        return self.problem.f_star(self.n, self.m)

    @property
    def minimum(self):
        return self.f_star if self.problem.exact(self.n, self.m) else None

    @property
    def minimizer(self):
        return self.problem.minimizer(self.n, self.m)


PROBLEM_PARAMS = {
    "m": Param(int, None, "number m of residuals (default: the problem's standard m)", ge=1, optional=True),
    "x0_scale": Param(float, 1.0, "the start is x0_scale times the standard start (Moré-Wild use 1 and 10)"),
}


class Mgh(SumOfSquares):
    """Moré-Garbow-Hillstrom problem ``problem`` (1-35, the paper's numbering): a sum of m squares."""

    name = "mgh"
    problems = MGH
    params = {"problem": Param(int, 1, "problem number in Moré, Garbow and Hillstrom (1981): 1 Rosenbrock, "
                                       "2 Freudenstein and Roth, ..., 35 Chebyquad", ge=1, le=35), **PROBLEM_PARAMS}

    def scaled_start(self):
        """MINPACK's rule: a zero standard start (Watson) scales to x0_scale (1, ..., 1)."""
        start = self.standard_start()
        if self.p["x0_scale"] != 1.0 and not start.any():
            return np.full(self.n, self.p["x0_scale"])
        return self.p["x0_scale"] * start


class MoreWild(SumOfSquares):
    """Function ``problem`` (1-22) of Moré and Wild's benchmark (dfovec.m numbering), smooth variant."""

    name = "more_wild"
    problems = MORE_WILD
    params = {"problem": Param(int, 1, "function number in Moré and Wild (2009), dfovec.m: 1-3 linear, "
                                       "4 Rosenbrock, ..., 22 HEART8", ge=1, le=22), **PROBLEM_PARAMS}


SUMS_OF_SQUARES = (Mgh, MoreWild)
