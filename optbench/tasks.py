"""What one cell does, dispatched on its task kind; runs inside a worker process.

A task is ``fn(config, emit) -> Outcome``: it streams trace rows through ``emit`` as it goes
and returns the cell's status, reason and metrics (a flat dict of JSON values). A backend or
device that lacks a capability gives ``skipped``; any other exception gives ``crashed``.
"""
from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import CapabilityError
from .loop import StopRules, solve
from .registry import load_registry
from .throughput import copy_bandwidth, evaluation_rate, jacobian_rate

BUDGET_COLUMNS = ("iter", "nfev", "ngev", "nhvp", "nhev", "time", "cpu_time")
Emit = Callable[[dict], None]


@dataclass
class Outcome:
    """How a cell ended, as the task reports it."""

    status: str
    reason: str
    metrics: dict = field(default_factory=dict)


def optimize(config: dict, emit: Emit) -> Outcome:
    """Run ``optbench.solve`` on the cell's objective, optimizer and backend."""
    registry = load_registry()
    objective = registry.objective(config["objective"]["name"], **config["objective"]["params"])
    optimizer = registry.optimizer(config["optimizer"]["name"], **config["optimizer"]["params"])
    backend = registry.backend(config["backend"])
    keep = (*BUDGET_COLUMNS, *config["metrics"])
    every = config["trace_every"]
    held: list[dict] = []  # the latest row not yet emitted, so the last iteration is always kept

    def on_row(row: dict) -> None:
        row = {key: row[key] for key in keep}
        held[:] = [] if row["iter"] % every == 0 else [row]
        if not held:
            emit(row)

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
        "nhvp": last["nhvp"], "nhev": last["nhev"],
        **{f"library_{key}": value for key, value in result.library.items()}})


def throughput(config: dict, emit: Emit) -> Outcome:
    """Time one measurement: an evaluation (f, grad, hvp, hessian), a Jacobian or the bandwidth probe."""
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


TASKS: dict[str, Callable[[dict, Emit], Outcome]] = {"optimize": optimize, "throughput": throughput}


def run_cell(config: dict, emit: Emit) -> Outcome:
    """Run one cell's task; exceptions become ``skipped`` or ``crashed`` outcomes."""
    try:
        return TASKS[config["task"]](config, emit)
    except CapabilityError as exc:
        return Outcome("skipped", str(exc))
    except Exception as exc:  # the cell's failure is a result; the worker goes on
        return Outcome("crashed", describe(exc))


def describe(exc: BaseException) -> str:
    """One line: the exception and where it was raised."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" (at {frame.filename}:{frame.lineno} in {frame.name})" if frame else ""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"
