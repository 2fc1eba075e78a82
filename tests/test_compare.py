"""optbench compare: per-metric ratios of two runs, exit 1 on a regression, 2 on bad input."""
from __future__ import annotations

import sqlite3

import pytest

import optbench.results
from fake_runs import optimize_cell, write_run
from optbench.cli import main
from optbench.compare import compare, parse_threshold


def cells(slower: float = 1.0, **changes):
    """Four cells; ``slower`` multiplies the time per iteration, ``changes`` alter the last cell."""
    made = [optimize_cell("quadratic", "gd", objective_params={"cond": c}, seconds_per_iter=1e-2 * slower)
            for c in (1.0, 10.0, 100.0)]
    return made + [optimize_cell("rosenbrock", "gd", seconds_per_iter=1e-2 * slower, **changes)]


@pytest.fixture
def store(tmp_path):
    write_run(tmp_path, "base", cells(), started=1.0)
    return tmp_path


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(["compare", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_same_numbers_are_no_regression(store, capsys):
    write_run(store, "same", cells(), started=2.0)
    code, out, _ = run_cli(capsys, "base", "same", "--out", str(store))
    assert code == 0
    assert "no regression past the threshold" in out and "4 cells matched" in out


def test_a_slower_run_regresses_its_time_metric_and_names_it(store, capsys):
    write_run(store, "slow", cells(slower=1.5), started=2.0)
    code, out, _ = run_cli(capsys, "base", "latest", "--out", str(store), "--threshold", "10%")
    assert code == 1
    assert "regressed: solve_time, time_to_target" in out
    solve_time = [line for line in out.splitlines() if line.strip().startswith("solve_time")][0]
    assert "1.500" in solve_time and "REGRESSED" in solve_time
    # within a generous threshold the same slow-down passes
    assert run_cli(capsys, "base", "slow", "--out", str(store), "--threshold", "60%")[0] == 0


def test_more_iterations_and_lost_convergence_are_regressions(store):
    write_run(store, "worse", cells(status="max_iter", iterations=100), started=2.0)
    comparison = compare(optbench.results.load(store, "base"), optbench.results.load(store, "worse"), 0.1)
    assert {"iterations", "oracle_calls", "status"} <= set(comparison.regressed)
    status = comparison.summary.set_index("metric").loc["status"]
    assert "1 lost success" in status["worst_cell"] and "rosenbrock" in status["worst_cell"]
    ratios = comparison.ratios.set_index(["metric", "label"])
    assert ratios["ratio"].xs("iterations").max() == pytest.approx(100 / 40)


def test_faster_is_an_improvement_not_a_regression(store):
    write_run(store, "fast", cells(slower=0.5), started=2.0)
    comparison = compare(optbench.results.load(store, "base"), optbench.results.load(store, "fast"), 0.1)
    assert comparison.regressed == []
    assert comparison.summary.set_index("metric").loc["solve_time", "verdict"] == "improved"


def test_accuracy_counts_only_where_neither_run_converged(tmp_path):
    def run(rate, status):
        return [optimize_cell("quadratic", "gd", status=status, rate=rate, iterations=100)]

    write_run(tmp_path, "a", run(0.9, "max_iter"), started=1.0)
    write_run(tmp_path, "b", run(0.95, "max_iter"), started=2.0)
    write_run(tmp_path, "c", run(0.8, "converged"), started=3.0)
    write_run(tmp_path, "d", run(0.7, "converged"), started=4.0)
    load = lambda run: optbench.results.load(tmp_path, run)  # noqa: E731
    assert "f_gap_final" in compare(load("a"), load("b")).regressed  # a worse final gap, same budget
    both_converged = compare(load("c"), load("d")).summary
    assert "f_gap_final" not in set(both_converged["metric"])  # both met the tolerance


def test_a_regression_must_show_in_the_metric_not_in_one_noisy_cell(store):
    noisy = cells()
    noisy[0] = optimize_cell("quadratic", "gd", objective_params={"cond": 1.0}, seconds_per_iter=1.3e-2)
    write_run(store, "noisy", noisy, started=2.0)
    comparison = compare(optbench.results.load(store, "base"), optbench.results.load(store, "noisy"), 0.1)
    row = comparison.summary.set_index("metric").loc["solve_time"]
    assert comparison.regressed == [] and row["worst"] == pytest.approx(1.3)
    assert row["worst_cell"].startswith("quadratic(n=2,cond=1.0)")


@pytest.mark.parametrize("threshold, value", [("10%", 0.1), ("0.25", 0.25), (" 5 % ", 0.05)])
def test_thresholds_are_percentages_or_fractions(threshold, value):
    assert parse_threshold(threshold) == pytest.approx(value)


def test_bad_input_exits_2_with_one_line(store, capsys):
    write_run(store, "other", cells(), suite_name="other-suite", started=2.0)
    code, _, err = run_cli(capsys, "base", "other", "--out", str(store))
    assert code == 2 and "different suites" in err and "'fake'" in err and "'other-suite'" in err
    code, _, err = run_cli(capsys, "base", "nope", "--out", str(store))
    assert code == 2 and "no run 'nope'" in err
    code, _, err = run_cli(capsys, "base", "base", "--out", str(store / "missing"))
    assert code == 2 and "no results store" in err
    for bad in ("ten", "-5%", "0"):
        code, _, err = run_cli(capsys, "base", "base", "--out", str(store), f"--threshold={bad}")
        assert code == 2 and "--threshold" in err


def test_runs_in_two_stores(store, tmp_path_factory, capsys):
    other = tmp_path_factory.mktemp("ci")
    write_run(other, "new", cells(slower=2.0))
    code, out, _ = run_cli(capsys, "base", "new", "--baseline-out", str(store), "--out", str(other))
    assert code == 1 and "solve_time" in out.splitlines()[-1]


def test_no_common_cell_is_a_user_error(store, capsys):
    write_run(store, "disjoint", [optimize_cell("sphere", "gd")], started=2.0)
    code, _, err = run_cli(capsys, "base", "disjoint", "--out", str(store))
    assert code == 2 and "no cell in common" in err


def test_a_mean_past_the_threshold_within_the_noise_is_not_a_regression(tmp_path):
    factors = [1.8, 0.7, 1.6, 0.75, 1.5, 0.9]  # geometric mean 1.13, but the cells disagree
    base = [optimize_cell("quadratic", "gd", objective_params={"cond": 10.0}, seed=s, seconds_per_iter=1e-2)
            for s in range(6)]
    noisy = [optimize_cell("quadratic", "gd", objective_params={"cond": 10.0}, seed=s, seconds_per_iter=1e-2 * f)
             for s, f in enumerate(factors)]
    write_run(tmp_path, "a", base, started=1.0)
    write_run(tmp_path, "b", noisy, started=2.0)
    comparison = compare(optbench.results.load(tmp_path, "a"), optbench.results.load(tmp_path, "b"), 0.1)
    row = comparison.summary.set_index("metric").loc["solve_time"]
    assert row["ratio"] > 1.1 and row["low"] < 1.0 < row["high"]
    assert row["verdict"] == "noise" and "solve_time" not in comparison.regressed
    # the same mean slow-down in every cell is significant
    even = [optimize_cell("quadratic", "gd", objective_params={"cond": 10.0}, seed=s, seconds_per_iter=1.13e-2)
            for s in range(6)]
    write_run(tmp_path, "c", even, started=3.0)
    assert "solve_time" in compare(optbench.results.load(tmp_path, "a"), optbench.results.load(tmp_path, "c")).regressed


def test_runs_under_different_load_are_compared_with_a_warning(store, capsys):
    write_run(store, "busy", cells(), started=2.0)
    with sqlite3.connect(store / "optbench.sqlite") as db:
        db.execute("UPDATE runs SET load_start = 0.2, load_end = 0.4 WHERE run_id = 'base'")
        db.execute("UPDATE runs SET load_start = 3.5, load_end = 4.1 WHERE run_id = 'busy'")
    db.close()
    code, out, _ = run_cli(capsys, "base", "busy", "--out", str(store))
    assert code == 0 and "warning: run A was measured at load average 0.3 and run B at 3.8" in out
    with sqlite3.connect(store / "optbench.sqlite") as db:
        db.execute("UPDATE runs SET load_start = 0.5, load_end = 0.6 WHERE run_id = 'busy'")
    db.close()
    assert "warning" not in run_cli(capsys, "base", "busy", "--out", str(store))[1]
