"""Every rule of the tape engine against torch float64 autograd, finite differences and torch
double-backward, at hypothesis-drawn shapes and values."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import array_api_compat.numpy as anp
import array_api_compat.torch as atorch
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import optbench
from optbench_plugins.ad.primitives import BINARY, PRIMITIVES, UNARY
from optbench_plugins.tape import TapeBackend
from optbench_plugins.tape.rules import VJPS

BACKEND = TapeBackend()


@dataclass(frozen=True)
class Case:
    """``fn(xp, *arrays)`` at arrays drawn by ``draw``; ``kinks`` when finite differences
    are meaningless at some drawn points (ties, bounds), which ``smooth_at`` rules out."""

    name: str
    fn: Callable
    draw: st.SearchStrategy
    smooth_at: Callable = lambda *arrays: True
    rtol: float = 1e-10


def values(shape, low=-2.0, high=2.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False, allow_subnormal=False))


def nonzero(shape, low=0.3, high=2.0):
    magnitudes = hnp.arrays(np.float64, shape, elements=st.floats(low, high))
    signs = hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0]))
    return st.tuples(magnitudes, signs).map(lambda ms: ms[0] * ms[1])


SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
DOMAINS = {"sqrt": (0.2, 3.0), "log": (0.2, 3.0), "log1p": (-0.5, 3.0), "tan": (-1.2, 1.2)}


def unary_case(name):
    draw = SHAPES.flatmap(lambda s: (nonzero(s) if name in ("abs", "sign") else values(s, *DOMAINS.get(name, (-2, 2))))
                          .map(lambda x: (x,)))
    return Case(name, lambda xp, x: getattr(xp, name)(x), draw)


def binary_case(name):
    low = 0.3 if name == "pow" else -2.0
    shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)
    draw = shapes.flatmap(lambda s: st.tuples(values(s.input_shapes[0], low, 2.0),
                                               nonzero(s.input_shapes[1]) if name == "divide"
                                               else values(s.input_shapes[1])))
    no_ties = (lambda x, y: not np.any(np.isclose(x, y, atol=1e-4))) if name in ("maximum", "minimum") else (lambda x, y: True)
    return Case(name, lambda xp, x, y: getattr(xp, name)(x, y), draw, no_ties)


def distinct(x, *rest):
    return np.unique(np.round(x, 4)).size == x.size


@st.composite
def reduction_args(draw, low=-2.0, high=2.0):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    ndim = len(shape)
    axis = draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                          st.lists(st.integers(0, ndim - 1), min_size=1, unique=True).map(tuple)))
    return draw(values(shape, low, high)), axis, draw(st.booleans())


def reduction_case(name):
    low, high = (0.5, 1.5) if name == "prod" else (-2.0, 2.0)
    draw = reduction_args(low, high)
    return Case(name, lambda xp, x, axis, keepdims: getattr(xp, name)(x, axis=axis, keepdims=keepdims),
                draw.map(lambda a: (a[0], _Const(a[1]), _Const(a[2]))),
                distinct if name in ("max", "min") else (lambda *a: True))


class _Const:
    """A non-array argument passed through unchanged (axis, keepdims, key...)."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"Const({self.value!r})"


def sized(template):
    """Shapes from a template of letters, each letter one drawn size."""
    letters = sorted(set("".join(template)))
    return st.lists(st.integers(1, 3), min_size=len(letters), max_size=len(letters)).map(
        lambda sizes: [tuple(dict(zip(letters, sizes))[c] for c in t) for t in template])


def arrays_of(shapes_strategy, low=-2.0, high=2.0):
    return shapes_strategy.flatmap(lambda shapes: st.tuples(*(values(s, low, high) for s in shapes)))


MATMUL_SHAPES = [("k", "k"), ("nk", "k"), ("k", "km"), ("nk", "km"), ("bnk", "km"), ("bnk", "bkm"), ("k", "bkm")]
TENSORDOT = [(("nk", "km"), 1), (("nkp", "kpm"), 2), (("pqr", "qsp"), ([1, 0], [0, 2])), (("pq", "rq"), ([1], [1]))]
KEYS = [0, -1, slice(1, None), (Ellipsis, 0), (None, slice(0, 3, 2)), np.array([0, 2, 0, 1]),
        np.array([True, False, True])]


def key_case(key):
    return Case(f"getitem[{key!r}]", lambda xp, x, k: x[k], values((3, 2)).map(lambda x: (x, _Const(key))))


CASES = [unary_case(n) for n in UNARY] + [binary_case(n) for n in BINARY] + [
    reduction_case(n) for n in ("sum", "mean", "prod", "max", "min")] + [
    Case("prod with zeros", lambda xp, x: xp.prod(x, axis=0),
         values((3, 2)).map(lambda x: (x * np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]),)),
         lambda x: False),
    Case("max with ties", lambda xp, x: xp.max(x, axis=1), st.just((np.array([[1.0, 2.0, 2.0], [3.0, 3.0, 3.0]]),)),
         lambda x: False),
    *[Case(f"matmul {a}@{b}", lambda xp, x, y: xp.matmul(x, y), arrays_of(sized((a, b))))
      for a, b in MATMUL_SHAPES],
    Case("vecdot axis=-1", lambda xp, x, y: xp.vecdot(x, y), arrays_of(sized(("nk", "k")))),
    Case("vecdot axis=0", lambda xp, x, y: xp.vecdot(x, y, axis=0), arrays_of(sized(("kn", "kn")))),
    *[Case(f"tensordot axes={axes}", lambda xp, x, y, axes=axes: xp.tensordot(x, y, axes=axes),
           arrays_of(sized(shapes))) for shapes, axes in TENSORDOT],
    Case("matrix_transpose", lambda xp, x: xp.matrix_transpose(x), arrays_of(sized(("bnm",)))),
    Case("reshape", lambda xp, x: xp.reshape(x, (3, 2)), values((2, 3)).map(lambda x: (x,))),
    Case("reshape -1", lambda xp, x: xp.reshape(x, (-1,)), values((2, 3)).map(lambda x: (x,))),
    Case("expand_dims", lambda xp, x: xp.expand_dims(x, axis=-1), values((2, 3)).map(lambda x: (x,))),
    Case("squeeze", lambda xp, x: xp.squeeze(x, axis=(0, 2)), values((1, 3, 1)).map(lambda x: (x,))),
    Case("broadcast_to", lambda xp, x: xp.broadcast_to(x, (2, 3, 4)), values((3, 1)).map(lambda x: (x,))),
    *[Case(f"stack axis={a}", lambda xp, x, y, a=a: xp.stack([x, y], axis=a), arrays_of(sized(("nm", "nm"))))
      for a in (0, 1, -1)],
    *[Case(f"concat axis={a}", lambda xp, x, y, a=a: xp.concat([x, y], axis=a), arrays_of(sized(("nm", "km"))))
      for a in (0, -2)],
    Case("concat axis=None", lambda xp, x, y: xp.concat([x, y], axis=None), arrays_of(sized(("nm", "k")))),
    *[key_case(k) for k in KEYS],
    *[Case(f"take axis={a}", lambda xp, x, k, a=a: xp.take(x, xp.asarray(k), axis=a),
           values((3, 2)).map(lambda x, a=a: (x, _Const(np.array([0, 1, 1]) if a else np.array([0, 2, 0, 1])))))
      for a in (0, -1)],
    Case("take 1-d", lambda xp, x, k: xp.take(x, xp.asarray(k)), values((4,)).map(lambda x: (x, _Const(np.array([3, 0, 0]))))),
    Case("astype", lambda xp, x: xp.astype(xp.astype(x, xp.float32), xp.float64) * 3.0,
         values((4,)).map(lambda x: (x,)), lambda x: False, rtol=1e-6),
    Case("where", lambda xp, x, y: xp.where(x > 0.3, x, y), arrays_of(sized(("nm", "m"))),
         lambda x, y: not np.any(np.isclose(x, 0.3, atol=1e-4))),
    Case("where scalar", lambda xp, x: xp.where(x < 0.0, 0.0, x), values((5,)).map(lambda x: (x,)),
         lambda x: not np.any(np.abs(x) < 1e-4)),
    Case("clip scalars", lambda xp, x: xp.clip(x, -0.5, 0.5), values((6,)).map(lambda x: (x,)),
         lambda x: not np.any(np.isclose(np.abs(x), 0.5, atol=1e-4))),
    Case("clip arrays", lambda xp, x, lo, hi: xp.clip(x, lo, hi + 1.0), arrays_of(sized(("nm", "m", "nm"))),
         lambda x, lo, hi: not np.any(np.isclose(x, lo, atol=1e-4) | np.isclose(x, hi + 1.0, atol=1e-4) | np.isclose(lo, hi + 1.0, atol=1e-4))),
    Case("clip lower only", lambda xp, x: xp.clip(x, min=0.0), values((5,)).map(lambda x: (x,)),
         lambda x: not np.any(np.abs(x) < 1e-4)),
]
COVERED = {c.name.split(" ")[0].split("[")[0] for c in CASES}


def test_rule_table_covers_the_primitives_exactly():
    assert set(VJPS) == set(PRIMITIVES)
    assert COVERED == set(PRIMITIVES), set(PRIMITIVES) ^ COVERED


def _unwrap(arrays):
    return [a.value if isinstance(a, _Const) else a for a in arrays]


def _objective(case, arrays, i, weights):
    """sum(fn(x) * weights) as a function of argument ``i`` (the others constants)."""
    def f(x):
        xp = optbench.namespace(x)
        args = [x if j == i else a for j, a in enumerate(arrays)]
        return xp.sum(case.fn(xp, *_unwrap(args)) * weights)
    return f


def _torch_grads(case, arrays, weights, order_two_direction=None):
    """torch's gradients for every array argument (and its HVP along a direction for arg 0)."""
    tensors = [a if isinstance(a, _Const) else torch.tensor(a, requires_grad=True) for a in arrays]
    traced = [t for t in tensors if not isinstance(t, _Const)]
    out = atorch.sum(case.fn(atorch, *_unwrap(tensors)) * torch.tensor(weights))
    grads = torch.autograd.grad(out, traced, create_graph=order_two_direction is not None, allow_unused=True)
    grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, traced)]
    if order_two_direction is None:
        return [g.numpy(force=True) for g in grads], None
    if not grads[0].requires_grad:
        return [g.numpy(force=True) for g in grads], np.zeros_like(arrays[0])
    (hv,) = torch.autograd.grad(grads[0], traced[0], grad_outputs=torch.tensor(order_two_direction),
                                allow_unused=True)
    return [g.numpy(force=True) for g in grads], (np.zeros_like(arrays[0]) if hv is None else hv.numpy(force=True))


def _central_differences(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = h
        grad[idx] = (float(f(x + step)) - float(f(x - step))) / (2 * h)
    return grad


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_rule_against_torch_finite_differences_and_double_backward(case, data):
    arrays = list(data.draw(case.draw))
    out = np.asarray(case.fn(anp, *_unwrap(arrays)))
    weights = np.random.default_rng(0).standard_normal(out.shape)
    direction = np.random.default_rng(1).standard_normal(np.shape(arrays[0]))
    expected, expected_hvp = _torch_grads(case, arrays, weights, direction)
    traced = [i for i, a in enumerate(arrays) if not isinstance(a, _Const)]
    for i, want in zip(traced, expected):
        f = _objective(case, arrays, i, weights)
        got = BACKEND.grad(f, arrays[i])
        np.testing.assert_allclose(got, want, rtol=case.rtol, atol=1e-12 * (1 + np.abs(want).max(initial=0)))
        if case.smooth_at(*_unwrap(arrays)):
            np.testing.assert_allclose(got, _central_differences(f, arrays[i]), rtol=1e-5, atol=1e-6)
    hvp = BACKEND.hvp(_objective(case, arrays, 0, weights), arrays[0], direction)
    np.testing.assert_allclose(hvp, expected_hvp, rtol=max(case.rtol, 1e-9), atol=1e-10)
