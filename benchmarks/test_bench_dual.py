"""The dual engine against torch autograd and hand-written numpy derivatives, same run, 1 thread.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_dual.py --benchmark-enable``
(``OPTBENCH_SLOW=1`` measures peak memory at n = 10^5 instead of 10^4: about two minutes).
"""
from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest
import torch

import optbench
from optbench_plugins.dual import DualBackend

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def f(x):
    xp = optbench.namespace(x)
    return xp.sum(xp.sin(x) * x + xp.exp(-x**2))


def numpy_grad(x):
    return np.sin(x) + x * np.cos(x) - 2 * x * np.exp(-x * x)


def torch_backward(xt):
    x = xt.detach().requires_grad_(True)
    f(x).backward()
    return x.grad


def rosenbrock(x):
    xp = optbench.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    n = x.size
    h = np.zeros((n, n))
    i = np.arange(n - 1)
    h[i, i] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    h[i + 1, i + 1] += 200
    h[i, i + 1] = h[i + 1, i] = -400 * x[:-1]
    return h


def mark(benchmark, group, role, target=None):
    benchmark.group = f"dual: {group}"
    benchmark.extra_info["role"] = role
    if target is not None:
        benchmark.extra_info["target"] = target


def synchronized(fn, device):
    if device != "cuda":
        return fn
    def run():
        out = fn()
        torch.cuda.synchronize()
        return out
    return run


# ---- full gradient of a small function in one chunked pass -----------------------------------------
@pytest.mark.parametrize("n", [1, 16])
@pytest.mark.parametrize("role", ["subject", "baseline"])
def test_small_gradient_vs_torch(benchmark, n, role):
    x = np.linspace(-1, 1, n)
    mark(benchmark, f"grad n={n} vs torch backward", role, 0.35)
    if role == "subject":
        benchmark(DualBackend().value_and_grad, f, x)
    else:
        benchmark(torch_backward, torch.tensor(x))


@pytest.mark.parametrize("n", [1, 16])
@pytest.mark.parametrize("role", ["subject", "baseline"])
def test_small_gradient_vs_numpy(benchmark, n, role):
    x = np.linspace(-1, 1, n)
    mark(benchmark, f"grad n={n} vs hand-written numpy", role)
    benchmark(DualBackend().value_and_grad, f, x) if role == "subject" else benchmark(numpy_grad, x)


# ---- one JVP of an elementwise function at n = 10^6 ---------------------------------------------------
@pytest.mark.parametrize("role", ["subject", "baseline"])
def test_large_jvp_vs_numpy(benchmark, role):
    x = np.linspace(-1, 1, 10**6)
    v = np.ones_like(x)
    mark(benchmark, "jvp n=1e6 vs hand-written numpy gradient", role, 1.3)
    if role == "subject":
        benchmark.pedantic(DualBackend().jvp, (f, x, v), rounds=5, warmup_rounds=1)
    else:
        benchmark.pedantic(numpy_grad, (x,), rounds=5, warmup_rounds=1)


# ---- full Hessian of Rosenbrock, n = 10 ---------------------------------------------------------------
@pytest.mark.parametrize("role", ["subject", "baseline"])
def test_rosenbrock_hessian_vs_torch(benchmark, role):
    x = np.linspace(-1, 1, 10)
    mark(benchmark, "hessian rosenbrock n=10 vs torch vectorize=True", role, 0.25)
    if role == "subject":
        benchmark(DualBackend().hessian, rosenbrock, x)
    else:
        benchmark(torch.autograd.functional.hessian, rosenbrock, torch.tensor(x), vectorize=True)


@pytest.mark.parametrize("role", ["subject", "baseline"])
def test_rosenbrock_hessian_vs_numpy(benchmark, role):
    x = np.linspace(-1, 1, 10)
    mark(benchmark, "hessian rosenbrock n=10 vs hand-written numpy", role)
    benchmark(DualBackend().hessian, rosenbrock, x) if role == "subject" else benchmark(rosenbrock_hessian, x)


# ---- chunk mode against n single-direction passes ------------------------------------------------------
@pytest.mark.parametrize("role", ["subject", "baseline"])
def test_chunk_mode_vs_single_directions(benchmark, role):
    x = np.linspace(-1, 1, 100)
    mark(benchmark, "grad n=100: one chunk of 100 vs 100 passes of 1", role, 0.1)
    benchmark(DualBackend(chunk=100 if role == "subject" else 1).value_and_grad, f, x)


# ---- the same on torch storage, CPU and CUDA ------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("role", ["subject", "baseline"])
def test_torch_storage_small_gradient(benchmark, device, role):
    xt = torch.linspace(-1, 1, 16, dtype=torch.float64, device=device)
    mark(benchmark, f"torch-{device} storage: grad n=16 vs torch backward", role, 0.35 if device == "cpu" else None)
    run = (lambda: DualBackend(storage="torch").value_and_grad(f, xt)) if role == "subject" else (lambda: torch_backward(xt))
    benchmark(synchronized(run, device))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("role", ["subject", "baseline"])
def test_torch_storage_large_jvp(benchmark, device, role):
    xt = torch.linspace(-1, 1, 10**6, dtype=torch.float64, device=device)
    v = torch.ones_like(xt)
    mark(benchmark, f"torch-{device} storage: jvp n=1e6 vs hand-written torch gradient", role)
    if role == "subject":
        run = lambda: DualBackend(storage="torch").jvp(f, xt, v)  # noqa: E731
    else:
        run = lambda: torch.sin(xt) + xt * torch.cos(xt) - 2 * xt * torch.exp(-xt * xt)  # noqa: E731
    benchmark.pedantic(synchronized(run, device), rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("role", ["subject", "baseline"])
def test_torch_storage_rosenbrock_hessian(benchmark, device, role):
    xt = torch.linspace(-1, 1, 10, dtype=torch.float64, device=device)
    mark(benchmark, f"torch-{device} storage: hessian rosenbrock n=10 vs torch vectorize=True", role)
    if role == "subject":
        run = lambda: DualBackend(storage="torch").hessian(rosenbrock, xt)  # noqa: E731
    else:
        run = lambda: torch.autograd.functional.hessian(rosenbrock, xt, vectorize=True)  # noqa: E731
    benchmark(synchronized(run, device))


# ---- memory of a chunked gradient -------------------------------------------------------------------------
def test_chunked_gradient_peak_memory(benchmark):
    """Peak traced memory of a full chunked gradient (chunk 8): O(k n), one pass's worth."""
    n, k = (10**5 if os.environ.get("OPTBENCH_SLOW") else 10**4), 8
    x = np.linspace(-1, 1, n)

    def measure():
        tracemalloc.start()
        DualBackend(chunk=k).grad(f, x)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    benchmark.group = "dual: memory"
    peak = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(n=n, chunk=k, peak_bytes=peak, peak_over_k_n_float64=peak / (k * n * 8))
    assert peak < 20 * k * n * 8
