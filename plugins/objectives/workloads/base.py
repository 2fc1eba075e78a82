"""What the GradBench/ADBench workloads share: a fixed input point and the derivative to time.

A workload is an :class:`~optbench.Objective` whose size follows from its parameters and whose
``x0`` is the input GradBench generates, the point every backend is measured at. ``derivative``
names what GradBench times for the task: ``grad``, ``jacobian`` (of :meth:`Workload.residuals`,
through :meth:`Workload.jacobian`) or one of ``products``, methods ``(backend, x) -> array``.
"""
from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from optbench import Objective, Param, namespace

GRADBENCH_SEED = 31337  # every GradBench eval's default seed
SEED = Param(int, GRADBENCH_SEED, "seed of the input generator (GradBench's default: 31337)", ge=0)


class Workload(Objective):
    """A GradBench task: ``setup`` builds its data and ``self.point``, the input to evaluate at."""

    source: ClassVar[str] = ""  # where the task and its generator are defined
    size_params: ClassVar[tuple[str, ...]] = ("n",)  # whose product orders the sizes, as GradBench sorts them
    derivative: ClassVar[str] = "grad"
    products: ClassVar[tuple[str, ...]] = ()
    smooth = True

    point: np.ndarray

    def x0(self, seed: int = 0) -> np.ndarray:
        """GradBench's input (the same for every ``seed``: it is the task's data, not a start)."""
        return self.point.copy()

    @property
    def size(self) -> tuple[int, str]:
        """The problem size GradBench orders this task's inputs by, and its name (e.g. ``d*k``)."""
        values = [self.n if key == "n" else self.p[key] for key in self.size_params]
        return math.prod(values), "*".join(self.size_params)

    def residuals(self, x):
        """The task's vector output, for vector-valued tasks."""
        raise NotImplementedError(f"workload {self.name!r} is scalar-valued")

    def jacobian(self, backend, x):
        """The Jacobian of :meth:`residuals` at ``x`` (dense; structured tasks override this)."""
        backend.check("jacobian")
        return backend.jacobian(self.residuals, x)

    def index(self, key: str, value: np.ndarray, like):
        """An integer index array in ``like``'s namespace and device (converted once per kind)."""
        return self.constant(key, value, like, dtype=namespace(like).int64)

    def properties(self) -> dict:
        return {**super().properties(), "source": self.source, "derivative": self.derivative}

    @property
    def minimum(self):
        return None


def legacy_sequence(grid: list[tuple], wanted: tuple, draw, seed: int):
    """The input GradBench draws for size ``wanted``: its evals seed NumPy's global generator once
    and draw every size of the sorted ``grid`` in turn, so an input depends on the sizes before
    it. A size off the grid is drawn first from a freshly seeded generator."""
    rng = np.random.RandomState(seed)
    for earlier in grid[:grid.index(wanted)] if wanted in grid else ():
        draw(rng, earlier)
    return draw(rng, wanted)
