"""The report's table of built-in optimizers beside their library counterparts."""
from __future__ import annotations

import pytest

import optbench.results
from fake_runs import optimize_cell, write_run
from optbench import analysis
from optbench.report import tables, to_html


@pytest.fixture
def run(tmp_path):
    cells = []
    for seed in (0, 1):
        cells += [optimize_cell("quadratic", "lbfgs", seed=seed, rate=0.5, iterations=30, seconds_per_iter=2e-3),
                  optimize_cell("quadratic", "scipy", optimizer_params={"method": "L-BFGS-B", "options": {"maxcor": 5}},
                                seed=seed, rate=0.25, iterations=15, seconds_per_iter=1e-3),
                  optimize_cell("quadratic", "optax", optimizer_params={"algorithm": "adam"}, backend="jax",
                                seed=seed, rate=0.9, iterations=20),
                  optimize_cell("quadratic", "adam", seed=seed, rate=0.8, iterations=100)]
    cells.append(optimize_cell("rosenbrock", "lbfgs", rate=0.5))  # no counterpart ran on it
    write_run(tmp_path, "r", cells)
    return optbench.results.load(tmp_path, "r")


def test_each_built_in_sits_beside_its_counterpart_on_the_problems_both_ran(run):
    table = analysis.counterpart_table(run.cells, run.traces, targets=(1e-2, 1e-6))
    pairs = table[["built_in", "library"]].drop_duplicates().values.tolist()
    assert sorted(pairs) == [["adam", "optax"], ["lbfgs", "scipy"]]
    lbfgs = table[(table["library"] == "scipy") & (table["target"] == 1e-2)].set_index("method")
    assert lbfgs.loc[:, "problems"].tolist() == [2, 2]  # quadratic, two seeds; not rosenbrock
    # 0.5^k <= 1e-2 first at k = 7; 0.25^k at k = 4; oracle = ngev = k in the fake traces
    assert lbfgs.loc["lbfgs", ["iterations", "oracle", "reached"]].tolist() == [7, 7, 2]
    assert lbfgs.loc["scipy", ["iterations", "oracle", "reached"]].tolist() == [4, 4, 2]
    assert lbfgs.loc["lbfgs", "time_per_iteration"] == pytest.approx(2e-3)
    assert lbfgs.loc["scipy", "time_per_iteration"] == pytest.approx(1e-3)
    # optax ran on jax, adam on torch: the same problems all the same; 0.9^20 never reaches 1e-6
    optax = table[(table["library"] == "optax") & (table["target"] == 1e-6)].set_index("method")
    assert optax.loc["optax", "reached"] == 0 and optax.loc["adam", "reached"] == 2


def test_the_report_prints_it_under_the_performance_profile(run):
    assert "counterparts" in tables(run)
    page = to_html(run)
    section = page.split('id="performance-profile"')[1].split("</section>")[0]
    assert 'id="table-counterparts"' in section and "library counterpart" in section


def test_no_table_without_library_optimizers(tmp_path):
    write_run(tmp_path, "r", [optimize_cell("quadratic", "lbfgs"), optimize_cell("quadratic", "adam")])
    assert "counterparts" not in tables(optbench.results.load(tmp_path, "r"))
