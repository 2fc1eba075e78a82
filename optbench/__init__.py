"""optbench: benchmark numerical optimizers and automatic-differentiation backends.

The stable Python API that plugin authors and the suites rely on::

    import optbench
    registry = optbench.load_registry()        # .objectives, .optimizers, .backends, .broken
    f = optbench.objective("rosenbrock", n=10)
    opt = optbench.optimizer("gd", step=1e-3)
    result = optbench.solve(f, opt, optbench.backend("torch"), stop=optbench.StopRules(max_iter=100))
"""
from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

# The API is imported on first use (PEP 562), so a command that needs little of it, such as the
# driver of `optbench run` starting its workers, does not wait for NumPy and every module.
_EXPORTS = {
    "backend": ("Backend", "Capabilities"),
    "errors": ("BackendResultError", "CapabilityError", "NotInstalledError", "OptbenchError",
               "ParameterError", "PluginConflictError", "UnknownNameError"),
    "hookspecs": ("hookimpl",),
    "loop": ("Result", "StopRules", "solve"),
    "objective": ("Objective", "namespace"),
    "optimizer": ("Converged", "LibraryStop", "LoopOwningOptimizer", "Optimizer", "Stalled"),
    "oracle": ("Oracle",),
    "params": ("Param",),
    "registry": ("backend", "load_registry", "objective", "optimizer"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

if TYPE_CHECKING:
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


class _Package(types.ModuleType):
    """``optbench.backend``, ``.objective`` and ``.optimizer`` are the registry's functions, not the
    submodules of those names: loading a submodule does not rebind them (the submodules are in
    ``sys.modules``, and ``from optbench.objective import ...`` works as usual)."""

    def __setattr__(self, name: str, value) -> None:
        if not (isinstance(value, types.ModuleType) and name in _MODULE_OF):
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name == "__version__":
        from importlib import metadata

        try:
            value = metadata.version("optbench")
        except metadata.PackageNotFoundError:  # running from a source tree that is not installed
            value = "0+unknown"
    elif name in _MODULE_OF:
        value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    elif name in _EXPORTS:  # optbench.loop and the like, as when the package loaded them eagerly
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'optbench' has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "Backend", "BackendResultError", "Capabilities", "CapabilityError", "Converged", "LibraryStop",
    "LoopOwningOptimizer", "NotInstalledError", "Objective", "OptbenchError", "Optimizer",
    "Oracle", "Param", "ParameterError", "PluginConflictError", "Result", "Stalled", "StopRules",
    "UnknownNameError", "backend", "hookimpl", "load_registry", "namespace", "objective",
    "optimizer", "solve", "__version__",
]
