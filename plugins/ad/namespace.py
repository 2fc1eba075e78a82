"""The Array API face of a native engine: a namespace and Python operators over its primitives.

An engine supplies ``ops`` (primitive name -> function on engine arrays and constants, see
:mod:`.primitives`) and ``strip`` (engine array -> innermost storage array). From those,
:func:`build_namespace` makes the module that ``array_api_compat.array_namespace`` returns for
the engine's arrays, and :class:`Operators` gives its array type ``+``, ``@``, ``x[i]`` and
comparisons. Anything the engine does not differentiate raises :class:`Unsupported`, a
``NotImplementedError`` naming the operation and the engine, never a silently wrong result.
"""
from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any

from .primitives import NON_DIFFERENTIABLE, PASSTHROUGH, PRIMITIVES


class Unsupported(NotImplementedError, AttributeError):
    """An operation the engine has no derivative rule for (``hasattr`` still answers False)."""


def unsupported(engine: str, op: str) -> Unsupported:
    return Unsupported(f"operation {op!r} is not supported by the {engine!r} backend")


def build_namespace(engine: str, ops: Mapping[str, Callable], strip: Callable[[Any], Any],
                    storage_xp: Any, is_engine_array: Callable[[Any], bool]) -> types.ModuleType:
    """The Array API namespace of ``engine``'s arrays stored in ``storage_xp`` arrays."""
    ns = types.ModuleType(f"optbench_plugins.{engine}.xp")
    ns.__doc__ = f"Array API namespace of the {engine!r} engine over {storage_xp.__name__}."
    for name in PRIMITIVES:  # getitem too: Operators.__getitem__ calls it
        setattr(ns, name, ops[name] if name in ops else _raiser(engine, name))
    for name in NON_DIFFERENTIABLE:
        setattr(ns, name, _on_primals(getattr(storage_xp, name), strip))
    for name in PASSTHROUGH:
        if hasattr(storage_xp, name):
            setattr(ns, name, getattr(storage_xp, name))

    def asarray(obj, /, *, dtype=None, device=None, copy=None):
        if is_engine_array(obj):
            return obj if dtype is None else ns.astype(obj, dtype)
        return storage_xp.asarray(obj, dtype=dtype, device=device, copy=copy)

    def like(fn):  # keywords spelled out: the engines call these on every gradient
        return lambda x, /, *, dtype=None, device=None: fn(strip(x), dtype=dtype, device=device)

    def full_like(x, /, fill_value, *, dtype=None, device=None):
        return storage_xp.full_like(strip(x), fill_value, dtype=dtype, device=device)

    ns.asarray = asarray
    ns.zeros_like = like(storage_xp.zeros_like)
    ns.ones_like = like(storage_xp.ones_like)
    ns.full_like = full_like
    ns.empty_like = like(storage_xp.empty_like)

    def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
        if ord != 2:
            raise unsupported(engine, f"linalg.vector_norm(ord={ord!r})")
        squares = ns.sum(ns.square(x), axis=axis, keepdims=keepdims)
        # at 0 the derivative is 0, as in torch: sqrt of a safe 1 there keeps 0 * inf out of the
        # derivative, and the outer where passes on the zero branch's derivative only
        zero = squares == 0
        return ns.where(zero, 0.0 * squares, ns.sqrt(ns.where(zero, 1.0, squares)))

    ns.linalg = types.SimpleNamespace(vector_norm=vector_norm, matmul=ns.matmul,
                                      matrix_transpose=ns.matrix_transpose, vecdot=ns.vecdot,
                                      tensordot=ns.tensordot)

    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise unsupported(engine, name)

    ns.__getattr__ = __getattr__
    return ns


def _raiser(engine: str, op: str) -> Callable:
    def missing(*args, **kwargs):
        raise unsupported(engine, op)
    return missing


def _on_primals(fn: Callable, strip: Callable) -> Callable:
    def on_primals(*args, **kwargs):
        return fn(*(strip(a) for a in args), **kwargs)
    on_primals.__name__ = fn.__name__
    return on_primals


class Operators:
    """Python operators for an engine's array type, routed to its namespace ``self._ops``.

    ``__array_ufunc__ = None`` makes ``ndarray * engine_array`` defer to our ``__rmul__``
    instead of NumPy looping over an object array, which would lose the derivative.
    """

    __slots__ = ()
    __array_ufunc__ = None
    __hash__ = None  # arrays compare elementwise

    def __array_namespace__(self, api_version=None):
        return self._ops

    def __add__(self, other): return self._ops.add(self, other)
    def __radd__(self, other): return self._ops.add(other, self)
    def __sub__(self, other): return self._ops.subtract(self, other)
    def __rsub__(self, other): return self._ops.subtract(other, self)
    def __mul__(self, other): return self._ops.multiply(self, other)
    def __rmul__(self, other): return self._ops.multiply(other, self)
    def __truediv__(self, other): return self._ops.divide(self, other)
    def __rtruediv__(self, other): return self._ops.divide(other, self)
    def __pow__(self, other): return self._ops.pow(self, other)
    def __rpow__(self, other): return self._ops.pow(other, self)
    def __matmul__(self, other): return self._ops.matmul(self, other)
    def __rmatmul__(self, other): return self._ops.matmul(other, self)
    def __neg__(self): return self._ops.negative(self)
    def __pos__(self): return self._ops.positive(self)
    def __abs__(self): return self._ops.abs(self)
    def __getitem__(self, key): return self._ops.getitem(self, key)
    def __eq__(self, other): return self._ops.equal(self, other)
    def __ne__(self, other): return self._ops.not_equal(self, other)
    def __lt__(self, other): return self._ops.less(self, other)
    def __le__(self, other): return self._ops.less_equal(self, other)
    def __gt__(self, other): return self._ops.greater(self, other)
    def __ge__(self, other): return self._ops.greater_equal(self, other)

    @property
    def mT(self): return self._ops.matrix_transpose(self)

    @property
    def T(self):
        if self.ndim != 2:
            raise ValueError("x.T is defined for 2-D arrays only; use x.mT")
        return self._ops.matrix_transpose(self)

    def sum(self, axis=None, keepdims=False):
        """``xp.sum(self)`` as a method, as NumPy and torch arrays have it (not Array API)."""
        return self._ops.sum(self, axis=axis, keepdims=keepdims)

    def __len__(self): return self.shape[0]
    def __float__(self): return float(self._strip())
    def __int__(self): return int(self._strip())
    def __bool__(self): return bool(self._strip())
