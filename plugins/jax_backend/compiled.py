"""JAX transformations per derivative kind, jit-compiled once per function and kind.

The cache is keyed weakly on the function (an objective instance, usually), so compiled code
lives exactly as long as the objective. The compiled callable reaches the function through a
weak reference: a strong one from the cache's value would keep its own key alive forever.
A function that cannot be traced (Python control flow on values, boolean masks) falls back to
eager JAX for that kind, and the reason is kept and warned about once.
"""
from __future__ import annotations

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


class Compiled:
    """Jit-compiled transformations of functions, weakly keyed, with eager fallbacks."""

    def __init__(self):
        self._cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.eager: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # f -> {kind: reason}

    def __call__(self, kind: str, f: Callable, *args):
        """``TRANSFORMS[kind](f)(*args)``, compiled when ``f`` can be traced."""
        try:
            per_kind = self._cache.get(f)
        except TypeError:  # not weakly referenceable: nothing to key a cache on
            return TRANSFORMS[kind](f)(*args)
        if per_kind is None:
            per_kind = self._cache[f] = {}
        compiled = per_kind.get(kind)
        if compiled is None:
            compiled = per_kind[kind] = _jit(kind, weakref.ref(f))
        if compiled is _EAGER:
            return TRANSFORMS[kind](f)(*args)
        try:
            return compiled(*args)
        except UNTRACEABLE as exc:
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
            self.eager.setdefault(f, {})[kind] = reason
            per_kind[kind] = _EAGER
            warnings.warn(f"jax backend: {kind} of {f!r} runs eagerly, it cannot be traced ({reason})",
                          EagerFallbackWarning, stacklevel=3)
            return TRANSFORMS[kind](f)(*args)


_EAGER = object()


def _jit(kind: str, ref: weakref.ref) -> Callable:
    transform = TRANSFORMS[kind]

    def traced(*args):
        return transform(ref())(*args)

    return jax.jit(traced)
