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


def defaults(schema: dict = SCHEMA) -> dict:
    """The default of every top-level key (and of ``stop``'s keys) the schema declares."""
    out = {k: s["default"] for k, s in schema["properties"].items() if "default" in s}
    out["stop"] = {k: s["default"] for k, s in schema["properties"]["stop"]["properties"].items() if "default" in s}
    return out


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
    data = {**defaults(), **data, "stop": {**defaults()["stop"], **data.get("stop", {})}}
    cells = validate(data, file, registry or load_registry())
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Suite(data["name"], data.get("description", ""), file, text, digest, data, cells)


def validate(data: dict, file: str, registry: Registry) -> list[Cell]:
    """Check names, parameter values and combinations against ``registry``; return the cells."""
    if data["task"] == "optimize" and "optimizers" not in data:
        raise SuiteError(file, "optimizers", "missing required key: task 'optimize' needs optimizers")
    objectives = [_objective_grid(file, i, entry, registry) for i, entry in enumerate(data["objectives"])]
    optimizers = [_optimizer_grid(file, i, entry, registry) for i, entry in enumerate(data["optimizers"])]
    backends = [_lookup(file, f"backends[{i}]", registry, "backends", name) for i, name in enumerate(data["backends"])]
    _check_declared(file, data, backends)
    _check_excludes(file, data)
    cells = list(expand(data, objectives, optimizers))
    if not cells:
        raise SuiteError(file, "exclude", "the exclusions leave no cell to run")
    seen: dict[str, Cell] = {}
    for cell in cells:
        if cell.id in seen:
            raise SuiteError(file, "objectives", f"the grid lists the same cell twice: {cell.label}")
        seen[cell.id] = cell
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


def _objective_grid(file: str, i: int, entry: dict, registry: Registry) -> tuple[str, list[tuple[dict, dict]]]:
    """The objective's name and its grid points as (given params, full params with defaults)."""
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
    return spec.name, [(given, {**defaults_, **given}) for given in _grid(axes)]


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


def _check_excludes(file: str, data: dict) -> None:
    listed = {"objective": [o["name"] for o in data["objectives"]], "optimizer": [o["name"] for o in data["optimizers"]],
              "backend": data["backends"], "device": data["devices"], "dtype": data["dtypes"]}
    for i, rule in enumerate(data.get("exclude", [])):
        for key, value in rule.items():
            if value not in listed[key]:
                raise SuiteError(file, f"exclude[{i}].{key}",
                                 f"{value!r} is not among the suite's {key}s{suggest(value, listed[key])}")


def _format(params: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in params.items())


def expand(data: dict, objectives: list, optimizers: list):
    """Yield the cells of the grid, in file order, minus the excluded combinations."""
    excludes = data.get("exclude", [])
    fixed = {"stop": data["stop"], "threads": data["threads"], "metrics": data["metrics"],
             "trace_every": data["trace_every"], "timeout": data["timeout"]}
    for (obj, obj_points), (opt, opt_points), backend, device, dtype in itertools.product(
            objectives, optimizers, data["backends"], data["devices"], data["dtypes"]):
        where = {"objective": obj, "optimizer": opt, "backend": backend, "device": device, "dtype": dtype}
        if any(all(where[k] == v for k, v in rule.items()) for rule in excludes):
            continue
        for (obj_given, obj_params), (opt_given, opt_params), seed, repeat in itertools.product(
                obj_points, opt_points, data["seeds"], range(data["repeats"])):
            config = {"task": data["task"], "objective": {"name": obj, "params": obj_params},
                      "optimizer": {"name": opt, "params": opt_params}, "backend": backend,
                      "device": device, "dtype": dtype, "seed": seed, "repeat": repeat, **fixed}
            label = (f"{obj}({_format(obj_given)})/{opt}({_format(opt_given)})/{backend}/{device}/{dtype}"
                     f"/seed={seed}" + (f"/rep={repeat}" if data["repeats"] > 1 else ""))
            yield Cell(cell_id(config), label, config)


__all__ = ["Cell", "SCHEMA", "SCHEMA_PATH", "Suite", "SuiteError", "cell_id", "check_schema",
           "load_suite", "parse_suite"]
