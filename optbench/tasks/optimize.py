"""The ``optimize`` task: run an optimizer on an objective from a start, record its trace.

Keys: ``optimizers``, ``seeds``, ``stop``, ``metrics``, ``trace_every`` (and an objective's
``x0``). One cell per objective point x start x optimizer point x backend x device x dtype x
seed x repeat. The report shows convergence curves, sensitivity to conditioning, when two
solvers or more ran Dolan-Moré and Moré-Wild profiles (at four accuracies), and for bbob
cells COCO's runtime distributions.
"""
from __future__ import annotations

import itertools
import json
from typing import Any

from ..errors import ParameterError, SuiteError, suggest
from ..grid import (Cell, axes, cell_id, count_objective_points, count_placements, count_points, format_params,
                    lookup, matching_rules, points)
from ..params import bind
from ..recording import Recorder
from ..vocabulary import BUDGET_COLUMNS, BUDGET_LABELS, ORACLE_COUNTS
from .base import Emit, Figure, Outcome, Task, short_value

KEYS = ("optimizers", "seeds", "stop", "metrics", "trace_every", "record")
CURVE_POINTS = 400  # rows of a cell's convergence curve in the report (log-spaced)
MAX_CURVES = 20  # cells of one method on one problem drawn one by one; more are drawn as their median
CURVE_COLUMNS = ("f_gap", "grad_norm")  # with the budget's own columns
PROFILE_COLUMNS = ("f", "f_gap")
TARGET_COLUMNS = (*ORACLE_COUNTS, "time", "f_gap")  # what analysis.targets_reached reads


# ---- the grid -----------------------------------------------------------------------------------
def optimizer_grid(file: str, i: int, entry: dict, registry) -> tuple[str, list[tuple[dict, dict]]]:
    """The optimizer's name and its grid points; each point is built once to run its own checks."""
    spec = lookup(file, f"optimizers[{i}].name", registry, "optimizers", entry["name"])
    owner = f"optimizer {spec.name!r}"

    def coerce(key: str, value: Any) -> Any:
        if key not in spec.cls.params:
            raise ParameterError(f"{owner}: unknown parameter {key!r}{suggest(key, spec.cls.params)}")
        return spec.cls.params[key].coerce(owner, key, value)

    grid = []
    for given in points(axes(file, f"optimizers[{i}].params", entry.get("params", {}), coerce)):
        try:
            params = bind(owner, spec.cls.params, given)
            params = dict(spec.cls(**given).p)
        except ParameterError as exc:
            raise SuiteError(file, f"optimizers[{i}].params", f"{exc} (at {format_params(given)})") from None
        except (Exception, SystemExit):  # a broken plugin: its cells run, and crash with the reason
            pass
        grid.append((given, params))
    return spec.name, grid


def names(data: dict) -> dict[str, list]:
    """What an ``exclude`` rule may match beyond the common keys: the optimizers."""
    return {"optimizer": [o["name"] for o in data["optimizers"]]}


def expand(data: dict, objectives: list, file: str, registry):
    """Yield the cells of the grid, in file order, minus the excluded combinations."""
    optimizers = [optimizer_grid(file, i, entry, registry) for i, entry in enumerate(data["optimizers"])]
    excludes = data.get("exclude", [])
    fixed = {"stop": data["stop"], "threads": data["threads"], "metrics": data["metrics"],
             "trace_every": data["trace_every"], "timeout": data["timeout"]}
    for (obj, obj_points, starts), (opt, opt_points), backend, device, dtype in itertools.product(
            objectives, optimizers, data["backends"], data["devices"], data["dtypes"]):
        where = {"objective": obj, "optimizer": opt, "backend": backend, "device": device, "dtype": dtype}
        if matching_rules(excludes, where):
            continue
        for (obj_given, obj_params), x0, (opt_given, opt_params), seed, repeat in itertools.product(
                obj_points, starts, opt_points, data["seeds"], range(data["repeats"])):
            config = {"task": data["task"], "objective": {"name": obj, "params": obj_params},
                      "optimizer": {"name": opt, "params": opt_params}, "backend": backend,
                      "device": device, "dtype": dtype, "seed": seed, "repeat": repeat, **fixed}
            shown = obj_given
            if x0 is not None:  # only when given, so suites without starting points keep their cell ids
                config["x0"] = x0
                shown = {**obj_given, "x0": x0}
            if data["record"] != "all":  # likewise: the default policy keeps the ids cells had before it
                config["record"] = data["record"]
            label = (f"{obj}({format_params(shown)})/{opt}({format_params(opt_given)})/{backend}/{device}/{dtype}"
                     f"/seed={seed}" + (f"/rep={repeat}" if data["repeats"] > 1 else ""))
            yield Cell(cell_id(config), label, config)


def count(data: dict) -> int:
    """Objective points x starts x optimizer points x seeds x placements, exclusions aside."""
    optimizers = sum(count_points(entry.get("params", {})) for entry in data.get("optimizers", []))
    return count_objective_points(data) * optimizers * len(data["seeds"]) * count_placements(data)


# ---- one cell (inside a worker) -------------------------------------------------------------------
_ahead: dict[str, tuple] = {}  # the next cell's objective, made ahead, and its reference solve's thread


def ahead(config: dict) -> None:
    """Make the cell's objective now and, when the cell reads f* or x* and they are not known yet,
    start their reference solve in a thread: NumPy and BLAS work, which overlaps the backend's
    import (torch: ~1 s) instead of following it. Cheap work stays on this thread, where it
    does not compete for the GIL with the import. What fails here (``prepare`` catches it) is
    met again, and reported, by :func:`run`."""
    import threading
    import time

    from ..loop import StopRules, evaluator, needs_known_minimum
    from ..minima import is_known, known_minimum

    _ahead.clear()  # at most one: a cell that never ran must not keep its objective alive
    objective = _objective(config)
    reference = None
    if needs_known_minimum(config["metrics"], StopRules(**config["stop"])) and not is_known(objective):
        def on_backend(x) -> float:
            """f(x*) on the cell's backend: made here once the import beside this solve has ended
            (NumPy evaluation would import its own Array API namespace, competing with it)."""
            evaluate = evaluator(objective, _registry().backend(config["backend"]))
            return float(objective(x)) if evaluate is None else evaluate(x)

        def find() -> None:
            try:
                known_minimum(objective, on_backend, charge=False, clock=time.thread_time)  # the cell's set-up time
            except (Exception, SystemExit):  # noqa: BLE001 - the cell solves again and reports it
                pass
        reference = threading.Thread(target=find, name="optbench-reference-solve", daemon=True)
        reference.start()
    _ahead[_objective_key(config)] = (objective, reference)


def _objective_key(config: dict) -> str:
    return json.dumps(config["objective"], sort_keys=True, default=str)


def _objective(config: dict):
    return _registry().objective(config["objective"]["name"], **config["objective"]["params"])


def _registry():
    from ..registry import load_registry

    return load_registry()


def run(config: dict, emit: Emit) -> Outcome:
    """Run ``optbench.solve`` on the cell's objective, optimizer and backend."""
    from ..loop import TRACE_COLUMNS, StopRules, solve

    registry = _registry()
    objective, reference = _ahead.pop(_objective_key(config), (None, None))
    if reference is not None:
        reference.join()  # the reference solve started ahead, within the cell's time limit
    objective = _objective(config) if objective is None else objective
    optimizer = registry.optimizer(config["optimizer"]["name"], **config["optimizer"]["params"])
    backend = registry.backend(config["backend"])
    keep = (*BUDGET_COLUMNS, *config["metrics"])
    recorder = Recorder(config.get("record", "all"), config["trace_every"])
    held: list[dict] = []  # the latest row not yet emitted, so the last iteration is always kept

    def kept(row: dict) -> None:
        row = {key: row[key] for key in keep}
        held[:] = [] if recorder.keep(row) else [row]
        if not held:
            emit(row)

    # rows that are all kept, whole, go out as solve made them: nothing to leave out, nothing copied
    on_row = emit if recorder.keeps_every_row and set(keep) >= set(TRACE_COLUMNS) else kept
    result = solve(objective, optimizer, backend, x0=config.get("x0"), seed=config["seed"], dtype=config["dtype"],
                   device=config["device"], stop=StopRules(**config["stop"]), on_row=on_row,
                   metrics=config["metrics"])
    for row in held:
        emit(row)
    last = result.trace[-1]
    return Outcome(result.status, result.reason, {
        "iterations": result.iterations, "f_final": result.f, "grad_norm_final": last["grad_norm"],
        "f_gap_final": last["f_gap"], "dist_final": last["dist"], "solve_time": last["time"],
        "solve_cpu_time": last["cpu_time"], "nfev": last["nfev"], "ngev": last["ngev"],
        "nhvp": last["nhvp"], "nhev": last["nhev"], "f_star": result.f_star, "setup_time": result.setup_time,
        "warmup_time": result.warmup_time,
        **{f"library_{key}": value for key, value in result.library.items()}})


# ---- the report's tables --------------------------------------------------------------------------
def problem_labels(cells):
    """``objective(p=v,...)`` per cell, with only the parameters that vary for that objective in the run."""
    import pandas as pd

    params = [c for c in cells.columns if c.startswith("objective.")]
    varying = [c for c in params if (cells.groupby("objective")[c].nunique() > 1).any()]

    def label(row) -> str:
        given = [f"{c.split('.', 1)[1]}={short_value(row[c])}" for c in varying if pd.notna(row[c])]
        return f"{row['objective']}({','.join(given)})" if given else str(row["objective"])

    return cells.apply(label, axis=1) if len(cells) else pd.Series(dtype=str)


def method_labels(cells):
    """The solver's label (``analysis.solver_labels``), plus backend, device and dtype where they vary."""
    from .. import analysis

    label = analysis.solver_labels(cells)
    for column in ("backend", "device", "dtype"):
        if cells[column].nunique() > 1:
            label = label + " " + cells[column].astype(str)
    return label


def convergence_table(results, budget: str):
    """One row per recorded iteration: problem, method, seed, cell, dtype, budget spent, f - f*, |grad f|.

    A method with more than ``MAX_CURVES`` cells on a problem (seeds, repeats) is one curve,
    their median at each budget, whose ``cell_id`` reads ``median of N cells``.
    """
    import numpy as np
    import pandas as pd

    from .. import analysis

    cells = results.cells
    cells = cells.assign(problem=problem_labels(cells), method=method_labels(cells))
    cells = cells.sort_values([c for c in cells.columns if c == "objective" or c.startswith("objective.")])
    found = {}
    for run_id, cell_id, trace in results.each_columns((*analysis.BUDGET_INPUTS[budget], *CURVE_COLUMNS)):
        keep = thin_index(trace["iter"], CURVE_POINTS)
        found[run_id, cell_id] = tuple(np.asarray(values, dtype=float)[keep] for values in
                                       (analysis.budget_values(trace, budget), trace["f_gap"], trace["grad_norm"]))
    parts = []
    for (problem, method), group in cells.groupby(["problem", "method"], sort=False):  # panels in problem order
        curves = [(cell, found[cell.run_id, cell.cell_id]) for cell in group.itertuples(index=False)
                  if (cell.run_id, cell.cell_id) in found]
        if len(curves) > MAX_CURVES:
            budgets, (gaps, norms) = median_curves([curve for _, curve in curves])
            parts.append(pd.DataFrame({"budget": budgets, "f_gap": gaps, "grad_norm": norms, "problem": problem,
                                       "method": method, "seed": np.nan, "cell_id": f"median of {len(curves)} cells",
                                       "dtype": curves[0][0].dtype}))
            continue
        parts += [pd.DataFrame({"budget": spent, "f_gap": gaps, "grad_norm": norms, "problem": problem,
                                "method": method, "seed": cell.seed, "cell_id": cell.cell_id, "dtype": cell.dtype})
                  for cell, (spent, gaps, norms) in curves]
    if not parts:
        return pd.DataFrame()
    rows = pd.concat(parts, ignore_index=True)
    rows = rows[np.isfinite(rows[["f_gap", "grad_norm"]].astype(float)).any(axis=1)]  # what a figure can draw
    return rows[["problem", "method", "seed", "cell_id", "dtype", "budget", "f_gap", "grad_norm"]].reset_index(drop=True)


def median_curves(curves: list[tuple]) -> tuple:
    """The budgets of a common log-spaced grid and, per measure, the cells' median value there.

    ``curves``: ``(budgets, values, values...)`` per cell, budgets increasing. A cell's value
    at a budget is its last recorded one at or before it (NaN before its first row).
    """
    import warnings

    import numpy as np

    spent = np.concatenate([curve[0] for curve in curves])
    positive = spent[spent > 0]
    grid = np.unique(np.concatenate([[0.0] if (spent == 0).any() else [],
                                     np.geomspace(positive.min(), positive.max(), CURVE_POINTS) if positive.size else []]))
    medians = []
    for measure in range(1, len(curves[0])):
        table = np.full((len(curves), len(grid)), np.nan)
        for row, curve in enumerate(curves):
            at = np.searchsorted(curve[0], grid, side="right") - 1
            table[row] = np.where(at >= 0, curve[measure][np.maximum(at, 0)], np.nan)
        with warnings.catch_warnings():  # a budget no cell has reached yet is NaN, and says so
            warnings.simplefilter("ignore", RuntimeWarning)
            medians.append(np.nanmedian(table, axis=0))
    return grid, medians


def thin_index(iterations, points: int):
    """Row numbers of at most about ``points`` rows, in iteration order, log-spaced, first and last kept.

    A curve on a log axis looks the same; what the profiles and targets need is computed
    from the whole trace, not from this.
    """
    import numpy as np

    order = np.argsort(np.asarray(iterations), kind="stable")
    if len(order) <= points:
        return order
    return order[np.unique(np.concatenate([np.geomspace(1, len(order), points).astype(int) - 1, [len(order) - 1]]))]


def thin(trace, points: int):
    """The rows of a trace frame that :func:`thin_index` keeps."""
    return trace.iloc[thin_index(trace["iter"], points)]


def kappa_tables(results) -> dict:
    """Iterations to tolerance against kappa per cell, and the fitted exponents beside theory."""
    from .. import analysis

    cells = results.cells
    if "objective.cond" not in cells:
        return {}
    fits = analysis.kappa_exponents(cells)
    fits = fits[fits["exponent"].notna()].reset_index(drop=True)  # a method converged at fewer than two kappas: no fit
    if fits.empty:
        return {}
    found = analysis.conditioning_table(cells)
    found = found[["optimizer", "objective", "objective.n", "kappa", "iterations", "status", "cell_id"]]
    return {"kappa": found, "kappa_fit": fits}


# the accuracies tau of Moré and Wild's convergence test at which their paper draws profiles
PROFILE_ACCURACIES = (1e-1, 1e-3, 1e-5, 1e-7)


def profile_tables(results, budget: str) -> dict:
    """Dolan-Moré and Moré-Wild profiles over the run's problems, when it compares two solvers or more.

    One profile per accuracy tau of :data:`PROFILE_ACCURACIES` (column ``accuracy``).
    """
    import pandas as pd

    from .. import analysis

    cells = results.cells
    if not results.has_traces() or analysis.solver_labels(cells).nunique() < 2:
        return {}
    columns = (*analysis.BUDGET_INPUTS[budget], *PROFILE_COLUMNS)
    performance, data = [], []
    for accuracy in PROFILE_ACCURACIES:
        costs = analysis.problem_costs(cells, lambda: results.each_columns(columns), budget, tau=accuracy)
        performance.append(analysis.performance_profile(costs).assign(accuracy=accuracy))
        data.append(analysis.data_profile(costs, per_dimension=budget == "oracle").assign(accuracy=accuracy))
    counterparts = analysis.counterpart_table(cells, lambda: results.each_trace(TARGET_COLUMNS))
    return {"performance_profile": pd.concat(performance, ignore_index=True),
            "data_profile": pd.concat(data, ignore_index=True),
            **({"counterparts": counterparts} if len(counterparts) else {})}


def runtime_tables(results, budget: str) -> dict:
    """COCO's runtime distributions (:mod:`optbench.ecdf`), for runs with bbob cells."""
    import pandas as pd

    from .. import analysis, ecdf

    cells = results.cells
    if "objective" not in cells or not (cells["objective"] == "bbob").any():
        return {}
    traces = results.traces
    if results.source is not None:  # streamed: read the two or five columns the runtimes need
        frames = [trace.assign(run_id=run_id, cell_id=cell_id) for run_id, cell_id, trace
                  in results.each_trace((*analysis.BUDGET_INPUTS[budget], "f_gap"))]
        traces = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    distribution = ecdf.runtime_distribution(ecdf.runtimes(cells, traces, budget))
    return {"runtime_distribution": distribution} if len(distribution) else {}


def tables(results, budget: str) -> dict:
    """The report's tables of a run's optimize cells, by name."""
    return {"convergence": convergence_table(results, budget), **kappa_tables(results),
            **profile_tables(results, budget), **runtime_tables(results, budget)}


# ---- the report's figures -------------------------------------------------------------------------
def _plots():
    from .. import plots

    return plots


SOLVED_AT = {"iterations": "iteration {}", "oracle": "oracle call {}", "time": "{} s"}  # "solved at ..."
FIGURES = (
    Figure("convergence", "Convergence", "f - f* (or the gradient norm where f* is unknown) against the budget; "
           f"one line per cell (the median of a method's cells where it ran more than {MAX_CURVES} on a problem), "
           "one colour per method.", ("convergence",),
           lambda t, budget: _plots().convergence(t["convergence"], BUDGET_LABELS[budget], SOLVED_AT[budget])),
    Figure("kappa", "Sensitivity to conditioning", "Iterations to tolerance against the condition number, "
           "log-log; lines are least-squares fits for kappa >= 10, their slopes beside theory "
           "(gradient descent 1, heavy ball and Nesterov 0.5, Newton 0). A method that converged at fewer "
           "than two condition numbers >= 10 has no fit, and no row in the table.", ("kappa", "kappa_fit"),
           lambda t, budget: _plots().kappa(t["kappa"], t["kappa_fit"]), numbers="kappa_fit",
           headings={"optimizer": "method", "objective.n": "dimension n",
                     "exponent": "fitted slope p (iterations ~ C kappa^p)", "constant": "constant C",
                     "theory": "slope in theory", "points": "cells fitted", "kappa_min": "smallest kappa fitted",
                     "kappa_max": "largest kappa fitted", "censored": "cells that did not converge (left out)"}),
    Figure("performance-profile", "Performance profile (Dolan-Moré)", "Fraction of problems each solver "
           "solves within a ratio of the best solver's budget; one panel per accuracy tau of Moré and Wild's "
           "test f(x0) - f(x) >= (1 - tau)(f(x0) - f_L). When the run has library optimizers (scipy, torch.optim, "
           "optax), the table puts each built-in optimizer beside its counterparts, on the problems both ran.",
           ("performance_profile",),
           lambda t, budget: _plots().profile(t["performance_profile"], "tau", "budget / best solver's budget",
                                              log_x=True),
           numbers="counterparts",  # built-in optimizers beside the libraries' (scipy, torch.optim, optax)
           headings={"built_in": "built-in", "library": "library counterpart", "method": "method",
                     "target": "target (f - f* relative to x0)", "problems": "problems both ran",
                     "reached": "cells reaching it", "iterations": "median iterations to it",
                     "oracle": "median oracle calls to it", "time_per_iteration": "median time per iteration (s)"}),
    Figure("data-profile", "Data profile (Moré-Wild)", "Fraction of problems each solver solves within a "
           "budget (oracle calls are divided by n + 1, Moré and Wild's simplex gradients), log scale; one panel "
           "per accuracy tau.", ("data_profile",),
           lambda t, budget: _plots().profile(t["data_profile"], "alpha", BUDGET_LABELS[budget]
                                              + (" / (n + 1)" if budget == "oracle" else ""), log_x=True)),
    Figure("runtime-distribution", "Runtime distributions (COCO)", "Fraction of (problem, target) pairs reached "
           "against the budget divided by the dimension, for 51 targets f* + 1e2 ... f* + 1e-8; one panel per "
           "bbob function group and one over all functions.", ("runtime_distribution",),
           lambda t, budget: _plots().runtime_distribution(
               t["runtime_distribution"], BUDGET_LABELS[budget] + ("" if budget == "time" else " / n"))),
)

TASK = Task("optimize", ("optimizers",), KEYS, ("x0",), names, expand, count, run, tables, FIGURES, ahead=ahead)
