"""A run's report: a self-contained HTML page, Markdown with PNG files, or the CSV tables.

``tables(results, budget=...)`` returns the pandas table behind every figure and table of the
report; the writers only draw and format them. A section appears only when its table has
rows. Every name that comes from a plugin or a suite file is escaped on the way out.
"""
from __future__ import annotations

import base64
import html
import time
from pathlib import Path

import pandas as pd

from . import analysis
from .errors import OptbenchError
from .results import Results, load
from .store import Store, store_path
from .tasks import TASKS, Figure
from .tasks.base import short_value
from .vocabulary import BUDGET_LABELS, SUCCESS

FORMATS = ("html", "md", "csv")


# ---- tables -------------------------------------------------------------------------------
def status_table(results: Results) -> pd.DataFrame:
    """How many cells ended with each status."""
    if not len(results.cells):
        return pd.DataFrame()
    counts = results.cells["status"].value_counts()
    return counts.rename_axis("status").reset_index(name="cells")


def environment_table(results: Results) -> pd.DataFrame:
    """The run's identity, options and environment as ``key``/``value`` rows."""
    if not len(results.runs):
        return pd.DataFrame()
    run = results.runs.iloc[-1]
    rows = {"run": run["run_id"], "suite": run["suite_name"], "suite file": run["suite_path"],
            "status": run["status"], "cells": run["cells_total"],
            "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run["started"]))}
    if pd.notna(run["finished"]):
        rows["duration (s)"] = round(run["finished"] - run["started"], 1)
    rows.update({key: run[key] for key in ("jobs", "executor") if key in run and pd.notna(run[key])})
    rows.update({key[len("env."):]: value for key, value in run.items() if key.startswith("env.") and pd.notna(value)})
    return pd.DataFrame({"key": list(rows), "value": [short_value(v) for v in rows.values()]})


def tables(results: Results, budget: str = "iterations") -> dict[str, pd.DataFrame]:
    """The table behind every section of the report, by name; sections without data are left out.

    ``results`` is one run (``optbench.results.load(path, run=RUN)``); ``budget`` is the
    x axis of the convergence curves and profiles: ``iterations``, ``oracle`` or ``time``.
    Names: ``status``, ``convergence``, ``kappa`` and ``kappa_fit``, ``throughput`` and
    ``cost_ratio``, ``bandwidth``, ``jacobian`` and ``jacobian_crossover``,
    ``performance_profile``, ``data_profile``, ``failures``, ``environment``.
    """
    if budget not in BUDGET_LABELS:
        raise OptbenchError(f"unknown budget axis {budget!r}; use {', '.join(BUDGET_LABELS)}")
    cells = results.cells
    out = {"status": status_table(results)}
    for task in TASKS.values():
        mine = cells[cells["task"] == task.name] if len(cells) and "task" in cells else cells.iloc[0:0]
        if len(mine):
            out |= task.tables(Results(results.runs, mine, results.traces, results.source), budget)
    out |= {"failures": analysis.failures(cells, SUCCESS).drop(columns="run_id") if len(cells) else pd.DataFrame(),
            "environment": environment_table(results)}
    return {name: frame for name, frame in out.items() if len(frame)}


# ---- sections -----------------------------------------------------------------------------
FIGURES: tuple[Figure, ...] = tuple(figure for task in TASKS.values() for figure in task.figures)
TABLES = (("failures", "Cells that did not succeed"), ("environment", "Environment"))


# What the printed tables' columns mean, in words, in the order printed; a figure's table
# carries its own (Figure.headings). Columns not listed (ids) stay in tables() and the CSV.
HEADINGS = {"status": {"status": "status", "cells": "cells"},
            "failures": {"label": "cell", "task": "task", "status": "status", "reason": "reason"},
            "environment": {"key": "setting", "value": "value"},
            **{figure.numbers: figure.headings for figure in FIGURES if figure.numbers}}


def for_people(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The table ``name`` as printed: its columns named in words, those without any value dropped."""
    headings = HEADINGS[name]
    shown = [column for column in headings if column in frame and frame[column].notna().any()]
    return frame[shown].rename(columns=headings)


def figures(found: dict[str, pd.DataFrame], budget: str) -> list[tuple[Figure, bytes]]:
    """The figures whose tables have data, drawn as PNG."""
    return [(figure, figure.draw(found, budget)) for figure in FIGURES if all(n in found for n in figure.needs)]


def available(results: Results, budget: str = "iterations") -> list[str]:
    """The ids of the figures ``results`` has data for, in report order."""
    found = tables(results, budget)
    return [figure.id for figure in FIGURES if all(name in found for name in figure.needs)]


def draw(results: Results, figure_id: str, budget: str = "iterations") -> bytes:
    """One figure of the report (``convergence``, ``kappa``...) as PNG bytes, for pages outside it."""
    known = {figure.id: figure for figure in FIGURES}
    if figure_id not in known:
        raise OptbenchError(f"unknown figure {figure_id!r}; the report draws {', '.join(known)}")
    found = tables(results, budget)
    figure = known[figure_id]
    missing = [name for name in figure.needs if name not in found]
    if missing:
        raise OptbenchError(f"run {_title(results)[1]!r} has no data for the {figure_id!r} figure")
    return figure.draw(found, budget)


# ---- writers ------------------------------------------------------------------------------
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.85em; } td, th { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } nav a { margin-right: 1em; } .meta { color: #555; } #table-status { margin-top: 1em; }
"""


def _title(results: Results) -> tuple[str, str]:
    run = results.runs.iloc[-1]
    return str(run["suite_name"]), str(run["run_id"])


def to_html(results: Results, budget: str = "iterations") -> str:
    """The report as one HTML page: figures embedded as PNG, CSS inline, no scripts, no links out."""
    found = tables(results, budget)
    drawn = figures(found, budget)
    suite, run = _title(results)
    esc = html.escape
    nav = [(f.id, f.title) for f, _ in drawn] + [(name, title) for name, title in TABLES if name in found]
    body = [f"<h1>optbench report: {esc(suite)}</h1>",
            f'<p class="meta">run {esc(run)}; budget axis: {esc(BUDGET_LABELS[budget])}</p>',
            "<nav>" + "".join(f'<a href="#{name}">{esc(title)}</a>' for name, title in nav) + "</nav>"]
    def numbers(figure: Figure) -> str:
        if figure.numbers not in found:
            return ""
        return for_people(figure.numbers, found[figure.numbers]).to_html(
            index=False, escape=True, na_rep="", float_format="{:.3g}".format, table_id=f"table-{figure.numbers}",
            border=0)

    if "status" in found:
        body.append(for_people("status", found["status"]).to_html(index=False, escape=True, table_id="table-status",
                                                                  border=0))
    for figure, image in drawn:
        data = base64.b64encode(image).decode()
        body.append(f'<section id="{figure.id}"><h2>{esc(figure.title)}</h2><figure id="fig-{figure.id}">'
                    f'<img src="data:image/png;base64,{data}" alt="{esc(figure.title)}">'
                    f"<figcaption>{esc(figure.caption)}</figcaption></figure>{numbers(figure)}</section>")
    for name, title in TABLES:
        if name in found:
            frame = for_people(name, found[name]).to_html(index=False, escape=True, na_rep="", table_id=f"table-{name}",
                                                          border=0)
            body.append(f'<section id="{name}"><h2>{esc(title)}</h2>{frame}</section>')
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>optbench report: {esc(suite)} ({esc(run)})</title><style>{STYLE}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")


def markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table; cells are HTML-escaped, since Markdown renders raw HTML."""
    def cell(value) -> str:
        return html.escape("" if pd.isna(value) else short_value(value)).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def write_markdown(results: Results, budget: str, dest: Path) -> list[Path]:
    """``dest`` (Markdown) and one PNG per figure beside it, named ``<stem>-<figure>.png``."""
    found = tables(results, budget)
    suite, run = _title(results)
    dest.parent.mkdir(parents=True, exist_ok=True)
    written, text = [], [f"# optbench report: {html.escape(suite)}", "",
                         f"run {html.escape(run)}; budget axis: {BUDGET_LABELS[budget]}", ""]
    if "status" in found:
        text += [markdown_table(for_people("status", found["status"])), ""]
    for figure, image in figures(found, budget):
        path = dest.with_name(f"{dest.stem}-{figure.id}.png")
        path.write_bytes(image)
        written.append(path)
        text += [f"## {figure.title}", "", f"![{figure.title}]({path.name})", "", figure.caption, ""]
        if figure.numbers in found:
            text += [markdown_table(for_people(figure.numbers, found[figure.numbers])), ""]
    for name, title in TABLES:
        if name in found:
            text += [f"## {title}", "", markdown_table(for_people(name, found[name])), ""]
    dest.write_text("\n".join(text))
    return [dest, *written]


def write_csv(results: Results, budget: str, dest: Path) -> list[Path]:
    """One ``<run>-report-<table>.csv`` per table, in the directory ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    _, run = _title(results)
    written = []
    for name, frame in tables(results, budget).items():
        path = dest / f"{run}-report-{name}.csv"
        frame.to_csv(path, index=False)
        written.append(path)
    return written


def resolve_run(path: str | Path, run: str) -> str:
    """``run`` itself, or for ``latest`` the run of the store that started last."""
    store = Store(path, create=False)
    try:
        return store.latest_run() if run == "latest" else store.run(run)["run_id"]
    finally:
        store.close()


def write_report(path: str | Path, run: str, fmt: str = "html", budget: str = "iterations",
                 dest: str | Path | None = None) -> list[Path]:
    """Write the report of ``run`` (or ``latest``) of the store at ``path``; returns the files written.

    ``dest`` is the HTML or Markdown file, or the directory for CSV; by default
    ``<run>-report.html`` / ``.md`` or the CSV files go beside the store.
    """
    if fmt not in FORMATS:
        raise OptbenchError(f"unknown report format {fmt!r}; use {', '.join(FORMATS)}")
    if budget not in BUDGET_LABELS:
        raise OptbenchError(f"unknown budget axis {budget!r}; use {', '.join(BUDGET_LABELS)}")
    run = resolve_run(path, run)
    results = load(path, run, traces=False)  # streamed cell by cell by the tasks' tables
    home = store_path(path).parent
    if fmt == "csv":
        return write_csv(results, budget, Path(dest) if dest is not None else home)
    target = Path(dest) if dest is not None else home / f"{run}-report.{fmt}"
    if fmt == "md":
        return write_markdown(results, budget, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(to_html(results, budget))
    return [target]
