"""Plugin discovery: hooks, broken and misspelled plugins, conflicts, disabling and blocking."""
from __future__ import annotations

import pytest

import optbench
from optbench.registry import ENV_BLOCK, ENV_DISABLE_AUTOLOAD, KINDS

GOOD = '''
import optbench

class Cube(optbench.Objective):
    """Sum of cubes."""
    name = "cube"
    def __call__(self, x):
        return optbench.namespace(x).sum(x ** 3)

class Still(optbench.Optimizer):
    """Never moves."""
    name = "still"
    def step(self, oracle):
        return self.x

class Null(optbench.Backend):
    """Knows no derivative."""
    name = "null"

@optbench.hookimpl
def optbench_register_objectives(register):
    register(Cube)

@optbench.hookimpl
def optbench_register_optimizers(register):
    register(Still)

@optbench.hookimpl
def optbench_register_backends(register):
    register(Null)
'''


def test_builtins_are_registered_through_entry_points():
    registry = optbench.load_registry()
    builtin = {p.name for p in registry.plugins if p.distribution == "optbench"}
    assert {"torch", "objectives", "optimizers"} <= builtin
    assert registry.backends["torch"].distribution == "optbench"
    assert "abs_quadratic" in registry.objectives and "gd" in registry.optimizers


def test_every_hook_registers_from_a_third_party_distribution(fake_dist):
    fake_dist("good-plugin", {"good": "good_plugin"}, {"good_plugin": GOOD})
    registry = optbench.load_registry()
    info = next(p for p in registry.plugins if p.name == "good")
    assert info.distribution == "good-plugin" and info.version == "1.0"
    assert info.registered == {"objectives": ["cube"], "optimizers": ["still"], "backends": ["null"]}
    assert sorted(info.hooks) == sorted(hook for hook, _, _ in KINDS.values())
    assert registry.objectives["cube"].plugin == "good"
    assert optbench.objective("cube").n == 2
    assert optbench.optimizer("still").p == {}
    assert registry.backends["null"].description == "Knows no derivative."


def test_a_plugin_that_fails_to_import_is_broken_and_the_rest_load(fake_dist):
    fake_dist("bad-import", {"bad": "bad_import"}, {"bad_import": "raise RuntimeError('kaput\\n at import')"})
    registry = optbench.load_registry()
    (broken,) = [b for b in registry.broken if b.name == "bad"]
    assert broken.distribution == "bad-import"
    assert broken.reason == "RuntimeError: kaput at import"
    assert "torch" in registry.backends and "gd" in registry.optimizers


def test_a_plugin_that_fails_while_registering_contributes_nothing(fake_dist):
    source = GOOD + '''
@optbench.hookimpl
def optbench_register_backends(register):
    register(Null)
    register(object)
'''
    source = source.replace("@optbench.hookimpl\ndef optbench_register_backends(register):\n    register(Null)\n", "", 1)
    fake_dist("half", {"half": "half_plugin"}, {"half_plugin": source})
    registry = optbench.load_registry()
    (broken,) = [b for b in registry.broken if b.name == "half"]
    assert "subclass of optbench.Backend" in broken.reason
    assert "cube" not in registry.objectives and "null" not in registry.backends


def test_a_misspelled_hook_is_reported_with_the_right_name(fake_dist):
    source = '''
import optbench

@optbench.hookimpl
def optbench_register_objective(register):
    pass
'''
    fake_dist("typo", {"typo": "typo_plugin"}, {"typo_plugin": source})
    (broken,) = [b for b in optbench.load_registry().broken if b.name == "typo"]
    assert "unknown hook 'optbench_register_objective'" in broken.reason
    assert "did you mean 'optbench_register_objectives'" in broken.reason


def test_an_undecorated_hook_still_counts(fake_dist):
    source = GOOD.replace("@optbench.hookimpl\n", "")
    fake_dist("plain", {"plain": "plain_plugin"}, {"plain_plugin": source})
    assert "cube" in optbench.load_registry().objectives


def test_a_hook_with_wrong_arguments_is_broken(fake_dist):
    source = '''
import optbench

@optbench.hookimpl
def optbench_register_objectives(register, extra):
    pass
'''
    fake_dist("wrongargs", {"wrongargs": "wrongargs_plugin"}, {"wrongargs_plugin": source})
    (broken,) = [b for b in optbench.load_registry().broken if b.name == "wrongargs"]
    assert "extra" in broken.reason


def test_two_plugins_with_one_name_is_an_error_naming_both(fake_dist):
    fake_dist("good-plugin", {"good": "good_plugin"}, {"good_plugin": GOOD})
    fake_dist("twin-plugin", {"twin": "twin_plugin"}, {"twin_plugin": GOOD.replace('"null"', '"null2"').replace('"still"', '"still2"')})
    with pytest.raises(optbench.PluginConflictError) as err:
        optbench.load_registry(refresh=True)
    message = str(err.value)
    assert "objective 'cube'" in message
    assert "'good' (good-plugin)" in message and "'twin' (twin-plugin)" in message
    assert ENV_BLOCK in message


def test_reserved_backend_names_are_refused_to_third_parties(fake_dist):
    fake_dist("impostor", {"impostor": "impostor_plugin"},
              {"impostor_plugin": GOOD.replace('name = "null"', 'name = "torch"')})
    registry = optbench.load_registry()
    (broken,) = [b for b in registry.broken if b.name == "impostor"]
    assert "reserved" in broken.reason
    assert registry.backends["torch"].distribution == "optbench"


def test_autoload_can_be_disabled_for_third_party_plugins(fake_dist, monkeypatch):
    fake_dist("good-plugin", {"good": "good_plugin"}, {"good_plugin": GOOD})
    monkeypatch.setenv(ENV_DISABLE_AUTOLOAD, "1")
    registry = optbench.load_registry(refresh=True)
    assert "cube" not in registry.objectives and "good" in registry.blocked
    assert "torch" in registry.backends


def test_named_plugins_can_be_blocked(fake_dist, monkeypatch):
    fake_dist("good-plugin", {"good": "good_plugin"}, {"good_plugin": GOOD})
    monkeypatch.setenv(ENV_BLOCK, "good, torch")
    registry = optbench.load_registry(refresh=True)
    assert "cube" not in registry.objectives and "torch" not in registry.backends
    assert {"good", "torch"} <= set(registry.blocked)
    assert "gd" in registry.optimizers


def test_unknown_names_list_close_matches():
    with pytest.raises(optbench.UnknownNameError, match=r"unknown objective 'abs_quadratik'; did you mean 'abs_quadratic'"):
        optbench.objective("abs_quadratik")
    with pytest.raises(KeyError):
        optbench.backend("no-such-backend-at-all")
    with pytest.raises(optbench.UnknownNameError, match="available: .*gd"):
        optbench.optimizer("zzzzzzzz")


def test_registry_is_loaded_once_and_refreshable():
    first = optbench.load_registry()
    assert optbench.load_registry() is first
    assert optbench.load_registry(refresh=True) is not first


def test_specs_describe_themselves():
    registry = optbench.load_registry()
    gd = registry.get("optimizers", "gd").describe()
    assert gd["params"]["step"] == {"type": "float", "default": 0.1, "doc": "step size (learning rate)", "gt": 0.0}
    assert gd["needs"] == ["grad"]
    torch_caps = registry.get("backends", "torch").describe()["capabilities"]
    assert torch_caps == {"devices": ["cpu", "cuda"], "dtypes": ["float32", "float64"], "max_order": 2, "exact": True,
                          "torch_conventions": True}
    quad = registry.get("objectives", "quadratic").describe()
    assert quad["convex"] is True and quad["params"]["cond"]["ge"] == 1.0
