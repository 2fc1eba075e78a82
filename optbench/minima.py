"""Known minima (f* and x*), found once per objective configuration and kept between runs.

A reference solve can cost more than the run it serves (Newton at 10000 x 500 takes seconds),
so :func:`known_minimum` keeps each result in memory for the process and, when it took more
than ``WORTH_CACHING`` seconds, as JSON in the user cache directory, keyed by a hash of the
objective's class, name, dimension and parameters. A cached minimiser is checked on load:
when ``f(x*)`` no longer matches the stored ``f*`` (the objective's code changed), it is
solved again. ``OPTBENCH_CACHE_DIR`` moves the cache; set to an empty string it is off.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .objective import Objective

ENV_CACHE_DIR = "OPTBENCH_CACHE_DIR"
WORTH_CACHING = 0.05  # seconds; closed forms are cheaper to recompute than to read
_memory: dict[str, "KnownMinimum"] = {}


@dataclass(frozen=True)
class KnownMinimum:
    """An objective's known minimum and minimiser (either may be ``None``), and what finding
    them cost in this process (0 when they came from a cache)."""

    minimum: float | None
    minimizer: np.ndarray | None
    seconds: float = 0.0


def configuration_key(objective) -> str:
    """A hash that changes whenever the objective's class, dimension or parameters do."""
    cls = type(objective)
    identity = {"class": f"{cls.__module__}.{cls.__qualname__}", "name": objective.name,
                "n": objective.n, "params": objective.p}
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cache_dir() -> Path | None:
    """Where minima are cached: ``$OPTBENCH_CACHE_DIR``, else the platform's user cache directory."""
    override = os.environ.get(ENV_CACHE_DIR)
    if override is not None:
        return Path(override) if override else None
    import platformdirs

    return Path(platformdirs.user_cache_dir("optbench")) / "minima"


def known_minimum(objective, evaluate: Callable[[np.ndarray], float] | None = None, *,
                  charge: bool = True, clock: Callable[[], float] = time.perf_counter) -> KnownMinimum:
    """The objective's f* and x*, from memory, the cache directory, or solved (and cached) now.

    ``evaluate(x)`` computes f at a float64 NumPy point (default: ``objective`` on NumPy); a run
    passes its backend's, so checking a cached minimiser imports no other array library.
    The seconds finding them took, read on ``clock``, are charged once, to the first call with
    ``charge`` (a run's set-up time); a look-ahead before the run passes ``charge=False`` and
    leaves them to it, and times its thread's own CPU seconds (``time.thread_time``), as its
    wall time also counts the waits for the GIL that the work beside it holds.
    """
    key = configuration_key(objective)
    found = _memory.get(key) or _find(objective, key, evaluate or (lambda x: float(objective(x))), clock)
    _memory[key] = KnownMinimum(found.minimum, found.minimizer) if charge else found  # later cells pay nothing
    return found


def is_known(objective) -> bool:
    """Whether f* and x* are in memory or in the cache directory (not checked here: a stale entry
    is solved again when it is read)."""
    key = configuration_key(objective)
    path = _path(key)
    return key in _memory or (path is not None and path.is_file())


def _find(objective, key: str, evaluate: Callable[[np.ndarray], float], clock: Callable[[], float]) -> KnownMinimum:
    """From the cache directory, or solved now (and written there when it was worth it)."""
    found = _read(objective, key, evaluate)
    if found is None:
        start = clock()
        x_star = objective.minimizer
        # the default ``minimum`` asks for the minimiser again: evaluate f(x*) instead
        default = type(objective).minimum is Objective.minimum
        f_star = evaluate(np.asarray(x_star, dtype=np.float64)) if default and x_star is not None \
            else objective.minimum
        found = KnownMinimum(f_star, None if x_star is None else np.asarray(x_star, dtype=np.float64),
                             clock() - start)
        if found.seconds > WORTH_CACHING:
            _write(objective, key, found)
    return found


def _path(key: str) -> Path | None:
    directory = cache_dir()
    return None if directory is None else directory / f"{key}.json"


def _read(objective, key: str, evaluate: Callable[[np.ndarray], float]) -> KnownMinimum | None:
    """The cached entry, if there is one that still matches the objective."""
    path = _path(key)
    start = time.perf_counter()
    try:
        entry = json.loads(path.read_text()) if path is not None else None
    except (OSError, ValueError):  # absent, unreadable or half-written: solve again
        return None
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    minimum, minimizer = entry.get("minimum"), entry.get("minimizer")
    x_star = None if minimizer is None else np.asarray(minimizer, dtype=np.float64)
    if x_star is not None:
        if x_star.shape != (objective.n,) or minimum is None:
            return None
        value = evaluate(x_star)
        if not math.isclose(value, minimum, rel_tol=1e-9, abs_tol=1e-12):
            return None  # the objective changed since this entry was written
    return KnownMinimum(minimum, x_star, time.perf_counter() - start)


def _write(objective, key: str, found: KnownMinimum) -> None:
    """Write the entry atomically; a cache that cannot be written is skipped, not an error."""
    path = _path(key)
    if path is None:
        return
    entry = {"key": key, "objective": objective.name, "n": objective.n, "params": objective.p,
             "minimum": found.minimum, "seconds": found.seconds,
             "minimizer": None if found.minimizer is None else found.minimizer.tolist()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as handle:
            json.dump(entry, handle, default=str)
        os.replace(handle.name, path)
    except OSError:
        pass
