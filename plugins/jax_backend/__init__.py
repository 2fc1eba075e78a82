"""The built-in ``jax`` backend (docs/jax.md), registered only when JAX imports.

Without JAX the entry point raises :class:`optbench.NotInstalledError`, which the registry
lists as "not installed" with the command that installs it, not as a broken plugin.
"""
from __future__ import annotations

import optbench

try:
    import jax  # noqa: F401
except ModuleNotFoundError as exc:
    raise optbench.NotInstalledError("jax", "pip install 'optbench[jax]'") from exc

from .backend import JaxBackend


@optbench.hookimpl
def optbench_register_backends(register):
    register(JaxBackend)


__all__ = ["JaxBackend"]
