"""The objective contract: a scalar function written once against the Python Array API.

Subclass :class:`Objective`, set ``name`` and implement ``__call__(self, x)`` using
``xp = optbench.namespace(x)``; the same code then runs on NumPy, torch (CPU and CUDA) and
optbench's own dual and tape engines. Optional class attributes describe the problem:
``params`` (declared :class:`~optbench.params.Param`), ``dim_range`` and ``default_dim``,
``convex``, ``smooth``; override ``x0``, ``minimizer``, ``L`` and ``mu`` where known. A problem
whose size follows from its parameters (a data set's shape) overrides :meth:`dimension`.
"""
from __future__ import annotations

from typing import Any, ClassVar

import array_api_compat
import numpy as np

from .params import Param, bind
from .errors import ParameterError


def namespace(*arrays: Any):
    """The Array API namespace of ``arrays`` (NumPy, torch, or an optbench engine's)."""
    return array_api_compat.array_namespace(*arrays)


def cached_constant(cache: dict, key: str, value: np.ndarray, like: Any, dtype: Any = None):
    """``value`` in ``like``'s namespace and device and in ``dtype`` (default ``like``'s),
    converted once per kind into ``cache``.

    The kind is the namespace and the innermost storage's type, dtype and device (the array
    under any dual or tape layers), so a cached constant is never a boxed value of one
    differentiation. A storage without a device is a tracer of a compiling engine (JAX): a
    constant made from it belongs to that one trace, so it is converted each time, never cached.
    """
    xp = namespace(like)
    storage = innermost(like)
    device = array_api_compat.device(storage)
    dtype = like.dtype if dtype is None else dtype
    if device is None:
        return xp.asarray(value, dtype=dtype)
    cache_key = (key, id(xp), type(storage), str(dtype), str(device))
    if cache_key not in cache:
        cache[cache_key] = xp.asarray(value, dtype=dtype, device=device)
    return cache[cache_key]


def innermost(x: Any) -> Any:
    """The storage array under an optbench engine's layers (they answer ``_strip()``), else ``x``."""
    while hasattr(type(x), "_strip"):
        x = x._strip()
    return x


class Objective:
    """Base class of objectives (see the module docstring)."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}
    dim_range: ClassVar[tuple[int, int | None]] = (1, None)
    default_dim: ClassVar[int] = 2
    convex: ClassVar[bool | None] = None
    smooth: ClassVar[bool | None] = None

    def __init__(self, n: int | None = None, **params: Any):
        owner = f"objective {self.name!r}"
        self.p = bind(owner, self.params, params)
        derived = self.dimension(self.p)
        if derived is not None and n is not None and int(n) != derived:
            raise ParameterError(f"{owner}: dimension n follows from its parameters: {derived}, got {n}")
        n = derived if derived is not None else n
        default = self.default_n(self.p)
        self.n = Param(int, default).coerce(owner, "n", default if n is None else n)
        low, high = self.dim_range
        if self.n < low or (high is not None and self.n > high):
            allowed = f"exactly {low}" if low == high else f">= {low}" + ("" if high is None else f" and <= {high}")
            raise ParameterError(f"{owner}: dimension n must be {allowed}, got {self.n}")
        self._constants: dict[tuple, Any] = {}
        self.setup()

    @classmethod
    def dimension(cls, params: dict) -> int | None:
        """The dimension n that ``params`` fix, or ``None`` where n is chosen freely."""
        return None

    @classmethod
    def default_n(cls, params: dict[str, Any]) -> int:
        """The dimension when none is given and ``params`` do not fix it: ``default_dim``.

        Objectives whose usual n depends on their parameters (a numbered test problem with its
        standard dimension) override it, so ``objective(name, problem=9)`` and suite files need no n.
        """
        return cls.default_dim

    def setup(self) -> None:
        """Build data once per instance (matrices, synthetic data sets), from ``self.p``."""

    def __call__(self, x):
        raise NotImplementedError(f"objective {self.name!r} does not define __call__")

    # ---- problem description ---------------------------------------------------------------
    def x0(self, seed: int = 0) -> np.ndarray:
        """The seeded starting point (float64, on the host)."""
        return np.random.default_rng(seed).standard_normal(self.n)

    @property
    def minimizer(self) -> np.ndarray | None:
        """A known global minimiser, or ``None``."""
        return None

    @property
    def minimum(self) -> float | None:
        """The known global minimum value, or ``None`` (defaults to ``f(minimizer)``)."""
        x_star = self.minimizer
        return None if x_star is None else float(self(np.asarray(x_star, dtype=np.float64)))

    @property
    def L(self) -> float | None:
        """Lipschitz constant of the gradient (smoothness), where known."""
        return None

    @property
    def mu(self) -> float | None:
        """Strong-convexity constant, where known."""
        return None

    def properties(self) -> dict:
        """The problem's description as plain data (for listings, traces and reports)."""
        x_star = self.minimizer
        return {
            "n": self.n, "convex": self.convex, "smooth": self.smooth, "L": self.L, "mu": self.mu,
            "minimum": self.minimum,
            "minimizer": None if x_star is None else np.asarray(x_star, dtype=float).tolist(),
        }

    # ---- helpers for implementations -------------------------------------------------------
    def constant(self, key: str, value: np.ndarray, like: Any, dtype: Any = None):
        """``value`` as an array of ``like``'s namespace, dtype (or ``dtype``) and device, cached
        per kind.

        Objectives with data (matrices, samples, index arrays) call this instead of converting
        on every evaluation, which would dominate GPU timings.
        """
        return cached_constant(self._constants, key, value, like, dtype)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in {"n": self.n, **self.p}.items())
        return f"{type(self).__name__}({args})"
