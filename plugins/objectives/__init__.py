"""The built-in objectives, registered through the ``optbench`` entry point ``objectives``."""
from __future__ import annotations

import optbench

from .bbob import BBOB
from .classic import CLASSIC
from .convex import CONVEX
from .course_notes import COURSE_NOTES
from .mgh import SUMS_OF_SQUARES
from .real_data import REAL_DATA
from .workloads import WORKLOADS

BUILTIN_OBJECTIVES = (*COURSE_NOTES, *CONVEX, *CLASSIC, *BBOB, *SUMS_OF_SQUARES, *REAL_DATA)


@optbench.hookimpl
def optbench_register_objectives(register):
    for cls in (*BUILTIN_OBJECTIVES, *WORKLOADS):  # workloads: tests/test_workloads.py, not the library's tests
        register(cls)
