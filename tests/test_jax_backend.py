"""The built-in jax backend: every method compiled and cached per objective and kind, float32
and float64 without touching JAX's global configuration, eager fallback with its reason, every
built-in objective and optimizer, and a clean "not installed" listing without JAX."""
from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref

import numpy as np
import pytest

import optbench
from optbench.registry import load_registry

jax = pytest.importorskip("jax")
from optbench_plugins.jax_backend import JaxBackend  # noqa: E402
from optbench_plugins.jax_backend.compiled import EagerFallbackWarning  # noqa: E402

TORCH = optbench.backend("torch")
OPTIMIZERS = sorted(name for name in load_registry().optimizers if name != "projected_gd")


def _rosenbrock():
    return optbench.objective("rosenbrock", n=4)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtypes_without_changing_the_global_configuration(dtype):
    backend = JaxBackend()
    f = _rosenbrock()
    x = backend.asarray(f.x0(0), dtype=dtype)
    for method in ("value", "grad", "hessian"):
        assert str(getattr(backend, method)(f, x).dtype) == dtype
    assert jax.config.jax_enable_x64 is False  # other code still sees JAX as configured
    result = optbench.solve(f, optbench.optimizer("lbfgs"), backend, dtype=dtype,
                            stop=optbench.StopRules(max_iter=5))
    assert np.isfinite(result.f) and jax.config.jax_enable_x64 is False


def test_compiled_once_per_objective_and_kind_and_weakly_kept():
    from optbench_plugins.jax_backend import backend as module

    backend = JaxBackend()
    _compiled = module._compiled
    f = _rosenbrock()
    x = backend.asarray(f.x0(0))
    backend.grad(f, x)
    first = _compiled._cache[f]["grad"]
    backend.grad(f, backend.asarray(f.x0(1)))
    backend.hvp(f, x, x)
    assert _compiled._cache[f]["grad"] is first and set(_compiled._cache[f]) == {"grad", "hvp"}
    assert first._cache_size() == 1  # one trace, reused
    alive = weakref.ref(f)
    del f, first
    gc.collect()
    assert alive() is None  # the compiled code did not keep its objective alive


def test_untraceable_function_falls_back_to_eager_with_the_reason():
    backend = JaxBackend()

    def masked(x):
        return optbench.namespace(x).sum(x[x > 0.0] ** 3)

    with pytest.warns(EagerFallbackWarning, match="NonConcreteBooleanIndexError"):
        grad = backend.grad(masked, backend.asarray([1.0, -2.0, 3.0]))
    np.testing.assert_allclose(backend.to_numpy(grad), [3.0, 0.0, 27.0])
    assert "NonConcreteBooleanIndexError" in backend.eager_reasons(masked)["grad"]


def test_nested_derivatives_inside_compiled_ones():
    backend = JaxBackend()
    f = _rosenbrock()
    x = backend.asarray(f.x0(0))

    def squared_gradient_norm(y):
        g = backend.grad(f, y)  # traced by the outer, compiled gradient
        return optbench.namespace(y).sum(g * g)

    outer = backend.to_numpy(backend.grad(squared_gradient_norm, x))
    g, h = TORCH.grad(f, f.x0(0)).numpy(), TORCH.hessian(f, f.x0(0)).numpy()
    np.testing.assert_allclose(outer, 2 * h @ g, rtol=1e-10)


def test_cuda_is_declared_and_used_where_present():
    backend = JaxBackend()
    assert "cuda" in backend.capabilities.devices
    if not any(d.startswith("cuda") for d in backend.devices()):
        with pytest.raises(optbench.CapabilityError, match="not available"):
            backend.asarray([1.0], device="cuda")
        pytest.skip("no CUDA device for JAX on this machine")
    f = _rosenbrock()
    x = backend.asarray(f.x0(0), device="cuda:0")
    np.testing.assert_allclose(backend.to_numpy(backend.grad(f, x)), TORCH.grad(f, f.x0(0)).numpy(), rtol=1e-10)


@pytest.mark.parametrize("name", sorted(load_registry().objectives))
def test_every_builtin_objective(name):
    if name == "lstm":
        pytest.skip("XLA spends minutes compiling lstm's Python loop, unrolled (docs/jax.md)")
    backend = JaxBackend()
    f = optbench.objective(name)
    x0 = f.x0(0) + (0.0 if f.smooth else 0.1)  # off the kinks, where JAX's conventions differ
    x = backend.asarray(x0)
    np.testing.assert_allclose(float(backend.value(f, x)), float(f(x0)), rtol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(backend.grad(f, x)), TORCH.grad(f, x0).numpy(), rtol=1e-9, atol=1e-9)
    if f.n <= 100:  # ba has n = 55710: its Hessian would take 25 GB
        np.testing.assert_allclose(backend.to_numpy(backend.hessian(f, x)), TORCH.hessian(f, x0).numpy(),
                                   rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_builtin_optimizer(name):
    f = optbench.objective("quadratic", n=5)
    try:
        optbench.optimizer(name).check(JaxBackend())
    except optbench.CapabilityError as exc:  # e.g. torch_optim needs torch tensors
        pytest.skip(str(exc))
    ours = optbench.solve(f, optbench.optimizer(name), JaxBackend(), stop=optbench.StopRules(max_iter=10))
    assert ours.trace[-1]["f"] < ours.trace[0]["f"] and ours.warmup_time > 0
    try:
        optbench.optimizer(name).check(TORCH)
    except optbench.CapabilityError:  # optax: jax arrays only, nothing to compare with
        return
    reference = optbench.solve(f, optbench.optimizer(name), TORCH, stop=optbench.StopRules(max_iter=10))
    assert ours.status == reference.status
    np.testing.assert_allclose([r["f"] for r in ours.trace], [r["f"] for r in reference.trace], rtol=1e-8)


def test_set_threads_reaches_jax():
    from optbench.workers import set_threads

    code = ("from optbench.workers import set_threads; import jax.numpy as jnp; "
            "print(set_threads(1, 'jax')['jax_threads']); print(float(jnp.ones(2).sum()))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["1", "2.0"], done.stderr


def test_listed_as_not_installed_without_jax(tmp_path):
    """With jax unimportable, `optbench plugins` names the install command and nothing is broken."""
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['jax'] = None\n")
    code = "import sys; from optbench.cli import main; sys.exit(main(['plugins', '--json']))"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    listing = json.loads(done.stdout)
    assert listing["broken"] == []
    assert {"name": "jax", "distribution": "optbench", "requirement": "jax", "install": "pip install 'optbench[jax]'",
            "provides": {"backends": ["jax"]}} in listing["not_installed"]
    text = subprocess.run([sys.executable, "-c", code.replace(", '--json'", "")], capture_output=True, text=True,
                          timeout=120, env=env).stdout
    assert "not installed: needs jax; pip install 'optbench[jax]'" in text


def test_suites_skip_jax_cells_where_jax_is_not_installed(monkeypatch):
    """Blocked JAX: the suites still load, and a jax cell is skipped with the install command."""
    from optbench.registry import build_registry
    from optbench.suite import load_suite
    from optbench.tasks import run_cell

    monkeypatch.setitem(sys.modules, "jax", None)
    monkeypatch.delitem(sys.modules, "optbench_plugins.jax_backend")
    registry = build_registry()
    monkeypatch.setattr(optbench.registry, "_registry", registry)
    assert "jax" not in registry.backends and [m.name for m in registry.not_installed] == ["jax"]
    for name in ("throughput", "convergence"):
        suite = load_suite(f"suites/{name}.toml", registry)
        cell = next(c for c in suite.cells if c.config.get("backend") == "jax" and c.config["device"] == "cpu")
        outcome = run_cell(cell.config, lambda row: None)
        assert outcome.status == "skipped"
        assert outcome.reason == ("backend 'jax' is not installed: plugin 'jax' needs jax; "
                                  "install it with pip install 'optbench[jax]'")
