"""JAX transformations per derivative kind, jit-compiled once per function and kind.

The cache is keyed weakly on the function (an objective instance, usually), so compiled code
lives exactly as long as the objective. The compiled callable reaches the function through a
weak reference: a strong one from the cache's value would keep its own key alive forever.
A function that cannot be traced (Python control flow on values, boolean masks) falls back to
eager JAX for that kind, and the reason is kept and warned about once.
"""
from __future__ import annotations

import contextlib
import threading
import warnings
import weakref
from collections.abc import Callable

import jax

# kind -> transformation of f into the function of (x, *vectors) that the backend method returns
TRANSFORMS: dict[str, Callable[[Callable], Callable]] = {
    "value": lambda f: f,
    "value_and_grad": jax.value_and_grad,
    "grad": jax.grad,
    "jvp": lambda f: lambda x, v: jax.jvp(f, (x,), (v,))[1],
    "vjp": lambda f: lambda x, u: jax.vjp(f, x)[1](u)[0],
    "hvp": lambda f: lambda x, v: jax.jvp(jax.grad(f), (x,), (v,))[1],  # forward-over-reverse
    "hessian": jax.hessian,  # forward-over-reverse, vectorised over the basis
    "jacobian": jax.jacrev,
}

# errors that mean "cannot be traced abstractly", not "the function is wrong"
UNTRACEABLE = (jax.errors.ConcretizationTypeError, jax.errors.NonConcreteBooleanIndexError,
               jax.errors.TracerBoolConversionError, jax.errors.TracerArrayConversionError,
               jax.errors.TracerIntegerConversionError)


class EagerFallbackWarning(UserWarning):
    """A function could not be jit-compiled and runs eagerly (slower, but the same numbers)."""


class Nesting(threading.local):
    """How many functions the backend is tracing or evaluating now, in this thread: a backend
    method called inside one of them applies the plain transformation, which the outer traces."""

    depth = 0

    def __enter__(self):
        self.depth += 1

    def __exit__(self, *exc):
        self.depth -= 1


evaluating = Nesting()


class Compiled:
    """Jit-compiled transformations of functions, weakly keyed, with eager fallbacks."""

    def __init__(self):
        self._cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.eager: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # f -> {kind: reason}

    def get(self, kind: str, f: Callable) -> Callable:
        """``TRANSFORMS[kind](f)``, jit-compiled unless it fell back to eager before."""
        try:
            per_kind = self._cache.setdefault(f, {})
        except TypeError:  # not weakly referenceable: nothing to key a cache on
            return eager(kind, f)
        function = per_kind.get(kind)
        if function is None:
            function = per_kind[kind] = _jit(kind, weakref.ref(f))
        return function

    def fall_back(self, kind: str, f: Callable, error: Exception) -> Callable:
        """Run ``kind`` of ``f`` eagerly from now on, keeping and announcing the reason."""
        reason = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        self.eager.setdefault(f, {})[kind] = reason
        warnings.warn(f"jax backend: {kind} of {f!r} runs eagerly, it cannot be traced ({reason})",
                      EagerFallbackWarning, stacklevel=4)
        function = eager(kind, f)
        with contextlib.suppress(TypeError):  # not weakly referenceable: nothing was cached
            self._cache.setdefault(f, {})[kind] = function
        return function


def eager(kind: str, f: Callable) -> Callable:
    """The transformation without compiling it (``f`` runs as Python, traced by JAX)."""
    transformed = TRANSFORMS[kind](f)

    def run(*args):
        with evaluating:
            return transformed(*args)

    return run


def _jit(kind: str, ref: weakref.ref) -> Callable:
    transform = TRANSFORMS[kind]

    def traced(*args):  # runs only while JAX traces: the compiled code skips Python entirely
        with evaluating:
            return transform(ref())(*args)

    return jax.jit(traced)
