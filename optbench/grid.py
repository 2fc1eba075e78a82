"""The building blocks of a suite's grid, shared by every task's ``expand``: cells, ids, axes, rules.

A cell is one point of the grid; its id hashes what it computes, so the same configuration
gets the same id in every run and ``--resume`` can find it.
"""
from __future__ import annotations

import fnmatch
import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

from .errors import ParameterError, SuiteError, UnknownNameError, key_path, suggest
from .params import Param

NOT_IN_ID = ("timeout",)  # execution limits, not part of what a cell computes
RULE_SETTINGS = ("max_n", "params", "reason")  # keys of a ``limits`` rule that are not names to match


@dataclass(frozen=True)
class Cell:
    """One point of the grid: its id (a hash of its configuration), a label and the config."""

    id: str
    label: str
    config: dict

    def matches(self, pattern: str) -> bool:
        """``--only``: a glob on the label, or a prefix of the id."""
        return self.id.startswith(pattern) or fnmatch.fnmatchcase(self.label, pattern)


def cell_id(config: dict) -> str:
    """12 hex digits of the SHA-256 of the canonical JSON of ``config`` (limits left out)."""
    identity = {k: v for k, v in config.items() if k not in NOT_IN_ID}
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def lookup(file: str, path: str, registry, kind: str, name: str):
    """The registry's spec of ``name``; an unknown name is a suite error at ``path``."""
    try:
        return registry.get(kind, name)
    except UnknownNameError as exc:
        raise SuiteError(file, path, str(exc)) from None


def axes(file: str, path: str, params: dict, coerce) -> dict[str, list]:
    """Each parameter as a list of coerced values (a scalar is a one-value axis)."""
    out = {}
    for key, value in params.items():
        values = value if isinstance(value, list) else [value]
        coerced = []
        for j, item in enumerate(values):
            where = key_path(key_path(path, key), j) if isinstance(value, list) else key_path(path, key)
            try:
                coerced.append(coerce(key, item))
            except ParameterError as exc:
                raise SuiteError(file, where, str(exc)) from None
        out[key] = coerced
    return out


def points(named_axes: dict[str, list]) -> list[dict]:
    """Every combination of the axes' values, as dicts."""
    return [dict(zip(named_axes, combo)) for combo in itertools.product(*named_axes.values())]


def objective_grid(file: str, i: int, entry: dict, registry) -> tuple[str, list[tuple[dict, dict]], list]:
    """The objective's name, its grid points as (given params, full params with defaults) and its starts."""
    spec = lookup(file, f"objectives[{i}].name", registry, "objectives", entry["name"])
    cls, owner = spec.cls, f"objective {spec.name!r}"
    declared = {"n": Param(int, cls.default_dim), **cls.params}
    low, high = cls.dim_range

    def coerce(key: str, value: Any) -> Any:
        if key not in declared:
            raise ParameterError(f"{owner}: unknown parameter {key!r}{suggest(key, declared)}")
        value = declared[key].coerce(owner, key, value)
        if key == "n" and (value < low or (high is not None and value > high)):
            allowed = f"exactly {low}" if low == high else f">= {low}" + ("" if high is None else f" and <= {high}")
            raise ParameterError(f"{owner}: dimension n must be {allowed}, got {value}")
        return value

    given_axes = axes(file, f"objectives[{i}].params", entry.get("params", {}), coerce)
    defaults = {k: p.default for k, p in declared.items()}
    grid = [(given, with_dimension(file, i, cls, given, {**defaults, **given})) for given in points(given_axes)]
    for j, start in enumerate(entry.get("x0", [])):
        for given, params in grid:
            if isinstance(start, list) and len(start) != params["n"]:
                raise SuiteError(file, f"objectives[{i}].x0[{j}]", f"objective {spec.name!r}: a starting point "
                                 f"needs n = {params['n']} coordinates, got {len(start)}")
    return spec.name, grid, entry.get("x0", [None])


def count_points(params: dict) -> int:
    """How many grid points a parameter table makes (each list is an axis), without making them."""
    return math.prod(len(value) if isinstance(value, list) else 1 for value in params.values())


def count_objective_points(data: dict) -> int:
    """Objective points x starting points of a grid, counted."""
    return sum(count_points(entry.get("params", {})) * len(entry.get("x0", [None])) for entry in data["objectives"])


def count_placements(data: dict) -> int:
    """Backends x devices x dtypes x repeats: how many times each point of a grid runs."""
    return len(data["backends"]) * len(data["devices"]) * len(data["dtypes"]) * data["repeats"]


def with_dimension(file: str, i: int, cls, given: dict, params: dict) -> dict:
    """``params`` with n set from the others where the objective derives it (:meth:`Objective.dimension`),
    or, when not given, its default for them (:meth:`Objective.default_n`)."""
    derived = cls.dimension(params)
    if derived is None:
        return params if "n" in given else {**params, "n": cls.default_n(params)}
    if "n" in given and given["n"] != derived:
        raise SuiteError(file, f"objectives[{i}].params.n", f"objective {cls.name!r}: n follows from its "
                         f"parameters: {derived} at {format_params(given)}; leave n out")
    return {**params, "n": derived}


def matching_rules(rules: list[dict], where: dict) -> list[dict]:
    """The rules (``exclude`` or ``limits`` entries) whose every name key equals ``where``'s."""
    return [rule for rule in rules if all(where.get(k) == v for k, v in rule.items() if k not in RULE_SETTINGS)]


def format_params(params: dict) -> str:
    """``k=v,k=v``: parameters as a cell label shows them."""
    return ",".join(f"{k}={v}" for k, v in params.items())


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def check_unique(file: str, cells: list[Cell]) -> None:
    """Two grid points with the same configuration are an error naming the cell."""
    seen: set[str] = set()
    for cell in cells:
        if cell.id in seen:
            raise SuiteError(file, "objectives", f"the grid lists the same cell twice: {cell.label}")
        seen.add(cell.id)
