"""The tape engine against torch autograd and hand-written NumPy gradients (issue 5's table).

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_tape.py --benchmark-enable``
(single thread, float64; the shared conftest prints the same-run ratio table).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import optbench
from optbench_plugins.tape import TapeBackend

TAPE = TapeBackend()
TAPE_TORCH = TapeBackend(storage="torch")
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def wavy(x):
    xp = optbench.namespace(x)
    return xp.sum(xp.sin(x) * x + xp.exp(-x**2))


def wavy_by_hand(x):
    s, e = np.sin(x), np.exp(-x * x)
    return np.sum(s * x + e), np.cos(x) * x + s - 2.0 * x * e


def torch_value_and_grad(f, x):
    x = x.detach().requires_grad_(True)
    y = f(x)
    y.backward()
    return y.detach(), x.grad


def logistic_problem(m=1000, n=100, lam=0.1, seed=0):
    rng = np.random.default_rng(seed)
    A, y = rng.standard_normal((m, n)), np.sign(rng.standard_normal(m))
    return A, y, lam, 0.1 * rng.standard_normal(n)


def logistic(A, y, lam):
    def f(w):
        xp = optbench.namespace(w)
        return xp.mean(xp.logaddexp(0.0, -y * (A @ w))) + 0.5 * lam * xp.sum(w * w)
    return f


def logistic_by_hand(A, y, lam):
    m = A.shape[0]

    def value_and_grad(w):
        z = -y * (A @ w)
        softplus = np.logaddexp(0.0, z)
        return np.mean(softplus) + 0.5 * lam * w @ w, A.T @ (-y * np.exp(z - softplus)) / m + lam * w

    def hvp(w, v):
        s = 1.0 / (1.0 + np.exp(y * (A @ w)))
        return A.T @ (s * (1.0 - s) * (A @ v)) / m + lam * v
    return value_and_grad, hvp


def torch_double_backward_hvp(f, w, v):
    w = w.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(w), w, create_graph=True)
    (hv,) = torch.autograd.grad(g, w, grad_outputs=v)
    return hv


def run(benchmark, group, role, fn, *args, target=None):
    benchmark.group = group
    benchmark.extra_info["role"] = role
    if target is not None:
        benchmark.extra_info["target"] = target
    fn(*args)  # warm-up, outside the timing
    benchmark(fn, *args)


# ---- small gradients: fixed overhead ----------------------------------------------------------
@pytest.mark.parametrize("n", [1, 100])
def test_grad_small_tape(benchmark, n):
    x = np.random.default_rng(0).standard_normal(n)
    run(benchmark, f"tape: grad n={n}", "subject", TAPE.value_and_grad, wavy, x, target=0.25)


@pytest.mark.parametrize("n", [1, 100])
def test_grad_small_torch(benchmark, n):
    x = torch.tensor(np.random.default_rng(0).standard_normal(n))
    run(benchmark, f"tape: grad n={n}", "baseline", torch_value_and_grad, wavy, x)


@pytest.mark.parametrize("n", [1, 100])
def test_grad_small_by_hand(benchmark, n):
    x = np.random.default_rng(0).standard_normal(n)
    run(benchmark, f"tape: grad n={n}", "subject", wavy_by_hand, x)


# ---- large elementwise gradient: the NumPy floor -------------------------------------------------
N_LARGE = 10**6


def test_grad_large_tape(benchmark):
    x = np.random.default_rng(0).standard_normal(N_LARGE)
    run(benchmark, "tape: grad n=1e6", "subject", TAPE.value_and_grad, wavy, x, target=1.15)


def test_grad_large_by_hand(benchmark):
    x = np.random.default_rng(0).standard_normal(N_LARGE)
    run(benchmark, "tape: grad n=1e6", "baseline", wavy_by_hand, x)


def test_grad_large_torch(benchmark):
    x = torch.tensor(np.random.default_rng(0).standard_normal(N_LARGE))
    run(benchmark, "tape: grad n=1e6", "subject", torch_value_and_grad, wavy, x)


# ---- L2 logistic regression 1000 x 100: gradient and HVP ----------------------------------------
def test_logistic_grad_tape(benchmark):
    A, y, lam, w = logistic_problem()
    run(benchmark, "tape: logistic grad 1000x100", "subject", TAPE.value_and_grad, logistic(A, y, lam), w,
        target=1.5)


def test_logistic_grad_by_hand(benchmark):
    A, y, lam, w = logistic_problem()
    run(benchmark, "tape: logistic grad 1000x100", "baseline", logistic_by_hand(A, y, lam)[0], w)


def test_logistic_grad_torch(benchmark):
    A, y, lam, w = (torch.tensor(a) if isinstance(a, np.ndarray) else a for a in logistic_problem())
    run(benchmark, "tape: logistic grad 1000x100", "subject", torch_value_and_grad, logistic(A, y, lam), w)


def test_logistic_hvp_tape(benchmark):
    A, y, lam, w = logistic_problem()
    run(benchmark, "tape: logistic hvp 1000x100", "subject", TAPE.hvp, logistic(A, y, lam), w, np.ones_like(w),
        target=0.5)


def test_logistic_hvp_torch(benchmark):
    A, y, lam, w = (torch.tensor(a) if isinstance(a, np.ndarray) else a for a in logistic_problem())
    run(benchmark, "tape: logistic hvp 1000x100", "baseline", torch_double_backward_hvp, logistic(A, y, lam), w,
        torch.ones_like(w))


def test_logistic_hvp_by_hand(benchmark):
    A, y, lam, w = logistic_problem()
    run(benchmark, "tape: logistic hvp 1000x100", "subject", logistic_by_hand(A, y, lam)[1], w, np.ones_like(w))


# ---- torch storage (CPU, and CUDA where present) against torch autograd itself -----------------
def _torch_storage_cases(device):
    A, y, lam, w = logistic_problem()
    A, y, w = (torch.tensor(a, device=device) for a in (A, y, w))
    rng = np.random.default_rng(0)
    return {
        "grad n=100": (wavy, torch.tensor(rng.standard_normal(100), device=device)),
        "grad n=1e6": (wavy, torch.tensor(rng.standard_normal(N_LARGE), device=device)),
        "logistic grad 1000x100": (logistic(A, y, lam), w),
    }


def _synchronized(fn, device):
    def call(*args):
        out = fn(*args)
        if device == "cuda":
            torch.cuda.synchronize()
        return out
    return call


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
@pytest.mark.parametrize("case", ["grad n=100", "grad n=1e6", "logistic grad 1000x100"])
def test_torch_storage_tape(benchmark, device, case):
    f, x = _torch_storage_cases(device)[case]
    run(benchmark, f"tape[torch {device}]: {case}", "subject", _synchronized(TAPE_TORCH.value_and_grad, device), f, x)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
@pytest.mark.parametrize("case", ["grad n=100", "grad n=1e6", "logistic grad 1000x100"])
def test_torch_storage_torch(benchmark, device, case):
    f, x = _torch_storage_cases(device)[case]
    run(benchmark, f"tape[torch {device}]: {case}", "baseline", _synchronized(torch_value_and_grad, device), f, x)


# ---- peak memory: 100 chained elementwise operations at n = 1e6 -----------------------------------
CHAIN = """
import json, os
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np, torch, optbench
from optbench_plugins.tape import TapeBackend

def chain(x):
    xp = optbench.namespace(x)
    for _ in range(25):  # 100 operations: what torch saves for each differs
        x = xp.sin(xp.tanh(x) * 1.1) + 0.5
    return xp.sum(x)

def rss_kib(field):
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith(field)).split()[1])

def gradient(x):
    if {engine!r} == "torch":
        x = torch.tensor(x, requires_grad=True)
        return torch.autograd.grad(chain(x), x)
    return TapeBackend().grad(chain, x)

gradient(np.ones(10))  # warm-up at a small size: imports and first-call set-up
x = np.random.default_rng(0).standard_normal(10**6)
run = lambda: gradient(x)
before = rss_kib("VmRSS")
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # resets VmHWM to the current RSS
run()
print(json.dumps({{"peak_mib": (rss_kib("VmHWM") - before) / 1024}}))
"""


def peak_memory_mib(engine: str) -> float:
    """Peak RSS growth (MiB) of one gradient of the chain, in a fresh process (torch's CPU
    allocator has no peak statistics, so both engines are measured the same way)."""
    # large blocks straight from mmap, so that RSS follows what is live, for both engines
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(CHAIN.format(engine=engine))],
                          capture_output=True, text=True, check=True, timeout=300, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])["peak_mib"]


def test_peak_memory_of_a_chain_against_torch(benchmark):
    benchmark.group = "tape: peak memory, 100 chained ops n=1e6"
    peaks = {engine: peak_memory_mib(engine) for engine in ("tape", "torch")}
    ratio = peaks["tape"] / peaks["torch"]
    benchmark.extra_info.update(role="subject", peak_mib=peaks, ratio=ratio, target=1.2)
    benchmark.pedantic(lambda: None, rounds=1)
    print(f"\npeak memory: tape {peaks['tape']:.0f} MiB, torch {peaks['torch']:.0f} MiB, ratio {ratio:.2f}")
    assert ratio <= 1.2
