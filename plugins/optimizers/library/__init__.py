"""Optimizers people already use, run as their libraries run them: scipy.optimize, torch.optim, optax.

Each is registered whether or not its library is installed: a run without it is skipped with
the reason (the extra that installs it), so a suite that lists them still parses everywhere.
"""
from __future__ import annotations

import optbench

from .optax_optim import Optax
from .scipy_minimize import ScipyMinimize
from .torch_optim import TorchOptim

LIBRARY_OPTIMIZERS = (ScipyMinimize, TorchOptim, Optax)


@optbench.hookimpl
def optbench_register_optimizers(register):
    for cls in LIBRARY_OPTIMIZERS:
        register(cls)
