"""Lean start-up: commands that run no cell import no AD framework; workers ignore the cwd."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from fake_runs import optimize_cell, write_run
from optbench.runner import run_suite
from optbench.suite import parse_suite

SUITES = "suites/smoke.toml"


def heavy_modules_after(argv: list[str], cwd) -> list[str]:
    """Run ``optbench ARGV`` in a fresh interpreter; the heavy modules it imported."""
    probe = textwrap.dedent(f"""
        import contextlib, io, sys
        from optbench.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main({argv!r})
            except SystemExit as exit:
                code = exit.code
        assert code in (0, 1, None), code
        print(" ".join(m for m in ("torch", "jax", "scipy") if m in sys.modules))
    """)
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("store")
    cells = [optimize_cell("quadratic", "gd", seed=seed) for seed in (0, 1)]
    write_run(path, "a", cells)
    write_run(path, "b", cells, started=1.0)
    return path


@pytest.mark.parametrize("argv", [
    ["--help"], ["list", "objectives"], ["list", "backends"], ["plugins"], ["run", SUITES, "--dry-run"],
], ids=" ".join)
def test_commands_that_run_no_cell_import_no_backend(argv, request):
    assert heavy_modules_after(argv, request.config.rootpath) == []


@pytest.mark.parametrize("command", ["report", "export", "compare"])
def test_reading_results_imports_no_backend(command, store, tmp_path):
    argv = {"report": ["report", "a", "--format", "csv", "--dest", str(tmp_path)],
            "export": ["export", "a", "--dest", str(tmp_path)],
            "compare": ["compare", "a", "b"]}[command]
    assert heavy_modules_after([*argv, "--out", str(store)], tmp_path) == []


def test_a_folder_named_optbench_in_the_working_directory_does_not_shadow_the_package(tmp_path, monkeypatch):
    """Workers are started with -P: a checkout or a stray folder in the cwd is not imported."""
    shadow = tmp_path / "optbench"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('the shadowing folder was imported')\n")
    monkeypatch.chdir(tmp_path)
    suite = parse_suite('name = "shadowed"\nobjectives = [{ name = "quadratic", params = { n = 3 } }]\n'
                        'optimizers = [{ name = "gd" }]\n[stop]\nmax_iter = 5\n')
    summary = run_suite(suite, tmp_path / "results", quiet=True)
    assert dict(summary.counts) == {"max_iter": 1}


def test_the_driver_starts_its_workers_before_it_imports_numpy(tmp_path, request):
    """``optbench run`` starts its workers first, so their start-up overlaps the driver's; the
    package and the modules that start a worker import no NumPy (the API loads on first use)."""
    probe = textwrap.dedent(f"""
        import sys
        import optbench.workers
        from optbench.cli import main

        started, real = [], optbench.workers.Worker.__init__
        def recording(self, threads):
            started.append("numpy" in sys.modules)
            real(self, threads)
        optbench.workers.Worker.__init__ = recording
        code = main(["run", {str(request.config.rootpath / SUITES)!r}, "--out", {str(tmp_path)!r},
                     "--only", "quadratic(n=5,cond=10.0)*seed=0", "--quiet"])
        print(code, started)
    """)
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "0 [False]"  # one worker, started before NumPy loaded


def test_the_registry_functions_stay_functions_when_their_submodules_load():
    import optbench
    import optbench.backend
    import optbench.objective
    import optbench.optimizer

    assert callable(optbench.objective) and optbench.objective("quadratic", n=3).n == 3
    assert optbench.backend("tape").name == "tape" and optbench.optimizer("gd").name == "gd"
    from optbench.objective import Objective

    assert optbench.Objective is Objective
    probe = "import optbench; print(optbench.loop.StopRules is optbench.StopRules, callable(optbench.objective))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "True"], done.stderr  # submodules reachable as before
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        optbench.nothing  # noqa: B018


def test_a_workers_imports_are_frozen_out_of_the_collectors_passes():
    """Imports run with the collector off and what they made is frozen; a pass with nothing
    imported freezes nothing, a failing import re-enables the collector, and a cell's own
    cyclic garbage is still collected (run in a fresh interpreter: freezing is process-wide)."""
    probe = textwrap.dedent("""
        import gc, weakref
        from optbench.workers import imports_kept_out_of_collections

        with imports_kept_out_of_collections():
            assert not gc.isenabled()
            import xml.dom.minidom
        frozen = gc.get_freeze_count()
        assert gc.isenabled() and frozen > 0, frozen
        with imports_kept_out_of_collections():
            pass
        assert gc.get_freeze_count() == frozen
        try:
            with imports_kept_out_of_collections():
                import no_such_module_here
        except ImportError:
            pass
        assert gc.isenabled()

        class Node:
            pass
        cycle = Node()
        cycle.self = cycle
        alive = weakref.ref(cycle)
        del cycle
        gc.collect()
        assert alive() is None
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
