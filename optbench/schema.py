"""The suite file format: the published JSON Schema (``suite.schema.json``) and its validation.

The schema is the single description of the format: :func:`check_schema` interprets the subset
of JSON Schema it uses, so the schema editors see and the validator the runner applies cannot
disagree. :func:`validate_schema` is what the suite loader calls.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import SuiteError, key_path, suggest

SCHEMA_PATH = Path(__file__).with_name("suite.schema.json")
SCHEMA: dict = json.loads(SCHEMA_PATH.read_text())


def validate_schema(data: Any, file: str) -> None:
    """Raise :class:`SuiteError` naming ``file``, the key path and the problem where ``data`` breaks the schema."""
    errors = check_schema(data)
    if errors:
        raise SuiteError(file, *errors[0])


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
                return [(key_path(path, i), f"duplicate item {item}")]
    errors = []
    for i, item in enumerate(value):
        errors += check_schema(item, schema.get("items", {}), key_path(path, i))
    return errors


def _check_object(value: dict, schema: dict, path: str) -> list[tuple[str, str]]:
    known = schema.get("properties", {})
    errors = [(key_path(path, key), "missing required key") for key in schema.get("required", ()) if key not in value]
    if len(value) < schema.get("minProperties", 0):
        errors.append((path, f"expected at least {schema['minProperties']} key(s)"))
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in known:
            errors += check_schema(item, known[key], key_path(path, key))
        elif extra is False:
            errors.append((key_path(path, key), f"unknown key{suggest(key, known)}"))
        elif isinstance(extra, dict):
            errors += check_schema(item, extra, key_path(path, key))
    return errors


def table_defaults(table: str, schema: dict = SCHEMA) -> dict:
    """The defaults of the keys of one table (``stop``, ``timing``, ``jacobian``)."""
    return {k: s["default"] for k, s in schema["properties"][table]["properties"].items() if "default" in s}


def defaults(schema: dict = SCHEMA) -> dict:
    """The default of every top-level key, and of ``stop``'s and ``timing``'s keys, that the schema declares."""
    out = {k: s["default"] for k, s in schema["properties"].items() if "default" in s}
    return out | {table: table_defaults(table, schema) for table in ("stop", "timing")}
