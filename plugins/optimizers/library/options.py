"""Checking a library's options before a run: unknown names and bad values fail at once, clearly."""
from __future__ import annotations

import importlib

from optbench import CapabilityError, ParameterError


def require_library(module: str, extra: str):
    """Import ``module``, or raise :class:`CapabilityError` saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise CapabilityError(f"{module} is not installed: pip install 'optbench[{extra}]'") from None


def unknown_option(owner: str, what: str, name: str, accepted: list[str]) -> ParameterError:
    """The one error for an option ``what`` does not take, listing those it accepts."""
    return ParameterError(f"optimizer {owner!r}: {what} has no option {name!r}; "
                          f"it accepts: {', '.join(sorted(accepted)) or 'none'}")


def check_option_names(owner: str, what: str, given: dict, accepted: list[str]) -> None:
    """Raise :func:`unknown_option` for the first name in ``given`` that is not ``accepted``."""
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise unknown_option(owner, what, unknown[0], accepted)
