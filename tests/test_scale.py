"""The scale benchmark's harness on a small store: it builds, loads and reports (benchmarks/scale.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import optbench.results
from optbench.store import Store

SPEC = importlib.util.spec_from_file_location("scale", Path(__file__).resolve().parents[1] / "benchmarks" / "scale.py")
scale = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(scale)


def test_the_synthetic_store_is_a_run_the_report_reads(tmp_path):
    measured = scale.scale(4_000, tmp_path)
    assert measured["rows"] == 4_000 and measured["load_mb"] > 0 and measured["report_cpu"] > 0
    assert (tmp_path / "report.html").stat().st_size > 10_000
    store = Store(tmp_path, create=False)
    rows, data = store.size("scale")
    store.close()
    assert rows == 4_000 and data / rows <= 40  # the compressed trace columns, what grows with the rows
    results = optbench.results.load(tmp_path, "scale", columns=["f_gap"])
    assert len(results.cells) == 4 and set(results.cells["optimizer"]) == set(scale.OPTIMIZERS)
    assert results.traces.groupby("cell_id", observed=True).size().eq(scale.ROWS_PER_CELL).all()
