"""The Euclidean norm of an iterate or gradient as a float: one pass, and no overflow.

``sqrt(a @ a)`` is one inner product, which every Array API library computes with its
fastest kernel (a BLAS ``dot`` on CPUs), on the array's own device: the trace's norms cost
one pass over the gradient and no copy to the host. Where the sum of squares leaves the
range in which it is exact (it overflows beyond ~1e154 per entry in float64, or its squares
fall below the normal numbers), the norm is taken of the array scaled by its largest entry
instead, as BLAS ``nrm2`` does; so no finite gradient ever reads as an infinite norm.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .objective import namespace


def euclidean_norm(like: Any) -> Callable[[Any], float]:
    """``|a|`` as a float, for arrays ``a`` of ``like``'s namespace and dtype."""
    xp = namespace(like)
    info = xp.finfo(like.dtype)
    # from here up the squares that fell below the normal numbers cannot matter: their
    # error, at most n * smallest_normal * eps, is below eps relative to the sum
    exact_from = float(info.smallest_normal) / float(info.eps)

    def norm(a) -> float:
        squares = float(a @ a)
        if exact_from <= squares < math.inf:
            return math.sqrt(squares)
        return scaled_norm(xp, a)

    return norm


def scaled_norm(xp, a) -> float:
    """``|a|`` computed as ``m |a / m|`` with ``m = max |a_i|``: no overflow, no underflow."""
    largest = float(xp.max(xp.abs(a)))
    if not 0.0 < largest < math.inf:  # zero, or an infinite or NaN entry: that is the norm
        return largest
    scaled = a / largest
    return largest * math.sqrt(float(scaled @ scaled))
