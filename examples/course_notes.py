"""Reproduce the course notes' optimisation examples through the optbench API.

Usage: python examples/course_notes.py [OUT_DIR]   (writes OUT_DIR/course-notes-traces.csv)
"""
import sys
from pathlib import Path

import pandas as pd

import optbench

# (objective, step, iterations, starting points) as in the notes' section 4.3
EXAMPLES = [
    ("abs_quadratic", 0.05, 150, [0.0, 10.0]),
    ("xcos4x", 0.05, 150, [-3.5]),
    ("xcos4x", 0.001, 150, [-3.5, -2.5, -2.0, -1.0, -0.5]),
]


def main(out_dir: str = "results") -> Path:
    backend = optbench.backend("torch")
    frames = []
    for name, step, iterations, starts in EXAMPLES:
        for x0 in starts:
            result = optbench.solve(optbench.objective(name), optbench.optimizer("gd", step=step), backend,
                                    x0=[x0], stop=optbench.StopRules(max_iter=iterations))
            print(f"{name:<14} step={step:<6} x0={x0:<5} -> x={result.x[0]: .6f}  f={result.f: .6f}")
            frames.append(result.frame().assign(objective=name, step=step, x0=x0))
    out = Path(out_dir) / "course-notes-traces.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(frames).to_csv(out, index=False)
    print(f"traces written to {out}")
    return out


if __name__ == "__main__":
    main(*sys.argv[1:])
