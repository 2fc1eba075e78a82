"""The ``dual`` backend: forward mode with vectorised, tagged dual numbers in chunks.

One pass of ``f`` carries ``k`` tangent directions at once, so the gradient of f: R^n -> R
takes ceil(n/k) passes (ForwardDiff.jl's chunk mode). Second derivatives nest duals:
``hvp`` and ``hessian`` differentiate the gradient forward again under a newer tag.
"""
from __future__ import annotations

import functools
import importlib
import math
import sys

import array_api_compat
import numpy as np

from optbench import Backend, Capabilities
from optbench_plugins.ad.compiled import Compiled, too_many_passes

from .array import Dual, differentiating, split, strip
from .namespace import namespace_for, storage_namespace

# Most tangent entries one chunk may carry per input-sized intermediate: 2**18 float64 values
# (2 MiB). Below that a single pass covers all inputs; above it chunks shrink to keep memory
# O(k * size of the largest intermediate), but never below MIN_CHUNK directions.
CHUNK_BUDGET = 2**18
MIN_CHUNK = 8


@functools.cache
def _storage(name: str):
    """The Array API namespace of a storage kind, imported when first asked for (torch's costs
    ~1 s, array_api_compat.numpy's 0.1 s: listing plugins pays for neither)."""
    return importlib.import_module(f"array_api_compat.{name}")


def default_chunk(n: int, width: int) -> int:
    """Directions per pass for ``n`` inputs whose dual input holds ``width`` values per direction."""
    most = max(MIN_CHUNK, CHUNK_BUDGET // max(width, 1))
    passes = math.ceil(n / most)
    return math.ceil(n / passes) if n else 1  # equal chunks, as ForwardDiff.jl picks them


def _width(x) -> int:
    """How many storage values ``x`` holds, counting the tangents of outer differentiations."""
    if type(x) is Dual:
        return _width(x.primal) + _width(x.tangent)
    return math.prod(x.shape)


class DualBackend(Backend):
    """Forward-mode AD with vectorised dual numbers (chunk mode, tags, nesting), numpy or torch storage."""

    name = "dual"
    description = "forward mode: vectorised tagged dual numbers in chunks (ForwardDiff.jl style)"
    capabilities = Capabilities(devices=("cpu", "cuda"), dtypes=("float32", "float64"), max_order=2,
                                torch_conventions=True)

    def __init__(self, storage: str = "numpy", chunk: int | None = None):
        if storage not in ("numpy", "torch"):
            raise ValueError(f"storage must be 'numpy' or 'torch', got {storage!r}")
        if chunk is not None and chunk < 1:
            raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
        self.storage, self.chunk = storage, chunk

    def chunk_size(self, x) -> int:
        """The directions carried per pass when differentiating at ``x``."""
        n = math.prod(x.shape)
        return min(self.chunk, n) if self.chunk else default_chunk(n, _width(x))

    # ---- derivatives -------------------------------------------------------------------------
    def value_and_grad(self, f, x):
        x = self.asarray(x)
        with differentiating() as tag:
            value, parts = None, []
            for seed in self._seeds(x):
                y, t = split(f(Dual(x, seed, tag, _ops(x))), tag)
                if y.ndim != 0:
                    raise ValueError(f"value_and_grad needs a scalar-valued function, got shape {tuple(y.shape)}")
                value = y
                parts.append(t if t is not None else _xp(x).zeros(seed.shape[0], dtype=x.dtype, device=x.device))
        return value, self._assemble(parts, x)

    def jvp(self, f, x, v):
        x = self.asarray(x)
        v = self.asarray(v)
        xp = _ops(x)
        with differentiating() as tag:
            y, t = split(f(Dual(x, xp.reshape(v, (1,) + tuple(x.shape)), tag, xp)), tag)
        return xp.zeros_like(y) if t is None else t[0]

    def jacobian(self, f, x):
        x = self.asarray(x)
        xp = _ops(x)
        with differentiating() as tag:
            parts = []
            for seed in self._seeds(x):
                y, t = split(f(Dual(x, seed, tag, xp)), tag)
                k = seed.shape[0]
                parts.append(xp.broadcast_to(xp.zeros_like(y), (k,) + tuple(y.shape)) if t is None else t)
        n, out = math.prod(x.shape), tuple(y.shape)
        stacked = xp.reshape(xp.concat(parts, axis=0), (n, math.prod(out)))
        return xp.reshape(xp.matrix_transpose(stacked), out + tuple(x.shape))

    def vjp(self, f, x, u):
        """``u^T J``, built from the full Jacobian (ceil(n/k) forward passes): forward mode has no
        cheaper route to a vector-Jacobian product."""
        jac = self.jacobian(f, x)
        u = self.asarray(u)
        return _ops(jac).tensordot(u, jac, axes=u.ndim)

    def hvp(self, f, x, v):
        """``∇²f(x) v`` forward-over-forward: the JVP of the chunked gradient along ``v``."""
        return self.jvp(lambda z: self.grad(f, z), x, v)

    def hessian(self, f, x):
        """``∇²f(x)`` as the chunked Jacobian of the chunked gradient (nested duals)."""
        return self.jacobian(lambda z: self.grad(f, z), x)

    def trace(self, f, x, v=None):
        from .trace import forward_trace

        return forward_trace(self, f, x, v)

    # ---- chunks ------------------------------------------------------------------------------------
    def _seeds(self, x):
        """The seed tangents, one chunk of basis directions at a time, shaped ``(k,) + x.shape``."""
        n, k = math.prod(x.shape), self.chunk_size(x)
        xp, dtype, device = _xp(x), x.dtype, x.device
        if k == n and xp is _storage("numpy"):
            yield _numpy_basis(n, tuple(x.shape), dtype)
            return
        columns = xp.arange(n, device=device)
        for start in range(0, n, k):
            rows = xp.arange(start, min(start + k, n), device=device)
            basis = xp.astype(xp.reshape(rows, (-1, 1)) == columns, dtype)
            yield xp.reshape(basis, (basis.shape[0],) + tuple(x.shape))

    @staticmethod
    def _assemble(parts, x):
        """Gradient chunks (each of shape ``(k,)``) joined and shaped like ``x``."""
        xp = _ops(x)
        flat = parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)
        return flat if x.ndim == 1 else xp.reshape(flat, tuple(x.shape))

    # ---- arrays and devices ------------------------------------------------------------------
    def asarray(self, data, dtype=None, device=None):
        if type(data) is Dual:
            return data if dtype is None else data._ops.astype(data, dtype)
        if type(data) is np.ndarray and self.storage == "numpy" and device is None and (
                dtype is None and data.dtype.kind == "f" or dtype == data.dtype.name):
            return data  # the optimizers' hot path: already a numpy float array
        on_torch = self.storage == "torch" or _is_torch(data) or str(device).startswith("cuda")
        xp = _storage("torch" if on_torch else "numpy")
        if dtype is None and not _is_float(data):
            dtype = "float64"
        return xp.asarray(data, dtype=None if dtype is None else getattr(xp, dtype), device=device)

    def to_numpy(self, a):
        a = strip(a)
        if _is_torch(a):
            return a.detach().cpu().numpy()
        return np.asarray(a)

    def devices(self):
        import torch

        return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]

    def synchronize(self, device=None):
        if _cuda_count() and (device is None or str(device).startswith("cuda")):
            import torch

            torch.cuda.synchronize(device)


@functools.lru_cache(maxsize=64)
def _numpy_basis(n: int, shape: tuple, dtype) -> np.ndarray:
    """The identity seed of a one-pass gradient, read-only so that sharing it is safe."""
    basis = np.eye(n, dtype=dtype).reshape((n,) + shape)
    basis.setflags(write=False)
    return basis


def _xp(x):
    """The storage namespace of ``x`` (duals included)."""
    return storage_namespace(x)


def _ops(x):
    """The dual namespace for arrays stored like ``x`` (an existing dual keeps its own)."""
    if type(x) is Dual:
        return x._ops
    return namespace_for(storage_namespace(x))


def _is_torch(a) -> bool:
    return array_api_compat.is_torch_array(a)


def _is_float(data) -> bool:
    dtype = getattr(data, "dtype", None)
    if dtype is None:
        return False
    return getattr(dtype, "kind", None) == "f" or getattr(dtype, "is_floating_point", False)


def _cuda_count() -> int:
    # torch not imported yet means no CUDA work was queued through it
    torch = sys.modules.get("torch")
    return torch.cuda.device_count() if torch is not None and torch.cuda.is_available() else 0


class CompiledDualBackend(Compiled, DualBackend):
    """The dual engine's tangent passes captured once per input shape and replayed compiled."""

    name = "dual_compiled"
    description = "optbench's forward-mode engine, its tangent passes compiled by TorchInductor"

    def _too_large(self, method, f, args):
        """Everything but ``jvp`` makes one pass per chunk of inputs (twice nested for Hessians)."""
        if method in ("value", "jvp"):
            return None
        x = args[0]
        passes = math.ceil(math.prod(x.shape) / self.chunk_size(x))
        return too_many_passes(passes ** 2 if method == "hessian" else passes, "chunk passes")
