"""Recording overhead per iteration: the slope of a cell's cost against its iteration count.

``test_bench_runner.py`` times whole 200-iteration cells, which also carry what a cell pays
once (the warm-up's evaluations, the final iterate's evaluation, making the objective). Issue
19's target is per iteration, so this script times the worker's cell and the bare loop at two
iteration counts, in CPU seconds of the process, and divides the differences::

    python benchmarks/recording_slope.py            # 40 rounds of 100 and 400 iterations

Each round runs every (loop, count) pair once, in a new random order. Run to run, the bare
loop alone moves by several per cent with where its arrays land in memory, and a fixed order
makes that placement repeat; shuffled rounds spread it over every loop. Per loop, the script
prints the slope of the minima over all rounds and its ratio to the bare loop's, and the median
(quartiles) of the per-round ratios. A second, identical bare loop is the control: how far its
ratios stray from 1 is the noise floor.
"""
from __future__ import annotations

import argparse
import random
import statistics
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


def cpu_seconds(run) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--counts", type=int, nargs=2, default=[100, 400], metavar=("FEW", "MANY"))
    parser.add_argument("--seed", type=int, default=0, help="of the rounds' random orders")
    args = parser.parse_args()
    few, many = args.counts
    kinds = {"bare loop": bare_loop, "bare loop again (control)": bare_loop,
             "cell, default metrics": cell, "cell, f only": lambda i: cell(i, ["f"])}
    runs = {(name, count): make(count) for name, make in kinds.items() for count in (few, many)}
    for run in runs.values():  # warm-up: imports, first evaluations
        run()
    order, shuffle = list(runs), random.Random(args.seed).shuffle
    slopes: dict[str, list[float]] = {name: [] for name in kinds}
    best = {key: float("inf") for key in runs}
    for _ in range(args.rounds):
        shuffle(order)
        seconds = {key: cpu_seconds(runs[key]) for key in order}
        for key, value in seconds.items():
            best[key] = min(best[key], value)
        for name in kinds:
            slopes[name].append((seconds[name, many] - seconds[name, few]) / (many - few))
    slope = {name: (best[name, many] - best[name, few]) / (many - few) for name in kinds}
    print(f"| n = {N}, gd, torch, CPU time, {args.rounds} rounds | per iteration (minima) "
          "| ratio to the bare loop (minima) | per-round ratio: median (quartiles) |")
    print("|---|---|---|---|")
    for name, values in slopes.items():
        ratios = [v / b for v, b in zip(values, slopes["bare loop"])]
        low, median, high = statistics.quantiles(ratios, n=4)
        print(f"| {name} | {slope[name] * 1e6:.1f} us | {slope[name] / slope['bare loop']:.3f}x "
              f"| {median:.3f}x ({low:.3f}-{high:.3f}) |")


if __name__ == "__main__":
    main()
