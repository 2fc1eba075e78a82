"""optbench and benchopt side by side: L-BFGS on L2 logistic regression, identical data.

Both frameworks run as a user would run them, each in a fresh process, alternating, and the
minimum wall time of ``--repeat`` runs is kept:

* benchopt: ``benchopt run`` of the minimal benchmark in ``benchmark/`` (objective, a dataset
  drawn by optbench's own ``logistic_regression``, scipy's L-BFGS-B sampled by callback);
* optbench: ``optbench run`` of a one-cell suite, ``lbfgs`` for at most 100 iterations with
  all four metrics (so f* is needed), on the torch backend (and any other given with
  ``--backends``, e.g. ``tape``, optbench's own engine over NumPy, which needs no torch import):
  once with an empty cache of known minima (the reference solve is part of the run) and once
  with it filled.

Every process gets one BLAS/OpenMP thread. Prints one Markdown table row per framework and
size: wall time, CPU time of the whole process tree (the fairer figure on a busy machine), the
solver's own time, curve points and (optbench) the set-up time of f*.

    python benchmarks/benchopt_side_by_side/run.py [--sizes 1000x100 10000x500] [--repeat 3]
                                                   [--backends torch tape]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE = """
name = "side-by-side"
objectives = [{{ name = "logistic_regression", params = {{ n = {n}, samples = {m}, reg = 0.01, seed = 0 }} }}]
optimizers = [{{ name = "lbfgs" }}]
backends = ["{backend}"]
seeds = [0]
timeout = 600

[stop]
max_iter = 100
"""
ONE_THREAD = {var: "1" for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def timed(command: list[str], env: dict) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, child processes included) of ``command``, which must succeed."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(command, env={**os.environ, **ONE_THREAD, **env}, capture_output=True, text=True)
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run_benchopt(work: Path, m: int, n: int) -> dict:
    output = work / f"benchopt-{m}x{n}-{time.monotonic_ns()}.parquet"
    wall, cpu = timed([sys.executable, "-m", "benchopt", "run", str(work / "benchmark"),
                  "-d", f"optbench_logistic[n_samples={m},n_features={n}]", "-s", "scipy-lbfgs",
                  "-n", "100", "-r", "1", "--no-plot", "--no-display", "--no-cache", "--output", str(output)], {})
    import pandas as pd

    curve = pd.read_parquet(output)
    return {"wall": wall, "cpu": cpu, "solver": float(curve["time"].max()), "points": len(curve), "setup": None}


def run_optbench(work: Path, m: int, n: int, backend: str, cache: Path) -> dict:
    suite = work / f"suite-{m}x{n}-{backend}.toml"
    suite.write_text(SUITE.format(m=m, n=n, backend=backend))
    store = work / f"store-{time.monotonic_ns()}"
    wall, cpu = timed([sys.executable, "-m", "optbench.cli", "run", str(suite), "--out", str(store), "--quiet"],
                 {"OPTBENCH_CACHE_DIR": str(cache)})
    from optbench.results import load

    results = load(store)
    cell = results.cells.iloc[0]
    return {"wall": wall, "cpu": cpu, "solver": float(cell["solve_time"]), "points": len(results.traces),
            "setup": float(cell["setup_time"]), "status": cell["status"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1000x100", "10000x500"], help="samples x features")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternating; the minimum is kept")
    parser.add_argument("--backends", nargs="+", default=["torch"], help="optbench backends to run lbfgs on")
    args = parser.parse_args()
    print("| size | framework | wall time (s) | CPU time (s) | solver time (s) | f* set-up (s) | curve points |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(HERE / "benchmark", work / "benchmark")  # benchopt writes beside its benchmark
        for size in args.sizes:
            m, n = map(int, size.split("x"))
            warm_cache = work / f"cache-{size}"
            best: dict[str, dict] = {}
            for rep in range(args.repeat):
                runs = {"benchopt 1.10, scipy L-BFGS-B, callback": lambda: run_benchopt(work, m, n)}
                for backend in args.backends:
                    cold_cache = work / f"cold-{size}-{backend}-{rep}"  # empty: f* is solved in the run
                    runs[f"optbench lbfgs/{backend}, f* not cached"] = \
                        lambda b=backend, c=cold_cache: run_optbench(work, m, n, b, c)
                    runs[f"optbench lbfgs/{backend}, f* cached"] = lambda b=backend: run_optbench(work, m, n, b, warm_cache)
                for name, measure in runs.items():
                    result = measure()
                    if name not in best or result["wall"] < best[name]["wall"]:
                        best[name] = result
            for name, r in best.items():
                setup = "-" if r["setup"] is None else f"{r['setup']:.2f}"
                print(f"| {m} x {n} | {name} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['solver']:.3f} | {setup} | {r['points']} |",
                      flush=True)


if __name__ == "__main__":
    main()
