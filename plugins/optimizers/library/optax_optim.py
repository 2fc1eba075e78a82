"""optax's gradient transformations, step-wise, on the jax backend's arrays.

An optax optimizer is ``(init, update)``: optbench owns the loop and calls ``update`` once per
iteration with the oracle's gradient (counted). The update and ``apply_updates`` are compiled
together with ``jax.jit``, as optax users do, and compiled in ``init``, outside the clock, so
compilation is not charged to the first iteration.
"""
from __future__ import annotations

import inspect

from optbench import CapabilityError, Optimizer, Param, ParameterError

from .options import check_option_names, require_library


class Optax(Optimizer):
    """optax: any of its optimizers (gradient transformations) with its keyword arguments, on jax arrays."""

    name = "optax"
    params = {
        "algorithm": Param(str, "adam", "an optax optimizer, e.g. adam, sgd, adamw, lion, adabelief"),
        "options": Param(dict, {"learning_rate": 1e-3}, "its keyword arguments (a table), checked against "
                                                        "its signature"),
    }

    def validate(self):
        try:
            optax = require_library("optax", "optax")
        except CapabilityError:
            return  # nothing to check the options against; the run is skipped with the reason
        algorithm, options = self.p["algorithm"], self.p["options"]
        make = getattr(optax, algorithm, None)
        if not (inspect.isfunction(make) and _gives_a_transformation(make, optax)):
            raise ParameterError(f"optimizer 'optax': optax has no optimizer {algorithm!r}; it has: "
                                 f"{', '.join(algorithms())}")
        check_option_names("optax", f"optax.{algorithm}", options, list(inspect.signature(make).parameters))
        try:
            self.transformation = make(**options)
            _probe(self.transformation)
        except TypeError as exc:
            if "value_fn" in str(exc):
                raise ParameterError(f"optimizer 'optax': optax.{algorithm} evaluates f inside its compiled line "
                                     "search (update needs value_fn), where optbench's oracle cannot count the "
                                     "evaluations; it is not supported") from None
            raise ParameterError(f"optimizer 'optax': optax.{algorithm} rejects its options: {exc}") from None
        except ValueError as exc:
            raise ParameterError(f"optimizer 'optax': optax.{algorithm} rejects its options: {exc}") from None

    def check(self, backend):
        require_library("optax", "optax")
        import jax

        if not isinstance(backend.asarray([0.0]), jax.Array):
            raise CapabilityError(f"optax runs on jax arrays; backend {backend.name!r} does not give them "
                                  "(use backend 'jax')")
        super().check(backend)

    def init(self, oracle, x0):
        import jax
        import optax

        transformation = self.transformation

        def update(grad, state, x):
            updates, state = transformation.update(grad, state, x)
            return optax.apply_updates(x, updates), state

        self.update = jax.jit(update)
        self.state = transformation.init(x0)
        self.update(self.xp.zeros_like(x0), self.state, x0)  # compile now, not in the first timed step
        self.x = x0

    def step(self, oracle):
        self.x, self.state = self.update(oracle.grad(self.x), self.state, self.x)
        return self.x


def _gives_a_transformation(make, optax) -> bool:
    """Whether ``make`` is annotated to return an optax gradient transformation."""
    returns = inspect.signature(make).return_annotation
    return isinstance(returns, type) and issubclass(returns, optax.GradientTransformation)


def _probe(transformation) -> None:
    """One update at zero: a transformation whose update needs more than (grad, state, x) fails here."""
    import jax.numpy as jnp

    zero = jnp.zeros(1)
    transformation.update(zero, transformation.init(zero), zero)


def algorithms() -> list[str]:
    """The optimizers optax offers at its top level."""
    import optax

    return sorted(name for name, value in vars(optax).items()
                  if inspect.isfunction(value) and not name.startswith("_") and _gives_a_transformation(value, optax))
