"""Moving iterates between a backend's arrays and the NumPy float64 arrays a library works in."""
from __future__ import annotations

from collections.abc import Callable

import array_api_compat
import numpy as np

from optbench import Backend


def numpy_bridge(backend: Backend, like) -> tuple[Callable, Callable]:
    """``(to_backend, to_numpy)`` for arrays of ``like``'s dtype and device.

    ``to_backend(a)`` may share ``a``'s memory, as ``torch.from_numpy`` does: right for an
    evaluation, which is over before the library moves on; ``to_backend(a, copy=True)`` is for
    an iterate optbench keeps, which a library that overwrites its array in place would change.
    """
    dtype, device = str(backend.to_numpy(like).dtype), str(array_api_compat.device(like))

    def to_backend(a: np.ndarray, copy: bool = False):
        host = np.array(a, dtype=dtype) if copy else np.asarray(a, dtype=dtype)
        return backend.asarray(host, dtype=dtype, device=device)

    def to_numpy(a) -> np.ndarray:
        return np.asarray(backend.to_numpy(a), dtype=np.float64)

    return to_backend, to_numpy
