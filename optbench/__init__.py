"""optbench: benchmark numerical optimizers and automatic-differentiation backends.

The stable Python API that plugin authors and the suites rely on::

    import optbench
    registry = optbench.load_registry()        # .objectives, .optimizers, .backends, .broken
    f = optbench.objective("rosenbrock", n=10)
    opt = optbench.optimizer("gd", step=1e-3)
    result = optbench.solve(f, opt, optbench.backend("torch"), stop=optbench.StopRules(max_iter=100))
"""
from __future__ import annotations

from importlib import metadata as _metadata

from .backend import Backend, Capabilities
from .errors import (BackendResultError, CapabilityError, NotInstalledError, OptbenchError,
                     ParameterError, PluginConflictError, UnknownNameError)
from .hookspecs import hookimpl
from .loop import Result, StopRules, solve
from .objective import Objective, namespace
from .optimizer import Converged, LibraryStop, LoopOwningOptimizer, Optimizer, Stalled
from .oracle import Oracle
from .params import Param
from .registry import backend, load_registry, objective, optimizer

try:
    __version__ = _metadata.version("optbench")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "Backend", "BackendResultError", "Capabilities", "CapabilityError", "Converged", "LibraryStop",
    "LoopOwningOptimizer", "NotInstalledError", "Objective", "OptbenchError", "Optimizer",
    "Oracle", "Param", "ParameterError", "PluginConflictError", "Result", "Stalled", "StopRules",
    "UnknownNameError", "backend", "hookimpl", "load_registry", "namespace", "objective",
    "optimizer", "solve", "__version__",
]
