"""The ``jax`` backend: JAX's transformations, jit-compiled and cached per function and kind.

float64 without touching JAX's global configuration: each method given float64 input runs in
``jax.enable_x64(True)``, a thread-local context, and :meth:`JaxBackend.scope` holds it for a
whole float64 run, so the optimizer's own arithmetic stays float64 too. Code outside keeps
whatever JAX is configured with. Arrays go where ``device`` says, the CPU by default (as with
torch), whatever JAX's default device is. Derivatives nest: a method called while another is
evaluating ``f`` uses the plain transformation, which the outer one traces or compiles.
"""
from __future__ import annotations

import contextlib
import os
import threading
import weakref
from typing import Any

import numpy as np

from optbench import Backend, Capabilities, CapabilityError

_DTYPES = {"float32": np.float32, "float64": np.float64}
_FLOAT64 = np.dtype(np.float64)
# imported by the first JaxBackend, so listing plugins does not pay for importing JAX
jax: Any = None
jnp: Any = None
TRANSFORMS: dict = {}
UNTRACEABLE: tuple = ()
# the concrete array class, checked before the slower isinstance(x, jax.Array); learnt from the
# first array made, since making one earlier would start JAX's backends before set_threads
_ARRAY: Any = None
_compiled: Any = None  # shared by every instance: compiled code lives as long as its objective
evaluating: Any = None


def _import_jax() -> None:
    global jax, jnp, TRANSFORMS, UNTRACEABLE, _compiled, evaluating
    if _compiled is None:
        import jax
        import jax.numpy as jnp

        from . import compiled

        TRANSFORMS, UNTRACEABLE, evaluating = compiled.TRANSFORMS, compiled.UNTRACEABLE, compiled.evaluating
        _compiled = compiled.Compiled()


class _Scope(threading.local):
    x64 = False  # inside scope("float64") now, in this thread


_scope = _Scope()


def _x64(dtype) -> contextlib.AbstractContextManager:
    """64-bit floats for this thread while float64 work runs, when they are not on already."""
    if dtype == np.float64 and not jax.config.jax_enable_x64:
        return jax.enable_x64(True)
    return contextlib.nullcontext()


@contextlib.contextmanager
def _float64_scope():
    outer, _scope.x64 = _scope.x64, True
    try:
        with _x64(np.float64):
            yield
    finally:
        _scope.x64 = outer


class JaxBackend(Backend):
    """JAX (jax.grad, jvp, vjp, hessian), jit-compiled per objective; CPU and CUDA."""

    name = "jax"
    # JAX differs from torch at kinks: abs'(0) = 1, clip's bounds get 1/2, vector_norm'(0) = nan
    capabilities = Capabilities(devices=("cpu", "cuda"), dtypes=("float32", "float64"), max_order=2,
                                torch_conventions=False)

    def __init__(self):
        _import_jax()
        self._pending = None  # the latest result, which synchronize waits for

    # ---- arrays and devices ----------------------------------------------------------------------
    def asarray(self, data, dtype=None, device=None):
        if isinstance(data, jax.Array) and dtype is None and device is None and jnp.issubdtype(data.dtype, jnp.floating):
            return data
        host = np.asarray(jax.device_get(data) if isinstance(data, jax.Array) else data)
        dt = _DTYPES[dtype] if dtype is not None else (host.dtype if host.dtype.kind == "f" else np.float64)
        global _ARRAY
        with _x64(dt):
            array = jax.device_put(host.astype(dt, copy=False), self._device(device))
        _ARRAY = type(array)
        return array

    def to_numpy(self, a):
        return np.asarray(jax.device_get(a))

    def devices(self):
        return ["cpu"] + [f"cuda:{i}" for i in range(len(_gpus()))]

    def _device(self, device):
        kind, _, index = str(device or "cpu").partition(":")
        if kind == "cpu":
            return jax.devices("cpu")[0]
        gpus = _gpus()
        if kind != "cuda" or int(index or 0) >= len(gpus):
            raise CapabilityError(f"device {device!r} is not available for backend 'jax' on this machine")
        return gpus[int(index or 0)]

    def synchronize(self, device=None):
        pending, self._pending = self._pending, None
        if pending is not None:
            jax.block_until_ready(pending)

    def scope(self, dtype, device=None):
        return _float64_scope() if dtype == "float64" else contextlib.nullcontext()

    def set_threads(self, threads):
        """XLA sizes its CPU thread pools when JAX first starts a backend: set the flags then."""
        flags = f"--xla_cpu_multi_thread_eigen={'false' if threads == 1 else 'true'} " \
                f"intra_op_parallelism_threads={threads}"
        if _backends_started():
            return threads if flags in os.environ.get("XLA_FLAGS", "") else None
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()
        return threads

    # ---- evaluation and derivatives ---------------------------------------------------------------
    def eager_reasons(self, f) -> dict[str, str]:
        """Why kinds of ``f`` run eagerly instead of compiled (kind -> reason); empty when none do."""
        return dict(_compiled.eager.get(f, {}))


def _method(kind: str, doc: str):
    """The backend method for ``kind``: the compiled transformation of ``f`` applied to ``x``.

    Written as one function with the cache's fast path inline: at n = 1 a compiled call takes
    ~5 us, so every Python call layer on the way shows in the overhead against raw ``jax.jit``.
    """
    # this kind's latest function (weakly) and its compiled code, one tuple so threads see pairs
    last = ((lambda: None), None)

    def method(self, f, x, *vectors):
        nonlocal last
        if type(x) is not _ARRAY and not isinstance(x, jax.Array):  # tracers are jax.Arrays too
            x = self.asarray(x)
        if not _scope.x64 and x.dtype == _FLOAT64:  # a one-off call outside a float64 scope
            with _float64_scope():
                return method(self, f, x, *vectors)
        if vectors:
            vectors = tuple(jnp.asarray(v, dtype=x.dtype) for v in vectors)
        if evaluating.depth:  # inside another method's f: the outer one traces this too
            return TRANSFORMS[kind](f)(x, *vectors)
        ref, function = last
        if ref() is not f:
            function = _compiled.get(kind, f)
            last = (_weak(f), function)
        try:
            out = function(x, *vectors)
        except UNTRACEABLE as exc:
            function = _compiled.fall_back(kind, f, exc)
            last = (_weak(f), function)
            out = function(x, *vectors)
        self._pending = out
        return out

    method.__name__ = method.__qualname__ = kind
    method.__doc__ = doc
    return method


for _kind in ("value", "value_and_grad", "grad", "jvp", "vjp", "hvp", "hessian", "jacobian"):
    setattr(JaxBackend, _kind, _method(_kind, getattr(Backend, _kind).__doc__))


def _weak(f) -> Any:
    """A weak reference to ``f``, or a dead one when ``f`` cannot be weakly referenced."""
    try:
        return weakref.ref(f)
    except TypeError:
        return lambda: None


def _gpus() -> list:
    try:
        return jax.devices("gpu")
    except RuntimeError:  # no GPU platform in this installation or on this machine
        return []


def _backends_started() -> bool:
    """Whether JAX has created its backends (after which XLA's thread flags are fixed)."""
    from jax._src import xla_bridge  # no public query exists

    return xla_bridge.backends_are_initialized()


