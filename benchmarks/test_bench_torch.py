"""The torch backend against calling torch autograd directly (target: at most 10% overhead)."""
import pytest
import torch

import optbench


def f_torch(x):
    return torch.sum(torch.sin(x) * x + torch.exp(-x * x))


def f_array_api(x):
    xp = optbench.namespace(x)
    return xp.sum(xp.sin(x) * x + xp.exp(-x * x))


def direct_grad(x):
    leaf = x.detach().requires_grad_(True)
    f_torch(leaf).backward()
    return leaf.grad


@pytest.mark.parametrize("n", [1, 10**6])
@pytest.mark.parametrize("who", ["direct", "backend", "backend-array-api"])
def test_torch_gradient_overhead(benchmark, n, who):
    backend = optbench.backend("torch")
    x = torch.linspace(-1.0, 1.0, n, dtype=torch.float64)
    run = {"direct": lambda: direct_grad(x),
           "backend": lambda: backend.grad(f_torch, x),
           "backend-array-api": lambda: backend.grad(f_array_api, x)}[who]
    benchmark.group = f"torch backend overhead: gradient n={n}"
    benchmark.extra_info["role"] = "baseline" if who == "direct" else "subject"
    if who == "backend":  # the array-api row shows the objective's namespace cost, not the backend's
        benchmark.extra_info["target"] = 1.10
    torch.testing.assert_close(run(), direct_grad(x))
    benchmark.pedantic(run, rounds=20 if n > 1 else 2000, warmup_rounds=2)
