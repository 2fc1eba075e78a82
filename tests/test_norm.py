"""The trace's Euclidean norm: one inner product where that is exact, scaled where it is not."""
from __future__ import annotations

import math

import array_api_strict
import numpy as np
import pytest
import torch

from optbench.norm import euclidean_norm

RNG = np.random.default_rng(0)
VALUES = RNG.standard_normal(1000)


@pytest.mark.filterwarnings("ignore:overflow encountered")  # NumPy's, from the sum of squares that is then not used
@pytest.mark.parametrize("make", [np.asarray, torch.from_numpy, array_api_strict.asarray], ids=["numpy", "torch", "strict"])
@pytest.mark.parametrize("scale", [1.0, 1e-200, 1e200, 1e-310, 0.0], ids=["plain", "tiny", "huge", "subnormal", "zero"])
def test_the_norm_is_exact_at_every_scale_without_overflow_or_underflow(make, scale):
    a = make(VALUES * scale)
    expected = float(np.linalg.norm(VALUES)) * scale  # |s v| = s |v|, in exact arithmetic
    assert euclidean_norm(a)(a) == pytest.approx(expected, rel=1e-13 if scale > 1e-300 else 1e-6, abs=0.0)


def test_a_nan_or_infinite_entry_is_the_norm():
    a = torch.tensor([1.0, math.inf, 2.0], dtype=torch.float64)
    norm = euclidean_norm(a)
    assert norm(a) == math.inf
    assert math.isnan(norm(torch.tensor([1.0, math.nan, 1e200], dtype=torch.float64)))


def test_float32_keeps_its_own_range():
    a = torch.tensor([3e30, 4e30], dtype=torch.float32)  # the squares overflow float32
    assert euclidean_norm(a)(a) == pytest.approx(5e30, rel=1e-6)
    b = torch.tensor([3e-30, 4e-30], dtype=torch.float32)  # the squares underflow float32
    assert euclidean_norm(b)(b) == pytest.approx(5e-30, rel=1e-6)
