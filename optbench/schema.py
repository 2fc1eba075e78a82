"""The suite file format: the published JSON Schema (``suite.schema.json``) and its validation.

The schema is the single description of the format, and ``jsonschema`` (Draft 2020-12)
validates against it, so the schema editors see and the check the runner applies cannot
disagree. :func:`check_schema` turns each violation into a key path and a sentence that says
what was expected (with close matches for misspelt keys and values); :func:`validate_schema`
is what the suite loader calls.
"""
from __future__ import annotations

import json
from functools import cache
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


@cache
def _validator():
    """A Draft 2020-12 validator of :data:`SCHEMA` whose integers are Python ints (TOML's 1.0 is not one)."""
    import jsonschema  # imported on first use: only commands that read a suite pay for it

    integers = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool))
    return jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=integers)(SCHEMA)


def check_schema(value: Any) -> list[tuple[str, str]]:
    """Every ``(key path, message)`` where ``value`` breaks the schema, parents before children."""
    errors = sorted(_validator().iter_errors(value), key=lambda error: len(error.absolute_path))
    return [_explain(error) for error in errors]


# ---- violations in words --------------------------------------------------------------------------
_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number",
               "boolean": "a boolean", "array": "a list", "object": "a table"}


def _explain(error) -> tuple[str, str]:
    """The key path and the sentence of one ``jsonschema`` violation."""
    path = ""
    for key in error.absolute_path:
        path = key_path(path, key)
    value, expected = error.instance, error.validator_value
    keyword = error.validator
    if keyword == "type":
        names = [expected] if isinstance(expected, str) else expected
        return path, f"expected {' or '.join(_TYPE_NAMES[t] for t in names)}, got {json.dumps(value, default=str)}"
    if keyword == "enum":
        close = suggest(value, map(str, expected)) if isinstance(value, str) else ""
        return path, f"expected one of {', '.join(map(json.dumps, expected))}, got {json.dumps(value)}{close}"
    if keyword == "minimum":
        return path, f"expected a value >= {expected}, got {value}"
    if keyword == "exclusiveMinimum":
        return path, f"expected a value > {expected}, got {value}"
    if keyword == "maximum":
        return path, f"expected a value <= {expected}, got {value}"
    if keyword == "minLength":
        return path, "expected a non-empty string"
    if keyword == "minItems":
        return path, f"expected at least {expected} item(s), got an empty list"
    if keyword == "minProperties":
        return path, f"expected at least {expected} key(s)"
    if keyword == "uniqueItems":
        seen = [json.dumps(item, sort_keys=True) for item in value]
        first = next(i for i, item in enumerate(seen) if item in seen[:i])
        return key_path(path, first), f"duplicate item {seen[first]}"
    if keyword == "required":
        missing = next(key for key in expected if key not in value)
        return key_path(path, missing), "missing required key"
    if keyword == "additionalProperties" and expected is False:
        known = error.schema.get("properties", {})
        unknown = next(key for key in value if key not in known)
        return key_path(path, unknown), f"unknown key{suggest(unknown, known)}"
    return path, error.message  # a keyword the schema does not use today: jsonschema's own words


def table_defaults(table: str, schema: dict = SCHEMA) -> dict:
    """The defaults of the keys of one table (``stop``, ``timing``, ``jacobian``)."""
    return {k: s["default"] for k, s in schema["properties"][table]["properties"].items() if "default" in s}


def defaults(schema: dict = SCHEMA) -> dict:
    """The default of every top-level key, and of ``stop``'s and ``timing``'s keys, that the schema declares."""
    out = {k: s["default"] for k, s in schema["properties"].items() if "default" in s}
    return out | {table: table_defaults(table, schema) for table in ("stop", "timing")}
