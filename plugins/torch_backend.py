"""The ``torch`` backend: torch autograd on its fastest paths, CPU and CUDA.

Measured on this project's machines (see docs/plugins.md, "The torch backend"): ``torch.autograd.grad`` on a fresh
leaf beats ``torch.func.grad`` about 2x for small inputs; Hessian-vector products by double
backward beat ``jvp`` of ``grad`` 4-5x; ``functional.hessian(vectorize=True)`` beats the
default 4x. Derivatives nest: while a backend method is evaluating ``f``, inner calls build
differentiable graphs (``create_graph``) and differentiate a fresh view of their input, so
an inner derivative never confuses an outer variable.
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np

import optbench
from optbench import Backend, Capabilities

torch: Any = None  # imported by the first TorchBackend: listing plugins need not pay ~1 s for it


def _import_torch() -> None:
    global torch
    import torch


class _Nesting(threading.local):
    """How many backend methods are evaluating ``f`` right now, in this thread."""

    def __init__(self):
        self.grad_modes: list[bool] = []  # the grad mode to restore, one per level

    def __enter__(self):
        self.grad_modes.append(torch.is_grad_enabled())
        torch.set_grad_enabled(True)

    def __exit__(self, *exc):
        torch.set_grad_enabled(self.grad_modes.pop())


_evaluating = _Nesting()


def _depth() -> int:
    return len(_evaluating.grad_modes)


class TorchBackend(Backend):
    """PyTorch autograd (reverse mode; forward mode for JVPs), CPU and CUDA."""

    name = "torch"
    capabilities = Capabilities(devices=("cpu", "cuda"), dtypes=("float32", "float64"), max_order=2,
                                torch_conventions=True)

    def __init__(self):
        _import_torch()

    # ---- arrays ------------------------------------------------------------------------------
    def asarray(self, data, dtype=None, device=None):
        dt = getattr(torch, dtype) if dtype is not None else None
        if isinstance(data, torch.Tensor):
            if dt is None and not data.is_floating_point():
                dt = torch.float64
            return data if dt is None and device is None else data.to(dtype=dt, device=device)
        if dt is None and not (isinstance(data, np.ndarray) and data.dtype.kind == "f"):
            dt = torch.float64
        return torch.as_tensor(data, dtype=dt, device=device)

    def to_numpy(self, a):
        return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)

    def devices(self):
        return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]

    def synchronize(self, device=None):
        # is_initialized is a flag read; is_available asks the driver, on every iteration of solve()
        if torch.cuda.is_initialized() and (device is None or str(device).startswith("cuda")):
            torch.cuda.synchronize(device)

    def set_threads(self, threads):
        torch.set_num_threads(threads)
        return torch.get_num_threads()

    # ---- derivatives ---------------------------------------------------------------------------
    def _variable(self, x):
        """A fresh differentiable node for ``x`` and whether the result must stay differentiable."""
        if not (isinstance(x, torch.Tensor) and x.is_floating_point()):
            x = self.asarray(x)
        nested = _depth() > 0 or x.requires_grad
        if x.requires_grad:
            return x.view_as(x), nested  # a new node: d/d(this view) only, outer graph kept
        return x.detach().requires_grad_(True), nested

    def value_and_grad(self, f, x):
        xx, nested = self._variable(x)
        with _evaluating:
            y = f(xx)
            if nested:
                (g,) = torch.autograd.grad(y, xx, create_graph=True, materialize_grads=True)
                return y, g
            y.backward()  # measured faster than autograd.grad for small inputs
        return y.detach(), (xx.grad if xx.grad is not None else torch.zeros_like(xx))

    def grad(self, f, x):
        return self.value_and_grad(f, x)[1]

    def vjp(self, f, x, u):
        xx, nested = self._variable(x)
        with _evaluating:
            y = f(xx)
            (g,) = torch.autograd.grad(y, xx, self.asarray(u, device=xx.device).to(y.dtype),
                                       create_graph=nested, materialize_grads=True)
        return g

    def jvp(self, f, x, v):
        x = self.asarray(x)
        v = self.asarray(v, device=x.device).to(x.dtype)
        if _depth() > 0 or x.requires_grad:
            with _evaluating:  # double-vjp keeps the result differentiable by outer calls
                return torch.autograd.functional.jvp(f, x, v, create_graph=True)[1]
        with _evaluating:
            return torch.func.jvp(f, (x,), (v,))[1]

    def hvp(self, f, x, v):
        xx, nested = self._variable(x)
        with _evaluating:
            y = f(xx)
            (g,) = torch.autograd.grad(y, xx, create_graph=True, materialize_grads=True)
            v = self.asarray(v, device=xx.device).to(xx.dtype)
            if not g.requires_grad:  # gradient does not depend on x: the Hessian is zero
                return torch.zeros_like(xx)
            (hv,) = torch.autograd.grad(g, xx, v, create_graph=nested, materialize_grads=True)
        return hv

    def hessian(self, f, x):
        x = self.asarray(x)
        nested = _depth() > 0 or x.requires_grad
        with _evaluating:
            return torch.autograd.functional.hessian(f, x, create_graph=nested, vectorize=True)

    def jacobian(self, f, x):
        x = self.asarray(x)
        nested = _depth() > 0 or x.requires_grad
        with _evaluating:
            return torch.autograd.functional.jacobian(f, x, create_graph=nested, vectorize=True)

    # ---- inspection ----------------------------------------------------------------------------
    def graph(self, f, x):
        """DOT source of autograd's graph of ``f`` at ``x``, as torchviz's ``make_dot`` draws it."""
        xx, _ = self._variable(x)
        with _evaluating:
            y = f(xx)
        return autograd_dot(y, {id(xx): "x"})


def autograd_dot(output: torch.Tensor, inputs: dict[int, str]) -> str:
    """Walk ``output.grad_fn`` breadth-first and write one DOT node per autograd function."""
    lines = ["digraph autograd {", '  rankdir="BT";', '  node [shape=box, fontname="monospace"];']
    out_id = "output"
    lines.append(f'  {out_id} [label="output\\n{tuple(output.shape)}", style=filled, fillcolor="#d6eaf8"];')
    seen: dict[int, str] = {}
    queue = [(output.grad_fn, out_id)]
    while queue:
        fn, child = queue.pop(0)
        if fn is None:
            continue
        node = seen.get(id(fn))
        if node is None:
            node = seen[id(fn)] = f"n{len(seen)}"
            variable = getattr(fn, "variable", None)
            if variable is not None:
                label = f"{inputs.get(id(variable), 'leaf')}\\n{tuple(variable.shape)}"
                lines.append(f'  {node} [label="{label}", style=filled, fillcolor="#d5f5e3"];')
            else:
                lines.append(f'  {node} [label="{type(fn).__name__}"];')
            queue.extend((parent, node) for parent, _ in fn.next_functions)
        lines.append(f"  {node} -> {child};")
    lines.append("}")
    return "\n".join(lines) + "\n"


@optbench.hookimpl
def optbench_register_backends(register):
    register(TorchBackend)
