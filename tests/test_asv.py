"""asv: the configuration checks, and one quick run of a benchmark into a temporary results dir."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASV = shutil.which("asv", path=str(Path(sys.executable).parent)) or shutil.which("asv")
pytestmark = pytest.mark.skipif(ASV is None, reason="asv is not installed (pip install '.[asv]')")


def load_conf(name: str) -> dict:
    """asv.conf.json allows // comments, plain JSON does not."""
    lines = [line for line in (ROOT / name).read_text().splitlines() if not line.strip().startswith("//")]
    return json.loads("\n".join(lines))


@pytest.fixture
def asv_env(tmp_path):
    """A private copy of the configuration writing under tmp_path, and a private HOME."""
    conf = load_conf("asv.conf.json")
    conf.update(repo=str(ROOT), benchmark_dir=str(ROOT / conf["benchmark_dir"]),
                results_dir=str(tmp_path / "results"), html_dir=str(tmp_path / "html"),
                env_dir=str(tmp_path / "env"))
    path = tmp_path / "asv.conf.json"
    path.write_text(json.dumps(conf))
    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run([ASV, "machine", "--yes", "--machine", "ci"], check=True, env=env, capture_output=True,
                   cwd=tmp_path)
    return path, env


def asv(config: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ASV, *args, "--config", str(config)], capture_output=True, text=True, env=env,
                          cwd=config.parent, timeout=900)


def test_both_configurations_are_valid_json_with_the_same_benchmarks():
    existing, continuous = load_conf("asv.conf.json"), load_conf("asv.continuous.conf.json")
    assert existing["environment_type"] == "existing" and continuous["environment_type"] == "virtualenv"
    assert existing["benchmark_dir"] == continuous["benchmark_dir"]
    assert any("--no-index" in c and ".wheelhouse" in c for c in continuous["install_command"])


def test_asv_check(asv_env):
    config, env = asv_env
    done = asv(config, env, "check", "-E", f"existing:{sys.executable}")
    assert done.returncode == 0, done.stdout + done.stderr


def test_asv_quick_run_records_results(asv_env):
    config, env = asv_env
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    done = asv(config, env, "run", "--quick", "-E", f"existing:{sys.executable}", "--set-commit-hash", commit,
               "--machine", "ci", "--bench", "NativeEnginePeakMemory")
    assert done.returncode == 0, done.stdout + done.stderr
    results = [p for p in (config.parent / "results" / "ci").glob("*.json") if p.name != "machine.json"]
    assert results, done.stdout
    data = json.loads(results[0].read_text())
    (name,) = [k for k in data["results"] if "NativeEnginePeakMemory" in k]
    values = data["results"][name][0]
    assert len(values) == 4 and all(v is not None and v > 0 for v in values)
