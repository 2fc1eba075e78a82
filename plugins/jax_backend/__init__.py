"""The built-in ``jax`` backend (docs/jax.md), registered only when JAX is installed.

Without JAX the entry point raises :class:`optbench.NotInstalledError`, which the registry
lists as "not installed" with the command that installs it, not as a broken plugin. JAX
itself is imported when the backend is first made, not when plugins are listed.
"""
from __future__ import annotations

import importlib.util

import optbench


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # set to None in sys.modules: deliberately blocked
        return False


if not _installed("jax"):
    raise optbench.NotInstalledError("jax", "pip install 'optbench[jax]'", provides={"backends": ["jax"]})

from .backend import JaxBackend  # noqa: E402


@optbench.hookimpl
def optbench_register_backends(register):
    register(JaxBackend)


__all__ = ["JaxBackend"]
