"""The engines' fast NumPy storage gives array_api_compat.numpy's results, bit for bit."""
from __future__ import annotations

import array_api_compat.numpy as cnp
import numpy as np
import pytest

from optbench_plugins.ad.storage import engine_storage, fast_numpy

FAST = fast_numpy()
RNG = np.random.default_rng(0)
ARRAYS = [RNG.standard_normal(()), RNG.standard_normal(7), RNG.standard_normal((3, 4, 5)),
          RNG.standard_normal((3, 4)).astype(np.float32), np.float64(2.5)]
AXES = [None, 0, -1, (0, 1)]


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize("name", ["sum", "mean"])
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("x", ARRAYS, ids=lambda x: f"{x.dtype}{x.shape}")
def test_reductions_match(name, axis, keepdims, x):
    if axis is not None and any(not -x.ndim <= a < x.ndim for a in np.atleast_1d(axis)):
        pytest.skip("axis out of range for this array")
    expected = getattr(cnp, name)(x, axis=axis, keepdims=keepdims)
    assert same(getattr(FAST, name)(x, axis=axis, keepdims=keepdims), expected)


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1, 2.0, np.float64(2.0)])
@pytest.mark.parametrize("x", ARRAYS[:4], ids=lambda x: f"{x.dtype}{x.shape}")
def test_pow_matches(exponent, x):
    x = np.abs(x) + 0.5
    assert same(FAST.pow(x, exponent), cnp.pow(x, exponent))


@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 4), (100, 100)])
def test_broadcast_reshape_transpose_ones_match(shape):
    x = RNG.standard_normal(shape[-1:])
    assert same(FAST.broadcast_to(x, shape), cnp.broadcast_to(x, shape))
    assert same(FAST.broadcast_to(np.float64(1.5), shape), cnp.broadcast_to(np.float64(1.5), shape))
    y = RNG.standard_normal(shape)
    assert same(FAST.reshape(y, (-1,)), cnp.reshape(y, (-1,)))
    assert same(FAST.ones_like(y), cnp.ones_like(y))
    assert same(FAST.ones_like(np.float32(1.0)), cnp.ones_like(np.float32(1.0)))
    if len(shape) >= 2:
        assert same(FAST.matrix_transpose(y), cnp.matrix_transpose(y))
        assert same(FAST.matmul(y, y.mT), cnp.matmul(y, y.mT))


def test_numpy_storage_is_fast_and_torch_storage_traceable():
    import array_api_compat.torch as ctorch
    import torch
    from torch.fx.experimental.proxy_tensor import make_fx

    assert engine_storage(cnp) is FAST and FAST.exp is cnp.exp and FAST.float64 is cnp.float64
    storage = engine_storage(ctorch)
    assert storage.exp is ctorch.exp and storage is engine_storage(ctorch)
    x = torch.tensor([-2.0, 0.0, float("nan"), 3.0])
    torch.testing.assert_close(storage.sign(x), ctorch.sign(x), equal_nan=True)
    make_fx(storage.sign)(x)  # array_api_compat's own sign reads values through a boolean mask
