"""The first CLI commands: plugins, list, solve, trace and graph, with their error paths."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from optbench.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plugins_lists_every_plugin_and_the_broken_ones(capsys, fake_dist):
    fake_dist("bad-import", {"bad": "bad_import"}, {"bad_import": "import no_such_module_here"})
    code, out, _ = run(capsys, "plugins", "--json")
    data = json.loads(out)
    assert code == 0
    names = {p["name"]: p for p in data["plugins"]}
    assert names["torch"]["registered"] == {"backends": ["torch"]}
    assert names["torch"]["distribution"] == "optbench" and names["torch"]["version"]
    (broken,) = [b for b in data["broken"] if b["name"] == "bad"]
    assert broken == {"name": "bad", "distribution": "bad-import",
                      "reason": "ModuleNotFoundError: No module named 'no_such_module_here'"}
    code, out, _ = run(capsys, "plugins")
    assert "BROKEN: ModuleNotFoundError" in out and "objectives: abs_quadratic" in out


@pytest.mark.parametrize("kind", ["objectives", "optimizers", "backends"])
def test_list(capsys, kind):
    code, out, _ = run(capsys, "list", kind, "--json")
    rows = json.loads(out)
    assert code == 0 and rows and all(r["description"] for r in rows)
    code, text, _ = run(capsys, "list", kind)
    assert all(r["name"] in text for r in rows)


def test_solve_reproduces_the_notes_gradient_descent(capsys, tmp_path):
    out_file = tmp_path / "trace.csv"
    code, out, err = run(capsys, "solve", "--objective", "abs_quadratic", "--optimizer", "gd",
                         "--backend", "torch", "--param", "step=0.05", "--max-iter", "150",
                         "--out", str(out_file))
    assert code == 0, err
    assert "max_iter" in out and f"trace written to {out_file}" in err
    trace = pd.read_csv(out_file)
    assert len(trace) == 151 and list(trace["iter"])[-1] == 150
    assert set(trace["objective"]) == {"abs_quadratic"} and set(trace["backend"]) == {"torch"}
    assert trace["f"].iloc[-1] == pytest.approx(4.75, abs=1e-10)
    assert abs(trace["dist"].iloc[-1]) < 1e-5  # ends at 4.5 within 1e-5
    assert trace["ngev"].iloc[-1] == 150


def test_solve_writes_parquet_and_accepts_x0_and_objective_params(capsys, tmp_path):
    out_file = tmp_path / "trace.parquet"
    code, _, err = run(capsys, "solve", "--objective", "quadratic", "--optimizer", "gd",
                       "--param", "n=4", "--param", "cond=3", "--param", "optimizer.step=0.3",
                       "--x0", "1", "--tol", "1e-8", "--out", str(out_file))
    assert code == 0, err
    trace = pd.read_parquet(out_file)
    assert trace["grad_norm"].iloc[-1] <= 1e-8 and trace["f_gap"].iloc[-1] < 1e-12


@pytest.mark.parametrize("argv, message", [
    (["solve", "--objective", "abs_quadratik", "--optimizer", "gd"], "unknown objective 'abs_quadratik'; did you mean 'abs_quadratic'"),
    (["solve", "--objective", "abs_quadratic", "--optimizer", "gd", "--backend", "torc"], "unknown backend 'torc'; did you mean 'torch'"),
    (["solve", "--objective", "abs_quadratic", "--optimizer", "gd", "--param", "step=-1"], "parameter 'step' must be > 0.0, got -1.0"),
    (["solve", "--objective", "abs_quadratic", "--optimizer", "gd", "--param", "stepp=1"], "unknown parameter 'stepp'; did you mean 'step'"),
    (["solve", "--objective", "abs_quadratic", "--optimizer", "gd", "--param", "step"], "expected KEY=VALUE, got 'step'"),
    (["solve", "--objective", "abs_quadratic", "--optimizer", "gd", "--param", "step=abc"], "parameter 'step' must be of type float"),
    (["solve", "--objective", "abs_quadratic", "--optimizer", "gd", "--param", "n=3"], "dimension n must be exactly 1, got 3"),
    (["solve", "--objective", "abs_quadratic", "--optimizer", "gd", "--x0", "a,b"], "--x0 expects comma-separated numbers"),
    (["solve", "--objective", "abs_quadratic", "--optimizer", "gd", "--max-iter", "-3"], "max_iter must be a non-negative integer"),
    (["solve", "--objective", "abs_quadratic", "--optimizer", "gd", "--tol", "0"], "tol_grad must be > 0"),
    (["solve", "--objective", "abs_quadratic", "--optimizer", "gd", "--device", "tpu"], "does not support device 'tpu'"),
    (["solve", "--objective", "abs_quadratic", "--optimizer", "gd", "--out", "trace.xlsx"], "use a .csv or .parquet file name"),
    (["graph", "abs_quadratic", "--backend", "nope"], "unknown backend 'nope'"),
    (["trace", "ad_example", "--backend", "torch"], "backend 'torch' does not implement 'trace'"),
])
def test_user_errors_are_one_line_on_stderr(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("optbench: error: ") and message in err and "Traceback" not in err


def test_graph_writes_dot(capsys, tmp_path):
    target = tmp_path / "g.dot"
    code, _, err = run(capsys, "graph", "ad_example", "--backend", "torch", "--out", str(target))
    assert code == 0 and target.read_text().startswith("digraph")


def test_console_script_runs_and_fails_cleanly():
    done = subprocess.run([sys.executable, "-m", "optbench.cli", "solve", "--objective", "nope",
                           "--optimizer", "gd"], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "unknown objective 'nope'" in done.stderr
    done = subprocess.run([sys.executable, "-m", "optbench.cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("optbench ")


@pytest.mark.parametrize("backend, column, values", [
    ("dual", "tangent", ["0.5", "5.5"]),
    ("tape", "adjoint", ["1.71634", "5.5"]),
])
def test_trace_prints_the_notes_tables(capsys, backend, column, values):
    code, out, err = run(capsys, "trace", "ad_example", "--backend", backend)
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split() == ["node", "op", "value", column] and len(rows) == 7
    assert rows[-1].split()[:2] == ["v_5", "v_4"] and "11.6521" in rows[-1]
    assert all(v in out for v in values)


def test_trace_direction_seeds_another_input(capsys):
    code, out, _ = run(capsys, "trace", "ad_example", "--backend", "dual", "--direction", "1")
    assert code == 0 and out.splitlines()[-1].split()[-1] == "1.71634"
    code, _, err = run(capsys, "trace", "ad_example", "--backend", "dual", "--direction", "5")
    assert code == 2 and "--direction must be in [0, 2)" in err


def test_graph_of_the_tape_marks_input_and_output(capsys):
    code, out, _ = run(capsys, "graph", "ad_example")
    assert code == 0 and out.startswith("digraph") and "input x" in out and "output" in out


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_graph_renders_svg_with_graphviz(capsys, tmp_path):
    target = tmp_path / "g.svg"
    code, _, err = run(capsys, "graph", "rosenbrock", "--format", "svg", "--out", str(target))
    assert code == 0, err
    svg = target.read_text()
    assert "<svg" in svg and "input x" in svg
