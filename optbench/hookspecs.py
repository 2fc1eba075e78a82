"""The hook specifications: one hook per kind of extension, callback style.

A plugin module (or object) implements any of these and is announced through an entry point
in the ``optbench`` group::

    [project.entry-points.optbench]
    my_plugin = "my_package.plugin"

Each hook receives ``register``; call it once per class to add. Names must be unique per kind
across all installed plugins: a clash is an error naming both providers.
"""
from __future__ import annotations

import pluggy

PROJECT = "optbench"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def optbench_register_objectives(register):
    """Register objective functions.

    :param register: call ``register(cls)`` with a subclass of :class:`optbench.Objective`
        whose ``name`` is unique among objectives.
    """


@hookspec
def optbench_register_optimizers(register):
    """Register optimizers.

    :param register: call ``register(cls)`` with a subclass of :class:`optbench.Optimizer`
        whose ``name`` is unique among optimizers.
    """


@hookspec
def optbench_register_backends(register):
    """Register automatic-differentiation backends.

    :param register: call ``register(cls)`` with a subclass of :class:`optbench.Backend`
        whose ``name`` is unique among backends; ``torch``, ``dual``, ``tape`` and ``jax`` are
        reserved for the built-in backends.
    """
