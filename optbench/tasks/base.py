"""What a task is: the one object that carries a kind of cell from the suite file to the report.

The data route reads: suite -> ``task.expand`` -> executor -> ``task.run`` -> store ->
``task.tables`` -> report (``task.figures``). A new task is one module that builds a
:class:`Task` and one line in :data:`optbench.tasks.TASKS`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

Emit = Callable[[dict], None]


@dataclass
class Outcome:
    """How a cell ended, as the task reports it: status, one-line reason, flat JSON metrics."""

    status: str
    reason: str
    metrics: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    """A figure of the report: its id, title, caption and how it is drawn from the tables."""

    id: str
    title: str
    caption: str
    needs: tuple[str, ...]  # the tables it is drawn from; the figure appears when they all have rows
    draw: Callable[[dict, str], bytes]  # (tables by name, budget) -> PNG
    numbers: str | None = None  # a table printed under the figure
    headings: dict[str, str] | None = None  # that table's columns as printed: name -> words, in order


@dataclass(frozen=True)
class Task:
    """One kind of cell: the suite keys it reads, how it expands, runs and reports.

    ``expand(data, objectives, file, registry)`` yields the cells of one validated grid
    (``objectives`` as :func:`optbench.grid.objective_grid` gives them); ``count(data)`` says
    how many at most, before anything is expanded, so an oversized grid is refused cheaply; ``run(config, emit)``
    runs a cell inside a worker, streaming trace rows through ``emit``; ``ahead(config)``, when
    given, does the part of a cell's set-up that needs no backend, starting what is slow in a
    thread; a worker calls it before it first imports the cell's backend, and ``run`` picks up
    the result (waiting for the thread within the cell's timeout); ``tables(results,
    budget)`` returns the report's tables of the task's cells by name; ``names(data)`` lists,
    per key (``optimizer``, ``measure``...), the names an ``exclude`` rule may match beyond the
    common ones. Only ``run`` may import the runtime (torch, the backends), and only when called.
    """

    name: str
    required: tuple[str, ...]  # suite keys it cannot run without
    keys: tuple[str, ...]  # top-level suite keys only this task reads
    objective_keys: tuple[str, ...]  # keys of an objectives entry only this task reads
    names: Callable[[dict], dict[str, list]]
    expand: Callable[..., Iterator]
    count: Callable[[dict], int]  # how many cells expand yields at most, counted without expanding
    run: Callable[[dict, Emit], Outcome]
    tables: Callable[..., dict]
    figures: tuple[Figure, ...] = ()
    ahead: Callable[[dict], None] | None = None
    rules: tuple[str, ...] = ("exclude",)  # lists of name-matching rules it reads (checked against names)


def short_value(value) -> str:
    """A number as a label shows it: integers without ``.0``, others to 4 significant digits."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:.4g}" if isinstance(value, float) else str(value)
