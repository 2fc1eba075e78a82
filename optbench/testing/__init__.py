"""The conformance kit for plugin authors: check your objectives, optimizers and backends.

It is a pytest plugin (entry point ``pytest11``), inert until asked. In your package, add
``tests/test_optbench_conformance.py`` containing::

    from optbench.testing.checks import *  # noqa: F401,F403

and run ``pytest --optbench-plugins NAME`` (``NAME``: your entry-point name; several are
comma-separated), or set ``optbench_plugins = NAME`` under ``[tool.pytest.ini_options]``.
Every objective, optimizer and backend those plugins registered is then checked against
every loaded backend: see :mod:`optbench.testing.checks` for the list of checks.
"""
from __future__ import annotations

import numpy as np

from ..registry import Spec, load_registry


def selected_specs(plugins: list[str], kind: str) -> list[Spec]:
    """The specs of ``kind`` registered by the named plugins (entry-point names)."""
    registry = load_registry()
    return [spec for _, spec in sorted(getattr(registry, kind).items()) if spec.plugin in plugins]


def central_difference(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central finite-difference gradient of scalar ``f`` (NumPy float64), step scaled to ``x``."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.empty_like(x)
    for i in np.ndindex(x.shape):
        step = h * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        grad[i] = (float(f(up)) - float(f(down))) / (2 * step)
    return grad


__all__ = ["central_difference", "selected_specs"]
