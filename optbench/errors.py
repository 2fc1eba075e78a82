"""The errors optbench raises for user mistakes; the CLI prints them without a traceback."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class OptbenchError(Exception):
    """Base class of every error caused by input (names, parameters, files), not by a bug."""


class UnknownNameError(OptbenchError, KeyError):
    """A plugin name that nothing registered; the message lists the close matches."""

    def __init__(self, kind: str, name: str, available: Iterable[str]):
        self.kind, self.name, self.available = kind, name, sorted(available)
        super().__init__(f"unknown {kind} {name!r}{suggest(name, self.available)}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class ParameterError(OptbenchError, ValueError):
    """A parameter value that fails its declaration (type, bounds, choices)."""


class PluginConflictError(OptbenchError):
    """Two plugins registered the same name for the same kind of extension."""


class CapabilityError(OptbenchError, NotImplementedError):
    """A backend asked for something it does not declare (a method, device, dtype or order)."""


class SuiteError(OptbenchError):
    """A suite file that cannot run: names the file, the key path and what was expected."""

    def __init__(self, file: str, path: str, message: str):
        self.file, self.path, self.message = file, path, message
        super().__init__(f"{file}: {path or '(top level)'}: {message}")


def key_path(path: str, key: str | int) -> str:
    """The dotted key path of a suite error: ``objectives[0].params.n``."""
    return f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)


class NotInstalledError(OptbenchError, ImportError):
    """A plugin's optional dependency is missing: raise it from the plugin module on import, and
    the registry lists the plugin as not installed, with ``install``, instead of as broken; the
    names in ``provides`` are then skipped with that reason wherever a suite uses them."""

    def __init__(self, requirement: str, install: str, provides: dict[str, list[str]] | None = None):
        self.requirement, self.install = requirement, install
        self.provides = provides or {}  # kind -> names it would register, e.g. {"backends": ["jax"]}
        super().__init__(f"needs {requirement}; install it with {install}")


class BackendResultError(ValueError):
    """A backend returned a derivative of the wrong shape or dtype: a bug in the backend.

    Raised rather than letting NumPy-style broadcasting turn it into plausible wrong numbers;
    the runner records the cell as ``crashed`` with this message as the reason.
    """


def suggest(name: str, available: Iterable[str]) -> str:
    """Return ``"; did you mean ...?"`` for close matches, else the list of what exists."""
    available = sorted(available)
    close = difflib.get_close_matches(name, available, n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    if available:
        return "; available: " + ", ".join(available)
    return "; none is registered"
