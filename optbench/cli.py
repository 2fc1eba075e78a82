"""The ``optbench`` command line. User mistakes print one line on stderr and exit 2."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import OptbenchError, ParameterError
from .vocabulary import PLUGIN_KINDS

if TYPE_CHECKING:  # NumPy, the registry and the plugins load when a command needs them
    import numpy as np

    from .registry import Registry


# ---- plugins and list ------------------------------------------------------------------------
def cmd_plugins(args, registry: Registry) -> int:
    """Every plugin, its distribution and version, what it registered; broken ones with reasons."""
    plugins = [{"name": p.name, "distribution": p.distribution, "version": p.version,
                "module": p.module, "hooks": p.hooks, "registered": p.registered}
               for p in registry.plugins]
    broken = [{"name": b.name, "distribution": b.distribution, "reason": b.reason} for b in registry.broken]
    missing = [vars(m) for m in registry.not_installed]
    if args.json:
        print(json.dumps({"plugins": plugins, "broken": broken, "not_installed": missing,
                          "blocked": registry.blocked}, indent=2))
        return 0
    for p in plugins:
        what = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in p["registered"].items() if names)
        print(f"{p['name']:<14} {p['distribution'] or '-'} {p['version'] or ''}  {what or '(nothing registered)'}")
    for b in broken:
        print(f"{b['name']:<14} {b['distribution'] or '-'}  BROKEN: {b['reason']}")
    for m in missing:
        print(f"{m['name']:<14} {m['distribution'] or '-'}  not installed: needs {m['requirement']}; {m['install']}")
    for name in registry.blocked:
        print(f"{name:<14} blocked (not loaded)")
    return 0


def cmd_list(args, registry: Registry) -> int:
    """Names, descriptions and capabilities of one kind of plugin."""
    rows = [spec.describe() for _, spec in sorted(getattr(registry, args.kind).items())]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for row in rows:
        extra = ""
        if args.kind == "backends":
            caps = row["capabilities"]
            extra = f"  [devices: {', '.join(caps['devices'])}; dtypes: {', '.join(caps['dtypes'])}; order <= {caps['max_order']}]"
        elif args.kind == "optimizers":
            extra = f"  [needs: {', '.join(row['needs'])}]"
        print(f"{row['name']:<24} {row['description']}{extra}")
    return 0


# ---- solve -----------------------------------------------------------------------------------
def split_params(registry: Registry, objective: str, optimizer: str, items: list[str]) -> tuple[dict, dict]:
    """Route ``k=v`` to the objective or the optimizer by who declares ``k``.

    ``objective.k=v`` and ``optimizer.k=v`` say it explicitly (needed when both declare ``k``).
    """
    from .params import parse_assignments

    obj_cls = registry.get("objectives", objective).cls
    opt_cls = registry.get("optimizers", optimizer).cls
    obj_keys = {"n", *obj_cls.params}
    obj_params, opt_params = {}, {}
    for key, value in parse_assignments(items).items():
        prefix, dot, bare = key.partition(".")
        if dot and prefix in ("objective", "optimizer"):
            (obj_params if prefix == "objective" else opt_params)[bare] = value
        elif key in obj_keys and key in opt_cls.params:
            raise ParameterError(f"parameter {key!r} is declared by both {objective!r} and {optimizer!r}; "
                                 f"write objective.{key}=... or optimizer.{key}=...")
        elif key in obj_keys:
            obj_params[key] = value
        else:
            opt_params[key] = value  # unknown keys are reported by the optimizer's validation
    return obj_params, opt_params


def parse_x0(text: str | None) -> np.ndarray | None:
    import numpy as np

    if text is None:
        return None
    try:
        return np.array([float(v) for v in text.split(",")], dtype=np.float64)
    except ValueError:
        raise ParameterError(f"--x0 expects comma-separated numbers, got {text!r}") from None


def cmd_solve(args, registry: Registry) -> int:
    """Run one objective/optimizer/backend combination and print a short summary."""
    from .loop import solve, stop_rules

    if args.out:
        table_format(Path(args.out))  # refuse a bad file name before the work, not after
    obj_params, opt_params = split_params(registry, args.objective, args.optimizer, args.param)
    objective = registry.objective(args.objective, **obj_params)
    optimizer = registry.optimizer(args.optimizer, **opt_params)
    backend = registry.backend(args.backend)
    stop = stop_rules(max_iter=args.max_iter, tol_grad=args.tol, tol_f=args.tol_f,
                      time_budget=args.time_budget)
    result = solve(objective, optimizer, backend, x0=parse_x0(args.x0), seed=args.seed,
                   dtype=args.dtype, device=args.device, stop=stop)
    import pandas as pd

    trace = result.frame()
    for key, value in (("objective", args.objective), ("optimizer", args.optimizer),
                       ("backend", args.backend), ("seed", args.seed), ("dtype", args.dtype),
                       ("device", args.device or "cpu")):
        trace.insert(0, key, value)
    summary = pd.Series(result.summary())
    with pd.option_context("display.width", 120, "display.max_columns", 20,
                           "display.float_format", "{:.10g}".format):
        print(summary.to_string())
        print()
        shown = trace if len(trace) <= 6 else pd.concat([trace.head(3), trace.tail(3)])
        print(shown.drop(columns=["objective", "optimizer", "backend", "seed", "dtype", "device"]).to_string(index=False))
    if args.out:
        write_table(trace, Path(args.out))
        print(f"\ntrace written to {args.out}", file=sys.stderr)
    return 0


def table_format(path: Path) -> str:
    """``"csv"`` or ``"parquet"`` from the file suffix; anything else is a user error."""
    formats = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
    if path.suffix not in formats:
        raise ParameterError(f"cannot write {str(path)!r}: use a .csv or .parquet file name")
    return formats[path.suffix]


def write_table(frame, path: Path) -> None:
    """Write ``frame`` as CSV or Parquet, chosen by the file suffix."""
    fmt = table_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


# ---- inspection: trace and graph ---------------------------------------------------------------
def _objective_and_point(args, registry: Registry):
    import numpy as np

    from .params import parse_assignments

    objective = registry.objective(args.objective, **parse_assignments(args.param))
    x0 = parse_x0(args.x0)
    return objective, (objective.x0(args.seed) if x0 is None else np.broadcast_to(x0, (objective.n,)).copy())


def cmd_trace(args, registry: Registry) -> int:
    """Print the primal and derivative trace table of an objective at its starting point."""
    import numpy as np
    import pandas as pd

    objective, x = _objective_and_point(args, registry)
    backend = registry.backend(args.backend)
    backend.check("trace")
    v = None
    if args.direction is not None:
        if not 0 <= args.direction < x.size:
            raise ParameterError(f"--direction must be in [0, {x.size}), got {args.direction}")
        v = np.eye(x.size)[args.direction]
    rows = backend.trace(objective, x, v)
    with pd.option_context("display.float_format", "{:.6g}".format, "display.width", 120):
        print(pd.DataFrame(rows).to_string(index=False))
    return 0


def cmd_graph(args, registry: Registry) -> int:
    """Draw the computation graph of an objective at its starting point (DOT or SVG)."""
    from .graphviz import dot_to_svg, have_dot

    objective, x = _objective_and_point(args, registry)
    backend = registry.backend(args.backend)
    backend.check("graph")
    text = backend.graph(objective, x)
    if args.format == "svg":
        if have_dot():
            text = dot_to_svg(text)
        else:
            print("optbench: graphviz's 'dot' is not installed; writing DOT instead of SVG", file=sys.stderr)
    if args.out:
        Path(args.out).write_text(text)
        print(f"graph written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


# ---- suites: run, replay, export ----------------------------------------------------------------
def cmd_run(args, registry: Registry | None) -> int:
    """Run a suite file's cells into the results store (or list them with --dry-run).

    ``registry`` is None when called from :func:`main`: the local workers are started first,
    so that their start-up (Python, NumPy, the plugins, torch) overlaps the driver's own.
    """
    from .executors import make_executor

    if args.dry_run:
        from .suite import load_suite

        suite = load_suite(args.suite, registry or _load_registry(), max_cells=args.max_cells)
        cells = [c for c in suite.cells if args.only is None or c.matches(args.only)]
        for cell in cells:
            print(f"{cell.id}  {cell.label}")
        print(f"{len(cells)} cells", file=sys.stderr)
        return 0
    for stop in (signal.SIGTERM, signal.SIGHUP):  # `kill`, a closed terminal: stop like Ctrl-C
        signal.signal(stop, _interrupt)
    runner = make_executor(args.executor, args.jobs, args.scheduler)
    try:
        if runner.kind == "local":
            runner.start()
        from .runner import run_suite  # NumPy and the rest load from here on
        from .suite import load_suite

        suite = load_suite(args.suite, registry or _load_registry(), max_cells=args.max_cells)
    except BaseException:
        runner.close()
        raise
    summary = run_suite(suite, args.out, jobs=args.jobs, executor=runner, scheduler=args.scheduler,
                        resume=args.resume, only=args.only, quiet=args.quiet, retry_failed=args.retry_failed)
    print(summary.line())
    return 130 if summary.status == "interrupted" else 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def cmd_replay(args, registry: Registry) -> int:
    """Rerun one recorded cell and say whether it reproduces (exit 1 when it does not)."""
    from .runner import replay
    from .vocabulary import TIMING_DEPENDENT

    result = replay(args.out, args.run, args.cell, registry)
    print(f"cell {result.original.id} {result.original.label}")
    print(f"recorded: {result.original.status} ({result.original.reason})")
    print(f"rerun:    {result.rerun.status} ({result.rerun.reason})")
    if result.reproduces:
        print("reproduces: same status and trace (timings aside)")
        return 0
    for line in result.differences:
        print(f"  {line}")
    if {result.original.status, result.rerun.status} & set(TIMING_DEPENDENT):
        print("note: this status depends on timing, so a rerun may legitimately differ")
    print("does NOT reproduce")
    return 1


def cmd_export(args, registry: Registry) -> int:
    """Write a run's runs, cells and traces tables as CSV or Parquet files."""
    from .results import export

    for path in export(args.out, args.run, args.format, args.dest):
        print(path)
    return 0


def cmd_upgrade(args, registry: Registry) -> int:
    """Convert a results store written by an older optbench to the current format, in place."""
    from .store import store_path, upgrade

    kept = upgrade(args.out)
    print(f"upgraded {store_path(args.out)}; the old file is kept as {kept}")
    return 0


# ---- reports: report, compare -------------------------------------------------------------------
def cmd_report(args, registry: Registry) -> int:
    """Write a run's report (HTML page, Markdown with PNGs, or CSV tables) and print the paths."""
    from .report import write_report

    for path in write_report(args.out, args.run, args.format, args.budget, args.dest):
        print(path)
    return 0


def cmd_compare(args, registry: Registry) -> int:
    """Compare run B with run A of the same suite; exit 1 when a metric regressed past the threshold."""
    from .compare import TRACE_COLUMNS, compare, format_comparison, parse_threshold
    from .report import resolve_run
    from .results import load

    threshold = parse_threshold(args.threshold)
    store_a = args.baseline_out or args.out
    run_a, run_b = resolve_run(store_a, args.run_a), resolve_run(args.out, args.run_b)
    comparison = compare(load(store_a, run_a, columns=TRACE_COLUMNS), load(args.out, run_b, columns=TRACE_COLUMNS),
                         threshold)
    print(format_comparison(comparison, run_a, run_b, threshold))
    return 1 if comparison.regressed else 0


# ---- the parser --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="optbench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("plugins", help="list plugins, what they registered, and broken ones")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_plugins)

    p = sub.add_parser("list", help="list objectives, optimizers or backends")
    p.add_argument("kind", choices=sorted(PLUGIN_KINDS))
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("solve", help="run one objective/optimizer/backend combination")
    p.add_argument("--objective", required=True)
    p.add_argument("--optimizer", required=True)
    p.add_argument("--backend", default="torch")
    p.add_argument("--param", action="append", default=[], metavar="K=V",
                   help="objective or optimizer parameter (objective.K=V / optimizer.K=V when ambiguous)")
    p.add_argument("--max-iter", type=int, default=1000)
    p.add_argument("--tol", type=float, help="stop when the gradient norm is <= TOL")
    p.add_argument("--tol-f", type=float, help="stop when f - f* <= TOL_F (needs a known minimum)")
    p.add_argument("--time-budget", type=float, help="stop after this many seconds of optimizer time")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--x0", help="starting point, comma-separated (one value is broadcast)")
    p.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    p.add_argument("--device", help="e.g. cpu, cuda, cuda:0 (default: cpu)")
    p.add_argument("--out", help="write the tidy trace to FILE (.csv or .parquet)")
    p.set_defaults(handler=cmd_solve)

    for name, handler, default_backend, help_text in (
        ("trace", cmd_trace, "dual", "print the evaluation trace table of an objective (forward or reverse)"),
        ("graph", cmd_graph, "tape", "draw the computation graph of an objective at its x0"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("objective")
        p.add_argument("--backend", default=default_backend)
        p.add_argument("--param", action="append", default=[], metavar="K=V", help="objective parameter")
        p.add_argument("--x0", help="point, comma-separated (default: the objective's x0)")
        p.add_argument("--seed", type=int, default=0)
        if name == "trace":
            p.add_argument("--direction", type=int, help="forward mode: seed along this input (default 0)")
        else:
            p.add_argument("--format", choices=("dot", "svg"), default="dot")
            p.add_argument("--out", help="write to FILE instead of stdout")
        p.set_defaults(handler=handler)

    p = sub.add_parser("run", help="run a suite file's grid of cells into a results store")
    p.add_argument("suite", help="a suite TOML file (see docs/suites.md)")
    p.add_argument("--out", default="results", metavar="DIR", help="results directory (default: results)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (default 1)")
    p.add_argument("--executor", choices=("local", "dask"), default="local")
    p.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (default: a LocalCluster)")
    p.add_argument("--resume", metavar="RUN", help="complete run RUN (or 'latest'): skip its finished cells")
    p.add_argument("--retry-failed", action="store_true",
                   help="with --resume: also rerun the cells that crashed or timed out")
    p.add_argument("--only", metavar="PATTERN", help="cells whose label matches this glob, or whose id starts so")
    p.add_argument("--dry-run", action="store_true", help="list the cells and exit")
    p.add_argument("--max-cells", type=int, metavar="N",
                   help="refuse a grid of more cells (default: $OPTBENCH_MAX_CELLS, else 100000)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (for logs)")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("replay", help="rerun one recorded cell and say whether it reproduces")
    p.add_argument("run")
    p.add_argument("cell", help="the cell id (or a unique prefix)")
    p.add_argument("--out", default="results", metavar="DIR", help="results directory (default: results)")
    p.set_defaults(handler=cmd_replay)

    p = sub.add_parser("export", help="write a run's tables as CSV files or Parquet datasets")
    p.add_argument("run")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv")
    p.add_argument("--out", default="results", metavar="DIR", help="results directory (default: results)")
    p.add_argument("--dest", metavar="DIR", help="where to write the files (default: the results directory)")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("upgrade", help="convert a results store of an older optbench to the current format")
    p.add_argument("out", nargs="?", default="results", metavar="PATH",
                   help="the results directory or .sqlite file (default: results)")
    p.set_defaults(handler=cmd_upgrade)

    p = sub.add_parser("report", help="write a run's report: an HTML page, Markdown with PNGs, or CSV tables")
    p.add_argument("run", help="the run id, or 'latest'")
    p.add_argument("--format", choices=("html", "md", "csv"), default="html")
    p.add_argument("--budget", choices=("iterations", "oracle", "time"), default="iterations",
                   help="x axis of convergence curves and data profiles (default: iterations)")
    p.add_argument("--out", default="results", metavar="DIR", help="results directory (default: results)")
    p.add_argument("--dest", metavar="PATH", help="the HTML/Markdown file, or the CSV directory "
                   "(default: RUN-report.html / .md, or the CSV files, in the results directory)")
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("compare", help="compare two runs of a suite; exit 1 when something regressed (for CI)")
    p.add_argument("run_a", metavar="RUN_A", help="the reference run (or 'latest')")
    p.add_argument("run_b", metavar="RUN_B", help="the run under test (or 'latest')")
    p.add_argument("--threshold", default="10%", help="allowed slow-down per metric, e.g. 10%% or 0.1 (default 10%%)")
    p.add_argument("--out", default="results", metavar="DIR", help="results directory (default: results)")
    p.add_argument("--baseline-out", metavar="DIR", help="results directory of RUN_A, when not --out")
    p.set_defaults(handler=cmd_compare)
    return parser


class _Version(argparse.Action):
    """``--version``; the installed version is read only when asked (it costs a metadata scan)."""

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__

        print(f"optbench {__version__}")  # on stdout, as argparse's own version action
        parser.exit()


def _load_registry() -> Registry:
    from .registry import load_registry

    return load_registry()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args, None if args.handler is cmd_run else _load_registry())
    except OptbenchError as exc:
        print(f"optbench: error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:  # a store damaged or changed while a command reads it
        print(f"optbench: error: the results store {str(args.out)!r} cannot be read: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("optbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stdout = open(os.devnull, "w")
        return 0


if __name__ == "__main__":
    sys.exit(main())
