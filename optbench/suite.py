"""Suite files: load a TOML suite, validate it, and expand it into cells with stable ids.

The published JSON Schema (``suite.schema.json``) is the single description of the format:
:func:`check_schema` interprets the subset of JSON Schema it uses, so the schema editors see
and the validator the runner applies cannot disagree. Checks that need the installed plugins
(names, parameter values, combinations) follow in :func:`validate`.
"""
from __future__ import annotations

import fnmatch
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from .errors import OptbenchError, ParameterError, UnknownNameError, suggest
from .params import Param
from .registry import Registry, load_registry

SCHEMA_PATH = Path(__file__).with_name("suite.schema.json")
SCHEMA: dict = json.loads(SCHEMA_PATH.read_text())
NOT_IN_ID = ("timeout",)  # execution limits, not part of what a cell computes
JACOBIAN_PROBE = "jacobian_probe"  # the objective name of Jacobian cells (optbench.throughput.JacobianProbe)


class SuiteError(OptbenchError):
    """A suite file that cannot run: names the file, the key path and what was expected."""

    def __init__(self, file: str, path: str, message: str):
        self.file, self.path, self.message = file, path, message
        super().__init__(f"{file}: {path or '(top level)'}: {message}")


# ---- the schema interpreter -------------------------------------------------------------------
_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number",
               "boolean": "a boolean", "array": "a list", "object": "a table"}


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, {"string": str, "boolean": bool, "array": list, "object": dict}[name])


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        node: Any = SCHEMA
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _join(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)


def check_schema(value: Any, schema: dict = SCHEMA, path: str = "") -> list[tuple[str, str]]:
    """Every ``(key path, message)`` where ``value`` breaks ``schema`` (parents before children)."""
    schema = _resolve(schema)
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_is_type(value, t) for t in types):
            expected = " or ".join(_TYPE_NAMES[t] for t in types)
            return [(path, f"expected {expected}, got {json.dumps(value, default=str)}")]
    if "enum" in schema and value not in schema["enum"]:
        return [(path, f"expected one of {', '.join(map(json.dumps, schema['enum']))}, got {json.dumps(value)}"
                 f"{suggest(str(value), map(str, schema['enum'])) if isinstance(value, str) else ''}")]
    if _is_type(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            return [(path, f"expected a value >= {schema['minimum']}, got {value}")]
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            return [(path, f"expected a value > {schema['exclusiveMinimum']}, got {value}")]
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        return [(path, "expected a non-empty string")]
    if isinstance(value, list):
        return _check_array(value, schema, path)
    if isinstance(value, dict):
        return _check_object(value, schema, path)
    return []


def _check_array(value: list, schema: dict, path: str) -> list[tuple[str, str]]:
    if len(value) < schema.get("minItems", 0):
        return [(path, f"expected at least {schema['minItems']} item(s), got an empty list")]
    if schema.get("uniqueItems"):
        seen = [json.dumps(v, sort_keys=True) for v in value]
        for i, item in enumerate(seen):
            if item in seen[:i]:
                return [(_join(path, i), f"duplicate item {item}")]
    errors = []
    for i, item in enumerate(value):
        errors += check_schema(item, schema.get("items", {}), _join(path, i))
    return errors


def _check_object(value: dict, schema: dict, path: str) -> list[tuple[str, str]]:
    known = schema.get("properties", {})
    errors = [(_join(path, key), "missing required key") for key in schema.get("required", ()) if key not in value]
    if len(value) < schema.get("minProperties", 0):
        errors.append((path, f"expected at least {schema['minProperties']} key(s)"))
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in known:
            errors += check_schema(item, known[key], _join(path, key))
        elif extra is False:
            errors.append((_join(path, key), f"unknown key{suggest(key, known)}"))
        elif isinstance(extra, dict):
            errors += check_schema(item, extra, _join(path, key))
    return errors


TABLES = ("stop", "timing", "jacobian")  # tables whose keys have defaults of their own
# keys that only one task reads: giving one to the other task is an error, not silently ignored
TASK_KEYS = {"optimize": ("optimizers", "seeds", "stop", "metrics", "trace_every"),
             "throughput": ("measures", "jacobian", "timing", "limits")}


def table_defaults(table: str, schema: dict = SCHEMA) -> dict:
    """The defaults of the keys of one table (``stop``, ``timing``, ``jacobian``)."""
    return {k: s["default"] for k, s in schema["properties"][table]["properties"].items() if "default" in s}


def defaults(schema: dict = SCHEMA) -> dict:
    """The default of every top-level key, and of ``stop``'s and ``timing``'s keys, that the schema declares."""
    out = {k: s["default"] for k, s in schema["properties"].items() if "default" in s}
    return out | {table: table_defaults(table, schema) for table in ("stop", "timing")}


# ---- suites and cells ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """One point of the grid: its id (a hash of its configuration), a label and the config."""

    id: str
    label: str
    config: dict

    def matches(self, pattern: str) -> bool:
        """``--only``: a glob on the label, or a prefix of the id."""
        return self.id.startswith(pattern) or fnmatch.fnmatchcase(self.label, pattern)


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


def cell_id(config: dict) -> str:
    """12 hex digits of the SHA-256 of the canonical JSON of ``config`` (limits left out)."""
    identity = {k: v for k, v in config.items() if k not in NOT_IN_ID}
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def load_suite(path: str | Path, registry: Registry | None = None) -> Suite:
    """Read, validate and expand the suite file at ``path``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SuiteError(str(path), "", f"cannot read the suite file: {exc.strerror}") from None
    return parse_suite(raw.decode(), str(path), registry)


def parse_suite(text: str, file: str = "<suite>", registry: Registry | None = None) -> Suite:
    """Validate and expand suite ``text`` (``file`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(file, "", f"not valid TOML: {exc}") from None
    errors = check_schema(data)
    if errors:
        raise SuiteError(file, *errors[0])
    registry = registry or load_registry()
    top = {k: v for k, v in data.items() if k != "grid"}
    cells: list[Cell] = []
    for i, section in enumerate(data.get("grid", [{}])):
        where = f"grid[{i}]." if "grid" in data else ""
        try:
            grid = _with_defaults(file, {**top, **section})
            cells += validate(grid, file, registry)
        except SuiteError as exc:
            raise SuiteError(file, where + exc.path, exc.message) from None
    _check_unique(file, cells)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Suite(data["name"], data.get("description", ""), file, text, digest, _with_defaults(file, top, False), cells)


def _with_defaults(file: str, grid: dict, complete: bool = True) -> dict:
    """One grid with every default filled in (``complete``: checked to be runnable on its own)."""
    if complete:
        if "objectives" not in grid:
            raise SuiteError(file, "objectives", "missing required key")
        _check_task_keys(file, grid)
    grid = {**defaults(), **grid}
    return grid | {table: {**table_defaults(table), **grid[table]} for table in TABLES if table in grid}


def _check_unique(file: str, cells: list[Cell]) -> None:
    seen: dict[str, Cell] = {}
    for cell in cells:
        if cell.id in seen:
            raise SuiteError(file, "objectives", f"the grid lists the same cell twice: {cell.label}")
        seen[cell.id] = cell


def _check_task_keys(file: str, data: dict) -> None:
    task = data.get("task", "optimize")
    for other, keys in TASK_KEYS.items():
        for key in keys:
            if other != task and key in data:
                raise SuiteError(file, key, f"only task {other!r} reads this key; this suite's task is {task!r}")
    for i, entry in enumerate(data["objectives"]):
        if task != "optimize" and "x0" in entry:
            raise SuiteError(file, f"objectives[{i}].x0",
                             f"only task 'optimize' reads this key; this suite's task is {task!r}")


def validate(data: dict, file: str, registry: Registry) -> list[Cell]:
    """Check names, parameter values and combinations against ``registry``; return the cells."""
    if data["task"] == "optimize" and "optimizers" not in data:
        raise SuiteError(file, "optimizers", "missing required key: task 'optimize' needs optimizers")
    objectives = [_objective_grid(file, i, entry, registry) for i, entry in enumerate(data["objectives"])]
    backends = [_lookup(file, f"backends[{i}]", registry, "backends", name) for i, name in enumerate(data["backends"])]
    _check_declared(file, data, backends)
    _check_excludes(file, data, "exclude")
    if data["task"] == "throughput":
        _check_excludes(file, data, "limits")
        cells = list(expand_throughput(data, objectives))
    else:
        optimizers = [_optimizer_grid(file, i, entry, registry) for i, entry in enumerate(data["optimizers"])]
        cells = list(expand(data, objectives, optimizers))
    if not cells:
        raise SuiteError(file, "exclude", "the exclusions leave no cell to run")
    _check_unique(file, cells)
    return cells


def _lookup(file: str, path: str, registry: Registry, kind: str, name: str):
    try:
        return registry.get(kind, name)
    except UnknownNameError as exc:
        raise SuiteError(file, path, str(exc)) from None


def _axes(file: str, path: str, params: dict, coerce) -> dict[str, list]:
    """Each parameter as a list of coerced values (a scalar is a one-value axis)."""
    axes = {}
    for key, value in params.items():
        values = value if isinstance(value, list) else [value]
        coerced = []
        for j, item in enumerate(values):
            where = _join(_join(path, key), j) if isinstance(value, list) else _join(path, key)
            try:
                coerced.append(coerce(key, item))
            except ParameterError as exc:
                raise SuiteError(file, where, str(exc)) from None
        axes[key] = coerced
    return axes


def _grid(axes: dict[str, list]) -> list[dict]:
    return [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]


def _objective_grid(file: str, i: int, entry: dict, registry: Registry) -> tuple[str, list[tuple[dict, dict]], list]:
    """The objective's name, its grid points as (given params, full params with defaults) and its starts."""
    spec = _lookup(file, f"objectives[{i}].name", registry, "objectives", entry["name"])
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

    axes = _axes(file, f"objectives[{i}].params", entry.get("params", {}), coerce)
    defaults_ = {k: p.default for k, p in declared.items()}
    points = [(given, {**defaults_, **given}) for given in _grid(axes)]
    for j, start in enumerate(entry.get("x0", [])):
        for given, params in points:
            if isinstance(start, list) and len(start) != params["n"]:
                raise SuiteError(file, f"objectives[{i}].x0[{j}]", f"objective {spec.name!r}: a starting point "
                                 f"needs n = {params['n']} coordinates, got {len(start)}")
    return spec.name, points, entry.get("x0", [None])


def _optimizer_grid(file: str, i: int, entry: dict, registry: Registry) -> tuple[str, list[tuple[dict, dict]]]:
    """The optimizer's name and its grid points; each point is built once to run its own checks."""
    spec = _lookup(file, f"optimizers[{i}].name", registry, "optimizers", entry["name"])
    owner = f"optimizer {spec.name!r}"

    def coerce(key: str, value: Any) -> Any:
        if key not in spec.cls.params:
            raise ParameterError(f"{owner}: unknown parameter {key!r}{suggest(key, spec.cls.params)}")
        return spec.cls.params[key].coerce(owner, key, value)

    axes = _axes(file, f"optimizers[{i}].params", entry.get("params", {}), coerce)
    points = []
    for given in _grid(axes):
        try:
            points.append((given, dict(spec.cls(**given).p)))
        except ParameterError as exc:
            raise SuiteError(file, f"optimizers[{i}].params", f"{exc} (at {_format(given)})") from None
    return spec.name, points


def _check_declared(file: str, data: dict, backends: list) -> None:
    """A device kind or dtype that no listed backend declares can never run: an error."""
    for key, declared in (("devices", lambda caps: caps.devices), ("dtypes", lambda caps: caps.dtypes)):
        for j, value in enumerate(data[key]):
            kind = value.split(":")[0]
            if not any(kind in declared(spec.cls.capabilities) for spec in backends):
                raise SuiteError(file, f"{key}[{j}]", f"no backend of this suite declares {value!r} "
                                 f"({', '.join(spec.name for spec in backends)})")


def _check_excludes(file: str, data: dict, key_name: str) -> None:
    """Every name an ``exclude`` (or ``limits``) entry matches on must be in the suite."""
    listed = {"objective": [o["name"] for o in data["objectives"]], "backend": data["backends"],
              "device": data["devices"], "dtype": data["dtypes"]}
    if data["task"] == "throughput":
        listed["measure"] = [*data["measures"], *(["jacobian"] if "jacobian" in data else [])]
        if "jacobian" in data:
            listed["objective"].append(JACOBIAN_PROBE)
    else:
        listed["optimizer"] = [o["name"] for o in data["optimizers"]]
    for i, rule in enumerate(data.get(key_name, [])):
        for key, value in rule.items():
            if key in ("max_n", "reason"):
                continue
            if key not in listed:
                raise SuiteError(file, f"{key_name}[{i}].{key}", f"task {data['task']!r} has no {key}s")
            if value not in listed[key]:
                raise SuiteError(file, f"{key_name}[{i}].{key}",
                                 f"{value!r} is not among the suite's {key}s{suggest(value, listed[key])}")


def _format(params: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in params.items())


def expand(data: dict, objectives: list, optimizers: list):
    """Yield the cells of the grid, in file order, minus the excluded combinations."""
    excludes = data.get("exclude", [])
    fixed = {"stop": data["stop"], "threads": data["threads"], "metrics": data["metrics"],
             "trace_every": data["trace_every"], "timeout": data["timeout"]}
    for (obj, obj_points, starts), (opt, opt_points), backend, device, dtype in itertools.product(
            objectives, optimizers, data["backends"], data["devices"], data["dtypes"]):
        where = {"objective": obj, "optimizer": opt, "backend": backend, "device": device, "dtype": dtype}
        if _matches(excludes, where):
            continue
        for (obj_given, obj_params), x0, (opt_given, opt_params), seed, repeat in itertools.product(
                obj_points, starts, opt_points, data["seeds"], range(data["repeats"])):
            config = {"task": data["task"], "objective": {"name": obj, "params": obj_params},
                      "optimizer": {"name": opt, "params": opt_params}, "backend": backend,
                      "device": device, "dtype": dtype, "seed": seed, "repeat": repeat, **fixed}
            shown = obj_given
            if x0 is not None:  # only when given, so suites without starting points keep their cell ids
                config["x0"] = x0
                shown = {**obj_given, "x0": x0}
            label = (f"{obj}({_format(shown)})/{opt}({_format(opt_given)})/{backend}/{device}/{dtype}"
                     f"/seed={seed}" + (f"/rep={repeat}" if data["repeats"] > 1 else ""))
            yield Cell(cell_id(config), label, config)


def _matches(rules: list[dict], where: dict) -> list[dict]:
    """The rules (``exclude`` or ``limits`` entries) whose every name key equals ``where``'s."""
    return [rule for rule in rules if all(where.get(k) == v for k, v in rule.items() if k not in ("max_n", "reason"))]


def expand_throughput(data: dict, objectives: list):
    """Yield the cells of a throughput suite: evaluations, Jacobians, then one bandwidth probe per device."""
    fixed = {"timing": data["timing"], "threads": data["threads"], "timeout": data["timeout"]}
    repeats = range(data["repeats"])
    rep = (lambda r: f"/rep={r}") if data["repeats"] > 1 else (lambda r: "")
    jacobian = data.get("jacobian")
    sizes = [] if jacobian is None else [({"n": n, "m": m}, mode) for n in _as_list(jacobian["n"])
                                         for m in _as_list(jacobian["m"]) for mode in jacobian["modes"]]
    points = [(obj, given, params, measure) for obj, obj_points, _ in objectives for given, params in obj_points
              for measure in data["measures"]]
    points += [(JACOBIAN_PROBE, shape, shape, ("jacobian", mode)) for shape, mode in sizes]
    for (obj, given, params, measure), backend, device, dtype, repeat in itertools.product(
            points, data["backends"], data["devices"], data["dtypes"], repeats):
        name, mode = measure if isinstance(measure, tuple) else (measure, None)
        where = {"objective": obj, "measure": name, "backend": backend, "device": device, "dtype": dtype}
        if _matches(data.get("exclude", []), where):
            continue
        config = {"task": "throughput", "measure": name, **({"mode": mode} if mode else {}),
                  "objective": {"name": obj, "params": params}, "backend": backend, "device": device,
                  "dtype": dtype, "repeat": repeat, **fixed}
        for limit in _matches(data.get("limits", []), where):
            if params["n"] > limit["max_n"]:
                config["skip"] = f"n = {params['n']} is above this suite's limit {limit['max_n']}: {limit['reason']}"
                break
        shown = f"{name}:{mode}" if mode else name
        label = f"{obj}({_format(given)})/{shown}/{backend}/{device}/{dtype}{rep(repeat)}"
        yield Cell(cell_id(config), label, config)
    for device, repeat in itertools.product(data["devices"], repeats):
        config = {"task": "throughput", "measure": "bandwidth", "device": device, "repeat": repeat, **fixed}
        yield Cell(cell_id(config), f"bandwidth/{device}{rep(repeat)}", config)


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


__all__ = ["Cell", "SCHEMA", "SCHEMA_PATH", "Suite", "SuiteError", "cell_id", "check_schema",
           "load_suite", "parse_suite"]
