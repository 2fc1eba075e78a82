"""The forward primal and tangent trace of a small function, as the course notes tabulate it.

The function runs once on duals whose namespace records every primitive it calls: a row per
intermediate ``v_1, v_2, ...`` after the input rows ``v_{1-n} ... v_0`` (one per entry of x).
"""
from __future__ import annotations

import math

from optbench_plugins.ad.namespace import build_namespace
from optbench_plugins.ad.primitives import PRIMITIVES

from .array import Dual, differentiating, strip
from .namespace import ENGINE, namespace_for, storage_namespace

SYMBOLS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "pow": "**"}
PREFIX = {"log": "ln", "negative": "-"}


def forward_trace(backend, f, x, v=None) -> list[dict]:
    """Rows ``node, op, value, tangent`` of ``f`` at ``x`` seeded along ``v`` (default e_1)."""
    x = backend.asarray(x)
    n = math.prod(x.shape)
    xp = storage_namespace(x)
    if v is None:
        v = xp.astype(xp.arange(n) == 0, x.dtype)
    v = xp.reshape(backend.asarray(v, dtype=str(x.dtype).split(".")[-1]), (1,) + tuple(x.shape))
    recorder = _Recorder(n)
    with differentiating() as tag:
        ns = recorder.namespace(xp)
        inputs = Dual(x, v, tag, ns)
        recorder.inputs(inputs)
        f(inputs)
    return recorder.finish()


class _Recorder:
    """Records the primitives a traced function runs, then names them as the notes do."""

    def __init__(self, n: int):
        self.n, self.nodes, self.index, self.kept, self.input = n, [], {}, [], None
        self.rows: list[dict] = []

    def inputs(self, x) -> None:
        self.input = x
        flat_p, flat_t = strip(x.primal).reshape(-1), strip(x.tangent).reshape(-1)
        for i in range(self.n):
            self.rows.append({"node": f"v_{i + 1 - self.n}", "op": f"x{i + 1}",
                              "value": float(flat_p[i]), "tangent": float(flat_t[i])})

    def namespace(self, sxp):
        real = namespace_for(sxp)
        ops = {name: self._recording(name, getattr(real, name)) for name in PRIMITIVES if name != "getitem"}
        ops["getitem"] = self._recording("getitem", real.getitem)
        ns = build_namespace(ENGINE, ops, strip, sxp, lambda a: type(a) is Dual)
        ns.getitem = ops["getitem"]
        return ns

    def _recording(self, name: str, op):
        def recorded(*args, **kwargs):
            out = op(*args, **kwargs)
            self.kept.append(out)  # ids stay unique while the trace runs
            if name == "getitem" and args[0] is self.input and isinstance(args[1], int):
                self.index[id(out)] = ("input", args[1] % self.n)
            elif type(out) is Dual:
                refs = [self.index.get(id(a), self._literal(a)) for a in args]
                level = 1 + max((self.nodes[r[1]]["level"] for r in refs if r[0] == "node"), default=0)
                self.index[id(out)] = ("node", len(self.nodes))
                self.nodes.append({"name": name, "refs": refs, "level": level,
                                   "value": _number(out.primal), "tangent": _number(out.tangent[0])})
            return out
        return recorded

    def _literal(self, a):
        if a is self.input:
            return ("text", "x")
        return ("text", f"{a:g}" if isinstance(a, (int, float)) else "const")

    def finish(self) -> list[dict]:
        """The rows, intermediates numbered level by level (inputs first, then what uses only
        them, ...), which is the course notes' numbering."""
        order = sorted(range(len(self.nodes)), key=lambda i: self.nodes[i]["level"])
        names = {i: f"v_{rank + 1}" for rank, i in enumerate(order)}

        def label(ref):
            kind, what = ref
            if kind == "node":
                return names[what]
            return f"v_{what + 1 - self.n}" if kind == "input" else what

        for i in order:
            node = self.nodes[i]
            self.rows.append({"node": names[i], "op": _text(node["name"], [label(r) for r in node["refs"]]),
                              "value": node["value"], "tangent": node["tangent"]})
        return self.rows


def _text(name: str, shown: list[str]) -> str:
    if name in SYMBOLS and len(shown) == 2:
        return f"{shown[0]} {SYMBOLS[name]} {shown[1]}"
    if len(shown) == 1:
        return f"{PREFIX.get(name, name)} {shown[0]}"
    return f"{name}({', '.join(shown)})"


def _number(a):
    a = strip(a)
    return float(a) if math.prod(a.shape) == 1 else a.tolist()
