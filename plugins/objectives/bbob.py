"""COCO's bbob suite: the 24 noiseless black-box optimisation benchmark functions.

Hansen, Finck, Ros and Auger, "Real-parameter black-box optimization benchmarking 2009:
noiseless functions definitions", INRIA RR-6829, as implemented by COCO (numbbo/coco,
``code-experiments/src/f_*.c`` and ``transform_*.c``). Each function is written once against
the Array API, composing COCO's transformations in the order COCO applies them, so values
match ``cocoex`` to rounding and every backend differentiates them. Instances come from
:mod:`.bbob_instances`.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import optbench
from optbench import Objective, Param
from optbench.ecdf import bbob_group

from . import bbob_instances as coco

# ---- COCO's transformations, on arrays of any backend ------------------------------------------
def oscillate(xp, z):
    """T_osz (``transform_vars_oscillate.c``): smooth, coordinate-wise oscillations; T_osz(0) = 0."""
    size = xp.abs(z)
    t = xp.log(xp.where(size > 0.0, size, xp.ones_like(size))) / 0.1  # log|z|; 0 where z = 0 (masked below)
    positive = xp.sin(t) + xp.sin(0.79 * t)
    negative = xp.sin(0.55 * t) + xp.sin(0.31 * t)
    return xp.sign(z) * xp.exp(0.1 * (t + 0.49 * xp.where(z > 0.0, positive, negative)))


def asymmetric(xp, z, beta: float, c):
    """T_asy^beta (``transform_vars_asymmetric.c``): z_i^(1 + beta i/(n-1) sqrt(z_i)) where z_i > 0."""
    safe = xp.where(z > 0.0, z, xp.ones_like(z))
    return xp.where(z > 0.0, safe ** (1.0 + beta * c["ramp"] * xp.sqrt(safe)), z)


def penalty(xp, x):
    """f_pen: sum of max(0, |x_i| - 5)^2, the boundary handling of several functions."""
    return xp.sum(xp.clip(xp.abs(x) - 5.0, min=0.0) ** 2)


def rastrigin(xp, z):
    """10 (n - sum cos 2 pi z_i) + ||z||^2."""
    return 10.0 * (z.shape[0] - xp.sum(xp.cos(2.0 * math.pi * z))) + xp.sum(z * z)


def rosenbrock(xp, z):
    """sum 100 (z_i^2 - z_{i+1})^2 + (z_i - 1)^2."""
    head, tail = z[:-1], z[1:]
    return 100.0 * xp.sum((head * head - tail) ** 2) + xp.sum((head - 1.0) ** 2)


def coco_round(xp, z):
    """COCO's round: floor(z + 1/2), a step function (zero derivative almost everywhere)."""
    return xp.floor(z + 0.5)


# ---- the 24 functions ---------------------------------------------------------------------------
def f1(xp, x, c):
    z = x - c["xopt"]
    return xp.sum(z * z)


def f2(xp, x, c):
    z = oscillate(xp, x - c["xopt"])
    return xp.sum(c["weights"] * z * z)


def f3(xp, x, c):
    z = c["scaling"] * asymmetric(xp, oscillate(xp, x - c["xopt"]), 0.2, c)
    return rastrigin(xp, z)


def f4(xp, x, c):
    z = oscillate(xp, x - c["xopt"])
    z = xp.where(z > 0.0, c["scaling_positive"] * z, c["scaling"] * z)
    return rastrigin(xp, z) + 100.0 * penalty(xp, x)


def f5(xp, x, c):
    best = c["minimizer"]
    z = xp.where(x * best < 25.0, x, best)  # beyond the optimum the slope is flat
    return xp.sum(5.0 * xp.abs(c["slopes"]) - c["slopes"] * z)


def f6(xp, x, c):
    z = c["M"] @ (x - c["xopt"])
    squares = z * z
    value = xp.sum(xp.where(c["xopt"] * z > 0.0, 1e4 * squares, squares))
    return oscillate(xp, value) ** 0.9


def f7(xp, x, c):
    z = c["scaling"] * (c["R"] @ (x - c["xopt"]))
    steps = xp.where(xp.abs(z) > 0.5, coco_round(xp, z), coco_round(xp, 10.0 * z) / 10.0)
    rounded = c["Q"] @ steps
    ellipsoid = xp.sum(c["weights"] * rounded * rounded)
    return 0.1 * xp.maximum(xp.abs(z[0]) * 1e-4, ellipsoid) + penalty(xp, x)


def f8(xp, x, c):
    return rosenbrock(xp, c["factor"] * (x - c["xopt"]) + 1.0)


def f9(xp, x, c):
    return rosenbrock(xp, c["M"] @ x + 0.5)


def f10(xp, x, c):
    z = oscillate(xp, c["R"] @ (x - c["xopt"]))
    return xp.sum(c["weights"] * z * z)


def f11(xp, x, c):
    z = oscillate(xp, c["R"] @ (x - c["xopt"]))
    return 1e6 * z[0] * z[0] + xp.sum(z[1:] * z[1:])


def f12(xp, x, c):
    z = c["R"] @ asymmetric(xp, c["R"] @ (x - c["xopt"]), 0.5, c)
    return z[0] * z[0] + 1e6 * xp.sum(z[1:] * z[1:])


def f13(xp, x, c):
    z = c["M"] @ (x - c["xopt"])
    return 100.0 * xp.sqrt(xp.sum(z[1:] * z[1:])) + z[0] * z[0]


def f14(xp, x, c):
    z = c["R"] @ (x - c["xopt"])
    return xp.sqrt(xp.sum(xp.abs(z) ** c["powers"]))


def f15(xp, x, c):
    z = c["M"] @ asymmetric(xp, oscillate(xp, c["Q"] @ (x - c["xopt"])), 0.2, c)
    return rastrigin(xp, z)


WEIERSTRASS_A = 0.5 ** np.arange(12)
WEIERSTRASS_B = 3.0 ** np.arange(12)
WEIERSTRASS_F0 = float(np.sum(WEIERSTRASS_A * np.cos(2 * math.pi * WEIERSTRASS_B * 0.5)))


def f16(xp, x, c):
    z = c["M"] @ oscillate(xp, c["Q"] @ (x - c["xopt"]))
    phases = xp.expand_dims(2.0 * math.pi * (z + 0.5), axis=1) * c["weierstrass_b"]
    total = xp.sum(xp.cos(phases) * c["weierstrass_a"])
    return 10.0 * (total / z.shape[0] - WEIERSTRASS_F0) ** 3 + 10.0 / z.shape[0] * penalty(xp, x)


def f17(xp, x, c):  # and f18, with a larger conditioning in M
    z = c["M"] @ asymmetric(xp, c["Q"] @ (x - c["xopt"]), 0.5, c)
    s = z[:-1] * z[:-1] + z[1:] * z[1:]
    mean = xp.sum(s**0.25 * (1.0 + xp.sin(50.0 * s**0.1) ** 2)) / (z.shape[0] - 1.0)
    return mean**2 + 10.0 * penalty(xp, x)


def f19(xp, x, c):
    z = c["M"] @ x + 0.5
    head, tail = z[:-1], z[1:]
    s = 100.0 * (head * head - tail) ** 2 + (1.0 - head) ** 2
    return 10.0 + 10.0 * xp.sum(s / 4000.0 - xp.cos(s)) / (z.shape[0] - 1.0)


def f20(xp, x, c):
    y = 2.0 * (c["signs"] * x)
    y = xp.concat([y[:1], y[1:] + 0.25 * (y[:-1] - c["twice_abs_xopt"][:-1])])
    z = 100.0 * (c["scaling"] * (y - c["twice_abs_xopt"]) + c["twice_abs_xopt"])
    bound = xp.sum(xp.clip(xp.abs(z) - 500.0, min=0.0) ** 2)
    return 0.01 * (bound + 418.9828872724339 - xp.sum(z * xp.sin(xp.sqrt(xp.abs(z)))) / z.shape[0])


def f21(xp, x, c):  # and f22, with 21 peaks instead of 101
    offsets = xp.expand_dims(c["R"] @ x, axis=0) - c["centres"]
    distances = xp.sum(c["scales"] * offsets * offsets, axis=1)
    top = xp.max(c["heights"] * xp.exp(-0.5 / x.shape[0] * distances))
    return oscillate(xp, 10.0 - top) ** 2 + penalty(xp, x)


def f23(xp, x, c):
    z = c["M"] @ (x - c["xopt"])
    scaled = xp.expand_dims(z, axis=1) * c["powers_of_two"]
    digits = xp.sum(xp.abs(scaled - coco_round(xp, scaled)) / c["powers_of_two"], axis=1)
    n = z.shape[0]
    product = xp.prod(1.0 + c["ranks"] * digits)
    return 10.0 / n / n * (-1.0 + product ** (10.0 / n**1.2)) + penalty(xp, x)


LUNACEK_MU0 = 2.5


def f24(xp, x, c):
    n = x.shape[0]
    s = 1.0 - 0.5 / (math.sqrt(n + 20.0) - 4.1)
    mu1 = -math.sqrt((LUNACEK_MU0**2 - 1.0) / s)
    x_hat = 2.0 * (c["signs"] * x)
    z = c["Q"] @ (c["scaling"] * (c["R"] @ (x_hat - LUNACEK_MU0)))
    spheres = xp.minimum(xp.sum((x_hat - LUNACEK_MU0) ** 2), n + s * xp.sum((x_hat - mu1) ** 2))
    return spheres + 10.0 * (n - xp.sum(xp.cos(2.0 * math.pi * z))) + 1e4 * penalty(xp, x)


# ---- instances: the constants each function reads -------------------------------------------
def ramp(n: int) -> np.ndarray:
    """i / (n - 1), i = 0..n-1."""
    return np.arange(n) / (n - 1.0)


def build_standard(function: int, instance: int, n: int, seed: int) -> dict:
    """x_opt, the two rotations and the scalings most functions share."""
    x_opt = coco.xopt(seed, n)
    return {"xopt": x_opt, "minimizer": x_opt, "ramp": ramp(n), "Q": coco.rotation(seed + 1000000, n),
            "R": coco.rotation(seed, n), "scaling": coco.scaling(n, 10.0), "weights": 1e6 ** ramp(n)}


def build_f4(function, instance, n, seed):
    data = build_standard(function, instance, n, seed)
    x_opt = data["xopt"].copy()
    x_opt[::2] = np.abs(x_opt[::2])  # in COCO's legacy code, not in the function's documentation
    positive = data["scaling"] * np.where(np.arange(n) % 2 == 0, 10.0, 1.0)
    return data | {"xopt": x_opt, "minimizer": x_opt, "scaling_positive": positive}


def build_f5(function, instance, n, seed):
    best = np.where(coco.xopt(seed, n) < 0.0, -5.0, 5.0)
    return {"minimizer": best, "slopes": np.where(best > 0.0, 1.0, -1.0) * coco.scaling(n, 100.0)}


def build_rotated_scaling(condition: float):
    def build(function, instance, n, seed):
        return build_standard(function, instance, n, seed) | {"M": coco.rotated_scaling(seed, n, condition)}
    return build


def build_f7(function, instance, n, seed):
    return build_standard(function, instance, n, seed) | {"weights": 100.0 ** ramp(n)}


def build_f8(function, instance, n, seed):
    x_opt = 0.75 * coco.xopt(seed, n)
    return {"xopt": x_opt, "minimizer": x_opt, "factor": max(1.0, math.sqrt(n) / 8.0)}


def build_f9(function, instance, n, seed):  # also f19: z = factor R x + 1/2
    factor = max(1.0, math.sqrt(n) / 8.0)
    R = coco.rotation(seed, n)
    return {"M": factor * R, "minimizer": R.T @ np.ones(n) / (2.0 * factor)}


def build_rotated(function, instance, n, seed):
    return build_standard(function, instance, n, seed) | {"R": coco.rotation(seed + 1000000, n)}


def build_f12(function, instance, n, seed):
    x_opt = coco.xopt(seed + 1000000, n)  # COCO draws f12's optimum from the rotation's seed
    return build_rotated(function, instance, n, seed) | {"xopt": x_opt, "minimizer": x_opt}


def build_f14(function, instance, n, seed):
    return build_rotated(function, instance, n, seed) | {"powers": 2.0 + 4.0 * ramp(n)}


def build_f16(function, instance, n, seed):
    return build_standard(function, instance, n, seed) | {
        "M": coco.rotated_scaling(seed, n, 0.01), "weierstrass_a": WEIERSTRASS_A, "weierstrass_b": WEIERSTRASS_B}


def build_schaffers(condition: float):
    def build(function, instance, n, seed):
        data = build_standard(function, instance, n, seed)
        return data | {"M": coco.scaling(n, condition)[:, None] * data["R"]}
    return build


def build_f20(function, instance, n, seed):
    signs = np.where(coco.uniform(n, seed) < 0.5, -1.0, 1.0)
    x_opt = 0.5 * 4.2096874637 * signs
    return {"signs": signs, "twice_abs_xopt": 2.0 * np.abs(x_opt), "scaling": coco.scaling(n, 10.0),
            "minimizer": 0.5 * 4.2096874633 * signs}  # COCO's best_parameter (sic: ...33, not ...37)


def build_gallagher(peaks: int):
    def build(function, instance, n, seed):
        data = coco.gallagher_peaks(seed, n, peaks)
        return data | {"minimizer": data.pop("xopt")}
    return build


def build_f23(function, instance, n, seed):
    return build_rotated_scaling(100.0)(function, instance, n, seed) | {
        "powers_of_two": 2.0 ** np.arange(1, 33), "ranks": np.arange(1.0, n + 1.0)}


def build_f24(function, instance, n, seed):
    signs = np.where(coco.gauss(n, seed) < 0.0, -1.0, 1.0)
    return build_standard(function, instance, n, seed) | {
        "signs": signs, "minimizer": 0.5 * LUNACEK_MU0 * signs, "scaling": coco.scaling(n, 100.0)}


@dataclass(frozen=True)
class BbobFunction:
    """One of the 24: its name, its builder of constants, its formula, and whether it is smooth."""

    name: str
    build: Callable[[int, int, int, int], dict]
    evaluate: Callable
    smooth: bool
    seed_function: int | None = None  # f4 and f18 reuse the seeds of f3 and f17


FUNCTIONS = {
    1: BbobFunction("sphere", build_standard, f1, True),
    2: BbobFunction("separable ellipsoid", build_standard, f2, True),
    3: BbobFunction("separable Rastrigin", build_standard, f3, True),
    4: BbobFunction("Bueche-Rastrigin", build_f4, f4, False, seed_function=3),
    5: BbobFunction("linear slope", build_f5, f5, False),
    6: BbobFunction("attractive sector", build_rotated_scaling(10.0), f6, False),
    7: BbobFunction("step ellipsoid", build_f7, f7, False),
    8: BbobFunction("Rosenbrock", build_f8, f8, True),
    9: BbobFunction("rotated Rosenbrock", build_f9, f9, True),
    10: BbobFunction("ellipsoid", build_rotated, f10, True),
    11: BbobFunction("discus", build_rotated, f11, True),
    12: BbobFunction("bent cigar", build_f12, f12, True),
    13: BbobFunction("sharp ridge", build_rotated_scaling(10.0), f13, False),
    14: BbobFunction("different powers", build_f14, f14, True),
    15: BbobFunction("Rastrigin", build_rotated_scaling(10.0), f15, True),
    16: BbobFunction("Weierstrass", build_f16, f16, False),
    17: BbobFunction("Schaffers F7", build_schaffers(10.0), f17, False),
    18: BbobFunction("Schaffers F7, moderately ill-conditioned", build_schaffers(1000.0), f17, False,
                     seed_function=17),
    19: BbobFunction("composite Griewank-Rosenbrock F8F2", build_f9, f19, True),
    20: BbobFunction("Schwefel x sin(sqrt(x))", build_f20, f20, False),
    21: BbobFunction("Gallagher's Gaussian 101-me peaks", build_gallagher(101), f21, False),
    22: BbobFunction("Gallagher's Gaussian 21-hi peaks", build_gallagher(21), f21, False),
    23: BbobFunction("Katsuura", build_f23, f23, False),
    24: BbobFunction("Lunacek bi-Rastrigin", build_f24, f24, False),
}


class Constants:
    """An instance's NumPy constants, handed to a formula in the namespace, dtype and device of ``x``."""

    def __init__(self, objective: Objective, like):
        self.objective, self.like = objective, like

    def __getitem__(self, key: str):
        return self.objective.constant(key, self.objective.data[key], self.like)


class Bbob(Objective):
    """COCO's bbob function ``function`` (1-24), instance ``instance``: f(x) + f_opt as COCO defines it.

    The minimum is COCO's f_opt, the minimiser COCO's optimal parameter; the start is uniform
    in COCO's region of interest [-5, 5]^n (COCO's own ``initial_solution`` is the origin).
    """

    name = "bbob"
    dim_range = (2, None)
    default_dim = 2
    convex = False
    params = {
        "function": Param(int, 1, "bbob function number: 1-5 separable, 6-9 moderate conditioning, 10-14 high "
                                  "conditioning, 15-19 multimodal with global structure, 20-24 weak structure",
                          ge=1, le=24),
        "instance": Param(int, 1, "COCO instance number (shifts, rotations and f_opt follow from it)", ge=1),
    }

    def setup(self):
        number, instance = self.p["function"], self.p["instance"]
        spec = FUNCTIONS[number]
        seed = (spec.seed_function or number) + 10000 * instance
        self.spec = spec
        self.smooth = spec.smooth
        self.data = spec.build(number, instance, self.n, seed)
        self.f_opt = coco.fopt(number, instance)

    def __call__(self, x):
        return self.spec.evaluate(optbench.namespace(x), x, Constants(self, x)) + self.f_opt

    def x0(self, seed=0):
        return np.random.default_rng(seed).uniform(-5.0, 5.0, self.n)

    @property
    def minimizer(self):
        return self.data["minimizer"]

    @property
    def minimum(self):
        return self.f_opt

    @property
    def group(self) -> str:
        """COCO's function group of this function."""
        return bbob_group(self.p["function"])


BBOB = (Bbob,)
