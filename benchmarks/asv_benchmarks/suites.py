"""asv benchmarks generated from optbench's suite files, so nothing is written twice.

* ``time_*``: one evaluation (gradient, HVP, Hessian) per cell of ``suites/throughput.toml``.
* ``track_*``: iterations to tolerance per cell of ``suites/conditioning.toml`` and
  ``suites/convergence.toml`` (run once in ``setup_cache``).

Large cells (problem size above 10^5, condition number above 10^3) and float32 cells run
only with ``OPTBENCH_ASV_SLOW=1``, as scipy's benchmarks gate their slow cases; cells the
suite itself skips (its ``limits``) are left out.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

SUITES = Path(__file__).resolve().parents[2] / "suites"
SLOW = bool(os.environ.get("OPTBENCH_ASV_SLOW"))


def suite_cells(name: str, task: str) -> dict[str, dict]:
    """label -> config of the ``task`` cells of ``suites/NAME.toml`` (small ones unless SLOW)."""
    from optbench.suite import load_suite

    cells = {}
    for cell in load_suite(SUITES / f"{name}.toml").cells:
        config = cell.config
        if config["task"] != task or "skip" in config:
            continue
        params = config.get("objective", {}).get("params", {})
        large = params.get("n", 0) > 10**5 or params.get("cond", 1) > 1e3 or config.get("dtype") != "float64"
        if large and not SLOW:
            continue
        cells[cell.label] = config
    return cells


class Throughput:
    """Seconds per derivative evaluation, per cell of the throughput suite."""

    timeout = 300

    def setup(self, label):
        import optbench

        config = THROUGHPUT[label]
        self.backend = optbench.backend(config["backend"])
        self.objective = optbench.objective(config["objective"]["name"], **config["objective"]["params"])
        self.measure = config["measure"]
        if self.measure != "f" and not self.backend.supports(self.measure):
            raise NotImplementedError(f"{config['backend']} has no {self.measure}")  # asv: skipped
        device_kinds = {d.split(":")[0] for d in self.backend.devices()}
        if config["device"].split(":")[0] not in device_kinds:
            raise NotImplementedError(f"no device {config['device']} here")  # asv: skipped
        dtype, device = config["dtype"], config["device"]
        self.x = self.backend.asarray(self.objective.x0(0), dtype=dtype, device=device)
        self.v = self.backend.asarray(np.linspace(-1.0, 1.0, self.objective.n), dtype=dtype, device=device)
        self.device = device

    def time_evaluation(self, label):
        b, f = self.backend, self.objective
        if self.measure == "f":
            f(self.x)
        elif self.measure == "grad":
            b.grad(f, self.x)
        elif self.measure == "hvp":
            b.hvp(f, self.x, self.v)
        else:
            b.hessian(f, self.x)
        b.synchronize(self.device)


class IterationsToTolerance:
    """Iterations each optimisation cell of the conditioning and convergence suites needs."""

    timeout = 1800

    def setup_cache(self):
        from optbench.tasks import run_cell

        outcomes = {}
        for label, config in OPTIMIZE.items():
            outcome = run_cell(config, lambda row: None)
            outcomes[label] = outcome.metrics.get("iterations") if outcome.status == "converged" else np.nan
        return outcomes

    def track_iterations(self, outcomes, label):
        return outcomes[label]

    track_iterations.unit = "iterations"


class NativeEnginePeakMemory:
    """Peak memory of a gradient through 100 chained elementwise operations, per native engine."""

    params = (["dual", "tape"], [10**4, 10**5])
    param_names = ("backend", "n")

    def setup(self, backend, n):
        import optbench

        self.backend = optbench.backend(backend)
        self.x = self.backend.asarray(np.linspace(-1.0, 1.0, n))
        if backend == "dual":  # forward mode: one directional derivative (a gradient costs n passes)
            self.v = self.backend.asarray(np.ones(n))

    def peakmem_chained_derivative(self, backend, n):
        def chain(x):
            import optbench

            xp = optbench.namespace(x)
            for _ in range(50):
                x = xp.sin(x) * 0.9
            return xp.sum(x)

        if backend == "dual":
            self.backend.jvp(chain, self.x, self.v)
        else:
            self.backend.grad(chain, self.x)


EVALUATIONS = ("f", "grad", "hvp", "hessian")
THROUGHPUT = {label: config for label, config in suite_cells("throughput", "throughput").items()
              if config["measure"] in EVALUATIONS}
OPTIMIZE = {**suite_cells("conditioning", "optimize"), **suite_cells("convergence", "optimize")}
Throughput.params, Throughput.param_names = list(THROUGHPUT), ["cell"]
IterationsToTolerance.params, IterationsToTolerance.param_names = list(OPTIMIZE), ["cell"]
