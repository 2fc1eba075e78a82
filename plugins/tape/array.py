"""The tape: traced arrays, the Wengert list they are recorded on, and the reverse sweep.

A :class:`Tape` is one differentiation. :meth:`Tape.watch` makes an input a
:class:`TapeArray`; every primitive applied to it appends one entry, its ``(parent index,
vjp)`` pairs, to the tape and returns a new ``TapeArray``. Entries are appended in
evaluation order, which is a topological order, so :meth:`Tape.gradient` walks the list
backwards once, in a plain loop (no recursion, no sort), accumulating adjoints.

Nesting: every tape has a level, higher for tapes started later. A primitive unboxes only the
arguments of the highest level among its arguments and records there; the values it unboxed
may themselves be arrays of an outer tape, which the recursive call records in turn
(HIPS autograd's boxes within boxes). So an inner derivative never confuses an outer
variable, and a backward sweep whose values belong to an outer tape is itself recorded.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

import array_api_compat

from optbench_plugins.ad.namespace import Operators

_levels = itertools.count(1)
_paused = 0  # depth of no_grad contexts; nothing is recorded while positive


@contextmanager
def no_grad():
    """Record nothing inside the block: primitives return plain values, as constants."""
    global _paused
    _paused += 1
    try:
        yield
    finally:
        _paused -= 1


class TapeArray(Operators):
    """An array recorded on a tape: its value and where its entry is."""

    __slots__ = ("value", "tape", "index", "_ops")

    def __init__(self, value: Any, tape: Tape, index: int):
        self.value = value
        self.tape = tape
        self.index = index
        self._ops = tape.ops

    @property
    def shape(self): return self.value.shape

    @property
    def ndim(self): return self.value.ndim

    @property
    def dtype(self): return self.value.dtype

    @property
    def device(self): return array_api_compat.device(self._strip())

    @property
    def size(self): return array_api_compat.size(self._strip())

    def _strip(self):
        return strip(self)

    def __repr__(self) -> str:
        return f"TapeArray(level={self.tape.level}, node={self.index}, value={self._strip()!r})"


def strip(x: Any) -> Any:
    """The innermost storage value of ``x`` (``x`` itself when it is not traced)."""
    while type(x) is TapeArray:
        x = x.value
    return x


class Tape:
    """One differentiation's Wengert list; ``ops`` is the namespace its arrays answer to.

    Each entry is a tuple of ``(parent index, vjp)`` pairs, one per differentiated argument,
    the VJP closures being those the rules made when the primitive was recorded. With
    ``inspect``, the primitive's name, result, arguments and parents are kept too
    (``details``), for the trace and the graph.
    """

    __slots__ = ("level", "nodes", "ops", "details")

    def __init__(self, ops: Any, inspect: bool = False):
        self.level = next(_levels)
        self.nodes: list | None = []
        self.ops = ops
        self.details: dict | None = {} if inspect else None

    def watch(self, value: Any) -> TapeArray:
        """``value`` as an input of this tape (an entry with no parents)."""
        self.nodes.append(None)
        return TapeArray(value, self, len(self.nodes) - 1)

    def append(self, entry: tuple, ans: Any) -> TapeArray:
        """Append a primitive's ``entry`` (its ``(parent index, vjp)`` pairs); box its result."""
        nodes = self.nodes
        nodes.append(entry)
        return TapeArray(ans, self, len(nodes) - 1)

    def describe(self, out: TapeArray, name: str, args: tuple, argnums: tuple) -> None:
        """Keep what the trace and the graph show of ``out``'s primitive, whose parents are its
        arguments at positions ``argnums`` (inspecting tapes only)."""
        parents = tuple(zip(argnums, (i for i, _ in self.nodes[out.index])))
        self.details[out.index] = (name, out.value, args, parents)

    def gradient(self, output: Any, inputs: Sequence[TapeArray], seed: Any = None,
                 keep: bool = False) -> list:
        """Adjoints of ``inputs`` for the cotangent ``seed`` of ``output`` (default: ones).

        The tape is freed afterwards (entries dropped as the sweep passes them, so memory
        falls as it goes) unless ``keep`` is true, which allows another sweep.
        """
        if self.nodes is None:
            raise RuntimeError("this tape was freed by an earlier gradient(); pass keep=True to sweep twice")
        if seed is None:
            seed = self.ops.ones_like(output)
        if not (type(output) is TapeArray and output.tape is self):
            zeros = [self.ops.zeros_like(x) for x in inputs]
            if not keep:
                self.nodes = None
            return zeros
        adjoints = self.sweep(output.index, seed, keep)
        return [adjoints[x.index] if adjoints[x.index] is not None else self.ops.zeros_like(x)
                for x in inputs]

    def sweep(self, start: int, seed: Any, keep: bool) -> list:
        """The reverse sweep from entry ``start``: the list of adjoints, ``None`` where zero."""
        nodes = self.nodes
        adjoints = [None] * len(nodes)
        adjoints[start] = seed
        for i in range(start, -1, -1):
            g = adjoints[i]
            entry = nodes[i]
            if g is None or entry is None:
                continue
            if not keep:
                nodes[i] = adjoints[i] = None
            for p, vjp in entry:
                old = adjoints[p]
                # one expression, so that NumPy may add into the contribution's own buffer
                # (temporary elision: it does so only when nothing else refers to it)
                adjoints[p] = vjp(g) if old is None else old + vjp(g)
        if not keep:
            self.nodes = None
        return adjoints


# ---- recording primitives ---------------------------------------------------------------------
# ``fn`` computes the value on untraced arguments; ``makers[i](ops, ans, *args, **kwargs)``
# makes the vector-Jacobian product for argument i (see :mod:`.rules`). Elementwise, binary
# and reduction primitives are nearly every call, so each signature has its own flat
# dispatcher without ``*args``/``**kwargs`` packing (a small gradient is mostly this Python:
# about 1 us per primitive) and appends its entry itself, as ``Tape.append`` does, saving a
# call; the rest go through ``unary`` or the general ``traced``.

def elementwise(name: str, fn: Callable, makers: Any) -> Callable:
    """A primitive of one array and no parameters (``sin``, ``exp``...)."""
    (make,) = makers

    def op(x, /):
        if type(x) is not TapeArray:
            return fn(x)
        v, tape = x.value, x.tape
        ans = op(v) if type(v) is TapeArray else fn(v)
        nodes = tape.nodes
        if _paused or nodes is None:
            return ans
        nodes.append(((x.index, make(tape.ops, ans, v)),))
        out = TapeArray(ans, tape, len(nodes) - 1)
        if tape.details is not None:
            tape.describe(out, name, (v,), (0,))
        return out
    return op


def reduction(name: str, fn: Callable, makers: Any) -> Callable:
    """A reduction ``(x, /, *, axis=None, keepdims=False)``: ``sum``, ``mean``, ``max``..."""
    (make,) = makers

    def op(x, /, *, axis=None, keepdims=False):
        if type(x) is not TapeArray:
            return fn(x, axis=axis, keepdims=keepdims)
        v, tape = x.value, x.tape
        if type(v) is TapeArray:
            ans = op(v, axis=axis, keepdims=keepdims)
        else:
            ans = fn(v, axis=axis, keepdims=keepdims)
        nodes = tape.nodes
        if _paused or nodes is None:
            return ans
        nodes.append(((x.index, make(tape.ops, ans, v, axis, keepdims)),))
        out = TapeArray(ans, tape, len(nodes) - 1)
        if tape.details is not None:
            tape.describe(out, name, (v,), (0,))
        return out
    return op


def unary(name: str, fn: Callable, makers: Any) -> Callable:
    """A primitive differentiable in its first argument (any others are constants)."""
    (make,) = makers

    def op(x, /, *args, **kwargs):
        if type(x) is not TapeArray:
            return fn(x, *args, **kwargs)
        v, tape = x.value, x.tape
        ans = op(v, *args, **kwargs) if type(v) is TapeArray else fn(v, *args, **kwargs)
        if _paused or tape.nodes is None:
            return ans
        out = tape.append(((x.index, make(tape.ops, ans, v, *args, **kwargs)),), ans)
        if tape.details is not None:
            tape.describe(out, name, (v, *args), (0,))
        return out
    return op


def binary(name: str, fn: Callable, makers: Any, fit: Callable | None = None) -> Callable:
    """A primitive differentiable in its two arguments (``multiply``, ``matmul``...); for a
    broadcasting one, ``fit(xp, vjp, shape)`` sums a VJP down to the shape of an argument
    that was broadcast."""
    make_x, make_y = makers

    def op(x, y, /):
        tx = x.tape if type(x) is TapeArray else None
        ty = y.tape if type(y) is TapeArray else None
        if tx is ty:
            if tx is None:
                return fn(x, y)
            tape, i, j, x, y = tx, x.index, y.index, x.value, y.value
        elif ty is None or (tx is not None and tx.level > ty.level):
            tape, i, j, x = tx, x.index, None, x.value
        else:
            tape, i, j, y = ty, None, y.index, y.value
        ans = op(x, y) if type(x) is TapeArray or type(y) is TapeArray else fn(x, y)
        nodes = tape.nodes
        if _paused or nodes is None:
            return ans
        ops, entry, shape = tape.ops, (), ans.shape if fit is not None else None
        if i is not None:
            vjp = make_x(ops, ans, x, y)
            if shape is not None and x.shape != shape:
                vjp = fit(ops, vjp, x.shape)
            entry = ((i, vjp),)
        if j is not None:
            vjp = make_y(ops, ans, x, y)
            if shape is not None and y.shape != shape:
                vjp = fit(ops, vjp, y.shape)
            entry += ((j, vjp),)
        nodes.append(entry)
        out = TapeArray(ans, tape, len(nodes) - 1)
        if tape.details is not None:
            tape.describe(out, name, (x, y), tuple(a for a, k in ((0, i), (1, j)) if k is not None))
        return out
    return op


def traced(name: str, fn: Callable, makers: Any, args: tuple, kwargs: dict, diff: Sequence[int]) -> Any:
    """Apply ``fn(*args, **kwargs)``, recording it for the arguments at positions ``diff``."""
    tape = None
    for i in diff:
        a = args[i]
        if type(a) is TapeArray and (tape is None or a.tape.level > tape.level):
            tape = a.tape
    if tape is None:
        return fn(*args, **kwargs)
    values, parents, nested = list(args), [], False
    for i in diff:
        a = args[i]
        if type(a) is TapeArray and a.tape is tape:
            values[i] = a = a.value
            parents.append((i, args[i].index))
        nested = nested or type(a) is TapeArray
    values = tuple(values)
    ans = traced(name, fn, makers, values, kwargs, diff) if nested else fn(*values, **kwargs)
    if _paused or tape.nodes is None:
        return ans
    out = tape.append(tuple((i, makers[a](tape.ops, ans, *values, **kwargs)) for a, i in parents), ans)
    if tape.details is not None:
        tape.describe(out, name, values, tuple(a for a, _ in parents))
    return out
