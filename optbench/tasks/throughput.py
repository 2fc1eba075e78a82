"""The ``throughput`` task: time evaluations, Jacobians and the machine's copy bandwidth.

Keys: ``measures`` (f, grad, hvp, hessian, derivative), ``jacobian`` (sizes and modes of the
Jacobian probe), ``timing`` and ``limits``. Cells: each objective point x measure, then each
Jacobian size x mode (on the probe objective ``jacobian_probe``), then one bandwidth probe per
device; each x backend x device x dtype x repeat. The report shows rates against n, the
gradient/function cost ratio, bandwidth against the probe, the forward/reverse Jacobian
crossover and, for workloads (objectives measured on ``derivative``), ADBench's figures.
"""
from __future__ import annotations

import itertools

from ..grid import Cell, as_list, cell_id, count_objective_points, count_placements, format_params, matching_rules
from .base import Emit, Figure, Outcome, Task

KEYS = ("measures", "jacobian", "timing", "limits")
JACOBIAN_PROBE = "jacobian_probe"  # the objective name of Jacobian cells (optbench.throughput.JacobianProbe)


# ---- the grid -----------------------------------------------------------------------------------
def names(data: dict) -> dict[str, list]:
    """What an ``exclude`` or ``limits`` rule may match beyond the common keys: measures, the probe."""
    if "jacobian" not in data:
        return {"measure": list(data["measures"])}
    return {"measure": [*data["measures"], "jacobian"], "objective": [JACOBIAN_PROBE]}


def _points(data: dict, objectives: list) -> list[tuple]:
    """(objective, given params, full params, measure) of every measurement but the bandwidth probe."""
    found = [(obj, given, params, measure) for obj, obj_points, _ in objectives for given, params in obj_points
             for measure in data["measures"]]
    jacobian = data.get("jacobian")
    if jacobian is not None:
        shapes = [{"n": n, "m": m} for n in as_list(jacobian["n"]) for m in as_list(jacobian["m"])]
        found += [(JACOBIAN_PROBE, shape, shape, ("jacobian", mode)) for shape in shapes for mode in jacobian["modes"]]
    return found


def expand(data: dict, objectives: list, file: str, registry):
    """Yield the cells of a throughput suite: evaluations, Jacobians, then one bandwidth probe per device."""
    fixed = {"timing": data["timing"], "threads": data["threads"], "timeout": data["timeout"]}
    repeats = range(data["repeats"])
    rep = (lambda r: f"/rep={r}") if data["repeats"] > 1 else (lambda r: "")
    for (obj, given, params, measure), backend, device, dtype, repeat in itertools.product(
            _points(data, objectives), data["backends"], data["devices"], data["dtypes"], repeats):
        name, mode = measure if isinstance(measure, tuple) else (measure, None)
        where = {"objective": obj, "measure": name, "backend": backend, "device": device, "dtype": dtype}
        if matching_rules(data.get("exclude", []), where):
            continue
        config = {"task": "throughput", "measure": name, **({"mode": mode} if mode else {}),
                  "objective": {"name": obj, "params": params}, "backend": backend, "device": device,
                  "dtype": dtype, "repeat": repeat, **fixed}
        for limit in matching_rules(data.get("limits", []), where):
            if applies(limit, params):
                config["skip"] = limit_reason(limit, params)
                break
        shown = f"{name}:{mode}" if mode else name
        label = f"{obj}({format_params(given)})/{shown}/{backend}/{device}/{dtype}{rep(repeat)}"
        yield Cell(cell_id(config), label, config)
    for device, repeat in itertools.product(data["devices"], repeats):
        config = {"task": "throughput", "measure": "bandwidth", "device": device, "repeat": repeat, **fixed}
        yield Cell(cell_id(config), f"bandwidth/{device}{rep(repeat)}", config)


def count(data: dict) -> int:
    """(Objective points x measures + Jacobian shapes x modes) x placements, plus the probes, exclusions aside."""
    jacobian = data.get("jacobian")
    jacobians = 0 if jacobian is None else len(as_list(jacobian["n"])) * len(as_list(jacobian["m"])) * len(
        jacobian["modes"])
    probes = len(data["devices"]) * data["repeats"]
    return (count_objective_points(data) * len(data["measures"]) + jacobians) * count_placements(data) + probes


def applies(limit: dict, params: dict) -> bool:
    """Whether a ``limits`` rule that matches a cell's names holds at its objective parameters."""
    above = "max_n" not in limit or params["n"] > limit["max_n"]
    return above and all(params.get(key) == value for key, value in limit.get("params", {}).items())


def limit_reason(limit: dict, params: dict) -> str:
    """The skipped cell's reason: which limit it is beyond, and why."""
    where = [f"n = {params['n']} is above this suite's limit {limit['max_n']}"] if "max_n" in limit else []
    where += [f"{key} = {value}" for key, value in limit.get("params", {}).items()]
    return f"{', '.join(where)}: {limit['reason']}"


# ---- one cell (inside a worker) -------------------------------------------------------------------
def run(config: dict, emit: Emit) -> Outcome:
    """Time one measurement: an evaluation (f, grad, hvp, hessian, the objective's own derivative), a
    Jacobian of the probe or the bandwidth probe."""
    from ..registry import load_registry
    from ..throughput import copy_bandwidth, evaluation_rate, jacobian_rate

    device, timing = config["device"], config["timing"]
    if device.startswith("cuda") and not cuda_available():
        return Outcome("skipped", "no GPU: CUDA is not available on this machine")
    if "skip" in config:  # above one of the suite's limits
        return Outcome("skipped", config["skip"])
    rounds = {"min_time": timing["min_time"], "repeats": timing["rounds"]}
    if config["measure"] == "bandwidth":
        nbytes = timing["probe_mib"] * 2**20
        return Outcome("ok", "", {"gbps": copy_bandwidth(device, nbytes, **rounds), "bytes": nbytes})
    registry = load_registry()
    backend = registry.backend(config["backend"])
    params = config["objective"]["params"]
    if config["measure"] == "jacobian":
        metrics = jacobian_rate(backend, params["n"], params["m"], mode=config["mode"], dtype=config["dtype"],
                                device=device, max_time=timing["max_time"], **rounds)
    else:
        objective = registry.objective(config["objective"]["name"], **params)
        metrics = evaluation_rate(backend, objective, config["measure"], dtype=config["dtype"], device=device,
                                  max_time=timing["max_time"], **rounds)
    return Outcome("ok", "", {k: v for k, v in metrics.items() if k not in ("measure", "mode", "n", "m")})


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (GPU cells are skipped, not crashed, without one)."""
    import torch

    return torch.cuda.is_available()


# ---- the report's tables and figures --------------------------------------------------------------
def _series(table):
    return table.assign(series=table["backend"] + " " + table["device"] + " " + table["dtype"]).reset_index(drop=True)


def tables(results, budget: str) -> dict:
    """Evaluation rates, gradient/function cost ratios, bandwidth against the probe, Jacobian modes;
    for workloads (objectives timed on ``derivative``), ADBench's views (:mod:`optbench.adbench`)."""
    from .. import adbench, analysis

    cells = results.cells
    if "measure" not in cells:
        return {}
    rates = analysis.throughput_table(cells)
    bandwidth = analysis.bandwidth_table(cells)
    workloads = adbench.workload_table(cells)

    def plain(table):  # workloads have figures of their own
        return table[~table["objective"].isin(set(workloads["objective"]))]

    out = {"throughput": _series(plain(rates[rates["status"] == "ok"])),
           "cost_ratio": plain(analysis.cost_ratios(cells)),
           "bandwidth": _series(plain(bandwidth))}
    if len(workloads):
        out |= {"workloads": workloads, "workload_slowdown": adbench.slowdowns(workloads)}
    if (cells["measure"] == "jacobian").any():
        jacobians = analysis.jacobian_table(cells)
        out |= {"jacobian": jacobians[jacobians["status"] == "ok"].reset_index(drop=True),
                "jacobian_crossover": analysis.jacobian_crossover(cells)}
    return out


def _plots():
    from .. import plots

    return plots


def _jacobian_figure(found: dict, budget: str) -> bytes:
    import pandas as pd

    crossover = found.get("jacobian_crossover")
    if crossover is None:
        crossover = pd.DataFrame(columns=["backend", "device", "dtype", "n", "crossover_m"])
    return _plots().jacobian(found["jacobian"], crossover)


FIGURES = (
    Figure("throughput", "Throughput", "Evaluations per second against problem size n, per backend, device "
           "and dtype (cells that ran); under it, the cost of a gradient over the cost of a function value.",
           ("throughput",), lambda t, budget: _plots().throughput(t["throughput"]), numbers="cost_ratio",
           headings={"objective": "objective", "n": "dimension n", "backend": "backend", "device": "device",
                     "dtype": "precision", "seconds_grad": "seconds per gradient",
                     "seconds_f": "seconds per function value", "ratio": "gradient cost / function cost"}),
    Figure("bandwidth", "Memory bandwidth", "Bytes an evaluation must move (read x, write the result) per "
           "second, against the copy bandwidth measured by the probe in the same run (dashed): the "
           "machine's physical limit.", ("bandwidth",), lambda t, budget: _plots().bandwidth(t["bandwidth"])),
    Figure("jacobian", "Jacobians: forward against reverse mode", "Seconds per full Jacobian of "
           "tanh(W x), R^n -> R^m: forward mode costs n JVPs, reverse mode m VJPs; the dotted line is "
           "the crossover.", ("jacobian",), _jacobian_figure, numbers="jacobian_crossover",
           headings={"backend": "backend", "device": "device", "dtype": "precision", "n": "inputs n",
                     "crossover_m": "outputs m where forward mode becomes cheaper", "crossover_ratio": "that m / n",
                     "cheaper_throughout": "cheaper mode at every m measured (no crossover)"}),
    Figure("workloads", "AD workloads: derivative time", "Seconds per derivative (what GradBench times: gradient; "
           "ba: sparse Jacobian; kmeans: Newton direction) against each workload's size, as GradBench orders its "
           "inputs (sizes that tie are joined vertically), per backend, device and dtype (ADBench's figures). "
           "Under it, each backend's geometric-mean slowdown against the fastest backend at each size it ran.",
           ("workloads",),
           lambda t, budget: _plots().per_workload(t["workloads"], "seconds_derivative", "seconds per derivative"),
           numbers="workload_slowdown",
           headings={"objective": "workload", "series": "backend", "slowdown": "geometric-mean slowdown",
                     "sizes": "sizes measured", "fastest": "sizes where fastest"}),
    Figure("workload_ratio", "AD workloads: derivative over objective", "The cost of the derivative over the "
           "cost of the objective at the same input, against each workload's size (ADBench's J/objective "
           "ratio; reverse mode's theory bounds it by a small constant for gradients).", ("workloads",),
           lambda t, budget: _plots().per_workload(t["workloads"], "ratio", "derivative time / objective time")),
)

TASK = Task("throughput", (), KEYS, (), names, expand, count, run, tables, FIGURES,
            rules=("exclude", "limits"))
