"""A deliberately misbehaving optbench plugin, for the fault-injection tests (tests/test_faults.py).

The tests install this file as a throw-away distribution with an ``optbench`` entry point, so
the driver and its worker processes load it exactly as they would a stranger's plugin. Every
objective is x -> sum(x^2) until its fault fires. ``OPTBENCH_FAULT_MARKS`` names a directory
where a hanging objective writes a file named after its process id just before it hangs.
"""
from __future__ import annotations

import math
import os
import re
import signal
import sys
import time
from pathlib import Path

import optbench
from optbench import Objective, Optimizer, Param
from optbench_plugins.torch_backend import TorchBackend


def square(x):
    return optbench.namespace(x).sum(x * x)


def mark_hang() -> None:
    marks = os.environ.get("OPTBENCH_FAULT_MARKS")
    if marks:
        Path(marks, str(os.getpid())).write_text("hanging")


# ---- objectives --------------------------------------------------------------------------
class Hang(Objective):
    """Sleeps for an hour at its first evaluation (the GIL is free meanwhile)."""

    name = "fault_hang"

    def __call__(self, x):
        mark_hang()
        time.sleep(3600)


class GilHang(Objective):
    """Never returns from C code that holds the GIL (exponential regular-expression backtracking)."""

    name = "fault_gil_hang"

    def __call__(self, x):
        mark_hang()
        re.match(r"(a+)+$", "a" * 64 + "b")


class Segfault(Objective):
    name = "fault_segfault"

    def __call__(self, x):
        os.kill(os.getpid(), signal.SIGSEGV)


class OutOfMemory(Objective):
    """Asks for more memory than any machine has (the allocation fails at once)."""

    name = "fault_memory"

    def __call__(self, x):
        bytearray(2**62)


class Exit(Objective):
    name = "fault_exit"

    def __call__(self, x):
        sys.exit(3)


class NotANumber(Objective):
    name = "fault_nan"

    def __call__(self, x):
        return square(x) * math.nan


class Prints(Objective):
    """Prints on stdout and stderr, through Python and straight to the file descriptors."""

    name = "fault_prints"

    def setup(self):
        print("hello from fault_prints on stdout")
        print("hello from fault_prints on stderr", file=sys.stderr)
        os.write(1, b"hello from fault_prints on fd 1\n")

    def __call__(self, x):
        return square(x)


class Raises(Objective):
    """Raises from the method named by ``where``."""

    name = "fault_raises"
    params = {"where": Param(str, "call", choices=("setup", "call", "x0", "minimum"))}

    def _fail(self, method: str) -> None:
        if self.p["where"] == method:
            raise RuntimeError(f"fault_raises fails in {method}")

    def setup(self):
        self._fail("setup")

    def __call__(self, x):
        self._fail("call")
        return square(x)

    def x0(self, seed=0):
        self._fail("x0")
        return super().x0(seed)

    @property
    def minimum(self):
        self._fail("minimum")
        return 0.0


class SlowSquare(Objective):
    """Well behaved but slow (``delay`` seconds per evaluation): kills land mid-cell."""

    name = "slow_square"
    params = {"delay": Param(float, 0.005, ge=0)}

    def __call__(self, x):
        time.sleep(self.p["delay"])
        return square(x)


# ---- optimizers --------------------------------------------------------------------------
class FaultyDescent(Optimizer):
    """Gradient descent that raises from the method named by ``where``."""

    name = "fault_gd"
    params = {"where": Param(str, "step", choices=("__init__", "validate", "init", "step"))}

    def __init__(self, **params):
        super().__init__(**params)
        self._fail("__init__")

    def _fail(self, method: str) -> None:
        if self.p["where"] == method:
            raise RuntimeError(f"fault_gd fails in {method}")

    def validate(self):
        self._fail("validate")

    def init(self, oracle, x0):
        self._fail("init")
        self.x = x0

    def step(self, oracle):
        self._fail("step")
        self.x = self.x - 0.1 * oracle.grad(self.x)
        return self.x


# ---- backends ----------------------------------------------------------------------------
class ScalarGradient(TorchBackend):
    """Returns a gradient of shape (1,): broadcasting would hide it."""

    name = "fault_grad_1"

    def value_and_grad(self, f, x):
        value, grad = super().value_and_grad(f, x)
        return value, grad[:1]


class MatrixGradient(TorchBackend):
    """Returns a gradient of shape (n, n)."""

    name = "fault_grad_nn"

    def value_and_grad(self, f, x):
        value, grad = super().value_and_grad(f, x)
        return value, grad[:, None] * grad[None, :]


class RaisingBackend(TorchBackend):
    name = "fault_backend_raises"

    def value_and_grad(self, f, x):
        raise RuntimeError("fault_backend_raises fails in value_and_grad")


class UnmakeableBackend(TorchBackend):
    """Cannot even be made: only its own cells may suffer."""

    name = "fault_backend_init"

    def __init__(self):
        raise RuntimeError("fault_backend_init fails in __init__")


@optbench.hookimpl
def optbench_register_objectives(register):
    for cls in (Hang, GilHang, Segfault, OutOfMemory, Exit, NotANumber, Prints, Raises, SlowSquare):
        register(cls)


@optbench.hookimpl
def optbench_register_optimizers(register):
    register(FaultyDescent)


@optbench.hookimpl
def optbench_register_backends(register):
    for cls in (ScalarGradient, MatrixGradient, RaisingBackend, UnmakeableBackend):
        register(cls)
