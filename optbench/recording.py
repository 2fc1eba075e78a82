"""Which rows of an optimize cell's trace are kept: the suite's ``record`` policy.

- ``all`` (the default): every ``trace_every``-th iteration.
- ``log``: log-spaced iterations (about 20 per decade), plus the row where each tracked
  measure (``f_gap``, ``grad_norm``) first reaches each target of a fixed grid, 5 per decade,
  both as an absolute value (``10^(k/5)``) and relative to its value at x0.
- ``improvements``: as ``log``, plus every row that improves on the best f seen (f - f* when
  f is not recorded), as COCO records.

So the first iteration, oracle count and time at which any grid target is reached are exact
under every policy; that is what ``analysis.targets_reached`` and the ECDFs read. Profiles test
a threshold that depends on all solvers' results (Moré and Wild's test), which is exact
under ``all`` and ``improvements``; under ``log`` a cell is credited at the first kept row
past it, at most one grid step (a factor 10^(1/5) in f - f*) late.
"""
from __future__ import annotations

import math

POLICIES = ("all", "log", "improvements")
TARGETS_PER_DECADE = 5  # target grid of f - f* and |grad f|: 10^(k/5), absolute and relative to x0
ITERATIONS_PER_DECADE = 20  # of the log-spaced iterations
TRACKED = ("f_gap", "grad_norm")


def log_spaced(iteration: int) -> bool:
    """Whether ``iteration`` starts a new 1/20 of a decade (0 and 1..20 always, then about 20 per decade)."""
    if iteration <= ITERATIONS_PER_DECADE:
        return True
    bucket = math.floor(ITERATIONS_PER_DECADE * math.log10(iteration))
    return bucket > math.floor(ITERATIONS_PER_DECADE * math.log10(iteration - 1))


def target(k: int) -> float:
    """The k-th target of the grid: 10^(k/5)."""
    return 10.0 ** (k / TARGETS_PER_DECADE)


def lowest_target(value: float, scale: float = 1.0) -> float:
    """The least k with ``value <= target(k) * scale``: the hardest grid target reached (inf: none).

    The comparison is the one ``analysis.targets_reached`` makes, so the two agree exactly.
    """
    if math.isnan(value) or math.isinf(value):
        return math.inf if not value < 0 else -math.inf
    if value <= 0:
        return -math.inf  # at or below every target
    k = math.floor(TARGETS_PER_DECADE * math.log10(value / scale))
    while value <= target(k - 1) * scale:
        k -= 1
    while not value <= target(k) * scale:
        k += 1
    return k


class Recorder:
    """Decides, row by row, which rows of a trace to keep under a ``record`` policy."""

    def __init__(self, policy: str = "all", every: int = 1):
        if policy not in POLICIES:
            raise ValueError(f"unknown record policy {policy!r}; use one of {', '.join(POLICIES)}")
        self.policy, self.every = policy, every
        self.start: dict[str, float] = {}
        self.reached: dict[tuple[str, bool], float] = {}  # (measure, relative?) -> hardest target reached
        self.best = math.inf

    @property
    def keeps_every_row(self) -> bool:
        return self.policy == "all" and self.every == 1

    def keep(self, row: dict) -> bool:
        """Whether to keep ``row`` (rows come in iteration order)."""
        if self.policy == "all":
            return row["iter"] % self.every == 0
        keep = log_spaced(row["iter"])
        for name in TRACKED:
            value = row.get(name)
            if value is None or math.isnan(value):
                continue
            scale = abs(self.start.setdefault(name, value))
            scales = [((name, False), 1.0)] + ([((name, True), scale)] if 0 < scale < math.inf else [])
            for key, by in scales:
                reached = lowest_target(value, by)
                if reached < self.reached.get(key, math.inf):
                    self.reached[key] = reached
                    keep = True
        if self.policy == "improvements":
            level = row.get("f")
            if level is None or math.isnan(level):
                level = row.get("f_gap")
            if level is not None and level < self.best:
                self.best = level
                keep = True
        return keep
