"""The oracle: how an optimizer queries its objective through a backend, counted.

The counts are the budget axes of every trace (function, gradient, HVP and Hessian
evaluations). The caller, which records the trace, evaluates ``f`` and ``∇f`` at each new
iterate with :meth:`Oracle.peek`; that result is cached so the optimizer's own request at the
same iterate costs nothing twice, while still being counted and timed as the optimizer's.

Every derivative is checked against the shape and dtype it must have before anyone uses it:
a wrong one raises :class:`~optbench.errors.BackendResultError` instead of being broadcast.
"""
from __future__ import annotations

from time import perf_counter, process_time
from collections.abc import Callable
from typing import Any

from .backend import Backend
from .errors import BackendResultError
from .objective import namespace


class Oracle:
    """Counted access to ``objective`` through ``backend`` (one instance per run)."""

    def __init__(self, objective: Callable, backend: Backend):
        self.objective, self.backend = objective, backend
        self.nfev = self.ngev = self.nhvp = self.nhev = 0
        self.credit = self.cpu_credit = 0.0  # wall and CPU seconds of cached evaluations used
        self._cached_x = None
        self._cached: tuple[Any, Any] | None = None
        self._cached_cost = self._cached_cpu = 0.0
        self._evaluated_x = self._evaluated = None  # the optimizer's latest value_and_grad

    # ---- what optimizers call ------------------------------------------------------------
    def value(self, x):
        """``f(x)`` as a 0-d array."""
        self.nfev += 1
        if x is self._cached_x:
            self._charge()
            return self._cached[0]
        return self.backend.value(self.objective, x)

    def grad(self, x):
        """``∇f(x)``."""
        return self.value_and_grad(x, count_value=False)[1]

    def value_and_grad(self, x, count_value: bool = True):
        """``(f(x), ∇f(x))``; counts one function and one gradient evaluation."""
        self.nfev += count_value
        self.ngev += 1
        if x is self._cached_x:
            self._charge()
            return self._cached
        self._evaluated = self._value_and_grad(x)
        self._evaluated_x = x
        return self._evaluated

    def _value_and_grad(self, x):
        value, grad = self.backend.value_and_grad(self.objective, x)
        return value, checked(self.backend, "grad", grad, x, tuple(x.shape))

    def _charge(self) -> None:
        """The optimizer used the cached evaluation: its cost counts as the optimizer's."""
        self.credit += self._cached_cost
        self.cpu_credit += self._cached_cpu

    def hvp(self, x, v):
        """``∇²f(x) v``."""
        self.nhvp += 1
        return checked(self.backend, "hvp", self.backend.hvp(self.objective, x, v), x, tuple(x.shape))

    def hessian(self, x):
        """``∇²f(x)``."""
        self.nhev += 1
        shape = tuple(x.shape)
        return checked(self.backend, "hessian", self.backend.hessian(self.objective, x), x, shape + shape)

    # ---- what the recording loop calls -----------------------------------------------------
    def peek(self, x, since: tuple[float, float] | None = None) -> tuple[Any, Any]:
        """Uncounted ``(f(x), ∇f(x))`` for the trace; cached for the optimizer's next request.

        When the optimizer has just evaluated ``x`` itself (a line search's accepted trial),
        that evaluation is reused: already paid for, it costs the trace nothing. Otherwise the
        evaluation is timed from ``since`` (a ``(perf_counter, process_time)`` reading just
        taken; default: now), so that the optimizer is charged for it if it uses it.
        """
        if x is self._evaluated_x:
            self._cached_x, self._cached = x, self._evaluated
            self._cached_cost = self._cached_cpu = 0.0
            return self._evaluated
        # a new iterate: the evaluations kept for the last one can never be used again, and
        # freeing them before this one is allocated keeps the working set (and the cache) small
        self._cached_x = self._cached = self._evaluated_x = self._evaluated = None
        wall, cpu = since or (perf_counter(), process_time())
        self._cached = self._value_and_grad(x)
        self.backend.synchronize()
        self._cached_cost, self._cached_cpu = perf_counter() - wall, process_time() - cpu
        self._cached_x = x
        return self._cached


def checked(backend: Backend, method: str, result, like, shape: tuple) -> Any:
    """``result`` when it has ``shape`` and ``like``'s dtype; else a :class:`BackendResultError`."""
    actual = tuple(getattr(result, "shape", ()))
    dtype = getattr(result, "dtype", None)
    if actual != shape or dtype != like.dtype:
        raise BackendResultError(
            f"backend {backend.name!r} returned {method} of shape {actual} and dtype {dtype}, "
            f"expected shape {shape} and dtype {like.dtype}")
    return result


def warm_up(objective: Callable, backend: Backend, x, needs: tuple[str, ...], device: str | None = None) -> float:
    """Call ``value``, ``value_and_grad`` and every oracle method in ``needs`` once at ``x``.

    One-off costs (compilation, lazy initialisation, caches, a CUDA context) are paid here,
    before the clock starts, instead of being charged to iteration 1; the seconds this took
    are returned so they stay visible (``warmup_time``). Results are shape-checked too, so a
    wrong backend fails before the run.
    """
    oracle = Oracle(objective, backend)
    v = namespace(x).ones_like(x)  # not x itself: a capturing engine must not see v alias x
    calls = {"hvp": lambda: oracle.hvp(x, v), "hessian": lambda: oracle.hessian(x),
             "jvp": lambda: backend.jvp(objective, x, v), "jacobian": lambda: backend.jacobian(objective, x),
             "vjp": lambda: backend.vjp(objective, x, backend.value(objective, x))}
    start = perf_counter()
    oracle.value(x)
    oracle.value_and_grad(x)
    for method in needs:
        if method in calls:
            calls[method]()
    backend.synchronize(device)
    return perf_counter() - start
