"""pytest plugin of the conformance kit: the ``--optbench-plugins`` option and parametrisation."""
from __future__ import annotations

import pytest

from . import selected_specs
from ..registry import load_registry

# fixture name -> kind of spec it is parametrised over
_FIXTURES = {"optbench_objective": "objectives", "optbench_optimizer": "optimizers",
             "optbench_backend": "backends", "any_backend": None}


def pytest_addoption(parser):
    group = parser.getgroup("optbench", "optbench conformance kit")
    group.addoption("--optbench-plugins", default=None, metavar="NAMES",
                    help="comma-separated optbench plugin (entry-point) names to check")
    parser.addini("optbench_plugins", "optbench plugin (entry-point) names to check", type="args", default=[])


def chosen_plugins(config) -> list[str]:
    option = config.getoption("--optbench-plugins")
    if option is not None:
        return [name.strip() for name in option.split(",") if name.strip()]
    return list(config.getini("optbench_plugins"))


def pytest_generate_tests(metafunc):
    for fixture, kind in _FIXTURES.items():
        if fixture not in metafunc.fixturenames:
            continue
        if kind is None:  # every loaded backend, the reference the checked plugins run on
            specs = [spec for _, spec in sorted(load_registry().backends.items())]
        else:
            specs = selected_specs(chosen_plugins(metafunc.config), kind)
        metafunc.parametrize(fixture, specs, ids=[s.name for s in specs])
