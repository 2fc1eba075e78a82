"""The ``optax`` optimizer: optax's gradient transformations, compiled, on jax arrays."""
from __future__ import annotations

import numpy as np
import pytest

import optbench
from optbench import Backend, CapabilityError, Oracle, ParameterError, StopRules, solve

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402


class LocalJax(Backend):
    """The smallest jax backend, float64 (the tests run under jax.enable_x64)."""

    name = "local_jax"

    def asarray(self, data, dtype=None, device=None):
        return jnp.asarray(np.asarray(data), dtype=dtype or jnp.float64)

    def to_numpy(self, a):
        return np.asarray(a)

    def value_and_grad(self, f, x):
        return jax.value_and_grad(f)(x)


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def iterates(optimizer, objective, steps: int, backend) -> list[np.ndarray]:
    oracle = Oracle(objective, backend)
    x = backend.asarray(objective.x0(0))
    optimizer.start(oracle, x, seed=0)
    out = []
    for _ in range(steps):
        oracle.peek(x)
        x = optimizer.step(oracle)
        out.append(backend.to_numpy(x).copy())
    return out


def test_adam_matches_the_built_in_adam():
    objective = optbench.objective("quadratic", n=10)
    library = optbench.optimizer("optax", algorithm="adam", options={"learning_rate": 0.05, "b1": 0.8, "b2": 0.99,
                                                                     "eps": 1e-6})
    built_in = optbench.optimizer("adam", step=0.05, beta1=0.8, beta2=0.99, eps=1e-6)
    np.testing.assert_allclose(iterates(library, objective, 100, LocalJax()),
                               iterates(built_in, objective, 100, optbench.backend("torch")), rtol=0, atol=1e-10)


def test_sgd_with_momentum_matches_heavy_ball():
    objective = optbench.objective("quadratic", n=10)
    library = optbench.optimizer("optax", algorithm="sgd", options={"learning_rate": 0.02, "momentum": 0.9})
    built_in = optbench.optimizer("heavy_ball", step=0.02, momentum=0.9)
    np.testing.assert_allclose(iterates(library, objective, 100, LocalJax()),
                               iterates(built_in, objective, 100, optbench.backend("torch")), rtol=0, atol=1e-10)


def test_a_run_counts_one_gradient_per_iteration_and_stays_on_jax_arrays():
    result = solve(optbench.objective("quadratic", n=5), optbench.optimizer("optax", algorithm="lion",
                                                                            options={"learning_rate": 0.01}),
                   LocalJax(), stop=StopRules(max_iter=30))
    assert result.status == "max_iter" and result.trace[-1]["ngev"] == 30
    assert result.trace[-1]["f"] < result.trace[0]["f"]


@pytest.mark.parametrize("params, message", [
    ({"algorithm": "adamm"}, "optax has no optimizer 'adamm'; it has: adabelief"),
    ({"algorithm": "adam", "options": {"beta1": 0.9, "learning_rate": 0.1}}, "optax.adam has no option 'beta1'; "
                                                                               "it accepts: b1, b2"),
    ({"algorithm": "adam", "options": {}}, "optax.adam rejects its options: .*learning_rate"),
    ({"algorithm": "lbfgs", "options": {}}, "optax.lbfgs evaluates f inside its compiled line search"),
])
def test_bad_algorithms_and_options_are_one_clear_error(params, message):
    with pytest.raises(ParameterError, match=message):
        optbench.optimizer("optax", **params)


def test_backends_without_jax_arrays_are_skipped_with_the_reason():
    with pytest.raises(CapabilityError, match="optax runs on jax arrays; backend 'torch'"):
        solve(optbench.objective("quadratic", n=3), optbench.optimizer("optax"), optbench.backend("torch"))


def test_runs_on_the_jax_backend_with_the_built_in_adams_iterates():
    backend = optbench.backend("jax")
    objective = optbench.objective("quadratic", n=10)
    library = solve(objective, optbench.optimizer("optax", options={"learning_rate": 0.05}), backend,
                    stop=StopRules(max_iter=50))
    built_in = solve(objective, optbench.optimizer("adam", step=0.05), optbench.backend("torch"),
                     stop=StopRules(max_iter=50))
    assert library.status == "max_iter" and library.trace[-1]["ngev"] == 50
    np.testing.assert_allclose(library.x, built_in.x, rtol=0, atol=1e-10)
