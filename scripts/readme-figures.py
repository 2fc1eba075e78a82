"""Render the figures of docs/measurements.md: one PNG per suite, from that suite's latest run in a results store.

    .venv/bin/python scripts/readme-figures.py [--results results] [--dest docs/figures]

Suites without a run in the store are listed and skipped; the figure drawn for each suite is
the first of its preferred report figures that the run has data for.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import optbench.results
from optbench.errors import OptbenchError
from optbench.report import available, draw

FIGURES_OF_SUITE = {"quickstart": ("performance-profile", "convergence"), "course-notes": ("convergence",),
                    "convergence": ("convergence",), "conditioning": ("kappa", "convergence"),
                    "throughput": ("throughput",)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="the results store's directory (default: results)")
    parser.add_argument("--dest", default="docs/figures", help="where to write SUITE.png (default: docs/figures)")
    args = parser.parse_args()
    try:
        runs = optbench.results.load(args.results).runs
    except OptbenchError as exc:
        print(f"readme-figures: {exc}", file=sys.stderr)
        return 2
    dest = Path(args.dest)
    dest.mkdir(parents=True, exist_ok=True)
    for suite, preferred in FIGURES_OF_SUITE.items():
        mine = runs[runs["suite_name"] == suite].sort_values("started")
        if not len(mine):
            print(f"{suite}: no run in {args.results}; skipped", file=sys.stderr)
            continue
        run = mine["run_id"].iloc[-1]
        results = optbench.results.load(args.results, run)
        drawn = [figure for figure in preferred if figure in available(results)]
        if not drawn:
            print(f"{suite}: run {run} has no data for {' or '.join(preferred)}; skipped", file=sys.stderr)
            continue
        (dest / f"{suite}.png").write_bytes(draw(results, drawn[0]))
        print(f"{dest / f'{suite}.png'}  ({drawn[0]} of run {run})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
