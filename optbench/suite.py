"""Suite files: read a TOML suite, validate it, and hand each grid to its task to expand.

The schema (:mod:`optbench.schema`) checks the file's shape; checks that need the installed
plugins (names, parameter values, combinations) follow here, and the suite's task
(:mod:`optbench.tasks`) turns each grid into cells with stable ids (:mod:`optbench.grid`).
"""
from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from .errors import OptbenchError, SuiteError, key_path, suggest
from .grid import RULE_SETTINGS, Cell, cell_id, check_unique, lookup, objective_grid
from .registry import Registry, load_registry
from .schema import SCHEMA, SCHEMA_PATH, check_schema, defaults, table_defaults, validate_schema
from .tasks import TASKS

TABLES = ("stop", "timing", "jacobian")  # tables whose keys have defaults of their own
MAX_CELLS = 100_000  # default largest grid; a bigger one is refused before it is expanded
ENV_MAX_CELLS = "OPTBENCH_MAX_CELLS"


@dataclass
class Suite:
    """A validated suite file and its cells."""

    name: str
    description: str
    path: str
    text: str
    hash: str
    data: dict
    cells: list[Cell] = field(default_factory=list)


def load_suite(path: str | Path, registry: Registry | None = None, max_cells: int | None = None) -> Suite:
    """Read, validate and expand the suite file at ``path``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SuiteError(str(path), "", f"cannot read the suite file: {exc.strerror}") from None
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise SuiteError(str(path), "", f"not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    return parse_suite(text, str(path), registry, max_cells)


def parse_suite(text: str, file: str = "<suite>", registry: Registry | None = None,
                max_cells: int | None = None) -> Suite:
    """Validate and expand suite ``text`` (``file`` names it in errors).

    A grid of more than ``max_cells`` cells (default: ``$OPTBENCH_MAX_CELLS``, else
    :data:`MAX_CELLS`) is refused before it is expanded.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(file, "", f"not valid TOML: {exc}") from None
    _check_finite(file, data)
    validate_schema(data, file)
    top = {k: v for k, v in data.items() if k != "grid"}
    sections = [(f"grid[{i}]." if "grid" in data else "", {**top, **section})
                for i, section in enumerate(data.get("grid", [{}]))]
    grids = [_in_section(file, where, _with_defaults, file, section) for where, section in sections]
    _check_size(file, sum(TASKS[grid["task"]].count(grid) for grid in grids), cell_limit(max_cells))
    registry = registry or load_registry()
    cells = [cell for (where, _), grid in zip(sections, grids)
             for cell in _in_section(file, where, validate, grid, file, registry)]
    check_unique(file, cells)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Suite(data["name"], data.get("description", ""), file, text, digest, _with_defaults(file, top, False), cells)


def _in_section(file: str, where: str, check, *args):
    """``check(*args)``, its errors' key paths prefixed by the grid section (``grid[1].``)."""
    try:
        return check(*args)
    except SuiteError as exc:
        raise SuiteError(file, where + exc.path, exc.message) from None


def _check_finite(file: str, value: Any, path: str = "") -> None:
    """NaN and infinities are refused wherever a number may go (a NaN timeout never fires)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise SuiteError(file, path, f"expected a finite number, got {value}")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        _check_finite(file, item, key_path(path, key))


def cell_limit(given: int | None = None) -> int:
    """The largest grid allowed: ``given``, else ``$OPTBENCH_MAX_CELLS``, else :data:`MAX_CELLS`."""
    if given is None:
        text = os.environ.get(ENV_MAX_CELLS)
        if text is None:
            return MAX_CELLS
        try:
            given = int(text)
        except ValueError:
            raise OptbenchError(f"{ENV_MAX_CELLS} must be a positive integer, got {text!r}") from None
    if given < 1:
        raise OptbenchError(f"the cell limit must be a positive integer, got {given}")
    return given


def _check_size(file: str, count: int, limit: int) -> None:
    if count > limit:
        raise SuiteError(file, "", f"the grid has up to {count:,} cells, more than the limit of {limit:,}: "
                         f"narrow it, or raise the limit with --max-cells or {ENV_MAX_CELLS}")


def _with_defaults(file: str, grid: dict, complete: bool = True) -> dict:
    """One grid with every default filled in (``complete``: checked to be runnable on its own)."""
    if complete:
        if "objectives" not in grid:
            raise SuiteError(file, "objectives", "missing required key")
        _check_task_keys(file, grid)
    grid = {**defaults(), **grid}
    return grid | {table: {**table_defaults(table), **grid[table]} for table in TABLES if table in grid}


def _check_task_keys(file: str, data: dict) -> None:
    """A key only another task reads is an error, not silently ignored."""
    task = data.get("task", "optimize")
    for other in TASKS.values():
        if other.name == task:
            continue
        for key in other.keys:
            if key in data:
                raise SuiteError(file, key, f"only task {other.name!r} reads this key; this suite's task is {task!r}")
        for i, entry in enumerate(data["objectives"]):
            for key in set(other.objective_keys) & set(entry) - set(TASKS[task].objective_keys):
                raise SuiteError(file, f"objectives[{i}].{key}",
                                 f"only task {other.name!r} reads this key; this suite's task is {task!r}")


def validate(data: dict, file: str, registry: Registry) -> list[Cell]:
    """Check names, parameter values and combinations against ``registry``; return the grid's cells."""
    task = TASKS[data["task"]]
    for key in task.required:
        if key not in data:
            raise SuiteError(file, key, f"missing required key: task {task.name!r} needs {key}")
    objectives = [objective_grid(file, i, entry, registry) for i, entry in enumerate(data["objectives"])]
    backends = [lookup(file, f"backends[{i}]", registry, "backends", name) for i, name in enumerate(data["backends"])
                if registry.missing("backends", name) is None]  # not installed: its cells are skipped
    _check_declared(file, data, backends)
    listed = {"objective": [o["name"] for o in data["objectives"]], "backend": data["backends"],
              "device": data["devices"], "dtype": data["dtypes"]}
    for key, more in task.names(data).items():
        listed[key] = [*listed.get(key, []), *more]
    for rules in task.rules:
        _check_rules(file, data, rules, listed)
    cells = list(task.expand(data, objectives, file, registry))
    if not cells:
        raise SuiteError(file, "exclude", "the exclusions leave no cell to run")
    check_unique(file, cells)
    return cells


def _check_declared(file: str, data: dict, backends: list) -> None:
    """A device kind or dtype that no listed backend declares can never run: an error."""
    for key, declared in (("devices", lambda caps: caps.devices), ("dtypes", lambda caps: caps.dtypes)):
        for j, value in enumerate(data[key]):
            kind = value.split(":")[0]
            if not any(kind in declared(spec.cls.capabilities) for spec in backends):
                raise SuiteError(file, f"{key}[{j}]", f"no backend of this suite declares {value!r} "
                                 f"({', '.join(spec.name for spec in backends)})")


def _check_rules(file: str, data: dict, key_name: str, listed: dict[str, list]) -> None:
    """Every name an ``exclude`` (or ``limits``) entry matches on must be in the suite."""
    for i, rule in enumerate(data.get(key_name, [])):
        for key, value in rule.items():
            if key in RULE_SETTINGS:
                continue
            if key not in listed:
                raise SuiteError(file, f"{key_name}[{i}].{key}", f"task {data['task']!r} has no {key}s")
            if value not in listed[key]:
                raise SuiteError(file, f"{key_name}[{i}].{key}",
                                 f"{value!r} is not among the suite's {key}s{suggest(value, listed[key])}")


__all__ = ["Cell", "SCHEMA", "SCHEMA_PATH", "Suite", "SuiteError", "cell_id", "check_schema",
           "load_suite", "parse_suite"]
