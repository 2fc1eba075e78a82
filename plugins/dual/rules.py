"""Forward-mode (JVP) rules, one per primitive of :mod:`optbench_plugins.ad.primitives`.

A rule maps the tangent ``g`` of one argument (shape ``(k,) + arg.shape``, k directions
leading) to its contribution to the result's tangent. Its arguments are ``(xp, g, ans,
*primal_args, **params)``: ``xp`` is the namespace to compute in (the storage namespace, or
the dual namespace when the primals are themselves duals of an outer differentiation), ``ans``
the primal result. Elementwise binary rules receive ``g`` already aligned to the result's
number of dimensions; the engine adds the contributions of both arguments and broadcasts.
Conventions at non-differentiable points are torch's, as listed in the primitives module.
"""
from __future__ import annotations

import math
import operator

from optbench_plugins.ad.compiled import capturing

JVP = {}


def tangent_axis(axis, ndim: int):
    """The tangent's axes for the primal ``axis`` (the k directions lead; None means all)."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, int):
        return axis + 1 if axis >= 0 else axis
    return tuple(a + 1 if a >= 0 else a for a in axis)


def align(xp, g, ndim: int):
    """``g`` with unit axes inserted after the direction axis, so its primal part has ``ndim`` dims."""
    missing = ndim - (g.ndim - 1)
    if missing <= 0:
        return g
    return xp.reshape(g, (g.shape[0],) + (1,) * missing + tuple(g.shape[1:]))


def zeros_tangent(xp, k: int, x):
    """A zero tangent with ``k`` directions for the constant ``x``."""
    return xp.broadcast_to(xp.zeros_like(x), (k,) + tuple(x.shape))


# ---- elementwise, one argument -------------------------------------------------------------
JVP["negative"] = lambda xp, g, ans, x: -g
JVP["positive"] = lambda xp, g, ans, x: g
JVP["abs"] = lambda xp, g, ans, x: g * xp.sign(x)
JVP["sign"] = lambda xp, g, ans, x: xp.zeros_like(g)
JVP["sqrt"] = lambda xp, g, ans, x: g / (2 * ans)
JVP["square"] = lambda xp, g, ans, x: g * (2 * x)
JVP["exp"] = lambda xp, g, ans, x: g * ans
JVP["expm1"] = lambda xp, g, ans, x: g * (ans + 1)
JVP["log"] = lambda xp, g, ans, x: g / x
JVP["log1p"] = lambda xp, g, ans, x: g / (x + 1)
JVP["sin"] = lambda xp, g, ans, x: g * xp.cos(x)
JVP["cos"] = lambda xp, g, ans, x: g * -xp.sin(x)
JVP["tan"] = lambda xp, g, ans, x: g * (1 + ans * ans)
JVP["tanh"] = lambda xp, g, ans, x: g * (1 - ans * ans)
JVP["sinh"] = lambda xp, g, ans, x: g * xp.cosh(x)
JVP["cosh"] = lambda xp, g, ans, x: g * xp.sinh(x)
JVP["atan"] = lambda xp, g, ans, x: g / (1 + x * x)

# ---- elementwise, two arguments (one rule per argument) -------------------------------------
JVP["add"] = (lambda xp, g, ans, x, y: g, lambda xp, g, ans, x, y: g)
JVP["subtract"] = (lambda xp, g, ans, x, y: g, lambda xp, g, ans, x, y: -g)
JVP["multiply"] = (lambda xp, g, ans, x, y: g * y, lambda xp, g, ans, x, y: g * x)
JVP["divide"] = (lambda xp, g, ans, x, y: g / y, lambda xp, g, ans, x, y: g * -(ans / y))


def pow_base(xp, g, ans, x, y):
    # y x^(y-1), and 0 where y == 0 (torch), so 0^0 does not give 0 * inf
    if not hasattr(y, "shape"):
        if y == 2:
            return g * (2 * x)  # the common square, without a power
        return xp.zeros_like(g) if y == 0 else g * (y * x ** (y - 1))
    return g * xp.where(y == 0, 0.0, y * x ** (y - 1))


def pow_exponent(xp, g, ans, x, y):
    # x^y log x, taken as 0 where x == 0 (torch); log of 1 in place of 0 gives exactly that
    if not hasattr(x, "shape"):
        return g * (ans * (math.log(x) if x > 0 else (0.0 if x == 0 else math.nan)))
    return g * (ans * xp.log(xp.where(x == 0, 1.0, x)))


JVP["pow"] = (pow_base, pow_exponent)


def winner(xp, g, wins, ties):
    # the derivative flows to the selected argument, half to each on a tie (torch)
    return xp.where(wins, g, xp.where(ties, 0.5 * g, 0.0))


JVP["maximum"] = (lambda xp, g, ans, x, y: winner(xp, g, x > y, x == y),
                  lambda xp, g, ans, x, y: winner(xp, g, y > x, x == y))
JVP["minimum"] = (lambda xp, g, ans, x, y: winner(xp, g, x < y, x == y),
                  lambda xp, g, ans, x, y: winner(xp, g, y < x, x == y))
JVP["logaddexp"] = (lambda xp, g, ans, x, y: g * xp.exp(x - ans),
                    lambda xp, g, ans, x, y: g * xp.exp(y - ans))

# ---- reductions (x, axis=None, keepdims=False) ----------------------------------------------
JVP["sum"] = lambda xp, g, ans, x, axis=None, keepdims=False: xp.sum(
    g, axis=tangent_axis(axis, x.ndim), keepdims=keepdims)
JVP["mean"] = lambda xp, g, ans, x, axis=None, keepdims=False: xp.mean(
    g, axis=tangent_axis(axis, x.ndim), keepdims=keepdims)


def reduced_axes(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative axes (None means all)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else axis
    return tuple(sorted(a % ndim for a in axes))


def kept(xp, ans, x, axes):
    """The reduction result ``ans`` reshaped as if computed with ``keepdims=True``."""
    return xp.reshape(ans, tuple(1 if i in axes else n for i, n in enumerate(x.shape)))


def extreme(xp, g, ans, x, axis=None, keepdims=False):
    # max/min: the derivative is shared evenly among tied extreme entries (torch)
    axes = reduced_axes(axis, x.ndim)
    hit = x == (ans if keepdims else kept(xp, ans, x, axes))
    count = xp.sum(xp.astype(hit, g.dtype), axis=axes, keepdims=keepdims)
    return xp.sum(xp.where(hit, g, 0.0), axis=tangent_axis(axes, x.ndim), keepdims=keepdims) / count


JVP["max"] = extreme
JVP["min"] = extreme


def diagonal_mask(xp, shape, axes, device):
    """Boolean ``shape + reduced shape``: True where the reduced indices equal the trailing ones."""
    full, mask = len(shape) + len(axes), None
    for j, a in enumerate(axes):
        index = xp.arange(shape[a], device=device)
        here = xp.reshape(index, tuple(shape[a] if p == a else 1 for p in range(full)))
        there = xp.reshape(index, tuple(shape[a] if p == len(shape) + j else 1 for p in range(full)))
        mask = here == there if mask is None else xp.logical_and(mask, here == there)
    return mask


def prod_tangent(xp, g, ans, x, axis=None, keepdims=False):
    # sum_i g_i prod_{j != i} x_j; without zeros that is g * prod / x, otherwise it is built
    # exactly (to every order) as a product where entry i is replaced by g_i, in O(k n m) memory
    axes = reduced_axes(axis, x.ndim)
    taxes = tangent_axis(axes, x.ndim)
    if not capturing() and not bool(xp.any(x == 0)):  # a capture takes the branch exact for any x
        full = ans if keepdims else kept(xp, ans, x, axes)
        return xp.sum(g * (full / x), axis=taxes, keepdims=keepdims)
    trailing = (1,) * len(axes)
    mask = diagonal_mask(xp, tuple(x.shape), axes, x.device)
    spread = xp.where(mask, xp.reshape(g, tuple(g.shape) + trailing), xp.reshape(x, tuple(x.shape) + trailing))
    products = xp.prod(spread, axis=taxes, keepdims=True)
    t = xp.sum(products, axis=tuple(range(-len(axes), 0)))
    return t if keepdims else xp.reshape(t, (g.shape[0],) + tuple(ans.shape))


JVP["prod"] = prod_tangent


# ---- linear algebra (the k directions act as a leading batch axis) --------------------------
def matmul_left(xp, g, ans, x, y):
    if x.ndim == 1:
        if y.ndim == 1:
            return xp.matmul(g, y)
        rows = xp.reshape(g, (g.shape[0],) + (1,) * (y.ndim - 1) + (x.shape[0],))
        return xp.squeeze(xp.matmul(rows, y), axis=-2)
    return xp.matmul(align(xp, g, max(x.ndim, y.ndim)), y)


def matmul_right(xp, g, ans, x, y):
    if y.ndim == 1:
        if x.ndim <= 2:
            return xp.matmul(g, xp.matrix_transpose(x) if x.ndim == 2 else x)
        columns = xp.reshape(g, (g.shape[0],) + (1,) * (x.ndim - 2) + (y.shape[0], 1))
        return xp.squeeze(xp.matmul(x, columns), axis=-1)
    return xp.matmul(x, align(xp, g, max(x.ndim, y.ndim)))


JVP["matmul"] = (matmul_left, matmul_right)


def vecdot_axis(axis: int, x, y) -> int:
    """``axis`` counted from the end, as broadcasting leaves it unchanged by the k axis."""
    return axis if axis < 0 else axis - max(x.ndim, y.ndim)


JVP["vecdot"] = (
    lambda xp, g, ans, x, y, axis=-1: xp.vecdot(align(xp, g, max(x.ndim, y.ndim)), y, axis=vecdot_axis(axis, x, y)),
    lambda xp, g, ans, x, y, axis=-1: xp.vecdot(x, align(xp, g, max(x.ndim, y.ndim)), axis=vecdot_axis(axis, x, y)),
)


def contracted(axes, x, y) -> tuple[list[int], list[int]]:
    """tensordot's ``axes`` as two lists of non-negative axes of ``x`` and ``y``."""
    if isinstance(axes, int):
        return list(range(x.ndim - axes, x.ndim)), list(range(axes))
    ax, ay = axes
    ax, ay = ([ax], [ay]) if isinstance(ax, int) else (list(ax), list(ay))
    return [a % x.ndim for a in ax], [a % y.ndim for a in ay]


def tensordot_left(xp, g, ans, x, y, axes=2):
    ax, ay = contracted(axes, x, y)
    return xp.tensordot(g, y, axes=([a + 1 for a in ax], ay))


def tensordot_right(xp, g, ans, x, y, axes=2):
    # tensordot(g, x) puts y's free axes before x's; swap the two blocks back as a matrix
    ax, ay = contracted(axes, x, y)
    swapped = xp.tensordot(g, x, axes=([a + 1 for a in ay], ax))
    k, free_y = g.shape[0], math.prod(y.shape[a] for a in range(y.ndim) if a not in ay)
    block = xp.reshape(swapped, (k, free_y, -1))
    return xp.reshape(xp.matrix_transpose(block), (k,) + tuple(ans.shape))


JVP["tensordot"] = (tensordot_left, tensordot_right)
JVP["matrix_transpose"] = lambda xp, g, ans, x: xp.matrix_transpose(g)


# ---- shape ------------------------------------------------------------------------------------
def as_shape(shape) -> tuple:
    return (shape,) if isinstance(shape, int) else tuple(shape)


JVP["reshape"] = lambda xp, g, ans, x, shape, **kw: xp.reshape(g, (g.shape[0],) + as_shape(shape))
JVP["expand_dims"] = lambda xp, g, ans, x, axis=0: xp.expand_dims(g, axis=tangent_axis(axis, x.ndim))
JVP["squeeze"] = lambda xp, g, ans, x, axis: xp.squeeze(g, axis=tangent_axis(axis, x.ndim))
JVP["broadcast_to"] = lambda xp, g, ans, x, shape: xp.broadcast_to(
    align(xp, g, len(as_shape(shape))), (g.shape[0],) + as_shape(shape))
JVP["astype"] = lambda xp, g, ans, x, dtype, **kw: xp.astype(g, dtype)
JVP["getitem"] = lambda xp, g, ans, x, key: operator.getitem(g, (slice(None),) + key)
# take is linear: the tangent is gathered the same way, along the axis shifted past the directions
JVP["take"] = lambda xp, g, ans, x, indices, axis=None: xp.take(g, indices, axis=(axis or 0) % x.ndim + 1)
# stack and concat get the tangents of all arrays, zeros standing in for constants
JVP["stack"] = lambda xp, gs, ans, arrays, axis=0: xp.stack(gs, axis=tangent_axis(axis, arrays[0].ndim + 1))


def concat_tangent(xp, gs, ans, arrays, axis=0):
    if axis is None:
        return xp.concat([xp.reshape(g, (g.shape[0], -1)) for g in gs], axis=1)
    return xp.concat(gs, axis=tangent_axis(axis, arrays[0].ndim))


JVP["concat"] = concat_tangent

# ---- selection ----------------------------------------------------------------------------------
# where(condition, x1, x2) is computed as a two-argument primitive with the condition last
JVP["where"] = (lambda xp, g, ans, x1, x2, condition: xp.where(condition, g, 0.0),
                lambda xp, g, ans, x1, x2, condition: xp.where(condition, 0.0, g))


def clip_tangent(xp, g, ans, x, min=None, max=None):
    # 1 inside [min, max], bounds included (torch), 0 outside
    inside = None
    if min is not None:
        inside = x >= min
    if max is not None:
        inside = x <= max if inside is None else xp.logical_and(inside, x <= max)
    return g if inside is None else xp.where(inside, g, 0.0)


JVP["clip"] = clip_tangent
