"""Compiled native engines against jitted JAX, the interpreted engines and torch autograd.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_compiled.py --benchmark-enable``
(single thread, float64; the shared conftest prints the same-run ratio table). The baseline
of every group is ``jax.jit(jax.grad(f))`` on the same data; compilation (ours and XLA's)
happens in the warm-up call, outside the timing, as the runner charges it to ``warmup_time``.
"""
from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import optbench  # noqa: E402

jax = pytest.importorskip("jax", reason="jax is not installed (pip install 'optbench[jax]')")
jnp = jax.numpy
jax.config.update("jax_enable_x64", True)  # float64 baselines; this process is a benchmark only

TAPE, TAPE_COMPILED, DUAL, DUAL_COMPILED, TORCH = (optbench.backend(name) for name in (
    "tape", "tape_compiled", "dual", "dual_compiled", "torch"))
SIZES = [1, 100, 10**4, 10**6]


def run(benchmark, group, role, fn, *args, target=None):
    benchmark.group = group
    benchmark.extra_info["role"] = role
    if target is not None:
        benchmark.extra_info["target"] = target
    fn(*args)  # warm-up and compilation, outside the timing
    benchmark(fn, *args)


def sin_exp_jax(x):
    return jnp.sum(jnp.sin(x) * x + jnp.exp(-x**2))


def point(n):
    return np.random.default_rng(0).standard_normal(n)


# ---- sum(sin(x) x + exp(-x^2)): the throughput suite's function ------------------------------
@pytest.mark.parametrize("n", SIZES)
def test_sin_exp_grad_jax(benchmark, n):
    grad = jax.jit(jax.value_and_grad(sin_exp_jax))
    x = jnp.asarray(point(n))
    run(benchmark, f"compiled: sin_exp grad n={n}", "baseline", lambda x: jax.block_until_ready(grad(x)), x)


@pytest.mark.parametrize("backend", [TAPE_COMPILED, TAPE, TORCH], ids=lambda b: b.name)
@pytest.mark.parametrize("n", SIZES)
def test_sin_exp_grad(benchmark, n, backend):
    f = optbench.objective("sin_exp", n=n)
    target = None if backend is not TAPE_COMPILED else (2.0 if n <= 100 else 1.25)
    run(benchmark, f"compiled: sin_exp grad n={n}", "subject", backend.value_and_grad, f,
        backend.asarray(point(n)), target=target)


# ---- L2 logistic regression, 1000 samples x 100 features --------------------------------------
def logistic():
    return optbench.objective("logistic_regression", n=100, samples=1000)


def test_logistic_grad_jax(benchmark):
    f = logistic()
    X, y, reg = jnp.asarray(f.X), jnp.asarray(f.y), f.p["reg"]

    def loss(w):
        return jnp.mean(jnp.logaddexp(0.0, -y * (X @ w))) + 0.5 * reg * jnp.sum(w**2)
    grad = jax.jit(jax.value_and_grad(loss))
    run(benchmark, "compiled: logistic grad 1000x100", "baseline", lambda w: jax.block_until_ready(grad(w)),
        jnp.asarray(f.x0()))


@pytest.mark.parametrize("backend", [TAPE_COMPILED, TAPE, TORCH], ids=lambda b: b.name)
def test_logistic_grad(benchmark, backend):
    f = logistic()
    target = 1.25 if backend is TAPE_COMPILED else None
    run(benchmark, "compiled: logistic grad 1000x100", "subject", backend.value_and_grad, f,
        backend.asarray(f.x0()), target=target)


# ---- the dual engine's JVP, where compiling pays --------------------------------------------------
@pytest.mark.parametrize("backend", [DUAL_COMPILED, DUAL], ids=lambda b: b.name)
@pytest.mark.parametrize("n", [100, 10**6])
def test_sin_exp_jvp(benchmark, n, backend):
    f = optbench.objective("sin_exp", n=n)
    x, v = backend.asarray(point(n)), backend.asarray(np.ones(n))
    run(benchmark, f"compiled: sin_exp jvp n={n}", "baseline" if backend is DUAL else "subject",
        backend.jvp, f, x, v)
