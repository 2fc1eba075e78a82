"""Results stores written directly, without running anything: known numbers and any names.

The report and compare tests read stores only, so they build them here in milliseconds and
can use names no plugin would pass validation with (``<script>``, ``$``).
"""
from __future__ import annotations

import hashlib
from types import SimpleNamespace

from optbench.store import Store
from optbench.suite import cell_id
from optbench.store import CellRecord

STOP = {"max_iter": 100, "tol_grad": 1e-6, "blowup": 1e12}


def optimize_cell(objective: str, optimizer: str, *, objective_params=None, optimizer_params=None,
                  status: str = "converged", iterations: int = 40, rate: float = 0.7, seed: int = 0,
                  backend: str = "torch", seconds_per_iter: float = 1e-3, reason: str | None = None,
                  **metrics) -> CellRecord:
    """An ``optimize`` cell whose gap shrinks by ``rate`` per iteration, as the runner would store it."""
    objective_params = {"n": 2, **(objective_params or {})}
    optimizer_params = optimizer_params or {}
    config = {"task": "optimize", "objective": {"name": objective, "params": objective_params},
              "optimizer": {"name": optimizer, "params": optimizer_params}, "backend": backend,
              "device": "cpu", "dtype": "float64", "seed": seed, "repeat": 0, "stop": STOP, "threads": 1,
              "metrics": ["f", "f_gap", "grad_norm", "dist"], "trace_every": 1, "timeout": 60}
    rows = [{"iter": i, "nfev": 0, "ngev": i, "nhvp": 0, "nhev": 0, "time": seconds_per_iter * i,
             "cpu_time": seconds_per_iter * i, "f": 1.0 + rate ** i, "f_gap": rate ** i,
             "grad_norm": 2 * rate ** i, "dist": rate ** i} for i in range(iterations + 1)]
    last = rows[-1]
    values = {"iterations": iterations, "f_final": last["f"], "f_gap_final": last["f_gap"],
              "grad_norm_final": last["grad_norm"], "dist_final": last["dist"], "solve_time": last["time"],
              "solve_cpu_time": last["cpu_time"], "nfev": 0, "ngev": iterations, "nhvp": 0, "nhev": 0,
              "wall_time": last["time"] + 0.01, **metrics}
    label = (f"{objective}({','.join(f'{k}={v}' for k, v in objective_params.items())})/"
             f"{optimizer}({','.join(f'{k}={v}' for k, v in optimizer_params.items())})/{backend}/cpu/float64/seed={seed}")
    return CellRecord(cell_id(config), label, config, status, reason or status, values, rows, 1.0, 2.0)


def write_run(path, run_id: str, cells: list[CellRecord], suite_name: str = "fake", started: float = 0.0) -> str:
    """A complete run of ``cells`` in the store at ``path``; returns ``run_id``."""
    text = f"name = {suite_name!r}\n"
    suite = SimpleNamespace(name=suite_name, path=f"suites/{suite_name}.toml", text=text,
                            hash=hashlib.sha256(text.encode()).hexdigest())
    store = Store(path)
    try:
        store.create_run(run_id, suite, len(cells), {"jobs": 1, "executor": "local"},
                         {"python": "3.x", "cpu": "test <cpu>", "threads": {"suite": 1}})
        if started:
            store.db.execute("UPDATE runs SET started = ? WHERE run_id = ?", (started, run_id))
        for cell in cells:
            store.commit_cell(run_id, cell)
        store.set_run_status(run_id, "complete")
    finally:
        store.close()
    return run_id


def throughput_cell(objective: str, n: int, measure: str, backend: str, *, per_second: float = 1e4,
                    device: str = "cpu", status: str = "ok", reason: str = "", m: int | None = None,
                    mode: str | None = None) -> CellRecord:
    """A ``throughput`` cell: ``per_second`` evaluations of ``measure`` at size ``n`` (an R^n -> R^m Jacobian)."""
    params = {"n": n} if m is None else {"n": n, "m": m}
    config = {"task": "throughput", "objective": {"name": objective, "params": params}, "measure": measure,
              **({"mode": mode} if mode else {}), "backend": backend, "device": device, "dtype": "float64",
              "repeat": 0, "threads": 1, "timeout": 60}
    metrics = {"seconds": 1.0 / per_second, "per_second": per_second, "achieved_gbps": 16 * n * per_second / 1e9}
    label = f"{objective}(n={n})/{measure}{':' + mode if mode else ''}/{backend}/{device}/float64"
    return CellRecord(cell_id(config), label, config, status, reason, metrics if status == "ok" else {}, [], 1.0, 2.0)


def bandwidth_cell(gbps: float, device: str = "cpu") -> CellRecord:
    """The copy-bandwidth probe of a throughput run."""
    config = {"task": "throughput", "measure": "bandwidth", "device": device, "repeat": 0, "threads": 1, "timeout": 60}
    return CellRecord(cell_id(config), f"bandwidth/{device}", config, "ok", "", {"gbps": gbps, "bytes": 2**28},
                      [], 1.0, 2.0)


HOSTILE = "<script>alert('x')</script>$a$"  # a name that must come out escaped, and literal in figures
KAPPAS = (1.0, 10.0, 100.0, 1000.0)


def showcase_run(path, run_id: str = "showcase", suite_name: str = f"showcase {HOSTILE}") -> str:
    """A run with data for every section of the report, and hostile names in the suite and cells.

    gd needs 2 kappa iterations and heavy_ball 6 sqrt(kappa), so the fitted exponents are 1 and 0.5.
    At kappa = 1 both gaps are exactly 0 from iteration 1 on, as on quickstart's quadratic(cond=1).
    """
    cells = []
    for kappa in KAPPAS:
        for optimizer, iterations in (("gd", 2 * kappa), ("heavy_ball", 6 * kappa ** 0.5)):
            iterations = int(round(iterations))
            rate = 0.0 if kappa == 1.0 else 1e-6 ** (1 / iterations)
            cells.append(optimize_cell("quadratic", optimizer, objective_params={"cond": kappa},
                                       iterations=iterations, rate=rate))
    cells.append(optimize_cell(HOSTILE, "gd", status="crashed", iterations=3, reason="ValueError: <b>bad</b>"))
    for backend, speed in (("torch", 1.0), ("dual", 0.3)):
        for measure, cost in (("f", 1.0), ("grad", 3.0)):
            cells += [throughput_cell("sin_exp", n, measure, backend, per_second=speed * 1e7 / n / cost)
                      for n in (10, 100, 1000)]
    cells.append(throughput_cell("sin_exp", 10, "grad", "torch", device="cuda", status="skipped", reason="no GPU"))
    cells.append(bandwidth_cell(20.0))
    # forward mode costs n products, reverse mode m: they cross where m = n
    for m in (1, 4, 16, 64):
        for mode, products in (("forward", 16), ("reverse", m)):
            cells.append(throughput_cell("jacobian_probe", 16, "jacobian", "torch", m=m, mode=mode,
                                         per_second=1e4 / products))
    return write_run(path, run_id, cells, suite_name=suite_name)
