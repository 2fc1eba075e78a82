"""Registers the ``dual`` backend through optbench's entry point, as any third party would."""
import optbench

from .backend import CompiledDualBackend, DualBackend


@optbench.hookimpl
def optbench_register_backends(register):
    register(DualBackend)
    register(CompiledDualBackend)
