"""Shared fixtures: fake installed distributions, so plugin loading is tested for real."""
from __future__ import annotations

import importlib
import os
import sys
import textwrap
from pathlib import Path

import pytest

# The compiled backends replay their captured programs without TorchInductor in the test run
# (one C++ compilation per program would take minutes); tests/test_compiled.py compiles for real.
os.environ.setdefault("OPTBENCH_COMPILER", "fx")

import optbench  # noqa: E402


def write_dist(site: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str],
               version: str = "1.0") -> None:
    """Write ``modules`` and a ``.dist-info`` folder declaring ``entry_points`` into ``site``."""
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[optbench]\n{lines}\n")
    importlib.invalidate_caches()


@pytest.fixture
def fake_dist(tmp_path, monkeypatch):
    """Install a throw-away distribution with ``optbench`` entry points on ``sys.path``.

    ``fake_dist("name", {"ep": "module"}, {"module": "source"})`` writes the modules and a
    ``.dist-info`` folder, puts them on ``sys.path`` and ``PYTHONPATH`` (for subprocesses),
    and returns the folder. The next ``load_registry()`` loads it.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    created: list[str] = []

    def make(dist: str, entry_points: dict[str, str], modules: dict[str, str], version: str = "1.0") -> Path:
        write_dist(site, dist, entry_points, modules, version)
        created.extend(modules)
        monkeypatch.setattr(optbench.registry, "_registry", None)  # the next load sees it
        return site

    yield make
    for module in created:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()


@pytest.fixture(autouse=True, scope="session")
def _private_cache_of_minima(tmp_path_factory):
    """Known minima are cached in a folder of this test session, never in the user's cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPTBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("minima")))
        yield


@pytest.fixture(autouse=True)
def _fresh_registry():
    """Each test sees the plugins installed at that moment, not a cached registry."""
    optbench.load_registry(refresh=True)
    yield


def pytest_collection_modifyitems(items):
    """The conformance kit's lstm check on jax is skipped: XLA spends minutes compiling lstm's
    Python loop, unrolled (docs/jax.md); lstm is checked on every other backend."""
    slow = pytest.mark.skip(reason="XLA spends minutes compiling lstm's unrolled Python loop (docs/jax.md)")
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        names = {getattr(params.get(key), "name", None) for key in ("optbench_objective", "any_backend")}
        if names == {"lstm", "jax"}:
            item.add_marker(slow)
