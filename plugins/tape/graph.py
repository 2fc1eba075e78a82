"""Looking at a recorded tape: the course notes' trace table and a Graphviz DOT drawing."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import array_api_compat

from .array import Tape, TapeArray, strip
from .namespace import tape_namespace

INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "pow": "**", "matmul": "@"}
PREFIX = {"log": "ln"}


def inspecting_tape(x: Any) -> Tape:
    """A tape over ``x``'s storage that keeps each primitive's name, result and arguments."""
    return Tape(tape_namespace("torch" if array_api_compat.is_torch_array(x) else "numpy"), inspect=True)


# ---- the trace table ---------------------------------------------------------------------------
def trace_table(f: Callable, x: Any) -> list[dict]:
    """Rows ``node, op, value, adjoint`` for ``f`` at ``x``, each entry of ``x`` an input.

    Inputs are ``v_{1-n} .. v_0``; the other nodes are numbered by depth (longest path from
    an input), then evaluation order, as the course notes number them. Selecting ``x[i]`` is
    not a node: it names input i.
    """
    tape = inspecting_tape(x)
    inputs = [tape.watch(x[i]) for i in range(x.shape[0])]
    vector = tape.ops.stack(inputs)
    out = f(vector)
    adjoints = tape.sweep(out.index, tape.ops.ones_like(out), keep=True)
    n = len(inputs)
    names = {box.index: f"v_{i + 1 - n}" for i, box in enumerate(inputs)} | {vector.index: "x"}
    rows = [{"node": names[box.index], "op": f"x{i + 1}", "value": _show(box.value),
             "adjoint": _show(adjoints[box.index])} for i, box in enumerate(inputs)]
    depth = {box.index: 0 for box in inputs}
    for i in range(vector.index + 1, len(tape.nodes)):
        name, _, args, parents = tape.details[i]
        sources = [p for _, p in parents]
        if name == "getitem" and sources == [vector.index] and isinstance(args[1], int):
            names[i] = names[inputs[args[1]].index]
            depth[i] = 0
        else:
            depth[i] = 1 + max((depth.get(p, 0) for p in sources), default=0)
    numbered = sorted((i for i in depth if i not in names), key=lambda i: (depth[i], i))
    for k, i in enumerate(numbered, start=1):
        names[i] = f"v_{k}"
        rows.append({"node": names[i], "op": _op_text(tape.details[i], names),
                     "value": _show(tape.details[i][1]), "adjoint": _show(adjoints[i])})
    return rows


def _op_text(detail: tuple, names: dict) -> str:
    name, _, args, parents = detail
    shown = {argnum: names[p] for argnum, p in parents}
    operands = [shown[k] if k in shown else _constant(a) for k, a in enumerate(args)]
    if name in INFIX:
        return f"{operands[0]} {INFIX[name]} {operands[1]}"
    if name == "negative":
        return f"-{operands[0]}"
    return " ".join([PREFIX.get(name, name), *operands])


def _constant(a: Any) -> str:
    """A constant operand: its value when it is a number, else ``c``."""
    a = strip(a)
    return f"{float(a):g}" if isinstance(a, (int, float)) or getattr(a, "ndim", None) == 0 else "c"


def _show(value: Any) -> Any:
    if value is None:
        return 0.0
    value = strip(value)
    return float(value) if getattr(value, "ndim", 0) == 0 else value.tolist()


# ---- the DOT drawing ---------------------------------------------------------------------------
def to_dot(f: Callable, x: Any) -> str:
    """Graphviz DOT source of ``f``'s graph at ``x``: one box per primitive (its name and
    shape), the input in blue and the output in green, as torchviz's ``make_dot`` draws."""
    tape = inspecting_tape(x)
    root = tape.watch(x)
    out = f(root)
    recorded = type(out) is TapeArray and out.tape is tape
    kept = _ancestors(tape, out.index) if recorded else {root.index}
    lines = ["digraph tape {", '  node [shape=box, style="filled,rounded", fillcolor=white, '
             'fontname="Helvetica", fontsize=11];']
    for i in sorted(kept):
        if i == root.index:
            label, colour = f"input x\\n{_shape(x)}", "lightblue"
        else:
            label, colour = f"{tape.details[i][0]}\\n{_shape(tape.details[i][1])}", "white"
        if recorded and i == out.index:
            label, colour = label + "\\noutput", "darkolivegreen1"
        lines.append(f'  n{i} [label="{label}", fillcolor={colour}];')
    lines += [f"  n{p} -> n{i};" for i in sorted(kept) for p in _parents(tape, i)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _parents(tape: Tape, i: int) -> list[int]:
    return [p for _, p in tape.details[i][3]] if i in tape.details else []


def _ancestors(tape: Tape, start: int) -> set[int]:
    seen, stack = {start}, [start]
    while stack:
        for p in _parents(tape, stack.pop()):
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def _shape(value: Any) -> str:
    return str(tuple(strip(value).shape))
