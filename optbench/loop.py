"""Run one optimizer on one objective with one backend: stopping rules and the trace.

The CLI's ``solve``, the suite runner's workers and the benchmarks all go through
:func:`solve`, so a trace means the same thing everywhere.
"""
from __future__ import annotations

import functools
import inspect
import math
import sys
from time import perf_counter, process_time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backend import Backend
from .errors import ParameterError
from .minima import known_minimum
from .norm import euclidean_norm
from .objective import Objective
from .optimizer import Converged, LibraryStop, LoopOwningOptimizer, Optimizer, Stalled
from .oracle import Oracle, warm_up

METRICS = ("f", "f_gap", "grad_norm", "dist")
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
    library: dict[str, int] = field(default_factory=dict)  # a loop-owning library's own counters
    f_star: float | None = None  # the known minimum, when a metric or tol_f asked for it
    setup_time: float = 0.0  # seconds spent finding f* or x* (not the optimizer's time)
    warmup_time: float = 0.0  # seconds of the warm-up before the clock started (compilation...)

    def frame(self):
        """The trace as a tidy pandas DataFrame, one row per recorded iteration."""
        import pandas as pd

        return pd.DataFrame(self.trace, columns=list(TRACE_COLUMNS))

    def summary(self) -> dict:
        last = self.trace[-1] if self.trace else {}
        return {"status": self.status, "reason": self.reason, "iterations": self.iterations,
                "f": self.f, "grad_norm": last.get("grad_norm"), "f_gap": last.get("f_gap"),
                "dist": last.get("dist"), "time": last.get("time"), "warmup_time": self.warmup_time,
                "x": self.x.tolist() if self.x.size <= 8 else f"<{self.x.size} values>"}


def _in_backend_scope(run: Callable) -> Callable:
    """Run ``run`` inside ``backend.scope(dtype, device)``, so engine settings (JAX's 64-bit
    floats) hold for the optimizer's own arithmetic too."""
    default_dtype = inspect.signature(run).parameters["dtype"].default

    @functools.wraps(run)
    def scoped(objective, optimizer, backend, **options):
        with backend.scope(options.get("dtype", default_dtype), options.get("device")):
            return run(objective, optimizer, backend, **options)

    return scoped


@_in_backend_scope
def solve(objective: Objective, optimizer: Optimizer, backend: Backend, *,
          x0: Any = None, seed: int = 0, dtype: str = "float64", device: str | None = None,
          stop: StopRules = StopRules(), on_row: Callable[[dict], None] | None = None,
          warmup: bool = True, metrics: Collection[str] = METRICS) -> Result:
    """Minimise ``objective`` from ``x0`` (default: its seeded start) and record the trace.

    ``on_row`` receives each trace row as it is produced (the runner streams them).
    ``warmup`` calls every oracle method the optimizer needs once before the clock starts, so
    one-off costs (compilation, lazy initialisation, CUDA context, caches) are not charged to
    the optimizer; their seconds are the result's ``warmup_time``. ``metrics`` may
    leave out ``"dist"``, the one metric that costs an extra pass over x; f* and x* are
    found (or read from the cache of known minima) only when ``metrics`` or ``tol_f`` need them,
    and |grad f| is computed only when ``metrics`` or ``tol_grad`` ask for it.
    Raises :class:`~optbench.errors.CapabilityError` when the backend lacks what the
    optimizer needs, before any work.
    """
    backend.check("value_and_grad")
    optimizer.check(backend)
    backend.check(dtype=dtype, device=device)
    start = objective.x0(seed) if x0 is None else np.array(np.broadcast_to(
        np.asarray(x0, dtype=np.float64), (objective.n,)))
    x = backend.asarray(start, dtype=dtype, device=device)
    oracle = Oracle(objective, backend)
    warmup_time = warm_up(objective, backend, x, optimizer.needs, device) if warmup else 0.0
    # f(x*) checks a cached minimum; on the run's backend (warm by now) it imports nothing more
    f_star, x_star, setup_time = reference_point(objective, metrics, stop, evaluator(objective, backend))
    x_star = None if x_star is None else backend.asarray(x_star, dtype=dtype, device=device)

    recorder = Recorder(oracle, _norm(backend, x), f_star, x_star, stop, on_row, metrics)
    library = LibraryStop(False, "")
    if recorder.record(0, x) is None:
        optimizer.start(oracle, x, seed)
        synchronize = functools.partial(backend.synchronize, device)
        if isinstance(optimizer, LoopOwningOptimizer):
            library = _drive(optimizer, oracle, x, recorder, synchronize)
        else:
            _step(optimizer, oracle, recorder, synchronize)
    status, reason = recorder.status, recorder.reason
    if status is None:  # the library ended its own loop before any stop rule fired
        status, reason = ("converged" if library.success else "stopped"), library.message
    last = recorder.trace[-1]
    return Result(status, reason, backend.to_numpy(recorder.x).astype(np.float64, copy=False), last["f"],
                  last["iter"], recorder.trace, library.counts, f_star, setup_time, warmup_time)


def reference_point(objective: Objective, metrics: Collection[str], stop: StopRules,
                    evaluate: Callable[[np.ndarray], float] | None = None):
    """``(f*, x*, seconds)``, looked up only when a metric or the stopping rules need them.

    ``f_gap`` and ``tol_f`` need f*, ``dist`` needs x*; the seconds spent finding them are
    the cell's set-up time, never the optimizer's.
    """
    if not needs_known_minimum(metrics, stop):
        return None, None, 0.0
    known = known_minimum(objective, evaluate)
    f_star = known.minimum if "f_gap" in metrics or stop.tol_f is not None else None
    return f_star, known.minimizer if "dist" in metrics else None, known.seconds


def evaluator(objective: Objective, backend: Backend) -> Callable[[np.ndarray], float] | None:
    """``f`` at a float64 NumPy point, computed on ``backend`` (so that checking or completing a
    known minimum imports no other array library); None when the backend has no float64."""
    if "float64" not in backend.capabilities.dtypes:
        return None
    return lambda a: float(objective(backend.asarray(a, dtype="float64")))


def needs_known_minimum(metrics: Collection[str], stop: StopRules) -> bool:
    """Whether a run reads f* or x*: the ``f_gap`` or ``dist`` metric, or ``tol_f``."""
    return bool({"f_gap", "dist"} & set(metrics)) or stop.tol_f is not None


def _step(optimizer: Optimizer, oracle: Oracle, recorder: Recorder, synchronize: Callable[[], None]) -> None:
    """The step-wise form: optbench owns the loop and times each ``step``.

    A step that raises :class:`Converged` or :class:`Stalled` still counts as an iteration (its
    evaluations were spent), recorded at the unchanged iterate, and ends the run. This loop and
    :meth:`Recorder.record` run beside every iteration's own work, so they keep to few
    operations: the runner benchmark measures what they cost (docs/suites.md, "Measurements").
    """
    it, record, step = 0, recorder.record, optimizer.step
    recorder.start_clock()
    while True:
        try:
            x = step(oracle)
        except (Converged, Stalled) as ended:
            synchronize()
            recorder.stop_clock()  # record leaves a paused clock paused: the run ends here
            record(it + 1, optimizer.x)
            recorder.status = "converged" if isinstance(ended, Converged) else "stopped"
            recorder.reason = str(ended)
            return
        synchronize()
        it += 1
        if record(it, x) is not None:
            return


def _drive(optimizer: LoopOwningOptimizer, oracle: Oracle, x0, recorder: Recorder,
           synchronize: Callable[[], None]) -> LibraryStop:
    """The loop-owning form: the library runs; its callback records a row with the clock paused."""
    it = 0

    def callback(x) -> bool:
        nonlocal it
        synchronize()
        it += 1
        return recorder.record(it, x) is not None

    recorder.start_clock()
    try:
        return optimizer.run(oracle, x0, callback)
    finally:
        synchronize()  # the library may have ended its loop by itself, the clock running
        recorder.stop_clock()


class Recorder:
    """The trace, the stop rules and the optimizer's clock: one row per iteration, whichever
    form the optimizer has.

    The clock holds the wall and CPU seconds charged to the optimizer. :meth:`record` pauses it
    while optbench evaluates and records, and each boundary reads the two clocks once: the
    reading that stops the optimizer's time also starts the timing of the evaluation that
    follows (a CPU-time read is a system call).
    """

    def __init__(self, oracle: Oracle, norm: Callable[[Any], float], f_star: float | None, x_star,
                 stop: StopRules, on_row: Callable[[dict], None] | None, metrics: Collection[str] = METRICS):
        self.oracle, self.norm, self.f_star, self.x_star = oracle, norm, f_star, x_star
        self.stop, self.on_row = stop, on_row
        # |grad f| costs a pass over the gradient: only when a metric or tol_grad reads it (without
        # it, a NaN gradient shows as diverged one iteration later, once it reaches f)
        self.grad_norm = "grad_norm" in metrics or stop.tol_grad is not None
        self.blowup = math.inf  # the |f| that counts as diverged, set from f(x0) by the first row
        self.tolerances = (stop.tol_grad, stop.tol_f, stop.time_budget) != (None, None, None)
        self.wall = self.cpu = 0.0  # seconds charged to the optimizer
        self._since: tuple[float, float] | None = None  # the clock's start reading; None: paused
        self.trace: list[dict] = []
        self.x = None
        self.status: str | None = None
        self.reason = ""

    def start_clock(self) -> None:
        self._since = perf_counter(), process_time()

    def stop_clock(self) -> tuple[float, float]:
        """Charge the optimizer the seconds since :meth:`start_clock` (none if paused); the reading now."""
        now, since = (perf_counter(), process_time()), self._since
        if since is not None:
            self.wall += now[0] - since[0]
            self.cpu += now[1] - since[1]
            self._since = None
        return now

    def record(self, it: int, x) -> str | None:
        """Append the row of iterate ``x`` after ``it`` iterations; the status once a rule fires.

        The optimizer's clock, if running, is paused meanwhile, and runs on unless a rule fired.
        """
        running, oracle, f_star = self._since is not None, self.oracle, self.f_star
        now = self.stop_clock()
        self.x = x  # before evaluating: the previous iterate need not stay alive meanwhile
        value, grad = oracle.peek(x, now)
        f = float(value)
        grad_norm = self.norm(grad) if self.grad_norm else None  # on the device: no copy to the host
        row = {"iter": it, "f": f, "f_gap": None if f_star is None else f - f_star, "grad_norm": grad_norm,
               "dist": None if self.x_star is None else self.norm(x - self.x_star),
               "nfev": oracle.nfev, "ngev": oracle.ngev, "nhvp": oracle.nhvp, "nhev": oracle.nhev,
               "time": self.wall + oracle.credit, "cpu_time": self.cpu + oracle.cpu_credit}
        self.trace.append(row)
        if self.on_row is not None:
            self.on_row(row)
        # the common case, no rule firing, is settled in a few comparisons (|f| <= blowup, a finite
        # bound, also fails for an infinite or NaN f)
        if not (0 < it < self.stop.max_iter and abs(f) <= self.blowup and not self.tolerances
                and (grad_norm is None or math.isfinite(grad_norm))):
            if it == 0:
                self.blowup = min(self.stop.blowup * (1 + abs(f)), sys.float_info.max)
            self.status, self.reason = self._verdict(f, grad_norm, it, row["time"])
        if running and self.status is None:
            self.start_clock()
        return self.status

    def _verdict(self, f: float, gnorm: float | None, it: int, seconds: float) -> tuple[str | None, str]:
        stop, f_star = self.stop, self.f_star
        if not (math.isfinite(f) and (gnorm is None or math.isfinite(gnorm))):
            return "diverged", f"f = {f}" + ("" if gnorm is None else f", |grad| = {gnorm}") + f" at iteration {it}"
        if abs(f) > self.blowup:
            return "diverged", f"f blew up to {f:.3g} at iteration {it}"
        if self.tolerances:
            if stop.tol_grad is not None and gnorm <= stop.tol_grad:
                return "converged", f"|grad| = {gnorm:.3g} <= {stop.tol_grad:g}"
            if stop.tol_f is not None and f_star is not None and f - f_star <= stop.tol_f:
                return "converged", f"f - f* = {f - f_star:.3g} <= {stop.tol_f:g}"
            if stop.time_budget is not None and seconds >= stop.time_budget:
                return "time_budget", f"time budget {stop.time_budget:g} s spent"
        if it >= stop.max_iter:
            return "max_iter", f"stopped after {stop.max_iter} iterations"
        return None, ""


def _norm(backend: Backend, like) -> Callable[[Any], float]:
    """Euclidean norm as a float, computed in the namespace of the backend's arrays."""
    try:
        return euclidean_norm(like)
    except (TypeError, AttributeError):  # a backend whose arrays are not Array API arrays
        host_norm = euclidean_norm(backend.to_numpy(like))
        return lambda a: host_norm(backend.to_numpy(a))


def stop_rules(**given) -> StopRules:
    """Build :class:`StopRules` from keyword arguments, ignoring ``None`` values."""
    return StopRules(**{k: v for k, v in given.items() if v is not None})


__all__ = ["METRICS", "TRACE_COLUMNS", "Result", "StopRules", "solve", "stop_rules"]
