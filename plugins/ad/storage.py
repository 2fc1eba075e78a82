"""The storage namespaces the native engines compute in: array_api_compat's, with NumPy fast paths.

Each primitive the engines record calls a few storage functions, so at small sizes the
Python-level argument handling of ``np.sum``, ``np.mean``, ``np.broadcast_to`` or
array_api_compat's wrappers costs more than the arithmetic (``np.sum`` 2 us against
``np.add.reduce`` 0.8 us on a 1-element array). :func:`fast_numpy` swaps those for direct
NumPy calls with the same results; every other name is array_api_compat.numpy's.
"""
from __future__ import annotations

import math
import types
from functools import cache


def engine_storage(sxp):
    """The namespace an engine computes in for the storage namespace ``sxp``."""
    import array_api_compat.numpy

    if sxp is array_api_compat.numpy:
        return fast_numpy()
    if sxp.__name__ == "array_api_compat.torch":
        return traceable_torch()
    return sxp


@cache
def traceable_torch() -> types.ModuleType:
    """array_api_compat.torch with its value-dependent functions written as pure array operations.

    array_api_compat's ``sign`` patches NaNs in with a boolean-mask assignment, which reads
    array values: neither a compiled engine's capture nor a CUDA stream can follow that.
    """
    import array_api_compat.torch as ctorch
    import torch

    def sign(x, /):
        if x.dtype.is_complex:
            return ctorch.sign(x)
        return torch.where(torch.isnan(x), x, torch.sign(x))

    ns = types.ModuleType("optbench_plugins.ad.traceable_torch", traceable_torch.__doc__)
    ns.__dict__.update({name: value for name, value in vars(ctorch).items() if not name.startswith("__")})
    ns.__dict__.update(sign=sign)
    return ns


@cache
def fast_numpy() -> types.ModuleType:
    """array_api_compat.numpy with the engines' per-primitive functions called directly."""
    import array_api_compat.numpy as cnp
    import numpy as np

    def sum(x, /, *, axis=None, keepdims=False, dtype=None):
        return np.add.reduce(x, axis=axis, keepdims=keepdims, dtype=dtype)

    def mean(x, /, *, axis=None, keepdims=False):
        if not (type(x) is np.ndarray and x.dtype.char in "fd" and x.size):
            return cnp.mean(x, axis=axis, keepdims=keepdims)
        total = np.add.reduce(x, axis=axis, keepdims=keepdims)
        return total / (x.size // total.size)  # what np.mean computes, without its checks

    def broadcast_to(x, /, shape):
        if math.prod(shape) > 4096:  # past a few pages a read-only view beats writing a copy
            return np.broadcast_to(x, shape)
        out = np.empty(shape, dtype=x.dtype if isinstance(x, (np.ndarray, np.generic)) else np.result_type(x))
        out[...] = x
        return out

    def reshape(x, /, shape, *, copy=None):
        return x.reshape(shape) if type(x) is np.ndarray and copy is None else cnp.reshape(x, shape, copy=copy)

    def pow(x1, x2, /):
        # an array to a Python number takes ndarray's own fast powers (x**2 is np.square, at
        # half np.power's cost), as `x ** 2` on plain NumPy arrays does
        return x1 ** x2 if type(x1) is np.ndarray and type(x2) in (int, float) else np.power(x1, x2)

    def matrix_transpose(x, /):
        return x.mT if type(x) is np.ndarray else cnp.matrix_transpose(x)

    def ones_like(x, /, *, dtype=None, device=None):
        if not isinstance(x, (np.ndarray, np.generic)):  # a reduction's result is a NumPy scalar
            return cnp.ones_like(x, dtype=dtype, device=device)
        if not x.shape:  # the seed of a scalar output: np.array builds it 3x faster than np.ones
            return np.array(1, dtype=dtype or x.dtype)
        out = np.empty(x.shape, dtype=dtype or x.dtype)
        out.fill(1)
        return out

    ns = types.ModuleType("optbench_plugins.ad.fast_numpy", fast_numpy.__doc__)
    ns.__dict__.update({name: value for name, value in vars(cnp).items() if not name.startswith("__")})
    ns.__dict__.update(sum=sum, mean=mean, broadcast_to=broadcast_to, reshape=reshape, pow=pow,
                       matmul=np.matmul, matrix_transpose=matrix_transpose, ones_like=ones_like)
    return ns
