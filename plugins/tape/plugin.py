"""Registers the ``tape`` backend through optbench's entry point, as any plugin would."""
import optbench

from .backend import CompiledTapeBackend, TapeBackend


@optbench.hookimpl
def optbench_register_backends(register):
    register(TapeBackend)
    register(CompiledTapeBackend)
