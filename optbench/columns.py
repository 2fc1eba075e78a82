"""A trace as typed, compressed columns: what the store keeps of each cell's rows.

A trace is a few columns of numbers (iteration, oracle counts, times, f, f - f*, ...), so it is
kept column by column, each one ``zlib``-compressed NumPy array: integers as int64 differences
(counters grow by small steps), floats as float64 with their bytes shuffled (the exponent bytes
of neighbouring values are alike and compress; the mantissas stay exact, NaN included), and
the timing columns (``time``, ``cpu_time``) as differences of whole nanoseconds, the clocks'
own resolution. A column holding anything else (strings, booleans, huge integers) is kept as
JSON text. Keeping columns apart lets a reader decompress only the columns it asks for.
"""
from __future__ import annotations

import json
import math
import zlib

import numpy as np

from .vocabulary import TIMING_COLUMNS

INT, FLOAT, NANOSECONDS, JSON = "i8", "f8", "ns", "json"
LEVEL = 6  # zlib level: 7-9 gain under 1% on traces and cost twice the time
_INT64 = (-(2**63), 2**63 - 1)


def kind_of(values: list) -> str:
    """How a column is kept: ``i8`` when every value is an int64 integer, ``f8`` for numbers and None, else JSON."""
    if all(type(v) is int and _INT64[0] <= v <= _INT64[1] for v in values):
        return INT
    if all(v is None or type(v) is float or (type(v) is int and abs(v) <= 2**53) for v in values):
        return FLOAT  # integers beside floats only where float64 holds them exactly
    return JSON


def encode_column(values: list | np.ndarray, seconds: bool = False) -> tuple[str, bytes]:
    """``(kind, compressed bytes)`` of one column (a missing value of a numeric column is NaN).

    ``values``: a list of Python values, or an int64 or float64 array (typed already, so
    nothing is inspected value by value). ``seconds``: a clock reading, kept to the
    nanosecond when every value is finite.
    """
    typed = isinstance(values, np.ndarray) and values.dtype in (np.int64, np.float64)
    kind = (INT if values.dtype == np.int64 else FLOAT) if typed else kind_of(values)
    if seconds and kind != JSON:
        as_float = np.array(values, dtype=np.float64)
        if np.all(np.abs(as_float) < 9e9):  # finite and within int64 nanoseconds
            kind, values = NANOSECONDS, np.rint(as_float * 1e9).astype(np.int64)
    if kind == JSON:
        raw = json.dumps(values).encode()
    elif kind in (INT, NANOSECONDS):
        raw = _shuffle(np.diff(np.array(values, dtype=np.int64), prepend=np.int64(0)))
    else:
        raw = _shuffle(values if typed else np.array([math.nan if v is None else v for v in values], dtype=np.float64))
    return kind, zlib.compress(raw, LEVEL)


def decode_column(kind: str, data: bytes, rows: int) -> np.ndarray | list:
    """The values of one column: an int64 or float64 array, or a list for JSON columns."""
    raw = zlib.decompress(data)
    if kind == JSON:
        return json.loads(raw)
    values = np.frombuffer(raw, dtype=np.uint8).reshape(8, rows).T.copy().view(np.float64 if kind == FLOAT else np.int64)
    values = values.reshape(rows)
    if kind == FLOAT:
        return values
    values = np.cumsum(values, dtype=np.int64)
    return values / 1e9 if kind == NANOSECONDS else values


def encode(rows: list[dict]) -> list[tuple[str, str, bytes]]:
    """``(name, kind, bytes)`` per column of ``rows``, columns in first-seen order."""
    names = list(dict.fromkeys(key for row in rows for key in row))
    return [(name, *encode_column([row.get(name) for row in rows], name in TIMING_COLUMNS)) for name in names]


def to_rows(columns: dict[str, np.ndarray | list], rows: int) -> list[dict]:
    """The columns back as rows of Python values (ints, floats, JSON values)."""
    lists = {name: values.tolist() if isinstance(values, np.ndarray) else values for name, values in columns.items()}
    return [{name: values[i] for name, values in lists.items()} for i in range(rows)]


def _shuffle(values: np.ndarray) -> bytes:
    """The bytes of 8-byte values grouped by position: all first bytes, then all second bytes..."""
    return np.ascontiguousarray(values).view(np.uint8).reshape(-1, 8).T.tobytes()
