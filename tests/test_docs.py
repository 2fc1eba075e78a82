"""Every hook, backend method and CLI command is documented (and every hook is tested)."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from optbench import Backend, hookspecs
from optbench.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PLUGINS_DOC = (ROOT / "docs" / "plugins.md").read_text()
HOOKS = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("optbench_")]
METHODS = [name for name, fn in inspect.getmembers(Backend, inspect.isfunction) if not name.startswith("_")]


def cli_commands() -> list[str]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]  # argparse offers no public accessor
    return sorted(sub.choices)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook):
    assert f"### `{hook}(register)`" in PLUGINS_DOC
    assert hook in README


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_tested(hook):
    tests = "".join(p.read_text() for p in (ROOT / "tests").glob("test_registry*.py"))
    assert f"def {hook}(register)" in tests


@pytest.mark.parametrize("method", METHODS)
def test_backend_method_is_documented(method):
    assert f"`{method}(" in PLUGINS_DOC


@pytest.mark.parametrize("command", cli_commands())
def test_cli_command_is_documented(command):
    assert f"optbench {command}" in README
