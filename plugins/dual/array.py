"""The tagged dual array: a primal array and k tangent directions carried through together.

Layout: ``tangent.shape == (k,) + primal.shape`` (the k directions lead, so a primal-shaped
derivative multiplies all k directions by plain broadcasting and negative axes mean the same
in both). Nesting follows ForwardDiff.jl: the primal and tangent of a dual may themselves be
duals of an *older* tag, so the newest differentiation always wraps outermost. Each
differentiation opens a fresh tag (:func:`differentiating`); a dual whose differentiation has
finished and turns up again is an error, so nested derivatives are never confused.
"""
from __future__ import annotations

import itertools
import math
import threading

import array_api_compat

from optbench_plugins.ad.namespace import Operators

_tags = itertools.count(1)
_local = threading.local()


class TagError(ValueError):
    """Dual numbers of a differentiation that has already finished were mixed in again."""


def _active() -> set:
    if not hasattr(_local, "active"):
        _local.active = set()
    return _local.active


class differentiating:
    """Open a new tag for one differentiation (``with differentiating() as tag``), active until
    the block ends; a class rather than a generator, as it runs on every derivative call."""

    __slots__ = ("tag",)

    def __enter__(self) -> int:
        self.tag = next(_tags)
        _active().add(self.tag)
        return self.tag

    def __exit__(self, *exc) -> None:
        _active().discard(self.tag)


def check_active(*tags: int) -> None:
    """Raise :class:`TagError` unless every tag belongs to a differentiation still running."""
    active = _active()
    for tag in tags:
        if tag not in active:
            raise TagError(f"a dual number of the finished differentiation with tag {tag} was used "
                           f"again (perturbation confusion): derivatives must not leak out of the "
                           f"function being differentiated")


class Dual(Operators):
    """A primal array with ``k`` tangent directions (leading axis) for the differentiation ``tag``."""

    __slots__ = ("primal", "tangent", "tag", "_ops")

    def __init__(self, primal, tangent, tag: int, ops):
        self.primal = primal
        self.tangent = tangent
        self.tag = tag
        self._ops = ops

    @property
    def shape(self):
        return self.primal.shape

    @property
    def ndim(self) -> int:
        return self.primal.ndim

    @property
    def size(self) -> int:
        return math.prod(self.primal.shape)

    @property
    def dtype(self):
        return self.primal.dtype

    @property
    def device(self):
        return array_api_compat.device(self._strip())

    def _strip(self):
        return strip(self)

    def __repr__(self) -> str:
        return f"Dual(tag={self.tag}, primal={self.primal!r}, tangent={self.tangent!r})"


def strip(x):
    """The innermost storage array (or scalar) of ``x``."""
    while type(x) is Dual:
        x = x.primal
    return x


def split(y, tag: int):
    """``(primal, tangent)`` of ``y`` for the differentiation ``tag``; tangent None if constant."""
    if type(y) is Dual:
        if y.tag == tag:
            return y.primal, y.tangent
        if y.tag > tag:
            check_active(y.tag)
    return y, None
