"""Declared, typed, validated parameters: objectives' and optimizers' hyper-parameters."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from .errors import ParameterError, suggest

_TYPES = {"float": float, "int": int, "bool": bool, "str": str}


@dataclass(frozen=True)
class Param:
    """One declared parameter: its type, default, documentation and allowed values.

    Bounds ``gt``/``ge``/``lt``/``le`` and ``choices`` are checked on every value, so a plugin
    never sees a step size of -1 or a momentum of 1.
    """

    type: type
    default: Any
    doc: str = ""
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    choices: tuple | None = None
    optional: bool = False  # None is an accepted value (e.g. "derive it from the objective")

    def coerce(self, owner: str, name: str, value: Any) -> Any:
        """Convert ``value`` (possibly a CLI string) to the declared type and check it."""
        if value is None and self.optional:
            return None
        where = f"{owner}: parameter {name!r}"
        try:
            value = self._convert(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"{where} must be of type {self.type.__name__}, got {value!r}"
            ) from None
        if self.type in (int, float) and not math.isfinite(value):
            raise ParameterError(f"{where} must be finite, got {value!r}")
        for bound, ok, text in (
            (self.gt, lambda v, b: v > b, ">"),
            (self.ge, lambda v, b: v >= b, ">="),
            (self.lt, lambda v, b: v < b, "<"),
            (self.le, lambda v, b: v <= b, "<="),
        ):
            if bound is not None and not ok(value, bound):
                raise ParameterError(f"{where} must be {text} {bound}, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ParameterError(
                f"{where} must be one of {', '.join(map(repr, self.choices))}, got {value!r}"
            )
        return value

    def _convert(self, value: Any) -> Any:
        if self.type is bool:
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            raise TypeError(value)
        if self.type is int:
            if isinstance(value, bool):
                raise TypeError(value)
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError(value)
                return int(value)
            if isinstance(value, str):
                as_float = float(value)
                if not as_float.is_integer():
                    raise ValueError(value)
                return int(as_float)
            return int(value)
        if self.type is float:
            if isinstance(value, bool):
                raise TypeError(value)
            return float(value)
        if self.type is str:
            if not isinstance(value, str):
                raise TypeError(value)
            return value
        if self.type is dict:  # a table (a library's options): TOML inline table, or JSON text on a command line
            value = json.loads(value) if isinstance(value, str) else value
            if not isinstance(value, dict):
                raise TypeError(value)
            return dict(value)
        return self.type(value)

    def describe(self) -> dict:
        """A JSON-ready description, for listings and the suite-file schema."""
        out = {"type": self.type.__name__, "default": self.default, "doc": self.doc}
        for key in ("gt", "ge", "lt", "le", "choices"):
            if getattr(self, key) is not None:
                out[key] = list(self.choices) if key == "choices" else getattr(self, key)
        return out


def bind(owner: str, declared: dict[str, Param], given: dict[str, Any]) -> dict[str, Any]:
    """Validate ``given`` against ``declared`` and fill in defaults."""
    unknown = set(given) - set(declared)
    if unknown:
        name = sorted(unknown)[0]
        raise ParameterError(f"{owner}: unknown parameter {name!r}{suggest(name, declared)}")
    return {
        name: param.coerce(owner, name, given[name]) if name in given else param.default
        for name, param in declared.items()
    }


def parse_assignments(items: list[str]) -> dict[str, str]:
    """Parse ``["k=v", ...]`` from the command line (values stay strings until bound)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"expected KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out
