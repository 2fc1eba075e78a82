"""The example third-party package installs, is discovered, listed and runs through the CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "optbench-example-plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """pip-install the example package into a private folder; return an environment using it."""
    target = tmp_path_factory.mktemp("example-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(EXAMPLE)], check=True)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")])}


def optbench_cli(env, *argv):
    return subprocess.run([sys.executable, "-m", "optbench.cli", *argv], capture_output=True, text=True, env=env)


def test_discovered_with_its_distribution(installed):
    done = optbench_cli(installed, "plugins", "--json")
    plugin = next(p for p in json.loads(done.stdout)["plugins"] if p["name"] == "example")
    assert plugin["distribution"] == "optbench-example-plugin" and plugin["version"] == "0.1.0"
    assert plugin["registered"] == {"objectives": ["booth"], "optimizers": ["sign_descent"], "backends": ["fd"]}


def test_listed(installed):
    names = {r["name"] for r in json.loads(optbench_cli(installed, "list", "backends", "--json").stdout)}
    assert {"torch", "fd"} <= names


def test_runs_through_solve(installed, tmp_path):
    out = tmp_path / "booth.csv"
    done = optbench_cli(installed, "solve", "--objective", "booth", "--optimizer", "gd", "--backend", "fd",
                        "--param", "step=0.05", "--max-iter", "300", "--out", str(out))
    assert done.returncode == 0, done.stderr
    last = out.read_text().strip().splitlines()[-1].split(",")
    header = out.read_text().splitlines()[0].split(",")
    assert float(last[header.index("dist")]) < 1e-6
    done = optbench_cli(installed, "solve", "--objective", "booth", "--optimizer", "sign_descent",
                        "--backend", "torch", "--max-iter", "20")
    assert done.returncode == 0, done.stderr


def test_its_backend_declares_first_order_only(installed):
    done = optbench_cli(installed, "solve", "--objective", "booth", "--optimizer", "gd", "--backend", "fd",
                        "--dtype", "float32")
    assert done.returncode == 2 and "backend 'fd' does not support dtype 'float32'" in done.stderr


def test_passes_the_conformance_kit(installed):
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
                          capture_output=True, text=True, env=installed, cwd=EXAMPLE)
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
