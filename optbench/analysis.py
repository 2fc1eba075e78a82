"""The measurements behind the reports: pure pandas/NumPy tables computed from ``optbench.results``.

Every function takes the tidy frames of :func:`optbench.results.load` (``cells``, ``traces``)
and returns a DataFrame; nothing here plots. The column names each one returns are listed in
its docstring and in ``docs/measurements.md``.

Budgets (the x axis of curves and profiles) are chosen at call time:
``"iterations"`` (the trace's ``iter``), ``"oracle"`` (``nfev + ngev + nhvp + nhev``) or
``"time"`` (the optimizer's seconds, ``time``).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .vocabulary import BUDGET_LABELS, KEY_COLUMNS, ORACLE_COUNTS, SUCCESS

BUDGETS = tuple(BUDGET_LABELS)
BUDGET_INPUTS = {"iterations": ("iter",), "oracle": ORACLE_COUNTS, "time": ("time",)}  # trace columns of each budget
# Iterations to a fixed relative accuracy grow like kappa^p on quadratics (textbook rates).
THEORY_EXPONENTS = {"gd": 1.0, "heavy_ball": 0.5, "nesterov": 0.5, "newton": 0.0}
EVALUATION_MEASURES = ("f", "grad", "hvp", "hessian", "derivative")
PROBLEM_KEYS = ("backend", "device", "dtype", "seed", "x0")


# ---- budgets and curves -------------------------------------------------------------------------
def budget_values(frame: pd.DataFrame | dict, budget: str) -> pd.Series | np.ndarray:
    """The budget axis of trace rows: ``iter``, the oracle calls summed, or ``time``.

    ``frame`` is a trace frame, or one cell's trace as ``{column: array}`` (then an array).
    """
    if budget == "iterations":
        return frame["iter"]
    if budget == "oracle":
        if isinstance(frame, dict):
            return np.nansum([np.asarray(frame[c], dtype=float) for c in ORACLE_COUNTS], axis=0)
        return frame[list(ORACLE_COUNTS)].sum(axis=1)
    if budget == "time":
        return frame["time"]
    raise ValueError(f"unknown budget {budget!r}; use one of {', '.join(BUDGETS)}")


def convergence_curves(traces: pd.DataFrame, budget: str = "iterations", metric: str = "f_gap") -> pd.DataFrame:
    """Long table of curves: the trace's key columns, ``budget`` (the x value) and ``value``."""
    keys = [c for c in KEY_COLUMNS if c in traces.columns]
    out = traces[keys].copy()
    out["budget"] = budget_values(traces, budget)
    out["value"] = traces[metric]
    return out.reset_index(drop=True)


def targets_reached(traces: pd.DataFrame, targets: Sequence[float] = (1e-2, 1e-4, 1e-6, 1e-8),
                    metric: str = "f_gap", relative: bool = True) -> pd.DataFrame:
    """Iterations, oracle calls and time at which each cell first reached each target.

    A cell reaches target ``t`` when ``metric <= t * metric(x0)`` (``relative``) or
    ``metric <= t``. Columns: the trace's key columns, ``target``, ``reached`` (bool),
    ``iterations``, ``oracle``, ``time`` (NaN where never reached).
    """
    keys = [c for c in KEY_COLUMNS if c in traces.columns]
    rows = []
    for _, trace in traces.groupby(["run_id", "cell_id"], sort=False):
        trace = trace.sort_values("iter")
        values = trace[metric].to_numpy(dtype=float)
        scale = abs(values[0]) if relative else 1.0
        first = trace.iloc[0]
        for target in targets:
            hit = np.flatnonzero(values <= target * scale)
            row = {k: first[k] for k in keys} | {"target": target, "reached": bool(hit.size)}
            if hit.size:
                at = trace.iloc[hit[0]]
                row |= {"iterations": at["iter"], "oracle": sum(at[c] for c in ORACLE_COUNTS), "time": at["time"]}
            else:
                row |= {"iterations": np.nan, "oracle": np.nan, "time": np.nan}
            rows.append(row)
    return pd.DataFrame(rows, columns=[*keys, "target", "reached", "iterations", "oracle", "time"])


# ---- conditioning -------------------------------------------------------------------------------
def conditioning_table(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per optimize cell on a conditioned objective: ``kappa`` and iterations to tolerance.

    ``kappa`` is the objective's ``cond`` parameter; ``iterations`` is the cell's iteration
    count when it ``converged`` (the suite's ``tol_f``/``tol_grad`` is the tolerance), else NaN.
    """
    frame = cells[(cells["task"] == "optimize") & cells["objective.cond"].notna()].copy()
    frame["kappa"] = frame["objective.cond"].astype(float)
    frame["iterations"] = frame["iterations"].where(frame["status"] == "converged").astype(float)
    return frame.reset_index(drop=True)


def kappa_exponents(cells: pd.DataFrame, by: Sequence[str] = ("objective.n",), min_kappa: float = 10.0,
                    theory: dict[str, float] | None = None) -> pd.DataFrame:
    """Fitted exponent p of iterations ~ C kappa^p per optimizer, by log-log least squares.

    Fits the converged cells with ``kappa >= min_kappa`` (below it the asymptotic rate has
    not set in; kappa = 1 is one step for most methods). Columns: ``optimizer``, the ``by``
    columns, ``exponent``, ``constant`` (C), ``theory`` (NaN where none is known), ``points``,
    ``kappa_min``, ``kappa_max`` (the fitted range), ``censored`` (cells at kappa >= min_kappa
    that did not converge, left out of the fit).
    """
    theory = THEORY_EXPONENTS if theory is None else theory
    table = conditioning_table(cells)
    table = table[table["kappa"] >= min_kappa]
    groups = ["optimizer", *[c for c in by if c in table.columns]]
    rows = []
    for key, group in table.groupby(groups, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        done = group[group["iterations"] > 0]
        row = dict(zip(groups, key)) | {"theory": theory.get(key[0], np.nan), "points": len(done),
                                        "censored": int(group["iterations"].isna().sum())}
        if done["kappa"].nunique() >= 2:
            slope, intercept = np.polyfit(np.log(done["kappa"]), np.log(done["iterations"]), 1)
            row |= {"exponent": slope, "constant": float(np.exp(intercept)),
                    "kappa_min": done["kappa"].min(), "kappa_max": done["kappa"].max()}
        else:
            row |= {"exponent": np.nan, "constant": np.nan, "kappa_min": np.nan, "kappa_max": np.nan}
        rows.append(row)
    return pd.DataFrame(rows, columns=[*groups, "exponent", "constant", "theory", "points", "kappa_min",
                                       "kappa_max", "censored"])


def preconditioning_effect(cells: pd.DataFrame, plain: str = "gd", preconditioned: str = "jacobi") -> pd.DataFrame:
    """Iterations of ``plain`` against ``preconditioned`` on the same problems.

    Columns: the problem columns (objective, its parameters, backend, device, dtype, seed),
    ``kappa``, ``iterations_plain``, ``iterations_preconditioned``, ``status_plain``,
    ``status_preconditioned`` and ``speedup`` (plain / preconditioned iterations; NaN when
    either did not converge).
    """
    table = conditioning_table(cells)
    keys = problem_columns(table)
    parts = []
    for name, suffix in ((plain, "plain"), (preconditioned, "preconditioned")):
        part = table.loc[table["optimizer"] == name, [*keys, "kappa", "iterations", "status"]]
        parts.append(part.rename(columns={"iterations": f"iterations_{suffix}", "status": f"status_{suffix}"}))
    out = parts[0].merge(parts[1].drop(columns="kappa"), on=keys, how="inner")
    out["speedup"] = out["iterations_plain"] / out["iterations_preconditioned"]
    return out.reset_index(drop=True)


# ---- problems, solvers and profiles -------------------------------------------------------------
def problem_columns(cells: pd.DataFrame) -> list[str]:
    """The columns that identify a problem: the objective, its parameters and where it ran."""
    params = [c for c in cells.columns if c.startswith("objective.")]
    return [c for c in ("objective", *params, *PROBLEM_KEYS) if c in cells.columns]


def solver_labels(cells: pd.DataFrame) -> pd.Series:
    """A solver name per cell: the optimizer plus the hyper-parameters that vary within the frame."""
    labels = cells["optimizer"].astype(str).copy()
    for name, group in cells.groupby("optimizer"):
        params = [c for c in group.columns if c.startswith("optimizer.")
                  and group[c].notna().any() and group[c].astype(str).nunique() > 1]
        if params:
            text = group[params].apply(  # a parameter a cell does not have (a library option) is left out
                lambda r: ",".join(f"{c.removeprefix('optimizer.')}={r[c]}" for c in params if pd.notna(r[c])), axis=1)
            labels.loc[group.index] = f"{name}(" + text + ")"
    return labels


def problem_costs(cells: pd.DataFrame, traces: pd.DataFrame | Callable[[], Iterable], budget: str = "iterations",
                  tau: float = 1e-3) -> pd.DataFrame:
    """The budget each solver needed on each problem, by Moré and Wild's convergence test.

    A solver solves a problem once ``f(x0) - f(x) >= (1 - tau) (f(x0) - f_L)``, f_L the best
    value any solver found on the problem (the known minimum when lower). ``traces`` is the
    trace frame, or for runs too large to hold a function that returns an iterator of
    ``(run_id, cell_id, trace)`` one cell at a time (as ``Results.each_trace`` or, cheaper,
    ``Results.each_columns``); it is called twice. Columns: ``problem`` (a label), ``solver``, ``n`` (the dimension), ``cost``
    (budget spent until the test first held; inf when it never did) and ``budget``.
    """
    cells = cells[cells["task"] == "optimize"].copy()
    keys = problem_columns(cells)
    cells["problem"] = cells[keys].apply(lambda row: "/".join(map(str, row)), axis=1)
    cells["solver"] = solver_labels(cells)
    each = traces if callable(traces) else lambda: _each_cell(traces)
    problem = dict(zip(zip(cells["run_id"], cells["cell_id"]), cells["problem"]))
    # pass 1: f(x0) of each cell and the lowest value (or known minimum) of each problem
    start, low = {}, {}
    for run_id, cell_id, trace in each():
        if (run_id, cell_id) not in problem:
            continue
        level, star = _levels(trace)
        known = level[~np.isnan(level)]
        start[run_id, cell_id] = known[0] if known.size else np.nan
        name = problem[run_id, cell_id]
        low[name] = np.nanmin([low.get(name, np.inf), np.nanmin(level, initial=np.inf), np.nanmin(star, initial=np.inf)])
    # pass 2: the budget spent until the test first held
    cost = {}
    for run_id, cell_id, trace in each():
        if (run_id, cell_id) not in start:
            continue
        level, _ = _levels(trace)
        f0, f_low = start[run_id, cell_id], low[problem[run_id, cell_id]]
        with np.errstate(invalid="ignore"):
            solved = f0 - level >= (1.0 - tau) * (f0 - f_low)
        spent = np.asarray(budget_values(trace, budget), dtype=float)
        cost[run_id, cell_id] = spent[solved].min() if solved.any() else np.inf
    out = cells[["run_id", "cell_id", "problem", "solver", "objective.n"]].rename(columns={"objective.n": "n"})
    out["cost"] = [cost.get(key, np.inf) for key in zip(out["run_id"], out["cell_id"])]
    # repeats and several runs of one (problem, solver): the median cost
    out = out.groupby(["problem", "solver"], as_index=False).agg(n=("n", "first"), cost=("cost", "median"))
    return out.assign(budget=budget)


# ---- built-in optimizers beside their library counterparts ---------------------------------------
# (library optimizer, its parameter, value) -> the built-in optimizer that computes the same method
COUNTERPARTS = {
    ("scipy", "method", "L-BFGS-B"): "lbfgs", ("scipy", "method", "Newton-CG"): "newton_cg",
    ("torch_optim", "algorithm", "LBFGS"): "lbfgs", ("torch_optim", "algorithm", "Adam"): "adam",
    ("torch_optim", "algorithm", "SGD"): "heavy_ball", ("torch_optim", "algorithm", "Adagrad"): "adagrad",
    ("torch_optim", "algorithm", "RMSprop"): "rmsprop", ("optax", "algorithm", "adam"): "adam",
    ("optax", "algorithm", "sgd"): "heavy_ball", ("optax", "algorithm", "adagrad"): "adagrad",
    ("optax", "algorithm", "rmsprop"): "rmsprop",
}


def counterpart_table(cells: pd.DataFrame, traces: pd.DataFrame | Callable[[], Iterable],
                      targets: Sequence[float] = (1e-2, 1e-4, 1e-6, 1e-8)) -> pd.DataFrame:
    """Each built-in optimizer beside its library counterparts, on the problems both ran.

    A problem is the objective, its parameters, dtype, seed and start (not the backend: optax
    runs on jax). Per pair, side and target (relative ``f - f*``, as :func:`targets_reached`):
    ``built_in``, ``library`` (solver labels), ``method`` (the side), ``target``, ``problems``,
    ``reached`` (cells that reached it), median ``iterations`` and ``oracle`` calls to it over
    those, and the median ``time_per_iteration`` (s) of the side's cells. ``traces`` is the
    trace frame or a function streaming the cells' traces, as for :func:`problem_costs`.
    """
    columns = ["built_in", "library", "method", "target", "problems", "reached", "iterations", "oracle",
               "time_per_iteration"]
    recorded = callable(traces) or (len(traces) and "f_gap" in traces)  # a run may record no f - f*
    if not len(cells) or not recorded:
        return pd.DataFrame(columns=columns)
    keys = [c for c in problem_columns(cells) if c not in ("backend", "device")]
    cells = cells.assign(solver=solver_labels(cells), built_in=cells.apply(_counterpart, axis=1),
                         problem=cells[keys].apply(lambda row: "/".join(map(str, row)), axis=1))
    library = cells[cells["built_in"].notna()]
    wanted = set(cells["cell_id"])
    each = traces() if callable(traces) else _each_cell(traces)
    reached = [targets_reached(trace.assign(run_id=run_id, cell_id=cell_id), targets)
               for run_id, cell_id, trace in (each if len(library) else ())
               if cell_id in wanted and "f_gap" in trace and trace["f_gap"].notna().any()]
    if not reached:
        return pd.DataFrame(columns=columns)
    reached = pd.concat(reached, ignore_index=True)
    per_iteration = cells["solve_time"] / cells["iterations"].where(cells["iterations"] > 0)
    rows = []
    for (library_label, built_in), library_cells in library.groupby(["solver", "built_in"]):
        for built_in_label, built_in_cells in cells[cells["optimizer"] == built_in].groupby("solver"):
            shared = set(library_cells["problem"]) & set(built_in_cells["problem"])
            for label, side in ((built_in_label, built_in_cells), (library_label, library_cells)):
                side = side[side["problem"].isin(shared)]
                side_reached = reached[reached["cell_id"].isin(side["cell_id"])]
                for target in sorted(side_reached["target"].unique(), reverse=True):
                    hit = side_reached[(side_reached["target"] == target) & side_reached["reached"]]
                    rows.append({"built_in": built_in_label, "library": library_label, "method": label,
                                 "target": target, "problems": len(shared), "reached": len(hit),
                                 "iterations": hit["iterations"].median(), "oracle": hit["oracle"].median(),
                                 "time_per_iteration": per_iteration[side.index].median()})
    return pd.DataFrame(rows, columns=columns)


def _counterpart(cell: pd.Series) -> str | None:
    """The built-in optimizer a library optimizer's cell is the counterpart of, if any."""
    for (optimizer, param, value), built_in in COUNTERPARTS.items():
        if cell["optimizer"] == optimizer and cell.get(f"optimizer.{param}") == value:
            return built_in
    return None


def _each_cell(traces: pd.DataFrame) -> Iterable[tuple[str, str, pd.DataFrame]]:
    if not len(traces):
        return
    for (run_id, cell_id), trace in traces.groupby(["run_id", "cell_id"], sort=False, observed=True):
        yield run_id, cell_id, trace.sort_values("iter")


def _levels(trace: pd.DataFrame | dict) -> tuple[np.ndarray, np.ndarray]:
    """The values the convergence test compares, and the known minimum at each row.

    The test only compares differences of f, so a suite that recorded f - f* but not f
    (metrics = ["f_gap", ...]) is measured on f - f*, whose known minimum is 0.
    """
    nan = np.full(len(trace["iter"]), np.nan)
    f = np.asarray(trace["f"], dtype=float) if "f" in trace else nan
    gap = np.asarray(trace["f_gap"], dtype=float) if "f_gap" in trace else nan
    has_f = ~np.isnan(f)
    return np.where(has_f, f, gap), np.where(has_f, f - gap, 0.0)


def performance_profile(costs: pd.DataFrame, taus: Iterable[float] | None = None) -> pd.DataFrame:
    """Dolan-Moré performance profile: the fraction of problems each solver solves within tau x the best.

    ``costs`` has ``problem``, ``solver``, ``cost`` (inf: failed), as :func:`problem_costs`
    gives. Columns: ``solver``, ``tau`` (>= 1), ``fraction``. Without ``taus`` the profile is
    evaluated at every ratio that occurs (its steps) and at 1.
    """
    table = costs.pivot_table(index="problem", columns="solver", values="cost", aggfunc="min")
    best = table.min(axis=1)
    ratios = table.div(best.where(best > 0, np.nan), axis=0)
    ratios[table.eq(0).values] = 1.0  # zero cost (solved at x0) where the best is zero too
    ratios = ratios.where(np.isfinite(table), np.inf).fillna(np.inf)
    grid = sorted({1.0, *ratios.values[np.isfinite(ratios.values)].ravel()}) if taus is None else sorted(taus)
    rows = [{"solver": s, "tau": t, "fraction": float((ratios[s] <= t).mean())} for s in table.columns for t in grid]
    return pd.DataFrame(rows, columns=["solver", "tau", "fraction"])


def data_profile(costs: pd.DataFrame, alphas: Iterable[float] | None = None,
                 per_dimension: bool = False) -> pd.DataFrame:
    """Moré-Wild data profile: the fraction of problems each solver solves within a budget alpha.

    ``per_dimension`` divides the cost by n + 1 (Moré and Wild's simplex-gradient units, for
    oracle budgets). Columns: ``solver``, ``alpha``, ``fraction``. Without ``alphas`` the
    profile is evaluated at every cost that occurs and at 0.
    """
    scaled = costs["cost"] / (costs["n"] + 1) if per_dimension else costs["cost"]
    table = costs.assign(scaled=scaled).pivot_table(index="problem", columns="solver", values="scaled",
                                                    aggfunc="min")
    finite = table.values[np.isfinite(table.values)]
    grid = sorted({0.0, *finite.ravel()}) if alphas is None else sorted(alphas)
    rows = [{"solver": s, "alpha": a, "fraction": float((table[s] <= a).mean())} for s in table.columns for a in grid]
    return pd.DataFrame(rows, columns=["solver", "alpha", "fraction"])


# ---- throughput -----------------------------------------------------------------------------------
def throughput_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Evaluation rates: one row per f/grad/hvp/hessian cell of a throughput run.

    Columns: ``objective``, ``n``, ``measure``, ``backend``, ``device``, ``dtype``, ``status``,
    ``reason``, ``seconds``, ``per_second``, ``achieved_gbps`` (NaN for cells that did not
    run), sorted by backend, device, dtype, measure and n.
    """
    columns = ["run_id", "objective", "n", "measure", "backend", "device", "dtype", "status", "reason", "seconds",
               "per_second", "achieved_gbps"]
    frame = cells[(cells["task"] == "throughput") & cells["measure"].isin(EVALUATION_MEASURES)].copy()
    if frame.empty:  # a run of Jacobians or probes alone: its cells may not even have these columns
        return pd.DataFrame(columns=columns)
    frame["n"] = frame["objective.n"].astype(int)
    for column in ("seconds", "per_second", "achieved_gbps"):
        frame[column] = frame[column].astype(float) if column in frame.columns else np.nan
    return frame[columns].sort_values(["backend", "device", "dtype", "measure", "n"]).reset_index(drop=True)


def cost_ratios(cells: pd.DataFrame, numerator: str = "grad", denominator: str = "f") -> pd.DataFrame:
    """The cost of one derivative over one function value (gradient/function by default).

    Columns: ``objective``, ``n``, ``backend``, ``device``, ``dtype``, ``seconds_<numerator>``,
    ``seconds_<denominator>``, ``ratio``; only where both cells ran (median over repeats).
    """
    table = throughput_table(cells)
    table = table[table["status"] == "ok"]
    keys = ["run_id", "objective", "n", "backend", "device", "dtype"]
    wide = table.pivot_table(index=keys, columns="measure", values="seconds", aggfunc="median")
    if numerator not in wide.columns or denominator not in wide.columns:
        return pd.DataFrame(columns=[*keys, f"seconds_{numerator}", f"seconds_{denominator}", "ratio"])
    out = wide[[numerator, denominator]].dropna().rename(
        columns={numerator: f"seconds_{numerator}", denominator: f"seconds_{denominator}"})
    out["ratio"] = out[f"seconds_{numerator}"] / out[f"seconds_{denominator}"]
    return out.reset_index().rename_axis(columns=None)


def bandwidth_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Achieved bandwidth of each evaluation against the copy-bandwidth probe of the same run and device.

    Columns: those of :func:`throughput_table` for cells that ran, plus ``probe_gbps``
    (median of the run's probe cells on that device) and ``fraction`` (achieved / probe).
    Only evaluations with a probe that ran on their device have a row: a run without one
    (cut short before it, or run with ``--only``) has an empty table.
    """
    table = throughput_table(cells)
    table = table[table["status"] == "ok"]
    probes = cells[(cells["task"] == "throughput") & (cells["measure"] == "bandwidth") & (cells["status"] == "ok")]
    if "gbps" in probes:
        probe = probes.groupby(["run_id", "device"])["gbps"].median().rename("probe_gbps").reset_index()
    else:  # no probe ran
        probe = pd.DataFrame(columns=["run_id", "device", "probe_gbps"])
    out = table.merge(probe.dropna(subset=["probe_gbps"]), on=["run_id", "device"])
    out["fraction"] = out["achieved_gbps"] / out["probe_gbps"].astype(float)
    return out


def jacobian_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Seconds per full Jacobian of R^n -> R^m: one row per jacobian cell.

    Columns: ``backend``, ``device``, ``dtype``, ``mode`` (forward: n JVPs; reverse: m VJPs;
    native: the backend's own ``jacobian``), ``n``, ``m``, ``status``, ``reason``, ``seconds``.
    """
    frame = cells[(cells["task"] == "throughput") & (cells["measure"] == "jacobian")].copy()
    frame["n"], frame["m"] = frame["objective.n"].astype(int), frame["objective.m"].astype(int)
    frame["seconds"] = frame["seconds"].astype(float) if "seconds" in frame.columns else np.nan
    columns = ["run_id", "backend", "device", "dtype", "mode", "n", "m", "status", "reason", "seconds"]
    return frame[columns].sort_values(["backend", "device", "dtype", "mode", "n", "m"]).reset_index(drop=True)


def jacobian_crossover(cells: pd.DataFrame) -> pd.DataFrame:
    """Where forward-mode Jacobians become cheaper than reverse-mode ones, per backend.

    For each backend, device, dtype and n with both modes measured: ``crossover_m`` is
    the m where log(reverse/forward seconds) crosses zero, interpolated in log m between the
    measured m (NaN when it does not cross in the measured range; ``cheaper_throughout`` then
    names the mode that was cheaper at every m), and ``crossover_ratio`` = crossover_m / n.
    """
    table = jacobian_table(cells)
    table = table[(table["status"] == "ok") & table["mode"].isin(["forward", "reverse"])]
    keys = ["run_id", "backend", "device", "dtype", "n"]
    rows = []
    for key, group in table.groupby(keys):
        wide = group.pivot_table(index="m", columns="mode", values="seconds", aggfunc="median").dropna()
        if not {"forward", "reverse"} <= set(wide.columns) or len(wide) < 1:
            continue
        gap = np.log(wide["reverse"] / wide["forward"]).to_numpy()
        m = wide.index.to_numpy(dtype=float)
        row = dict(zip(keys, key)) | {"crossover_m": np.nan, "cheaper_throughout": None}
        above = np.flatnonzero((gap[:-1] <= 0) & (gap[1:] > 0))
        if above.size:
            i = above[0]
            t = -gap[i] / (gap[i + 1] - gap[i])
            row["crossover_m"] = float(np.exp(np.log(m[i]) + t * (np.log(m[i + 1]) - np.log(m[i]))))
        else:
            row["cheaper_throughout"] = "forward" if gap[0] > 0 else "reverse"
        row["crossover_ratio"] = row["crossover_m"] / key[-1]
        rows.append(row)
    return pd.DataFrame(rows, columns=[*keys, "crossover_m", "crossover_ratio", "cheaper_throughout"])


def failures(cells: pd.DataFrame, successes: Sequence[str] = SUCCESS) -> pd.DataFrame:
    """Every cell whose status is not a success: ``label``, ``task``, ``status``, ``reason``."""
    frame = cells[~cells["status"].isin(successes)]
    return frame[["run_id", "cell_id", "label", "task", "status", "reason"]].reset_index(drop=True)


__all__ = ["BUDGETS", "COUNTERPARTS", "THEORY_EXPONENTS", "bandwidth_table", "budget_values", "conditioning_table",
           "counterpart_table",
           "convergence_curves", "cost_ratios", "data_profile", "failures", "jacobian_crossover",
           "jacobian_table", "kappa_exponents", "performance_profile", "preconditioning_effect",
           "problem_columns", "problem_costs", "solver_labels", "targets_reached", "throughput_table"]
