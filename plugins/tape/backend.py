"""``tape``: optbench's reverse-mode engine as an optbench backend."""
from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

import array_api_compat
import numpy as np

import optbench
from optbench_plugins.ad.compiled import Compiled, too_many_passes

from . import graph
from .array import Tape, TapeArray, strip
from .namespace import storage_namespace, tape_namespace


class TapeBackend(optbench.Backend):
    """Reverse mode on optbench's own vectorised tape, over NumPy or torch arrays.

    ``storage`` is ``"numpy"`` (default) or ``"torch"``; a ``"cuda"`` device always means
    torch storage. Second derivatives differentiate the recorded backward pass.
    """

    name = "tape"
    description = "optbench's reverse-mode engine: a vectorised tape over NumPy or torch arrays"
    capabilities = optbench.Capabilities(devices=("cpu", "cuda"), dtypes=("float32", "float64"),
                                         max_order=2, torch_conventions=True)

    def __init__(self, storage: str = "numpy"):
        storage_namespace(storage)  # an unknown storage fails here, not at the first call
        self.storage = storage
        self._cuda = None

    # ---- derivatives -------------------------------------------------------------------
    def value_and_grad(self, f: Callable, x: Any) -> tuple[Any, Any]:
        tape, root, out = self._record(f, x)
        _check_scalar(out, "value_and_grad")
        (grad,) = tape.gradient(out, [root])
        return _value(tape, out), grad

    def vjp(self, f: Callable, x: Any, u: Any) -> Any:
        tape, root, out = self._record(f, x)
        return tape.gradient(out, [root], seed=_like(u, root))[0]

    def jvp(self, f: Callable, x: Any, v: Any) -> Any:
        """J v as the derivative of the linear map u -> J^T u along v (two reverse sweeps)."""
        tape, root, out = self._record(f, x)
        cotangents = Tape(tape.ops)
        u = cotangents.watch(tape.ops.zeros_like(out))
        (jtu,) = tape.gradient(out, [root], seed=u)
        return cotangents.gradient(jtu, [u], seed=_like(v, root))[0]

    def hvp(self, f: Callable, x: Any, v: Any) -> Any:
        """The gradient's own vector-Jacobian product with ``v`` (reverse over reverse)."""
        outer, root = self._watch(x)
        grad = self.grad(f, root)
        return outer.gradient(grad, [root], seed=_like(v, root))[0]

    def hessian(self, f: Callable, x: Any) -> Any:
        outer, root = self._watch(x)
        return _jacobian(outer, root, self.grad(f, root))

    def jacobian(self, f: Callable, x: Any) -> Any:
        """One recording, then one reverse sweep per output element."""
        tape, root, out = self._record(f, x)
        return _jacobian(tape, root, out)

    # ---- inspection --------------------------------------------------------------------
    def trace(self, f: Callable, x: Any, v: Any = None) -> list[dict]:
        """The primal and adjoint trace (``v`` is unused: reverse mode seeds the output)."""
        return graph.trace_table(f, self.asarray(x))

    def graph(self, f: Callable, x: Any) -> str:
        return graph.to_dot(f, self.asarray(x))

    # ---- arrays and devices --------------------------------------------------------------
    def asarray(self, data: Any, dtype: str | None = None, device: str | None = None) -> Any:
        if type(data) is np.ndarray and self.storage == "numpy" and device is None \
                and (data.dtype == dtype if dtype else data.dtype.kind == "f"):
            return data  # the optimizer loop's case, taken before any slower check
        if type(data) is TapeArray:
            return data if dtype is None else data._ops.astype(data, getattr(data._ops, dtype))
        if (device is not None and str(device).startswith("cuda")) or self.storage == "torch" \
                or (array_api_compat.is_torch_array(data) and data.device.type != "cpu"):
            return _torch_array(data, dtype, device)
        if array_api_compat.is_torch_array(data):
            data = data.detach().cpu().numpy()
        array = np.asarray(data)
        if dtype is None and not np.issubdtype(array.dtype, np.floating):
            dtype = "float64"
        return array if dtype is None else array.astype(dtype, copy=False)

    def to_numpy(self, a: Any) -> np.ndarray:
        a = strip(a)
        if array_api_compat.is_torch_array(a):
            return a.detach().cpu().numpy()
        return np.asarray(a)

    def devices(self) -> list[str]:
        import torch

        return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]

    def synchronize(self, device: str | None = None) -> None:
        torch = sys.modules.get("torch")  # not imported: no CUDA work was queued through it
        if torch is None or not (device is None or str(device).startswith("cuda")):
            return
        if self._cuda is None:
            self._cuda = torch.cuda.is_available()
        if self._cuda:
            torch.cuda.synchronize()

    # ---- helpers -------------------------------------------------------------------------
    def _watch(self, x: Any) -> tuple[Tape, TapeArray]:
        x = self.asarray(x)
        if type(x) is TapeArray:
            tape = Tape(x._ops)
        else:
            tape = Tape(tape_namespace("numpy" if type(x) is np.ndarray else "torch"))
        return tape, tape.watch(x)

    def _record(self, f: Callable, x: Any) -> tuple[Tape, TapeArray, Any]:
        tape, root = self._watch(x)
        return tape, root, f(root)


def _torch_array(data: Any, dtype: str | None, device: str | None):
    import torch

    if array_api_compat.is_torch_array(data) and device is None:
        device = data.device
    array = torch.asarray(data, device=device)
    if dtype is None and not array.dtype.is_floating_point:
        dtype = "float64"
    return array if dtype is None else array.to(getattr(torch, dtype))


def _like(data: Any, root: TapeArray) -> Any:
    """``data`` (a seed or direction) in ``root``'s storage, dtype and device."""
    if type(data) is TapeArray:
        return data
    value = strip(root)
    return root._ops.asarray(data, dtype=value.dtype, device=array_api_compat.device(value))


def _check_scalar(out: Any, method: str) -> None:
    shape = getattr(out, "shape", ())
    if shape and math.prod(shape) != 1:
        raise ValueError(f"tape backend: {method} needs a scalar-valued function, got shape {tuple(shape)}")


def _value(tape: Tape, out: Any) -> Any:
    return out.value if type(out) is TapeArray and out.tape is tape else out


def _jacobian(tape: Tape, root: TapeArray, out: Any) -> Any:
    """d out / d root, of shape ``out.shape + root.shape``: one sweep per element of ``out``."""
    ops, shape = tape.ops, tuple(getattr(out, "shape", ()))
    m = math.prod(shape)
    basis = ops.eye(m, dtype=root.dtype, device=array_api_compat.device(strip(root)))
    rows = [tape.gradient(out, [root], seed=ops.reshape(basis[i], shape), keep=i < m - 1)[0]
            for i in range(m)]
    return ops.reshape(ops.stack(rows), shape + tuple(root.shape))


class CompiledTapeBackend(Compiled, TapeBackend):
    """The tape's sweeps captured once per input shape and replayed as one compiled program."""

    name = "tape_compiled"
    description = "optbench's reverse-mode engine, forward and reverse sweeps compiled by TorchInductor"

    def _too_large(self, method, f, args):
        """``hessian`` makes one reverse sweep per input, ``jacobian`` one per output."""
        if method == "hessian":
            return too_many_passes(math.prod(args[0].shape), "reverse sweeps (one per Hessian row)")
        if method == "jacobian":
            return too_many_passes(math.prod(getattr(self._interpreted("value", f, args[0]), "shape", ())),
                                   "reverse sweeps (one per Jacobian row)")
        return None
