"""The optimizer contract: step-wise, stateful, written against the Array API.

Subclass :class:`Optimizer`, set ``name``, declare hyper-parameters in ``params`` and the
oracle methods it needs in ``needs`` (``"grad"``, ``"hvp"``, ``"hessian"``), and implement
``init(oracle, x0)`` and ``step(oracle) -> x``. Inside, ``self.p`` holds the validated
hyper-parameters, ``self.xp`` the array namespace and ``self.rng`` a seeded NumPy generator.
The caller owns stopping rules and the trace; an optimizer only moves.

A library that runs its own loop (``scipy.optimize.minimize`` never hands control back
between iterations) subclasses :class:`LoopOwningOptimizer` instead and implements
``run(oracle, x0, callback)``: it calls ``callback(x)`` after every library iteration and
stops its loop as soon as the callback returns ``True``.

A step-wise optimizer that cannot make progress says so by raising :class:`Converged`
(nothing more to gain at round-off) or :class:`Stalled` (stuck short of it) from ``step``,
instead of burning evaluations until ``max_iter``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .backend import Backend
from .errors import ParameterError
from .objective import namespace
from .oracle import Oracle
from .params import Param, bind


class Optimizer:
    """Base class of optimizers (see the module docstring)."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}
    needs: ClassVar[tuple[str, ...]] = ("grad",)

    def __init__(self, **params: Any):
        self.p = bind(f"optimizer {self.name!r}", self.params, params)
        self.validate()

    def validate(self) -> None:
        """Check relations between hyper-parameters; raise :class:`ParameterError` if wrong."""

    def check(self, backend: Backend) -> None:
        """Raise :class:`CapabilityError` when ``backend`` lacks what this optimizer needs."""
        for method in self.needs:
            backend.check(method)

    def start(self, oracle: Oracle, x0, seed: int = 0) -> None:
        """Reset the state for a new run from ``x0`` (called by the runner, then ``init``)."""
        self.xp = namespace(x0)
        self.rng = np.random.default_rng(seed)
        self.init(oracle, x0)

    def init(self, oracle: Oracle, x0) -> None:
        """Set up the state at ``x0``; the default keeps ``self.x = x0``."""
        self.x = x0

    def step(self, oracle: Oracle):
        """Take one iteration and return the new iterate (also kept as ``self.x``)."""
        raise NotImplementedError(f"optimizer {self.name!r} does not define step")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.p.items())})"


@dataclass
class LibraryStop:
    """How a library ended its own loop: its verdict, its message and its own counters.

    ``counts`` holds what the library says it did (e.g. ``{"nit": 12, "nfev": 15}``); the
    trace's counters come from optbench's oracle, so both are kept where they differ.
    """

    success: bool
    message: str
    counts: dict[str, int] = field(default_factory=dict)


class LoopOwningOptimizer(Optimizer):
    """Base class of optimizers whose library drives its own loop (see the module docstring).

    The clock runs only while the library does: ``solve`` pauses it inside ``callback``, so
    recording a row and checking the stop rules cost the library nothing.
    """

    def run(self, oracle: Oracle, x0, callback: Callable[[Any], bool]) -> LibraryStop:
        """Minimise from ``x0``, calling ``callback(x)`` after each iteration; stop when it says so."""
        raise NotImplementedError(f"optimizer {self.name!r} does not define run")


class Converged(Exception):
    """Raised by ``step`` when no further decrease is possible at round-off (a line search that
    finds none where the decrease it could see is below f's rounding).

    ``solve`` records the iterate ``self.x`` once more and ends the run with status
    ``converged`` and this exception's message as the reason.
    """


class Stalled(Exception):
    """Raised by ``step`` when the method cannot go on short of round-off (a line search that
    fails along -grad f): ``solve`` ends the run with status ``stopped`` and the message."""


def require(condition: bool, owner: str, message: str) -> None:
    """Raise a :class:`ParameterError` for ``owner`` unless ``condition`` holds."""
    if not condition:
        raise ParameterError(f"optimizer {owner!r}: {message}")
