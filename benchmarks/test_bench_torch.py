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


# ---- why the backend uses the paths it uses: each choice against its alternative ------------
def _leaf(x):
    return x.detach().requires_grad_(True)


def grad_by_backward(x):
    leaf = _leaf(x)
    f_torch(leaf).backward()
    return leaf.grad


def grad_by_func(x):
    return torch.func.grad(f_torch)(x)


def hvp_by_double_backward(x, v):
    leaf = _leaf(x)
    (g,) = torch.autograd.grad(f_torch(leaf), leaf, create_graph=True)
    return torch.autograd.grad(g, leaf, v)[0]


def hvp_by_jvp_of_grad(x, v):
    return torch.func.jvp(torch.func.grad(f_torch), (x,), (v,))[1]


def rosenbrock(x):
    return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


CHOICES = {
    "gradient n=1": ("backward", grad_by_backward, "torch.func.grad", grad_by_func, 1),
    "hvp n=100": ("double backward", hvp_by_double_backward, "jvp of grad", hvp_by_jvp_of_grad, 100),
    "hessian rosenbrock n=10": ("vectorize=True", lambda x: torch.autograd.functional.hessian(rosenbrock, x, vectorize=True),
                                "default", lambda x: torch.autograd.functional.hessian(rosenbrock, x), 10),
}


@pytest.mark.parametrize("case", sorted(CHOICES))
@pytest.mark.parametrize("role", ["subject", "baseline"])
def test_torch_path_choice(benchmark, case, role):
    chosen_name, chosen, other_name, other, n = CHOICES[case]
    x = torch.linspace(-1.0, 1.0, n, dtype=torch.float64)
    args = (x, torch.ones(n, dtype=torch.float64)) if case.startswith("hvp") else (x,)
    run = chosen if role == "subject" else other
    torch.testing.assert_close(chosen(*args), other(*args))
    benchmark.group = f"torch path: {case} ({chosen_name} / {other_name})"
    benchmark.extra_info["role"] = role
    benchmark(run, *args)
