"""Results at scale: store size, ``results.load`` and ``optbench report`` on 10^5 to 10^7 trace rows.

A synthetic run of optimize cells (4 optimizers x 10 quadratics x seeds, 1,000 iterations
each, every default trace column) is written straight into a store, column arrays encoded
as the runner's store would encode them, so building 10^7 rows takes seconds instead of a
day of solving. Each measurement runs in a fresh Python process, and its peak memory is that
process's maximum resident set size::

    python benchmarks/scale.py 1e5 1e6 1e7          # prints a Markdown table, see docs/performance.md

Targets (issue 14): at 10^7 rows, loading one metric of every cell and writing the report
each take at most 60 s and 2 GB.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from optbench.columns import encode_column
from optbench.grid import cell_id
from optbench.store import Store
from optbench.vocabulary import TIMING_COLUMNS

ROWS_PER_CELL = 1000
OPTIMIZERS = {"gd": 0.995, "heavy_ball": 0.99, "nesterov": 0.985, "lbfgs": 0.95}  # rate of f - f* per iteration
CONDITIONS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1e3, 3e3, 1e4, 3e4)
STOP = {"max_iter": ROWS_PER_CELL - 1, "tol_grad": 1e-6, "blowup": 1e12}
METRICS = ["f", "f_gap", "grad_norm", "dist"]


def synthetic_trace(rate: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A first-order method's trace: f - f* shrinking by ``rate`` with noise, counters and clocks growing."""
    rows = np.arange(ROWS_PER_CELL, dtype=np.int64)
    gap = 10.0 * rate ** rows * np.exp(0.05 * rng.standard_normal(ROWS_PER_CELL))
    clock = np.cumsum(1e-4 * (1.0 + 0.2 * rng.random(ROWS_PER_CELL)))
    zeros = np.zeros(ROWS_PER_CELL, dtype=np.int64)
    return {"iter": rows, "nfev": zeros, "ngev": rows + 1, "nhvp": zeros, "nhev": zeros, "time": clock,
            "cpu_time": clock * 0.99, "f": 1.0 + gap, "f_gap": gap, "grad_norm": 2.0 * np.sqrt(gap),
            "dist": np.sqrt(gap)}


def build(path: Path, rows: int, run_id: str = "scale") -> Path:
    """A store at ``path`` holding one complete run of about ``rows`` trace rows."""
    cells = max(1, rows // ROWS_PER_CELL)
    text = f"name = 'scale'  # {rows} rows\n"
    suite = SimpleNamespace(name="scale", path="benchmarks/scale.py", text=text,
                            hash=hashlib.sha256(text.encode()).hexdigest())
    store = Store(path)
    rng = np.random.default_rng(0)
    store.create_run(run_id, suite, cells, {"jobs": 1, "executor": "local"}, {"python": sys.version.split()[0]})
    with store.db:
        for i in range(cells):
            optimizer = list(OPTIMIZERS)[i % len(OPTIMIZERS)]
            cond = CONDITIONS[(i // len(OPTIMIZERS)) % len(CONDITIONS)]
            seed = i // (len(OPTIMIZERS) * len(CONDITIONS))
            config = {"task": "optimize", "objective": {"name": "quadratic", "params": {"n": 10, "cond": cond}},
                      "optimizer": {"name": optimizer, "params": {}}, "backend": "torch", "device": "cpu",
                      "dtype": "float64", "seed": seed, "repeat": 0, "stop": STOP, "threads": 1,
                      "metrics": METRICS, "trace_every": 1, "timeout": 600}
            trace = synthetic_trace(OPTIMIZERS[optimizer] ** (1 / np.sqrt(cond)), rng)
            metrics = {"iterations": ROWS_PER_CELL - 1, "f_gap_final": float(trace["f_gap"][-1]),
                       "solve_time": float(trace["time"][-1]), "wall_time": float(trace["time"][-1]) + 0.01}
            ident = cell_id(config)
            label = f"quadratic(cond={cond})/{optimizer}()/torch/cpu/float64/seed={seed}"
            store.db.execute("INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (run_id, ident, label, json.dumps(config), "max_iter", "max_iter",
                              json.dumps(metrics), 1.0, 2.0, ROWS_PER_CELL))
            store.db.executemany("INSERT INTO traces VALUES (?, ?, ?, ?, ?)",
                                 ((run_id, ident, name, *encode_column(values, name in TIMING_COLUMNS))
                                  for name, values in trace.items()))
    store.set_run_status(run_id, "complete")
    store.close()
    return path / "optbench.sqlite"


LOAD = "import optbench.results as r; t = r.load({path!r}, 'scale', columns=['f_gap']).traces; print(len(t))"
REPORT = "from optbench.cli import main; main(['report', 'scale', '--out', {path!r}, '--dest', {dest!r}])"


def measure(code: str) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak resident MB, stdout) of ``code`` run in a fresh Python process.

    CPU seconds (user + system) stay meaningful on a machine that other work shares, where
    wall time stretches with the load.
    """
    usage = ("import resource, sys; u = resource.getrusage(resource.RUSAGE_SELF); "
             "print(u.ru_utime + u.ru_stime, u.ru_maxrss, file=sys.stderr)")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", f"{code}\n{usage}"], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    cpu, peak_kb = done.stderr.split()[-2:]
    return seconds, float(cpu), int(peak_kb) / 1024, done.stdout.strip()


def scale(rows: int, home: Path) -> dict:
    """Build a store of ``rows`` trace rows under ``home`` and measure it."""
    home.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    database = build(home, rows)
    built = time.perf_counter() - start
    stored = ROWS_PER_CELL * max(1, rows // ROWS_PER_CELL)
    machine = os.getloadavg()[0]
    load_s, load_cpu, load_mb, loaded = measure(LOAD.format(path=str(home)))
    report_s, report_cpu, report_mb, _ = measure(REPORT.format(path=str(home), dest=str(home / "report.html")))
    assert int(loaded) == stored, (loaded, stored)
    return {"rows": stored, "bytes_per_row": database.stat().st_size / stored, "build_s": built,
            "load_s": load_s, "load_cpu": load_cpu, "load_mb": load_mb, "report_s": report_s,
            "report_cpu": report_cpu, "report_mb": report_mb, "machine_load": (machine + os.getloadavg()[0]) / 2}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="+", type=float, help="trace rows per store, e.g. 1e5 1e6 1e7")
    parser.add_argument("--dir", help="where to build the stores (default: a temporary directory)")
    args = parser.parse_args(argv)
    print("| trace rows | bytes per row on disk | build (s) | load one metric: wall / CPU (s) | load peak RSS (MB) "
          "| report: wall / CPU (s) | report peak RSS (MB) | machine load average |\n|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for rows in args.rows:
            home = Path(args.dir or scratch) / f"rows-{int(rows)}"
            m = scale(int(rows), home)
            print(f"| {m['rows']:.0e} | {m['bytes_per_row']:.1f} | {m['build_s']:.1f} | "
                  f"{m['load_s']:.1f} / {m['load_cpu']:.1f} | {m['load_mb']:.0f} | "
                  f"{m['report_s']:.1f} / {m['report_cpu']:.1f} | {m['report_mb']:.0f} | {m['machine_load']:.1f} |",
                  flush=True)


if __name__ == "__main__":
    main()
