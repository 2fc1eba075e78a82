"""Throughput measurements: derivative evaluations per second, memory bandwidth, Jacobian modes.

Timing follows the rules of docs/benchmarks.md: a warm-up call first (timed: its seconds are the
``warmup_time``, compilation included), then repeats each long enough
(``min_time``) with the minimum kept; on CUDA the device is synchronised before the clock is
read. The bandwidth probe measures the machine's copy bandwidth in the same process, so an
evaluation's achieved bandwidth is reported against the physical limit it runs into.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from .backend import Backend
from .objective import Objective, cached_constant, namespace
from .oracle import checked

EVALUATION_MEASURES = ("f", "grad", "hvp", "hessian", "derivative")
MEASURES = (*EVALUATION_MEASURES, "jacobian")


def best_time(call: Callable[[], object], sync: Callable[[], None], *, min_time: float = 0.05,
              repeats: int = 5, max_time: float = 10.0) -> tuple[float, int]:
    """Seconds per call (minimum over ``repeats``) and the number of calls per repeat."""
    call()
    sync()
    number = 1
    while True:  # calibrate: each repeat lasts at least min_time
        start = time.perf_counter()
        for _ in range(number):
            call()
        sync()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or elapsed * repeats >= max_time:
            break
        number *= max(2, min(10, int(min_time / max(elapsed, 1e-9))))
    best = elapsed
    for _ in range(repeats - 1):
        start = time.perf_counter()
        for _ in range(number):
            call()
        sync()
        best = min(best, time.perf_counter() - start)
    return best / number, number


def derivative_call(backend: Backend, objective: Objective, x) -> tuple[str, Callable[[], object]]:
    """What the objective asks to be timed as its derivative, and the call computing it.

    A workload (``optbench_plugins.objectives.workloads``) declares ``derivative``: ``grad``,
    ``hessian``, ``jacobian`` (its own :meth:`jacobian`, of its vector-valued residuals) or one
    of its ``products``, methods ``(backend, x)``; any other objective is timed on its gradient.
    The backend's lack of a method it needs raises :class:`~optbench.errors.CapabilityError`.
    """
    asked = getattr(objective, "derivative", "grad")
    if asked in ("grad", "hessian"):
        backend.check(asked)
        return asked, lambda: getattr(backend, asked)(objective, x)
    if asked == "jacobian" or asked in getattr(objective, "products", ()):
        method = getattr(objective, asked)
        return asked, lambda: method(backend, x)
    raise ValueError(f"objective {objective.name!r} asks for an unknown derivative {asked!r}")


def evaluation_rate(backend: Backend, objective: Objective, measure: str, *, dtype: str = "float64",
                    device: str | None = None, min_time: float = 0.05, repeats: int = 5,
                    max_time: float = 10.0) -> dict:
    """Evaluations per second of ``measure`` of ``objective`` at its x0: f, grad, hvp, hessian, or
    ``derivative``, what the objective asks for (see :func:`derivative_call`; ``computes`` names it)."""
    if measure not in EVALUATION_MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    if measure not in ("f", "derivative"):
        backend.check(measure, dtype=dtype, device=device)
    backend.check(dtype=dtype, device=device)
    with backend.scope(dtype, device):
        x = backend.asarray(objective.x0(0), dtype=dtype, device=device)
        v = backend.asarray(np.linspace(-1.0, 1.0, objective.n), dtype=dtype, device=device)
        computes = measure
        if measure == "derivative":
            computes, call = derivative_call(backend, objective, x)
        else:
            call = {"f": lambda: backend.value(objective, x), "grad": lambda: backend.grad(objective, x),
                    "hvp": lambda: backend.hvp(objective, x, v),
                    "hessian": lambda: backend.hessian(objective, x)}[measure]
        shape = {"grad": x.shape, "hvp": x.shape, "hessian": (*x.shape, *x.shape)}.get(computes)
        warmup_time = first_call_time(backend, computes, call, x, shape, device)
        seconds, number = best_time(call, lambda: backend.synchronize(device), min_time=min_time,
                                    repeats=repeats, max_time=max_time)
    itemsize = 4 if dtype == "float32" else 8
    # the least traffic any implementation needs: read x, write the result
    out_items = objective.n * objective.n if measure == "hessian" else objective.n
    moved = itemsize * (objective.n + (1 if measure == "f" else out_items))
    size = {} if getattr(objective, "size", None) is None else dict(zip(("size", "size_name"), objective.size))
    return {"measure": measure, "computes": computes, "seconds": seconds, "per_second": 1.0 / seconds,
            "calls": number, "repeats": repeats, "bytes": moved, "achieved_gbps": moved / seconds / 1e9,
            "warmup_time": warmup_time, **size}


def first_call_time(backend: Backend, method: str, call: Callable[[], object], x, shape: tuple | None,
                    device: str | None) -> float:
    """Seconds of the first call, the warm-up (compilation and lazy initialisation included);
    its result must have ``shape`` (when given) and ``x``'s dtype, else it is not measured."""
    start = time.perf_counter()
    result = call()
    backend.synchronize(device)
    seconds = time.perf_counter() - start
    if shape is not None:
        checked(backend, method, result, x, tuple(shape))
    return seconds


def copy_bandwidth(device: str | None = None, nbytes: int = 256 * 2**20, repeats: int = 5,
                   min_time: float = 0.05) -> float:
    """Memory copy bandwidth in GB/s (bytes read plus bytes written), on the host or a CUDA device."""
    if device is not None and str(device).startswith("cuda"):
        import torch

        src = torch.empty(nbytes // 8, dtype=torch.float64, device=device).fill_(1.0)
        dst = torch.empty_like(src)
        seconds, _ = best_time(lambda: dst.copy_(src), lambda: torch.cuda.synchronize(device),
                               min_time=min_time, repeats=repeats)
    else:
        src = np.ones(nbytes // 8)
        dst = np.empty_like(src)
        seconds, _ = best_time(lambda: np.copyto(dst, src), lambda: None, min_time=min_time, repeats=repeats)
    return 2 * nbytes / seconds / 1e9


class JacobianProbe:
    """F(x) = tanh(W x) from R^n to R^m (W seeded): the Jacobian mode crossover's test function."""

    def __init__(self, n: int, m: int, seed: int = 0):
        self.n, self.m = n, m
        self.W = np.random.default_rng(seed).standard_normal((m, n)) / np.sqrt(n)
        self._cache: dict = {}

    def __call__(self, x):
        return namespace(x).tanh(cached_constant(self._cache, "W", self.W, x) @ x)


JACOBIAN_MODES = ("forward", "reverse", "native")


def jacobian_call(backend: Backend, f: Callable, x, m: int, mode: str, *, dtype: str = "float64",
                  device: str | None = None) -> Callable[[], object]:
    """A call returning the full (m, n) Jacobian of ``f`` at ``x`` in ``mode`` (see :func:`jacobian_rate`)."""
    if mode == "native":
        return lambda: backend.jacobian(f, x)
    size, product, axis = (x.shape[0], backend.jvp, 1) if mode == "forward" else (m, backend.vjp, 0)
    basis = [backend.asarray(row, dtype=dtype, device=device) for row in np.eye(size)]

    def call():
        parts = [product(f, x, e) for e in basis]
        return namespace(parts[0]).stack(parts, axis=axis)

    return call


def jacobian_rate(backend: Backend, n: int, m: int, *, mode: str = "native", dtype: str = "float64",
                  device: str | None = None, min_time: float = 0.05, repeats: int = 5,
                  max_time: float = 10.0) -> dict:
    """Seconds per full Jacobian of :class:`JacobianProbe` (n inputs, m outputs).

    ``mode``: ``forward`` builds it from n JVPs (a column each), ``reverse`` from m VJPs (a row
    each), ``native`` calls the backend's own ``jacobian``.
    """
    if mode not in JACOBIAN_MODES:
        raise ValueError(f"unknown Jacobian mode {mode!r}; use one of {', '.join(JACOBIAN_MODES)}")
    backend.check({"forward": "jvp", "reverse": "vjp", "native": "jacobian"}[mode], dtype=dtype, device=device)
    probe = JacobianProbe(n, m)
    with backend.scope(dtype, device):
        x = backend.asarray(np.linspace(-1.0, 1.0, n), dtype=dtype, device=device)
        call = jacobian_call(backend, probe, x, m, mode, dtype=dtype, device=device)
        warmup_time = first_call_time(backend, "jacobian", call, x, (m, n), device)
        seconds, number = best_time(call, lambda: backend.synchronize(device), min_time=min_time,
                                    repeats=repeats, max_time=max_time)
    return {"measure": "jacobian", "mode": mode, "n": n, "m": m, "seconds": seconds, "per_second": 1.0 / seconds,
            "calls": number, "repeats": repeats, "warmup_time": warmup_time}
