"""asv benchmarks generated from optbench's suite files, so nothing is written twice.

* ``time_*``: one evaluation (gradient, HVP, Hessian) per cell of ``suites/throughput.toml``.
* ``track_*``: per optimizer, the fitted exponent of iterations-to-tolerance against kappa
  over ``suites/conditioning.toml`` and the median iterations to tolerance over
  ``suites/convergence.toml`` (every cell is run once, in ``setup_cache``).

Large cells (problem size above 10^4, condition number above 10^3), float32 and GPU cells run
only with ``OPTBENCH_ASV_SLOW=1``, as scipy's benchmarks gate their slow cases (asv starts a
process per benchmark parameter); cells the suite itself skips (its ``limits``) are left out.
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
        large = (params.get("n", 0) > 10**4 or params.get("cond", 1) > 1e3 or config.get("dtype") != "float64"
                 or config.get("device", "cpu") != "cpu")
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
    """Per optimizer: the kappa exponent (conditioning suite), median iterations (convergence suite)."""

    timeout = 1800

    def setup_cache(self):
        import pandas as pd

        from optbench.analysis import kappa_exponents
        from optbench.results import flatten_config
        from optbench.tasks import run_cell

        rows = []
        for suite, cells in OPTIMIZE.items():
            for label, config in cells.items():
                outcome = run_cell(config, lambda row: None)
                rows.append({**flatten_config(config), "suite": suite, "run_id": "asv", "cell_id": label,
                             "status": outcome.status, **outcome.metrics})
        cells = pd.DataFrame(rows)
        exponents = kappa_exponents(cells[cells["suite"] == "conditioning"], by=())
        converged = cells[(cells["suite"] == "convergence") & (cells["status"] == "converged")]
        return {"exponent": dict(zip(exponents["optimizer"], exponents["exponent"])),
                "median": converged.groupby("optimizer")["iterations"].median().to_dict()}

    def track_kappa_exponent(self, cache, optimizer):
        return cache["exponent"].get(optimizer, np.nan)

    def track_median_iterations(self, cache, optimizer):
        return cache["median"].get(optimizer, np.nan)

    track_kappa_exponent.unit = "exponent"
    track_median_iterations.unit = "iterations"


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
OPTIMIZE = {suite: suite_cells(suite, "optimize") for suite in ("conditioning", "convergence")}
Throughput.params, Throughput.param_names = list(THROUGHPUT), ["cell"]
IterationsToTolerance.params = sorted({c["optimizer"]["name"] for cells in OPTIMIZE.values() for c in cells.values()})
IterationsToTolerance.param_names = ["optimizer"]
