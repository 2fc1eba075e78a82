"""Recording overhead per iteration: the slope of a cell's cost against its iteration count.

``test_bench_runner.py`` times whole 200-iteration cells, which also carry what a cell pays
once (the warm-up's evaluations, the final iterate's evaluation, making the objective). Issue
19's target is per iteration, so this script times the worker's cell and the bare loop at two
iteration counts, interleaved, in CPU seconds of the process (minimum over rounds), and
divides the differences::

    python benchmarks/recording_slope.py            # 25 rounds of 100 and 400 iterations

It prints the per-iteration cost of the bare loop, the cell with the default metrics (f and
|grad f|) and the cell with f only, their ratios, and each one's fixed cost per cell.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from optbench.suite import parse_suite  # noqa: E402
from optbench.tasks.optimize import run as optimize  # noqa: E402
from test_bench_runner import ITERATIONS, N, OVERHEAD_SUITE, bare_loop, drained_stream  # noqa: E402


def cell(iterations: int, metrics: list[str] | None = None):
    suite = OVERHEAD_SUITE.replace(f"max_iter = {ITERATIONS}", f"max_iter = {iterations}")
    config = parse_suite(suite).cells[0].config
    config["metrics"] = metrics or config["metrics"]
    stream = drained_stream()
    return lambda: optimize(config, stream.emit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--counts", type=int, nargs=2, default=[100, 400], metavar=("FEW", "MANY"))
    args = parser.parse_args()
    few, many = args.counts
    kinds = {"bare loop": bare_loop, "cell, default metrics": cell, "cell, f only": lambda i: cell(i, ["f"])}
    runs = {name: (make(few), make(many)) for name, make in kinds.items()}
    best = {name: [float("inf"), float("inf")] for name in runs}
    for pair in runs.values():  # warm-up: imports, first evaluations
        for run in pair:
            run()
    for _ in range(args.rounds):
        for name, pair in runs.items():
            for i, run in enumerate(pair):
                start = time.process_time()
                run()
                best[name][i] = min(best[name][i], time.process_time() - start)
    slope = {name: (b[1] - b[0]) / (many - few) for name, b in best.items()}
    base = slope["bare loop"]
    print(f"| n = {N}, gd, torch, CPU time | per iteration | ratio to the bare loop | fixed per cell |")
    print("|---|---|---|---|")
    for name, b in best.items():
        fixed = b[0] - few * slope[name]
        print(f"| {name} | {slope[name] * 1e6:.1f} us | {slope[name] / base:.3f}x | {fixed * 1e3:.2f} ms |")


if __name__ == "__main__":
    main()
