"""The tape engine as a whole: composite derivatives, nesting, accumulation, deep graphs,
memory, the no-grad context, kept tapes, storage choices, the trace table and the graph."""
from __future__ import annotations

import gc
import re
import tracemalloc

import array_api_compat.torch as atorch
import numpy as np
import pytest
import torch

import optbench
from optbench_plugins.tape import Tape, TapeArray, TapeBackend, no_grad
from optbench_plugins.tape.namespace import tape_namespace

BACKEND = TapeBackend()
TORCH = TapeBackend(storage="torch")


def notes_example(x):
    xp = optbench.namespace(x)
    return xp.log(x[0]) + x[0] * x[1] - xp.sin(x[1])


def wavy(x):
    xp = optbench.namespace(x)
    return xp.sum(xp.sin(x) * x + xp.exp(-x**2))


def rosenbrock(x):
    xp = optbench.namespace(x)
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def logistic(A, y, lam):
    def f(w):
        xp = optbench.namespace(w)
        return xp.mean(xp.logaddexp(0.0, -y * (A @ w))) + 0.5 * lam * xp.sum(w * w)
    return f


def torch_derivatives(f, x):
    """torch's gradient and Hessian of ``f`` at ``x`` (float64)."""
    t = torch.tensor(x, requires_grad=True)
    (g,) = torch.autograd.grad(f(t), t)
    return g.numpy(), torch.autograd.functional.hessian(f, torch.tensor(x)).numpy()


# ---- the course notes -------------------------------------------------------------------------
def test_course_notes_value_and_gradient():
    value, grad = BACKEND.value_and_grad(notes_example, np.array([2.0, 5.0]))
    assert float(value) == pytest.approx(11.652, abs=5e-4)
    np.testing.assert_allclose(grad, [5.5, 1.716], atol=5e-4)


def test_course_notes_trace_table():
    rows = {r["node"]: r for r in BACKEND.trace(notes_example, np.array([2.0, 5.0]))}
    assert [rows[f"v_{i}"]["op"] for i in range(1, 6)] == [
        "ln v_-1", "v_-1 * v_0", "sin v_0", "v_1 + v_2", "v_4 - v_3"]
    values = {"v_-1": 2, "v_0": 5, "v_1": 0.693, "v_2": 10, "v_3": -0.959, "v_4": 10.693, "v_5": 11.652}
    adjoints = {"v_5": 1, "v_4": 1, "v_3": -1, "v_1": 1, "v_2": 1, "v_0": 1.716, "v_-1": 5.5}
    for node, value in values.items():
        assert rows[node]["value"] == pytest.approx(value, abs=5e-4)
        assert rows[node]["adjoint"] == pytest.approx(adjoints[node], abs=5e-4)


def test_graph_of_the_course_notes_example_is_dot_with_marked_ends():
    dot = BACKEND.graph(notes_example, np.array([2.0, 5.0]))
    nodes = re.findall(r'^\s*n(\d+) \[label="([^"]*)", fillcolor=(\w+)\];$', dot, re.M)
    edges = re.findall(r"^\s*n(\d+) -> n(\d+);$", dot, re.M)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    # x, four selections x[i], log, multiply, add, sin, subtract
    assert len(nodes) == 10 and len(edges) == 12
    labels = {n: (label, colour) for n, label, colour in nodes}
    assert labels["0"] == ("input x\\n(2,)", "lightblue")
    assert [lc for lc in labels.values() if lc[1] == "darkolivegreen1"] == [("subtract\\n()\\noutput", "darkolivegreen1")]
    assert sorted(label.split("\\n")[0] for label, _ in labels.values()) == sorted(
        ["input x", "getitem", "getitem", "getitem", "getitem", "log", "multiply", "add", "sin", "subtract"])


# ---- composite derivatives ----------------------------------------------------------------------
@pytest.mark.parametrize("f", [wavy, rosenbrock], ids=["wavy", "rosenbrock"])
def test_gradient_hvp_hessian_against_torch(f):
    x = np.random.default_rng(3).uniform(-1.5, 1.5, 6)
    v = np.random.default_rng(4).standard_normal(6)
    grad, hess = torch_derivatives(f, x)
    np.testing.assert_allclose(BACKEND.grad(f, x), grad, rtol=1e-10)
    np.testing.assert_allclose(BACKEND.hessian(f, x), hess, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(BACKEND.hvp(f, x, v), hess @ v, rtol=1e-10, atol=1e-12)


def test_jacobian_jvp_vjp_against_torch():
    def f(x):
        xp = optbench.namespace(x)
        return xp.stack([xp.sum(x * x), x[0] * xp.exp(x[1]), xp.prod(x)])
    x = np.array([0.5, -1.0, 2.0])
    want = torch.autograd.functional.jacobian(f, torch.tensor(x)).numpy()
    np.testing.assert_allclose(BACKEND.jacobian(f, x), want, rtol=1e-12)
    v, u = np.array([1.0, 2.0, -1.0]), np.array([0.3, -2.0, 1.0])
    np.testing.assert_allclose(BACKEND.jvp(f, x, v), want @ v, rtol=1e-12)
    np.testing.assert_allclose(BACKEND.vjp(f, x, u), u @ want, rtol=1e-12)
    assert BACKEND.jacobian(lambda x: x[:, None] * x, np.ones(2)).shape == (2, 2, 2)


def test_logistic_regression_gradient_and_hvp_against_torch():
    rng = np.random.default_rng(0)
    A, y, w = rng.standard_normal((50, 8)), np.sign(rng.standard_normal(50)), rng.standard_normal(8)
    f = logistic(A, y, 0.1)
    f_torch = logistic(torch.tensor(A), torch.tensor(y), 0.1)
    grad, hess = torch_derivatives(f_torch, w)
    np.testing.assert_allclose(BACKEND.grad(f, w), grad, rtol=1e-10)
    np.testing.assert_allclose(BACKEND.hvp(f, w, np.ones(8)), hess.sum(1), rtol=1e-10)


def test_constants_and_scalars_mix_in_either_order():
    A = np.arange(1.0, 5.0).reshape(2, 2)
    def f(x):
        xp = optbench.namespace(x)
        c = xp.asarray(A, dtype=x.dtype)
        return xp.sum(c @ x) + xp.sum(x @ c.T) + xp.sum(2.0 - x) + xp.sum(1.0 / x) + xp.sum(2.0 ** x) \
            + xp.sum(c[0] * x) + xp.sum(x / c[1, 1:]) + xp.maximum(x, 0.0)[0] + x @ x
    x = np.array([1.0, 2.0])
    t = torch.tensor(x, requires_grad=True)
    f(t).backward()
    np.testing.assert_allclose(BACKEND.grad(f, x), t.grad.numpy(), rtol=1e-12)


def test_unsupported_operations_name_themselves_and_the_backend():
    ns = tape_namespace("numpy")
    with pytest.raises(NotImplementedError, match=r"'fft'.*'tape'"):
        BACKEND.grad(lambda x: optbench.namespace(x).fft.fft(x), np.ones(3))
    with pytest.raises(NotImplementedError, match=r"'cumulative_sum'.*'tape'"):
        ns.cumulative_sum(np.ones(3))


# ---- nesting, accumulation, depth -------------------------------------------------------------
def test_nested_derivatives_do_not_confuse_variables():
    # d/dx [ x * d/dy (x + y) |_{y=1} ] at x = 1 is 1; confusing x with y would give 2
    inner = lambda x: BACKEND.grad(lambda y: (x[0] + y).sum(), np.ones(1))
    assert BACKEND.grad(lambda x: x[0] * inner(x)[0], np.ones(1))[0] == 1.0
    # d/dx [ d/dy (x * y) ] = 1: the inner gradient is x itself, still traced
    assert BACKEND.grad(lambda x: BACKEND.grad(lambda y: (x * y).sum(), np.ones(1)).sum(), np.ones(1))[0] == 1.0
    # a second derivative by nesting: d2/dx2 x^3 = 6x
    d2 = BACKEND.grad(lambda x: BACKEND.grad(lambda z: (z**3).sum(), x).sum(), np.array([2.0]))
    assert d2[0] == pytest.approx(12.0)


def test_hessian_of_a_function_that_takes_a_gradient_itself():
    f = lambda x: BACKEND.grad(wavy, x).sum()
    x = np.array([0.3, -0.7])
    np.testing.assert_allclose(BACKEND.grad(f, x), BACKEND.hessian(wavy, x).sum(0), rtol=1e-12)


def test_an_input_used_many_times_accumulates_its_adjoints():
    def f(x):
        total = x[0] * 0.0
        for k in range(200):
            total = total + float(k) * x[k % 3]
        return total
    grad = BACKEND.grad(f, np.ones(3))
    np.testing.assert_allclose(grad, [sum(k for k in range(200) if k % 3 == j) for j in range(3)])


def test_deep_graphs_do_not_recurse():
    def f(x):
        for _ in range(100_000):
            x = x * 1.000001
        return x.sum()
    np.testing.assert_allclose(BACKEND.grad(f, np.ones(2)), 1.000001 ** 100_000, rtol=1e-9)


def test_repeated_gradients_do_not_grow_memory():
    x = np.random.default_rng(0).standard_normal(100)
    for _ in range(50):
        BACKEND.value_and_grad(wavy, x)
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(100):
            BACKEND.value_and_grad(wavy, x)
        gc.collect()
        after_100 = tracemalloc.get_traced_memory()[0]
        for _ in range(1000):
            BACKEND.value_and_grad(wavy, x)
        gc.collect()
        after_1100 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after_1100 - after_100 < 10_000


# ---- the tape API -------------------------------------------------------------------------------
def test_no_grad_records_nothing():
    tape = Tape(tape_namespace("numpy"))
    x = tape.watch(np.ones(3))
    with no_grad():
        y = x * 2.0 + 1.0
    assert type(y) is np.ndarray and len(tape.nodes) == 1
    assert type(x * 2.0) is TapeArray


def test_tape_is_freed_after_a_sweep_unless_kept():
    tape = Tape(tape_namespace("numpy"))
    x = tape.watch(np.array([1.0, 2.0]))
    y = (x * x).sum()
    assert tape.gradient(y, [x], keep=True)[0].tolist() == [2.0, 4.0]
    assert tape.gradient(y, [x], seed=np.asarray(3.0))[0].tolist() == [6.0, 12.0]
    assert tape.nodes is None
    with pytest.raises(RuntimeError, match="freed"):
        tape.gradient(y, [x])


def test_a_constant_function_has_zero_gradient_and_a_vector_one_is_refused():
    assert BACKEND.grad(lambda x: x[0] * 0.0 + 3.0 - x[0] * 0.0, np.ones(2)).tolist() == [0.0, 0.0]
    assert BACKEND.grad(lambda x: optbench.namespace(x).sum(np.ones(2)), np.ones(2)).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="scalar"):
        BACKEND.grad(lambda x: x * 2.0, np.ones(2))


# ---- storage, dtypes, devices, the optbench loop ------------------------------------------------
def test_torch_storage_returns_torch_tensors_matching_torch_autograd():
    x = np.array([0.3, -0.8, 1.4])
    value, grad = TORCH.value_and_grad(rosenbrock, x)
    assert isinstance(grad, torch.Tensor) and grad.dtype == torch.float64
    want, hess = torch_derivatives(rosenbrock, x)
    np.testing.assert_allclose(grad.numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(TORCH.hessian(rosenbrock, x).numpy(), hess, rtol=1e-12)
    assert TORCH.to_numpy(value) == pytest.approx(float(rosenbrock(torch.tensor(x))))


def test_float32_stays_float32():
    x = np.ones(3, dtype=np.float32)
    assert BACKEND.grad(wavy, x).dtype == np.float32
    assert TORCH.grad(wavy, BACKEND.asarray(x, dtype="float32")).dtype == torch.float32


def test_asarray_converts_lists_and_tensors():
    assert BACKEND.asarray([1, 2]).dtype == np.float64
    assert isinstance(BACKEND.asarray(torch.ones(2)), np.ndarray)
    assert isinstance(TORCH.asarray(np.ones(2)), torch.Tensor)
    assert BACKEND.devices()[0] == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_storage_matches_cpu():
    x = BACKEND.asarray(np.linspace(-1, 1, 5), device="cuda")
    grad = BACKEND.grad(rosenbrock, x)
    BACKEND.synchronize("cuda")
    assert grad.device.type == "cuda"
    np.testing.assert_allclose(grad.cpu().numpy(), BACKEND.grad(rosenbrock, np.linspace(-1, 1, 5)), rtol=1e-12)


def test_registered_and_usable_in_the_optbench_loop():
    backend = optbench.backend("tape")
    assert isinstance(backend, TapeBackend) and backend.supports("hessian") and backend.supports("graph")
    result = optbench.solve(optbench.objective("abs_quadratic"), optbench.optimizer("gd", step=0.05), backend,
                            stop=optbench.StopRules(max_iter=300))
    assert result.x[0] == pytest.approx(4.5, abs=1e-6)
