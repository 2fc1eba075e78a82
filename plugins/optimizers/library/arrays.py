"""Moving iterates between a backend's arrays and the NumPy float64 arrays a library works in."""
from __future__ import annotations

from collections.abc import Callable

import array_api_compat
import numpy as np

from optbench import Backend


def numpy_bridge(backend: Backend, like) -> tuple[Callable, Callable]:
    """``(to_backend, to_numpy)`` for arrays of ``like``'s dtype and device.

    ``to_backend`` copies, so a library that later overwrites its array in place cannot change
    an iterate optbench has recorded.
    """
    dtype, device = str(backend.to_numpy(like).dtype), str(array_api_compat.device(like))

    def to_backend(a: np.ndarray):
        return backend.asarray(np.array(a, dtype=dtype), dtype=dtype, device=device)

    def to_numpy(a) -> np.ndarray:
        return np.asarray(backend.to_numpy(a), dtype=np.float64)

    return to_backend, to_numpy
