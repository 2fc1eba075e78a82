"""The dual engine's primitives over one storage namespace, and their Array API face.

Each primitive computes its primal with the storage namespace (or, when the primals are
duals of an outer differentiation, with the dual primitive itself, recursively) and its
tangent with the rule of :mod:`.rules`. The hot path is kept flat: plain ``type(...) is Dual``
tests, no generic dispatch, one namespace per storage built once.
"""
from __future__ import annotations

import functools
import operator
from collections.abc import Callable

import array_api_compat

from optbench_plugins.ad.namespace import build_namespace, unsupported
from optbench_plugins.ad.primitives import BINARY, LINEAR_ALGEBRA, PRIMITIVES, UNARY
from optbench_plugins.ad.storage import engine_storage

from .array import Dual, check_active, strip
from .rules import JVP, align, zeros_tangent

ENGINE = "dual"
_ELEMENTWISE = frozenset(BINARY) | {"where"}
_TWO_ARGUMENTS = _ELEMENTWISE | (frozenset(LINEAR_ALGEBRA) - {"matrix_transpose"})
_SEQUENCES = frozenset({"stack", "concat"})


def _unary(fn: Callable, rule: Callable, env: dict) -> Callable:
    """A primitive of one differentiable argument (plus static parameters)."""
    sxp = env["storage"]

    def op(x, *params, **kw):
        if type(x) is not Dual:
            return fn(x, *params, **kw)
        p, g = x.primal, x.tangent
        if type(p) is Dual or type(g) is Dual:
            ans = op(p, *params, **kw)
            return Dual(ans, rule(env["ns"], g, ans, p, *params, **kw), x.tag, x._ops)
        ans = fn(p, *params, **kw)
        return Dual(ans, rule(sxp, g, ans, p, *params, **kw), x.tag, x._ops)

    return op


def _elementwise(fn: Callable, rule: Callable, env: dict) -> Callable:
    """A primitive applied entry by entry, without parameters (``sin``, ``exp``...)."""
    sxp = env["storage"]

    def op(x, /):
        if type(x) is not Dual:
            return fn(x)
        p, g = x.primal, x.tangent
        if type(p) is Dual or type(g) is Dual:
            ans = op(p)
            return Dual(ans, rule(env["ns"], g, ans, p), x.tag, x._ops)
        ans = fn(p)
        return Dual(ans, rule(sxp, g, ans, p), x.tag, x._ops)

    return op


def _binary(fn: Callable, rules: tuple, env: dict, elementwise: bool) -> Callable:
    """A primitive of two differentiable arguments (plus static parameters)."""
    sxp = env["storage"]
    rule_x, rule_y = rules

    def op(x, y, *params, **kw):
        dx, dy = type(x) is Dual, type(y) is Dual
        if not (dx or dy):
            return fn(x, y, *params, **kw)
        if dx and dy and x.tag != y.tag:
            check_active(x.tag, y.tag)
            # the newer tag wraps outermost; the older dual is a constant at this level
            if x.tag > y.tag:
                dy = False
            else:
                dx = False
        top = x if dx else y
        px, gx = (x.primal, x.tangent) if dx else (x, None)
        py, gy = (y.primal, y.tangent) if dy else (y, None)
        if type(px) is Dual or type(py) is Dual or type(gx) is Dual or type(gy) is Dual:
            xp, ans = env["ns"], op(px, py, *params, **kw)
        else:
            xp, ans = sxp, fn(px, py, *params, **kw)
        if elementwise:
            ndim = ans.ndim
            if dx and gx.ndim <= ndim:
                gx = align(xp, gx, ndim)
            if dy and gy.ndim <= ndim:
                gy = align(xp, gy, ndim)
        if dx and dy:
            # one expression, so that NumPy may add into a contribution's own buffer
            # (temporary elision: it does so only when nothing else refers to it)
            t = rule_x(xp, gx, ans, px, py, *params, **kw) + rule_y(xp, gy, ans, px, py, *params, **kw)
        elif dx:
            t = rule_x(xp, gx, ans, px, py, *params, **kw)
        else:
            t = rule_y(xp, gy, ans, px, py, *params, **kw)
        shape = (t.shape[0], *ans.shape)
        if t.shape != shape:
            t = xp.broadcast_to(t, shape)
        return Dual(ans, t, top.tag, top._ops)

    return op


def _sequence(fn: Callable, rule: Callable, env: dict) -> Callable:
    """stack/concat: any number of differentiable arrays, constants given zero tangents."""
    sxp = env["storage"]

    def op(arrays, /, *, axis=0):
        arrays = list(arrays)
        tags = {a.tag for a in arrays if type(a) is Dual}
        if not tags:
            return fn(arrays, axis=axis)
        if len(tags) > 1:
            check_active(*tags)
        tag = max(tags)
        top = next(a for a in arrays if type(a) is Dual and a.tag == tag)
        ps = [a.primal if type(a) is Dual and a.tag == tag else a for a in arrays]
        gs = [a.tangent if type(a) is Dual and a.tag == tag else None for a in arrays]
        nested = any(type(v) is Dual for v in ps + gs)
        xp = env["ns"] if nested else sxp
        ans = op(ps, axis=axis) if nested else fn(ps, axis=axis)
        k = top.tangent.shape[0]
        gs = [zeros_tangent(xp, k, p) if g is None else g for p, g in zip(ps, gs)]
        return Dual(ans, rule(xp, gs, ans, ps, axis=axis), tag, top._ops)

    return op


def _where(op2: Callable) -> Callable:
    def where(condition, x1, x2, /):
        return op2(x1, x2, strip(condition))
    return where


def _clip(op1: Callable) -> Callable:
    def clip(x, /, min=None, max=None):
        if type(min) is Dual or type(max) is Dual:
            raise unsupported(ENGINE, "clip with differentiable bounds (use maximum/minimum)")
        return op1(x, min=strip(min), max=strip(max))
    return clip


def _getitem(op1: Callable) -> Callable:
    def getitem(x, key, /):
        key = key if isinstance(key, tuple) else (key,)
        if any(type(k) is Dual for k in key):
            raise TypeError("an index must not be a dual array; index with plain integers or masks")
        if sum(1 for k in key if hasattr(k, "shape") or isinstance(k, list)) > 1:
            raise unsupported(ENGINE, "indexing with more than one array index")
        return op1(x, key)
    return getitem


def _take(op1: Callable) -> Callable:
    def take(x, indices, /, *, axis=None):
        if type(indices) is Dual:
            raise TypeError("take's indices must not be a dual array; use plain integers")
        return op1(x, indices, axis=axis)
    return take


def _storage_function(sxp, name: str) -> Callable:
    if name == "getitem":
        return operator.getitem
    if name == "where":
        return lambda x1, x2, condition: sxp.where(condition, x1, x2)
    return getattr(sxp, name)


def build(sxp):
    """The dual primitives computed in the storage namespace ``sxp``, as an Array API module."""
    fast = engine_storage(sxp)
    env = {"storage": fast}
    ops = {}
    for name in PRIMITIVES:
        fn, rule = _storage_function(fast, name), JVP[name]
        if name in _SEQUENCES:
            ops[name] = _sequence(fn, rule, env)
        elif name in UNARY:
            ops[name] = _elementwise(fn, rule, env)
        elif name in _TWO_ARGUMENTS:
            ops[name] = _binary(fn, rule, env, elementwise=name in _ELEMENTWISE)
        else:
            ops[name] = _unary(fn, rule, env)
    ops["where"] = _where(ops["where"])
    ops["clip"] = _clip(ops["clip"])
    ops["getitem"] = _getitem(ops["getitem"])
    ops["take"] = _take(ops["take"])
    env["ns"] = ns = build_namespace(ENGINE, ops, strip, sxp, lambda a: type(a) is Dual)
    return ns


@functools.cache
def namespace_for(sxp):
    """The dual namespace over the storage namespace ``sxp`` (built once per storage)."""
    return build(sxp)


_by_type: dict[type, object] = {}


def storage_namespace(x):
    """The storage namespace of ``x``'s innermost array (looked up once per array type)."""
    x = strip(x)
    kind = type(x)
    if kind not in _by_type:
        _by_type[kind] = array_api_compat.array_namespace(x)
    return _by_type[kind]
