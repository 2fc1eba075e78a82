"""The AD-backend contract: what every differentiation engine offers the optimizers.

Subclass :class:`Backend`, set ``name``, ``description`` and ``capabilities``, and implement
``value_and_grad`` plus whichever of ``jvp``, ``vjp``, ``hvp``, ``hessian`` and ``jacobian`` the
engine supports. A method left out raises :class:`~optbench.errors.CapabilityError` (a
``NotImplementedError``) naming the backend and the method, and :meth:`Backend.supports` says
so in advance, so callers skip rather than crash.

Every method accepts anything :meth:`asarray` accepts and returns the backend's own arrays.
Derivatives compose: a method called inside a function another method is differentiating
gives the right answer (``d/dx [x * d/dy (x + y)] = 1``).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import CapabilityError

DERIVATIVE_METHODS = ("grad", "value_and_grad", "jvp", "vjp", "hvp", "hessian", "jacobian")
INSPECTION_METHODS = ("trace", "graph")
_SECOND_ORDER = {"hvp", "hessian"}


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, declared so callers skip combinations it lacks.

    ``devices`` lists device kinds the backend can ever use (``"cpu"``, ``"cuda"``);
    :meth:`Backend.devices` says which are present on this machine now.
    """

    devices: tuple[str, ...] = ("cpu",)
    dtypes: tuple[str, ...] = ("float32", "float64")
    max_order: int = 2
    exact: bool = True  # derivatives exact up to rounding (False: approximations, e.g. finite differences)
    # follows torch's derivatives at kinks (abs at 0, ties, clip bounds...; docs/plugins.md):
    # the conformance kit fails a backend that claims it and breaks one, and reports the rest
    torch_conventions: bool = False

    def describe(self) -> dict:
        return {"devices": list(self.devices), "dtypes": list(self.dtypes), "max_order": self.max_order,
                "exact": self.exact, "torch_conventions": self.torch_conventions}


class Backend:
    """Base class of AD backends (see the module docstring for the contract)."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()

    # ---- evaluation and derivatives ------------------------------------------------------------
    def value(self, f: Callable, x: Any) -> Any:
        """Return ``f(x)``: every plain evaluation (line searches, the ``f`` throughput measure)
        goes through here, so a compiling backend can compile it like its derivatives."""
        return f(x)

    def value_and_grad(self, f: Callable, x: Any) -> tuple[Any, Any]:
        """Return ``(f(x), ∇f(x))`` for scalar-valued ``f``."""
        raise self._missing("value_and_grad")

    def grad(self, f: Callable, x: Any) -> Any:
        """Return ``∇f(x)`` for scalar-valued ``f``."""
        return self.value_and_grad(f, x)[1]

    def jvp(self, f: Callable, x: Any, v: Any) -> Any:
        """Return the Jacobian-vector product ``J_f(x) v`` (shape of ``f(x)``)."""
        raise self._missing("jvp")

    def vjp(self, f: Callable, x: Any, u: Any) -> Any:
        """Return the vector-Jacobian product ``u^T J_f(x)`` (shape of ``x``)."""
        raise self._missing("vjp")

    def hvp(self, f: Callable, x: Any, v: Any) -> Any:
        """Return the Hessian-vector product ``∇²f(x) v`` for scalar-valued ``f``."""
        raise self._missing("hvp")

    def hessian(self, f: Callable, x: Any) -> Any:
        """Return ``∇²f(x)``, of shape ``x.shape + x.shape``."""
        raise self._missing("hessian")

    def jacobian(self, f: Callable, x: Any) -> Any:
        """Return ``J_f(x)``, of shape ``f(x).shape + x.shape``."""
        raise self._missing("jacobian")

    # ---- inspection (optional) -----------------------------------------------------------
    def trace(self, f: Callable, x: Any, v: Any = None) -> list[dict]:
        """The evaluation trace of ``f`` at ``x``, one row per primitive, as the course notes
        tabulate it: ``node`` (``v_-1``, ``v_0`` for inputs, then ``v_1``...), ``op`` (e.g.
        ``"v_-1 * v_0"``), ``value`` and the engine's derivative column: ``tangent`` (forward
        mode, seeded along ``v``, default the first basis vector) or ``adjoint`` (reverse mode)."""
        raise self._missing("trace")

    def graph(self, f: Callable, x: Any) -> str:
        """The computation graph of ``f`` at ``x`` as Graphviz DOT source (nodes show the
        operation and shape; inputs and the output are marked)."""
        raise self._missing("graph")

    # ---- arrays and devices --------------------------------------------------------------
    def asarray(self, data: Any, dtype: str | None = None, device: str | None = None) -> Any:
        """Convert ``data`` to this backend's array type (float64 unless told or already float)."""
        raise self._missing("asarray")

    def to_numpy(self, a: Any) -> np.ndarray:
        """Copy a backend array to a NumPy array on the host."""
        raise self._missing("to_numpy")

    def devices(self) -> list[str]:
        """The devices usable now, e.g. ``["cpu", "cuda:0"]``."""
        return ["cpu"]

    def synchronize(self, device: str | None = None) -> None:
        """Wait for queued work on ``device`` to finish (so timings are honest)."""

    def scope(self, dtype: str, device: str | None = None) -> contextlib.AbstractContextManager:
        """A context entered around a whole run at ``dtype`` on ``device`` (a solve, a throughput
        measure), for engine settings that must hold for the optimizer's own array arithmetic
        too, not only inside backend methods. The default does nothing."""
        return contextlib.nullcontext()

    def set_threads(self, threads: int) -> int | None:
        """Limit the engine's CPU thread pools to ``threads`` (the suite's ``threads``); return
        the count now in effect, or ``None`` when the engine has no such control."""
        return None

    # ---- capability queries --------------------------------------------------------------
    def supports(self, method: str) -> bool:
        """Whether ``method`` is implemented (and within the declared derivative order)."""
        if method not in DERIVATIVE_METHODS + INSPECTION_METHODS:
            return callable(getattr(self, method, None))
        if method in _SECOND_ORDER and self.capabilities.max_order < 2:
            return False
        if method == "grad":
            method = "value_and_grad"
        return getattr(type(self), method) is not getattr(Backend, method)

    def check(self, method: str | None = None, *, dtype: str | None = None,
              device: str | None = None) -> None:
        """Raise :class:`CapabilityError` when a method, dtype or device is not available."""
        if method is not None and not self.supports(method):
            raise self._missing(method)
        if dtype is not None and dtype not in self.capabilities.dtypes:
            raise CapabilityError(
                f"backend {self.name!r} does not support dtype {dtype!r} "
                f"(it declares {', '.join(self.capabilities.dtypes)})"
            )
        if device is not None:
            kind = device.split(":")[0]
            if kind not in self.capabilities.devices:
                raise CapabilityError(f"backend {self.name!r} does not support device {device!r}")
            # the CPU is always there; listing devices may import a GPU framework (torch: ~1 s)
            if kind != "cpu" and device not in self.devices() and kind not in [d.split(":")[0] for d in self.devices()]:
                raise CapabilityError(f"device {device!r} is not available for backend {self.name!r} on this machine")

    def _missing(self, method: str) -> CapabilityError:
        return CapabilityError(f"backend {self.name!r} does not implement {method!r}")

    def __repr__(self) -> str:
        return f"<backend {self.name}>"
