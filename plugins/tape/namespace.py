"""The tape engine's Array API namespaces, one per storage (NumPy, torch): each primitive's
value comes from the storage namespace, its derivative from :data:`.rules.VJPS`."""
from __future__ import annotations

import math
import operator
import types
from functools import cache

import array_api_compat

from optbench_plugins.ad.namespace import build_namespace
from optbench_plugins.ad.primitives import BINARY, PRIMITIVES, REDUCTIONS, UNARY
from optbench_plugins.ad.storage import engine_storage

from .array import TapeArray, binary, elementwise, reduction, strip, traced, unary
from .rules import UNTAKE_VJPS, VJPS, summed_to

# vecdot and tensordot take parameters (axis, axes): recorded through ``traced``
TWO_ARGUMENTS = frozenset(BINARY + ("matmul",))


def storage_namespace(name: str):
    """The Array API namespace of storage ``name`` (``"numpy"`` or ``"torch"``)."""
    if name == "numpy":
        import array_api_compat.numpy as xp
    elif name == "torch":
        import array_api_compat.torch as xp
    else:
        raise ValueError(f"the 'tape' backend stores arrays with 'numpy' or 'torch', not {name!r}")
    return xp


@cache
def tape_namespace(storage: str) -> types.ModuleType:
    """The namespace of tape arrays stored in ``storage`` arrays (built once per storage)."""
    sxp = engine_storage(storage_namespace(storage))
    ops = {name: primitive(name, storage_function(sxp, name)) for name in PRIMITIVES}
    ns = build_namespace("tape", ops, strip, sxp, lambda a: type(a) is TapeArray)
    ns.untake = unary("untake", untake_in(sxp, storage), UNTAKE_VJPS)
    return ns


def storage_function(sxp, name: str):
    """The function computing primitive ``name``'s value in storage namespace ``sxp``."""
    return operator.getitem if name == "getitem" else getattr(sxp, name)


def primitive(name: str, fn):
    """The recording function of primitive ``name``, whose value ``fn`` computes."""
    vjps = VJPS[name]
    if name in UNARY:
        return elementwise(name, fn, vjps)
    if name in REDUCTIONS:
        return reduction(name, fn, vjps)
    if name in TWO_ARGUMENTS:
        return binary(name, fn, vjps, summed_to if name in BINARY else None)
    if name in ("vecdot", "tensordot"):
        def contraction(x, y, /, **kwargs):
            return traced(name, fn, vjps, (x, y), kwargs, (0, 1))
        return contraction
    if name in ("stack", "concat"):
        def over_sequence(arrays, /, *, axis=0):
            arrays = tuple(arrays)
            return traced(name, lambda *a, axis: fn(list(a), axis=axis), vjps, arrays, {"axis": axis},
                          range(len(arrays)))
        return over_sequence
    if name == "where":
        return lambda condition, x, y, /: traced(name, fn, vjps, (strip(condition), x, y), {}, (1, 2))
    if name == "clip":
        return lambda x, /, min=None, max=None: traced(name, fn, vjps, (x, min, max), {}, (0, 1, 2))
    return unary(name, fn, vjps)


def is_basic_index(key) -> bool:
    """Whether ``x[key]`` selects each element at most once (ints, slices, None, ...)."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(p is None or p is Ellipsis or isinstance(p, slice)
               or (isinstance(p, int) and not isinstance(p, bool)) for p in parts)


def untake_in(sxp, storage: str):
    """Scatter-add ``g`` into zeros of ``shape`` at ``key``: the adjoint of ``x[key]``."""
    def untake(g, key, shape):
        out = sxp.zeros(shape, dtype=g.dtype, device=array_api_compat.device(g))
        if is_basic_index(key):
            out[key] = g
            return out
        # repeated indices must add up: scatter through flat positions
        positions = sxp.reshape(sxp.arange(math.prod(shape), device=array_api_compat.device(g)), shape)[key]
        if storage == "torch":
            out.reshape(-1).index_add_(0, positions.reshape(-1), g.reshape(-1))
        else:
            import numpy as np
            np.add.at(out.reshape(-1), positions.reshape(-1), g.reshape(-1))
        return out
    return untake
