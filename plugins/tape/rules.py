"""The reverse-mode rule table: one vector-Jacobian product maker per primitive argument.

``VJPS[name][i]`` is called when the primitive is recorded, as ``make(xp, ans, *args,
**kwargs)`` (``xp`` the tape namespace, ``ans`` the result, then the primitive's own
arguments), and returns ``vjp(g)``, the cotangent of argument ``i`` for the cotangent ``g`` of
``ans`` (HIPS autograd's ``(ans, x) -> (g -> ...)``). The closure keeps only what its rule
reads, so the tape holds what torch would save and no more. Rules use ``xp`` functions and
Python operators only, so when ``g`` or the saved values are arrays of an outer tape the
backward pass is itself recorded (higher order, nesting). Binary rules are unbroadcast by the
dispatcher, with :func:`summed_to`, where an argument was broadcast.
Conventions at non-differentiable points are torch's, listed in
:mod:`optbench_plugins.ad.primitives`.
"""
from __future__ import annotations

import math
from functools import partial

from optbench_plugins.ad.compiled import capturing
from optbench_plugins.ad.primitives import BINARY


def unbroadcast(xp, g, shape):
    """``g`` summed over the axes along which an array of ``shape`` was broadcast."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and g.shape[lead + i] != 1)
    return xp.reshape(xp.sum(g, axis=axes), shape) if axes else xp.reshape(g, shape)


def kept_shape(shape, axis):
    """The shape a reduction over ``axis`` leaves with ``keepdims=True``."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def expand_reduced(xp, g, shape, axis, keepdims):
    """A reduction's result ``g`` reshaped to broadcast against its input's ``shape``."""
    return g if keepdims or axis is None else xp.reshape(g, kept_shape(shape, axis))


def mask(xp, condition, like):
    """A boolean ``condition`` as 0/1 values of ``like``'s dtype."""
    return xp.astype(condition, like.dtype)


def reshape_to(xp, shape):
    """The VJP of any reshaping of an array of ``shape``."""
    shape = tuple(shape)
    return lambda g: xp.reshape(g, shape)


class PerElement:
    """VJP makers of a primitive over a sequence of arrays: ``rule(i, xp, ans, *arrays, **kw)``."""

    __slots__ = ("rule",)

    def __init__(self, rule):
        self.rule = rule

    def __getitem__(self, i):
        return partial(self.rule, i)


def unchanged(g):
    """The VJP of an identity in one argument (``add``, ``positive``): shared, not a new closure."""
    return g


VJPS: dict[str, tuple] = {}

# ---- unary ------------------------------------------------------------------------------------
VJPS.update({
    "negative": (lambda xp, ans, x: lambda g: -g,),
    "positive": (lambda xp, ans, x: unchanged,),
    "abs": (lambda xp, ans, x: lambda g: g * xp.sign(x),),
    "sign": (lambda xp, ans, x: lambda g: xp.zeros_like(g),),
    "sqrt": (lambda xp, ans, x: lambda g: g / (2.0 * ans),),
    "square": (lambda xp, ans, x: lambda g: g * (x + x),),  # 2x exactly, see pow_vjp_base
    "exp": (lambda xp, ans, x: lambda g: g * ans,),
    "expm1": (lambda xp, ans, x: lambda g: g * (ans + 1.0),),
    "log": (lambda xp, ans, x: lambda g: g / x,),
    "log1p": (lambda xp, ans, x: lambda g: g / (x + 1.0),),
    "sin": (lambda xp, ans, x: lambda g: g * xp.cos(x),),
    "cos": (lambda xp, ans, x: lambda g: -g * xp.sin(x),),
    "tan": (lambda xp, ans, x: lambda g: g * (ans * ans + 1.0),),
    "tanh": (lambda xp, ans, x: lambda g: g * (1.0 - ans * ans),),
    "sinh": (lambda xp, ans, x: lambda g: g * xp.cosh(x),),
    "cosh": (lambda xp, ans, x: lambda g: g * xp.sinh(x),),
    "atan": (lambda xp, ans, x: lambda g: g / (x * x + 1.0),),
})


# ---- binary (broadcasting: see summed_to) --------------------------------------------------
def pow_vjp_base(xp, ans, x, y):
    """d(x**y)/dx = y x**(y-1), taken as 0 where y == 0 (so 0**0 does not give nan)."""
    if isinstance(y, (int, float)):
        if y == 0:
            return lambda g: xp.zeros_like(g)
        if y == 2:
            # the common x**2, without computing x**1; x + x is 2x exactly, and skips NumPy's
            # conversion of a Python scalar (0.2 us of a 0.5 us product on a small array)
            return lambda g: g * (x + x)
        return lambda g: g * (float(y) * x ** (y - 1.0))
    return lambda g: xp.where(y == 0, 0.0, g * (y * x ** (y - 1.0)))


def pow_vjp_exponent(xp, ans, x, y):
    """d(x**y)/dy = x**y log(x), taken as 0 where x == 0."""
    if isinstance(x, (int, float)):
        log_x = math.log(x) if x > 0 else 0.0 if x == 0 else math.nan
        return lambda g: g * (ans * log_x)
    return lambda g: g * (ans * xp.log(xp.where(x == 0, 1.0, x)))


def maximum_share(xp, x, y, g):
    """The share of ``maximum(x, y)``'s derivative going to ``x``: 1, 1/2 on ties, else 0."""
    return mask(xp, x > y, g) + 0.5 * mask(xp, x == y, g)


_BINARY = {
    "add": (lambda xp, ans, x, y: unchanged, lambda xp, ans, x, y: unchanged),
    "subtract": (lambda xp, ans, x, y: unchanged, lambda xp, ans, x, y: lambda g: -g),
    "multiply": (lambda xp, ans, x, y: lambda g: g * y, lambda xp, ans, x, y: lambda g: g * x),
    "divide": (lambda xp, ans, x, y: lambda g: g / y, lambda xp, ans, x, y: lambda g: -g * x / (y * y)),
    "pow": (pow_vjp_base, pow_vjp_exponent),
    "maximum": (lambda xp, ans, x, y: lambda g: g * maximum_share(xp, x, y, g),
                lambda xp, ans, x, y: lambda g: g * maximum_share(xp, y, x, g)),
    "minimum": (lambda xp, ans, x, y: lambda g: g * maximum_share(xp, y, x, g),
                lambda xp, ans, x, y: lambda g: g * maximum_share(xp, x, y, g)),
    "logaddexp": (lambda xp, ans, x, y: lambda g: g * xp.exp(x - ans),
                  lambda xp, ans, x, y: lambda g: g * xp.exp(y - ans)),
}


def summed_to(xp, vjp, shape):
    """``vjp`` summed down to ``shape``: the VJP for an argument that was broadcast."""
    return lambda g: unbroadcast(xp, vjp(g), tuple(shape))


# the binary dispatcher (array.binary) applies summed_to where an argument was broadcast: it
# has the shapes at hand, and a wrapping maker would cost a call per operand on every product
VJPS.update(_BINARY)


# ---- reductions ------------------------------------------------------------------------------
def sum_vjp(xp, ans, x, axis=None, keepdims=False):
    shape = tuple(x.shape)
    if axis is None:  # the common full sum: g broadcasts as it is
        return lambda g: xp.broadcast_to(g, shape)
    return lambda g: xp.broadcast_to(expand_reduced(xp, g, shape, axis, keepdims), shape)


def mean_vjp(xp, ans, x, axis=None, keepdims=False):
    spread, count = sum_vjp(xp, ans, x, axis, keepdims), math.prod(x.shape) // max(math.prod(ans.shape), 1)
    return lambda g: spread(g / count)


def exclusive_products(xp, x, axis):
    """The product of the other entries along ``axis`` (non-negative), exact with zeros:
    prefix times suffix products, each a log-step scan of slices (Hillis-Steele)."""
    n = x.shape[axis]

    def span(start, stop):
        return (slice(None),) * axis + (slice(start, stop),)

    prefix, suffix, step = x, x, 1
    while step < n:
        prefix = xp.concat([prefix[span(0, step)], prefix[span(step, n)] * prefix[span(0, n - step)]], axis=axis)
        suffix = xp.concat([suffix[span(0, n - step)] * suffix[span(step, n)], suffix[span(n - step, n)]], axis=axis)
        step *= 2
    one = xp.ones_like(x[span(0, 1)])
    return xp.concat([one, prefix[span(0, n - 1)]], axis=axis) * xp.concat([suffix[span(1, n)], one], axis=axis)


def others_product(xp, x, axes):
    """The product of the other entries of each reduction group over ``axes``: the others
    along the first axis times the whole products of the other slices along the rest."""
    result = exclusive_products(xp, x, axes[0])
    if len(axes) > 1:
        result = result * others_product(xp, xp.prod(x, axis=axes[0], keepdims=True), axes[1:])
    return result


def prod_vjp(xp, ans, x, axis=None, keepdims=False):
    """ans / x where no entry is 0; otherwise exclusive products, whose own derivative (the
    Hessian) is exact too."""
    shape = tuple(x.shape)
    if x.ndim == 0:
        return lambda g: g * xp.ones_like(x)
    if not capturing() and not xp.any(x == 0):  # a capture takes the branch exact for any x
        return lambda g: expand_reduced(xp, g, shape, axis, keepdims) * (
            expand_reduced(xp, ans, shape, axis, keepdims) / x)
    axes = range(x.ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    axes = tuple(sorted({a % x.ndim for a in axes}))
    return lambda g: expand_reduced(xp, g, shape, axis, keepdims) * others_product(xp, x, axes)


def extremum_vjp(xp, ans, x, axis=None, keepdims=False):
    """``g`` shared evenly among the entries equal to the max (or min)."""
    shape = tuple(x.shape)

    def vjp(g):
        hits = mask(xp, x == expand_reduced(xp, ans, shape, axis, keepdims), g)
        return expand_reduced(xp, g, shape, axis, keepdims) * (hits / xp.sum(hits, axis=axis, keepdims=True))
    return vjp


VJPS.update({
    "sum": (sum_vjp,),
    "mean": (mean_vjp,),
    "prod": (prod_vjp,),
    "max": (extremum_vjp,),
    "min": (extremum_vjp,),
})


# ---- linear algebra --------------------------------------------------------------------------
def as_matrices(xp, g, x, y):
    """A matmul's operands and cotangent as stacks of matrices (1-D operands promoted)."""
    x2 = xp.reshape(x, (1, x.shape[0])) if x.ndim == 1 else x
    y2 = xp.reshape(y, (y.shape[0], 1)) if y.ndim == 1 else y
    batch = tuple(g.shape[:g.ndim - (x.ndim > 1) - (y.ndim > 1)])
    return x2, y2, xp.reshape(g, batch + (x2.shape[-2], y2.shape[-1]))


def matmul_vjp_left(xp, ans, x, y):
    if x.ndim == 1 and y.ndim == 2:  # vector @ matrix: one matrix-vector product back
        return lambda g: xp.matmul(y, g)

    def vjp(g):
        x2, y2, g2 = as_matrices(xp, g, x, y)
        return xp.reshape(unbroadcast(xp, xp.matmul(g2, xp.matrix_transpose(y2)), tuple(x2.shape)), tuple(x.shape))
    return vjp


def matmul_vjp_right(xp, ans, x, y):
    if x.ndim == 2 and y.ndim == 1:  # matrix @ vector: one matrix-vector product back
        return lambda g: xp.matmul(g, x)

    def vjp(g):
        x2, y2, g2 = as_matrices(xp, g, x, y)
        return xp.reshape(unbroadcast(xp, xp.matmul(xp.matrix_transpose(x2), g2), tuple(y2.shape)), tuple(y.shape))
    return vjp


def vecdot_vjp(xp, other, shape, axis):
    return lambda g: unbroadcast(xp, xp.expand_dims(g, axis=axis) * other, shape)


def tensordot_axes(x, y, axes):
    """``axes`` of ``tensordot(x, y, axes=axes)`` as two lists of non-negative axes."""
    if isinstance(axes, int):
        return list(range(x.ndim - axes, x.ndim)), list(range(axes))
    return [a % x.ndim for a in axes[0]], [b % y.ndim for b in axes[1]]


def move_axes(xp, a, order):
    """``a`` with its axes in ``order``, using primitives only (``permute_dims`` is not one):
    contracting an axis with an identity matrix moves it last."""
    if list(order) == list(range(a.ndim)):
        return a
    current = list(range(a.ndim))
    for axis in order:
        position = current.index(axis)
        eye = xp.eye(a.shape[position], dtype=a.dtype, device=a.device)
        a = xp.tensordot(a, eye, axes=([position], [0]))
        current.append(current.pop(position))
    return a


def tensordot_vjp_left(xp, ans, x, y, axes=2):
    x_axes, y_axes = tensordot_axes(x, y, axes)
    x_free = [a for a in range(x.ndim) if a not in x_axes]
    y_free = [b for b in range(y.ndim) if b not in y_axes]
    # contracting g's trailing (y's free) axes with y leaves x's free axes, then y's
    # contracted axes in y's order, each paired with an axis of x
    layout = x_free + [x_axes[y_axes.index(b)] for b in sorted(y_axes)]
    order = [layout.index(a) for a in range(x.ndim)]
    return lambda g: move_axes(xp, xp.tensordot(g, y, axes=(list(range(len(x_free), g.ndim)), y_free)), order)


def tensordot_vjp_right(xp, ans, x, y, axes=2):
    x_axes, y_axes = tensordot_axes(x, y, axes)
    x_free = [a for a in range(x.ndim) if a not in x_axes]
    layout = [y_axes[x_axes.index(a)] for a in sorted(x_axes)] + [b for b in range(y.ndim) if b not in y_axes]
    order = [layout.index(b) for b in range(y.ndim)]
    return lambda g: move_axes(xp, xp.tensordot(x, g, axes=(x_free, list(range(len(x_free))))), order)


VJPS.update({
    "matmul": (matmul_vjp_left, matmul_vjp_right),
    "vecdot": (lambda xp, ans, x, y, axis=-1: vecdot_vjp(xp, y, tuple(x.shape), axis),
               lambda xp, ans, x, y, axis=-1: vecdot_vjp(xp, x, tuple(y.shape), axis)),
    "tensordot": (tensordot_vjp_left, tensordot_vjp_right),
    "matrix_transpose": (lambda xp, ans, x: lambda g: xp.matrix_transpose(g),),
})


# ---- shape -----------------------------------------------------------------------------------
def stack_vjp(i, xp, ans, *arrays, axis=0):
    key = (slice(None),) * (axis % ans.ndim) + (i,)
    return lambda g: g[key]


def concat_vjp(i, xp, ans, *arrays, axis=0):
    if axis is None:
        start = sum(math.prod(a.shape) for a in arrays[:i])
        stop, shape = start + math.prod(arrays[i].shape), tuple(arrays[i].shape)
        return lambda g: xp.reshape(g[start:stop], shape)
    axis %= ans.ndim
    start = sum(a.shape[axis] for a in arrays[:i])
    key = (slice(None),) * axis + (slice(start, start + arrays[i].shape[axis]),)
    return lambda g: g[key]


def untake_vjp(xp, ans, x, key, shape):
    shape = tuple(shape)
    return lambda g: xp.untake(g, key, shape)


def take_vjp(xp, ans, x, indices, axis=None):
    """take(x, indices, axis) is x[:, ..., indices] with ``indices`` at ``axis``: getitem's adjoint."""
    key = (slice(None),) * ((axis or 0) % x.ndim) + (indices,)
    return untake_vjp(xp, ans, x, key, x.shape)


VJPS.update({
    "reshape": (lambda xp, ans, x, *args, **kwargs: reshape_to(xp, x.shape),),
    "expand_dims": (lambda xp, ans, x, *args, **kwargs: reshape_to(xp, x.shape),),
    "squeeze": (lambda xp, ans, x, *args, **kwargs: reshape_to(xp, x.shape),),
    "broadcast_to": (lambda xp, ans, x, shape: (lambda g, shape=tuple(x.shape): unbroadcast(xp, g, shape)),),
    "stack": PerElement(stack_vjp),
    "concat": PerElement(concat_vjp),
    "getitem": (lambda xp, ans, x, key: untake_vjp(xp, ans, x, key, x.shape),),
    "take": (take_vjp,),
    "astype": (lambda xp, ans, x, dtype, **kwargs: (lambda g, dtype=x.dtype: xp.astype(g, dtype)),),
})

# untake (scatter-add into zeros) is getitem's adjoint and getitem is its own: not a public
# primitive, but recorded like one so that getitem's backward pass can be differentiated.
UNTAKE_VJPS = (lambda xp, ans, g, key, shape: lambda h: h[key],)


# ---- selection -------------------------------------------------------------------------------
def where_vjp(xp, condition, shape, taken):
    """``g`` where ``condition`` is ``taken``, else 0, summed down to ``shape``."""
    if taken:
        return lambda g: unbroadcast(xp, xp.where(condition, g, 0.0), shape)
    return lambda g: unbroadcast(xp, xp.where(condition, 0.0, g), shape)


def clip_vjp(xp, ans, x, lower=None, upper=None):
    """1 where lower <= x <= upper (bounds included), else 0."""
    inside = (x >= lower) if lower is not None else None
    if upper is not None:
        inside = (x <= upper) if inside is None else inside & (x <= upper)
    return (lambda g: g) if inside is None else (lambda g: xp.where(inside, g, 0.0))


def clip_vjp_lower(xp, ans, x, lower, upper):
    """1 where x < lower, unless the bounds cross or meet (then the upper one decides)."""
    below = (x < lower) if upper is None else (x < lower) & (lower < upper)
    return where_vjp(xp, below, tuple(lower.shape), True)


def clip_vjp_upper(xp, ans, x, lower, upper):
    """1 where x > upper, or everywhere when the bounds cross (the result is then upper)."""
    above = (x > upper) if lower is None else (x > upper) | (lower > upper)
    return where_vjp(xp, above, tuple(upper.shape), True)


VJPS.update({
    "where": (None,  # the condition is not differentiable
              lambda xp, ans, condition, x, y: where_vjp(xp, condition, tuple(x.shape), True),
              lambda xp, ans, condition, x, y: where_vjp(xp, condition, tuple(y.shape), False)),
    "clip": (clip_vjp, clip_vjp_lower, clip_vjp_upper),
})
