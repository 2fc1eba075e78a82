"""The built-in optimizers, registered through the ``optbench`` entry point ``optimizers``."""
from __future__ import annotations

import optbench

from .adaptive import ADAPTIVE
from .first_order import FIRST_ORDER
from .projected import PROJECTED
from .second_order import SECOND_ORDER

BUILTIN_OPTIMIZERS = (*FIRST_ORDER, *ADAPTIVE, *SECOND_ORDER, *PROJECTED)


@optbench.hookimpl
def optbench_register_optimizers(register):
    for cls in BUILTIN_OPTIMIZERS:
        register(cls)
