"""Run one optimizer on one objective with one backend: stopping rules and the trace.

The CLI's ``solve``, the suite runner's workers and the benchmarks all go through
:func:`solve`, so a trace means the same thing everywhere.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backend import Backend
from .errors import ParameterError
from .objective import Objective, namespace
from .optimizer import Optimizer
from .oracle import Oracle

METRICS = ("f", "f_gap", "grad_norm", "dist")
STATUSES = ("converged", "max_iter", "time_budget", "diverged", "crashed", "timeout", "skipped")
TRACE_COLUMNS = ("iter", "f", "f_gap", "grad_norm", "dist", "nfev", "ngev", "nhvp", "nhev",
                 "time", "cpu_time")


@dataclass(frozen=True)
class StopRules:
    """When a run ends. ``tol_f`` applies to ``f - f*`` and needs a known minimum."""

    max_iter: int = 1000
    tol_grad: float | None = None
    tol_f: float | None = None
    time_budget: float | None = None
    blowup: float = 1e12  # |f| above blowup * (1 + |f(x0)|) counts as diverged

    def __post_init__(self):
        if not isinstance(self.max_iter, int) or self.max_iter < 0:
            raise ParameterError(f"max_iter must be a non-negative integer, got {self.max_iter!r}")
        for key in ("tol_grad", "tol_f", "time_budget"):
            value = getattr(self, key)
            if value is not None and not (value > 0):
                raise ParameterError(f"{key} must be > 0, got {value!r}")


@dataclass
class Result:
    """What a run produced: final status, the last iterate and the per-iteration trace."""

    status: str
    reason: str
    x: np.ndarray
    f: float
    iterations: int
    trace: list[dict] = field(default_factory=list)

    def frame(self):
        """The trace as a tidy pandas DataFrame, one row per recorded iteration."""
        import pandas as pd

        return pd.DataFrame(self.trace, columns=list(TRACE_COLUMNS))

    def summary(self) -> dict:
        last = self.trace[-1] if self.trace else {}
        return {"status": self.status, "reason": self.reason, "iterations": self.iterations,
                "f": self.f, "grad_norm": last.get("grad_norm"), "f_gap": last.get("f_gap"),
                "dist": last.get("dist"), "time": last.get("time"),
                "x": self.x.tolist() if self.x.size <= 8 else f"<{self.x.size} values>"}


def solve(objective: Objective, optimizer: Optimizer, backend: Backend, *,
          x0: Any = None, seed: int = 0, dtype: str = "float64", device: str | None = None,
          stop: StopRules = StopRules(), on_row: Callable[[dict], None] | None = None,
          warmup: bool = True, metrics: Collection[str] = METRICS) -> Result:
    """Minimise ``objective`` from ``x0`` (default: its seeded start) and record the trace.

    ``on_row`` receives each trace row as it is produced (the runner streams them).
    ``warmup`` evaluates the gradient once before the clock starts, so one-off costs (lazy
    initialisation, CUDA context, caches) are not charged to the optimizer. ``metrics`` may
    leave out ``"dist"``, the one metric that costs an extra pass over x.
    Raises :class:`~optbench.errors.CapabilityError` when the backend lacks what the
    optimizer needs, before any work.
    """
    for method in ("value_and_grad", *optimizer.needs):
        backend.check(method)
    backend.check(dtype=dtype, device=device)
    start = objective.x0(seed) if x0 is None else np.array(np.broadcast_to(
        np.asarray(x0, dtype=np.float64), (objective.n,)))
    x = backend.asarray(start, dtype=dtype, device=device)
    oracle = Oracle(objective, backend)
    f_star = objective.minimum
    x_star = objective.minimizer if "dist" in metrics else None
    x_star = None if x_star is None else backend.asarray(np.asarray(x_star, dtype=np.float64),
                                                         dtype=dtype, device=device)
    norm = _norm(backend, x)
    if warmup:
        backend.value_and_grad(objective, x)
        backend.synchronize(device)

    trace: list[dict] = []
    elapsed = cpu = 0.0
    f0 = None

    def record(it: int, x) -> tuple[str | None, str]:
        nonlocal f0
        value, grad = oracle.peek(x)
        f, gnorm = float(value), norm(grad)  # norms on the device: no copy of x or grad to the host
        row = {"iter": it, "f": f, "f_gap": None if f_star is None else f - f_star, "grad_norm": gnorm,
               "dist": None if x_star is None else norm(x - x_star),
               **oracle.counts(), "time": elapsed + oracle.credit, "cpu_time": cpu + oracle.cpu_credit}
        trace.append(row)
        if on_row is not None:
            on_row(row)
        if f0 is None:
            f0 = f
        if not (math.isfinite(f) and math.isfinite(gnorm)):
            return "diverged", f"f = {f}, |grad| = {gnorm} at iteration {it}"
        if abs(f) > stop.blowup * (1 + abs(f0)):
            return "diverged", f"f blew up to {f:.3g} at iteration {it}"
        if stop.tol_grad is not None and gnorm <= stop.tol_grad:
            return "converged", f"|grad| = {gnorm:.3g} <= {stop.tol_grad:g}"
        if stop.tol_f is not None and f_star is not None and f - f_star <= stop.tol_f:
            return "converged", f"f - f* = {f - f_star:.3g} <= {stop.tol_f:g}"
        if stop.time_budget is not None and row["time"] >= stop.time_budget:
            return "time_budget", f"time budget {stop.time_budget:g} s spent"
        return None, ""

    status, reason = record(0, x)
    it = 0
    if status is None:
        optimizer.start(oracle, x, seed)
    while status is None and it < stop.max_iter:
        wall, proc = time.perf_counter(), time.process_time()
        x = optimizer.step(oracle)
        backend.synchronize(device)
        elapsed += time.perf_counter() - wall
        cpu += time.process_time() - proc
        it += 1
        status, reason = record(it, x)
    if status is None:
        status, reason = "max_iter", f"stopped after {stop.max_iter} iterations"
    return Result(status, reason, backend.to_numpy(x).astype(np.float64, copy=False),
                  trace[-1]["f"], it, trace)


def _norm(backend: Backend, like) -> Callable[[Any], float]:
    """Euclidean norm as a float, computed in the namespace of the backend's arrays."""
    try:
        linalg = namespace(like).linalg
        return lambda a: float(linalg.vector_norm(a))
    except (TypeError, AttributeError):  # a backend whose arrays are not Array API arrays
        return lambda a: float(np.linalg.norm(backend.to_numpy(a)))


def stop_rules(**given) -> StopRules:
    """Build :class:`StopRules` from keyword arguments, ignoring ``None`` values."""
    return StopRules(**{k: v for k, v in given.items() if v is not None})


__all__ = ["METRICS", "STATUSES", "TRACE_COLUMNS", "Result", "StopRules", "solve", "stop_rules"]
