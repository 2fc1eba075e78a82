"""Compiled mode for the native engines: record once, replay the sweeps as one compiled program.

The first call of a derivative method for a given (function, method, input shapes, dtypes,
device) runs the interpreted engine once on torch storage under
:func:`torch.fx.experimental.proxy_tensor.make_fx`. The engine's Python machinery (the tape, its
closures, the dual tags) runs as usual; only the torch operations it issues are captured, so
the graph holds the forward and the backward sweep (or the forward tangent pass) as one flat
program of ATen operations. That graph is compiled by TorchInductor, the compiler behind
``torch.compile`` (vectorised C++ on CPU, Triton kernels and CUDA graphs on CUDA), and later
calls with the same key replay it.

Dynamo, ``torch.compile``'s Python-frame tracer, is not needed: the cache key *is* the guard
(shape, dtype and device of every array argument), and the function's identity. What the
capture cannot see invalidates nothing by itself, so anything that would make a replay wrong
refuses capture instead and falls back to the interpreted engine, with the reason kept in
:attr:`Compiled.fallbacks`:

- control flow that reads array values (``float(x)``, ``if x > 0`` on an array), which
  ``make_fx`` refuses to trace;
- a result that is not a plain torch array (the function returned an outer derivative's
  traced value: it closes over another differentiation);
- a function that cannot be weakly referenced (no safe cache key).

Nested calls (a derivative taken inside a function being differentiated or captured) and
inputs that are already traced values always run interpreted, so nesting keeps its exact
semantics.
"""
from __future__ import annotations

import functools
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

_state = threading.local()  # depth > 0 while this thread runs an engine on behalf of a compiled backend


def capturing() -> bool:
    """Whether this thread is capturing a program: rules then skip value-dependent shortcuts."""
    return getattr(_state, "capturing", False)

# Larger captured programs are replayed as captured, not compiled: TorchInductor's compile time
# grows with the program (a tape Jacobian of m outputs holds m reverse sweeps).
MAX_COMPILED_NODES = 5000
MAX_CAPTURED_PASSES = 64


class Compiled:
    """Mixin over an engine backend: its derivative methods replay compiled programs.

    ``compiler`` is ``"inductor"`` or ``"fx"``, which replays the captured graph without
    compiling it (the capture's own semantics, for tests and debugging); the default comes from
    the environment variable ``OPTBENCH_COMPILER``, else ``"inductor"``.
    """

    compiler_names = ("inductor", "fx")

    def __init__(self, compiler: str | None = None, **options: Any):
        compiler = compiler or os.environ.get("OPTBENCH_COMPILER", "inductor")
        if compiler not in self.compiler_names:
            raise ValueError(f"compiler must be one of {', '.join(self.compiler_names)}, got {compiler!r}")
        super().__init__(storage="torch", **options)
        self.compiler = compiler
        self.fallbacks: dict[str, str] = {}   # "function.method" -> why it runs interpreted
        self.compile_time = 0.0                # seconds spent capturing and compiling, all calls
        self._programs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    # ---- the derivative methods, each through its compiled program -----------------------------
    def value(self, f: Callable, x: Any) -> Any:
        return self._call("value", f, x)

    def value_and_grad(self, f: Callable, x: Any) -> tuple[Any, Any]:
        return self._call("value_and_grad", f, x)

    def grad(self, f: Callable, x: Any) -> Any:
        return self._call("value_and_grad", f, x)[1]

    def jvp(self, f: Callable, x: Any, v: Any) -> Any:
        return self._call("jvp", f, x, v)

    def vjp(self, f: Callable, x: Any, u: Any) -> Any:
        return self._call("vjp", f, x, u)

    def hvp(self, f: Callable, x: Any, v: Any) -> Any:
        return self._call("hvp", f, x, v)

    def hessian(self, f: Callable, x: Any) -> Any:
        return self._call("hessian", f, x)

    def jacobian(self, f: Callable, x: Any) -> Any:
        return self._call("jacobian", f, x)

    # ---- dispatch --------------------------------------------------------------------------------
    def _interpreted(self, method: str, f: Callable, *args: Any) -> Any:
        """The engine's own method (the superclass's), with nested calls kept interpreted."""
        _state.depth = getattr(_state, "depth", 0) + 1
        try:
            if method == "value":
                return f(args[0])
            return getattr(super(), method)(f, *args)
        finally:
            _state.depth -= 1

    def _call(self, method: str, f: Callable, x: Any, *rest: Any) -> Any:
        import torch

        args = (self.asarray(x), *(self.asarray(a) for a in rest))
        if getattr(_state, "depth", 0) or not all(type(a) is torch.Tensor for a in args):
            return self._interpreted(method, f, *args)
        program = self._program(method, f, args)
        if program is None:
            return self._interpreted(method, f, *args)
        return program(*args)

    def _program(self, method: str, f: Callable, args: tuple) -> Callable | None:
        """The compiled program for this call's key, built on first use; None to interpret."""
        key = (method, *((tuple(a.shape), a.dtype, a.device) for a in args))
        try:
            programs = self._programs.setdefault(f, {})
        except TypeError:
            self.fallbacks[_label(f, method)] = "the function cannot be weakly referenced, so it has no safe cache key"
            return None
        if key not in programs:
            start = time.perf_counter()
            programs[key] = self._compile(method, f, args)
            self.compile_time += time.perf_counter() - start
        return programs[key]

    def _compile(self, method: str, f: Callable, args: tuple) -> Callable | None:
        from torch.fx.experimental.proxy_tensor import make_fx

        too_large = self._too_large(method, f, args)
        if too_large:
            self.fallbacks[_label(f, method)] = too_large
            return None
        program = functools.partial(self._interpreted, method, f)
        _state.capturing = True
        try:
            # distinct copies: make_fx would trace one array passed twice (hvp(f, x, x), as
            # a warm-up may call it) as a single input, and the program would keep that alias
            cpu = all(a.device.type == "cpu" for a in args)
            decompositions = _capture_decompositions() if self.compiler == "inductor" and cpu else None
            graph = make_fx(_plain_outputs(program), decompositions)(*(a.clone() for a in args))
        except _NotPlain as exc:
            reason = str(exc)
        except Exception as exc:  # anything make_fx cannot follow: value-dependent control flow, ...
            reason = f"cannot be captured: {_where(exc)}{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        else:
            return self._compiled(graph, f, method, args)
        finally:
            _state.capturing = False
        self.fallbacks[_label(f, method)] = reason
        return None

    def _compiled(self, graph, f: Callable, method: str, args: tuple) -> Callable:
        """The captured ``graph`` compiled, or replayed as captured (``fx``, or too large)."""
        size = len(graph.graph.nodes)
        if self.compiler == "fx":
            return graph
        if size > MAX_COMPILED_NODES:
            self.fallbacks[_label(f, method)] = (
                f"{size} operations, above {MAX_COMPILED_NODES}: the captured program is replayed uncompiled "
                "(compile time grows with the program, e.g. one reverse sweep per Jacobian row)")
            return graph
        return _inductor(graph, args)

    def _too_large(self, method: str, f: Callable, args: tuple) -> str | None:
        """Why this call would make too many passes to capture, or None.

        A capture keeps every intermediate array of every pass alive until it ends, so an
        engine whose method makes many passes (one per chunk, one per Jacobian row) says so
        here, and those calls stay interpreted, freeing each pass as they go.
        """
        return None


def too_many_passes(passes: int, what: str) -> str | None:
    """The fallback reason for a call of ``passes`` passes, above :data:`MAX_CAPTURED_PASSES`."""
    if passes <= MAX_CAPTURED_PASSES:
        return None
    return (f"{passes} {what}, above {MAX_CAPTURED_PASSES}: a captured program would hold every pass's "
            "arrays at once, so it runs interpreted")


class _NotPlain(Exception):
    """The captured program would return something other than torch arrays."""


def _plain_outputs(program: Callable) -> Callable:
    """``program``, checked to return torch arrays only (a tuple for value_and_grad)."""
    import torch

    def checked(*args):
        out = program(*args)
        for item in out if isinstance(out, tuple) else (out,):
            if type(item) is not torch.Tensor:
                raise _NotPlain(f"returns a {type(item).__name__}, not a torch array "
                                "(it closes over another differentiation)")
        return out
    return checked


def _inductor(graph, args: tuple) -> Callable:
    """``graph`` compiled by TorchInductor; CUDA programs replay as CUDA graphs."""
    from torch._inductor.compile_fx import compile_fx

    cuda = any(a.device.type == "cuda" for a in args)
    tuple_out = isinstance(graph.graph.output_node().args[0], (tuple, list))  # before compile_fx rewrites it
    compiled = compile_fx(graph, list(args), config_patches={"triton.cudagraphs": cuda})

    def run(*inputs):
        out = compiled(*inputs)
        return tuple(out) if tuple_out else out
    return run


# Matrix-vector products of at most this many elements are fused (see _capture_decompositions).
BLAS_FROM = 1024


@functools.cache
def _capture_decompositions() -> dict:
    """How a CPU capture for TorchInductor records matrix-vector products.

    TorchInductor decomposes ``X @ w`` into a generated row-by-row reduction. On CPU in float64
    a BLAS call is several times faster from about a thousand elements (logistic regression's
    gradient at 1000 x 100: 48 us against 92-125 us for the whole program), while below that
    the fused reduction saves the call (2-3 us). So small products are decomposed here, and
    large ones are recorded as ``X @ w[:, None]``, a matrix product TorchInductor keeps as a BLAS
    call on CPU. (Leaving ``mv`` itself undecomposed is not an option: TorchInductor refuses an
    implicit fallback for an operation it could decompose whenever the environment sets ``CI``.)
    Dot products stay plain reductions, which TorchInductor vectorises well.
    """
    import torch
    from torch._decomp import core_aten_decompositions

    aten = torch.ops.aten
    fused_mv = core_aten_decompositions()[aten.mv.default]

    def small(*arrays) -> bool:
        return sum(a.numel() for a in arrays) <= BLAS_FROM

    def mv(matrix, vector):
        return fused_mv(matrix, vector) if small(matrix, vector) else torch.mm(matrix, vector[:, None])[:, 0]

    def addmv(bias, matrix, vector, *, beta=1, alpha=1):
        if small(matrix, vector):
            return NotImplemented  # recorded whole; TorchInductor decomposes and fuses it
        product = alpha * mv(matrix, vector)
        return product if beta == 0 else beta * bias + product  # beta = 0 ignores bias, as torch does
    return {aten.mv.default: mv, aten.addmv.default: addmv}


def _where(exc: BaseException) -> str:
    """``file:line: `` of the innermost frame outside torch's own code, where the capture broke."""
    import traceback

    frames = [fr for fr in traceback.extract_tb(exc.__traceback__) if "/torch/" not in fr.filename
              and "/array_api_compat/" not in fr.filename]
    return f"{frames[-1].filename}:{frames[-1].lineno}: " if frames else ""


def _label(f: Callable, method: str) -> str:
    name = getattr(f, "name", None) or getattr(f, "__name__", None) or type(f).__name__
    return f"{name}.{method}"
