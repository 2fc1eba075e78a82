"""Micro-benchmarks of single primitives: gradient of sum(op(x)) on each engine vs torch.

One row per primitive of ``optbench_plugins.ad.primitives`` (forward plus backward pass),
at n = 100, single thread, float64; the same-run ratio to torch autograd is printed.
"""
import numpy as np
import pytest

import optbench
from optbench_plugins.ad.primitives import PRIMITIVES

# primitive -> scalar function exercising it (x: 1-D of length 100, entries in (0.5, 1.5))
CASES = {
    "negative": lambda xp, x: xp.sum(xp.negative(x)),
    "positive": lambda xp, x: xp.sum(xp.positive(x)),
    "abs": lambda xp, x: xp.sum(xp.abs(x)),
    "sign": lambda xp, x: xp.sum(xp.sign(x) * x),
    "sqrt": lambda xp, x: xp.sum(xp.sqrt(x)),
    "square": lambda xp, x: xp.sum(xp.square(x)),
    "exp": lambda xp, x: xp.sum(xp.exp(x)),
    "expm1": lambda xp, x: xp.sum(xp.expm1(x)),
    "log": lambda xp, x: xp.sum(xp.log(x)),
    "log1p": lambda xp, x: xp.sum(xp.log1p(x)),
    "sin": lambda xp, x: xp.sum(xp.sin(x)),
    "cos": lambda xp, x: xp.sum(xp.cos(x)),
    "tan": lambda xp, x: xp.sum(xp.tan(x)),
    "tanh": lambda xp, x: xp.sum(xp.tanh(x)),
    "sinh": lambda xp, x: xp.sum(xp.sinh(x)),
    "cosh": lambda xp, x: xp.sum(xp.cosh(x)),
    "atan": lambda xp, x: xp.sum(xp.atan(x)),
    "add": lambda xp, x: xp.sum(xp.add(x[1:], x[:-1])),
    "subtract": lambda xp, x: xp.sum(xp.subtract(x[1:], x[:-1])),
    "multiply": lambda xp, x: xp.sum(xp.multiply(x[1:], x[:-1])),
    "divide": lambda xp, x: xp.sum(xp.divide(x[1:], x[:-1])),
    "pow": lambda xp, x: xp.sum(xp.pow(x[1:], x[:-1])),
    "maximum": lambda xp, x: xp.sum(xp.maximum(x[1:], x[:-1])),
    "minimum": lambda xp, x: xp.sum(xp.minimum(x[1:], x[:-1])),
    "logaddexp": lambda xp, x: xp.sum(xp.logaddexp(x[1:], x[:-1])),
    "sum": lambda xp, x: xp.sum(x),
    "mean": lambda xp, x: xp.mean(x),
    "prod": lambda xp, x: xp.prod(x),
    "max": lambda xp, x: xp.max(x),
    "min": lambda xp, x: xp.min(x),
    "matmul": lambda xp, x: xp.sum(xp.matmul(xp.reshape(x, (10, 10)), x[:10])),
    "vecdot": lambda xp, x: xp.vecdot(x[1:], x[:-1]),
    "tensordot": lambda xp, x: xp.sum(xp.tensordot(xp.reshape(x, (10, 10)), xp.reshape(x, (10, 10)), axes=1)),
    "matrix_transpose": lambda xp, x: xp.sum(xp.matrix_transpose(xp.reshape(x, (10, 10)))[0]),
    "reshape": lambda xp, x: xp.sum(xp.reshape(x, (10, 10))[0]),
    "expand_dims": lambda xp, x: xp.sum(xp.expand_dims(x, axis=0)),
    "squeeze": lambda xp, x: xp.sum(xp.squeeze(xp.reshape(x, (1, 100)), axis=0)),
    "broadcast_to": lambda xp, x: xp.sum(xp.broadcast_to(x, (2, 100))),
    "stack": lambda xp, x: xp.sum(xp.stack([x, x])),
    "concat": lambda xp, x: xp.sum(xp.concat([x, x])),
    "getitem": lambda xp, x: xp.sum(x[10:60]),
    "astype": lambda xp, x: xp.sum(xp.astype(x, x.dtype)),
    "where": lambda xp, x: xp.sum(xp.where(x > 1.0, x, -x)),
    "clip": lambda xp, x: xp.sum(xp.clip(x, 0.8, 1.2)),
}


def test_every_primitive_has_a_case():
    assert set(CASES) == set(PRIMITIVES)


def scalar(op):
    return lambda x: CASES[op](optbench.namespace(x), x)


@pytest.mark.parametrize("op", sorted(CASES))
@pytest.mark.parametrize("engine", ["torch", "dual", "tape"])
def test_primitive_gradient(benchmark, engine, op):
    backend = optbench.backend(engine)
    x = backend.asarray(np.linspace(0.5, 1.5, 100))
    f = scalar(op)
    benchmark.group = f"primitive {op}: gradient n=100"
    benchmark.extra_info["role"] = "baseline" if engine == "torch" else "subject"
    reference = optbench.backend("torch").grad(f, np.linspace(0.5, 1.5, 100)).numpy()
    np.testing.assert_allclose(backend.to_numpy(backend.grad(f, x)), reference, rtol=1e-10, atol=1e-12)
    benchmark(backend.grad, f, x)
