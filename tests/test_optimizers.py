"""The optimizer library: declared parameters, runs on every capable backend with identical
iterates, agreement with torch.optim, projections, and a clean stop on NaN."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import optbench
from optbench_plugins.optimizers import BUILTIN_OPTIMIZERS
from optbench_plugins.optimizers.projected import PROJECTIONS

# one configuration per optimizer that converges on the default quadratic (cond 10)
CONFIGS = {
    "gd": {"step": 0.1}, "steepest_exact": {}, "gd_armijo": {}, "coordinate_descent": {"order": "random"},
    "heavy_ball": {}, "nesterov": {}, "jacobi": {"step": 0.3}, "adagrad": {"step": 0.5},
    "rmsprop": {"step": 0.01}, "adam": {"step": 0.1}, "newton": {"damping": 0.8}, "newton_cg": {},
    "lbfgs": {"memory": 3}, "projected_gd": {"set": "ball", "radius": 2.0},
}
BUILTIN_BACKENDS = [name for name, spec in optbench.load_registry().backends.items()
                    if spec.distribution == "optbench"]
OTHER_BACKENDS = [name for name in BUILTIN_BACKENDS if name != "torch"]


def run(name, backend="torch", objective=None, iterations=25, seed=0, **params):
    objective = objective or optbench.objective("quadratic", n=6)
    optimizer = optbench.optimizer(name, **{**CONFIGS[name], **params})
    return optbench.solve(objective, optimizer, optbench.backend(backend), seed=seed,
                          stop=optbench.StopRules(max_iter=iterations))


def test_every_builtin_optimizer_has_a_configuration_here():
    assert set(CONFIGS) == {cls.name for cls in BUILTIN_OPTIMIZERS}


@pytest.mark.parametrize("name", CONFIGS)
def test_optimizer_decreases_a_quadratic_on_torch(name):
    result = run(name, iterations=200)
    # line-search methods end early once no decrease is visible in f's rounding
    assert result.status == "max_iter" or result.reason.startswith("no further decrease possible at round-off")
    assert result.trace[-1]["f_gap"] < 1e-3 * result.trace[0]["f_gap"]


@pytest.mark.parametrize("backend", OTHER_BACKENDS or [pytest.param(None, marks=pytest.mark.skip(
    reason="no built-in backend besides torch loads yet"))])
@pytest.mark.parametrize("name", CONFIGS)
def test_iterates_are_identical_on_every_capable_builtin_backend(name, backend):
    needs = optbench.load_registry().optimizers[name].cls.needs
    if not all(optbench.backend(backend).supports(method) for method in needs):
        pytest.skip(f"backend {backend!r} lacks one of {needs}")
    objective = optbench.objective("logistic_regression", n=5, samples=50, reg=0.1)
    expected, got = run(name, "torch", objective, seed=3), run(name, backend, objective, seed=3)
    np.testing.assert_allclose(got.x, expected.x, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose([r["f"] for r in got.trace], [r["f"] for r in expected.trace], rtol=1e-10)


@pytest.mark.parametrize("name, torch_class, params, torch_params", [
    ("adagrad", torch.optim.Adagrad, {"step": 0.3}, {"lr": 0.3}),
    ("rmsprop", torch.optim.RMSprop, {"step": 0.02, "decay": 0.9}, {"lr": 0.02, "alpha": 0.9}),
    ("adam", torch.optim.Adam, {"step": 0.05, "beta1": 0.8}, {"lr": 0.05, "betas": (0.8, 0.999)}),
])
def test_adaptive_methods_match_torch_optim(name, torch_class, params, torch_params):
    objective = optbench.objective("rosenbrock", n=4)
    ours = run(name, objective=objective, iterations=30, **params)
    x = torch.tensor(objective.x0(0), requires_grad=True)
    reference = torch_class([x], **torch_params)
    for _ in range(30):
        reference.zero_grad()
        objective(x).backward()
        reference.step()
    np.testing.assert_allclose(ours.x, x.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("name, params, message", [
    ("gd", {"step": -0.1}, "parameter 'step' must be > 0.0"),
    ("heavy_ball", {"momentum": 1.0}, "parameter 'momentum' must be < 1.0"),
    ("nesterov", {"momentum": 1.5}, "parameter 'momentum' must be < 1.0"),
    ("adam", {"beta2": 1.0}, "parameter 'beta2' must be < 1.0"),
    ("newton", {"damping": 1.5}, "parameter 'damping' must be <= 1.0"),
    ("newton", {"line_search": "wolfe"}, "parameter 'line_search' must be one of 'armijo', 'none'"),
    ("newton_cg", {"c1": 0.5}, "parameter 'c1' must be < 0.5 for a Newton method"),
    ("lbfgs", {"memory": 0}, "parameter 'memory' must be >= 1"),
    ("gd_armijo", {"shrink": 1.0}, "parameter 'shrink' must be < 1.0"),
    ("projected_gd", {"lower": 2.0, "upper": 1.0}, "parameter 'lower' .* must be <= parameter 'upper'"),
    ("projected_gd", {"set": "cube"}, "parameter 'set' must be one of"),
])
def test_invalid_hyper_parameters_are_rejected_naming_the_parameter(name, params, message):
    with pytest.raises(optbench.ParameterError, match=message):
        optbench.optimizer(name, **params)


@pytest.mark.parametrize("name", ["heavy_ball", "nesterov", "coordinate_descent"])
def test_unset_step_needs_an_objective_that_knows_its_constants(name):
    optimizer = optbench.optimizer(name)
    with pytest.raises(optbench.ParameterError, match="parameter 'step' was left unset.*'rosenbrock'"):
        optbench.solve(optbench.objective("rosenbrock"), optimizer, optbench.backend("torch"))


def test_lbfgs_solves_rosenbrock_in_ten_dimensions():
    result = run("lbfgs", objective=optbench.objective("rosenbrock", n=10), iterations=300, memory=10)
    np.testing.assert_allclose(result.x, np.ones(10), atol=1e-6)


class NaNBeyondTwo(optbench.Objective):
    """sum x^2 + sqrt(2 - x): NaN once any coordinate passes 2, which big steps do."""

    name = "nan_beyond_two"

    def __call__(self, x):
        xp = optbench.namespace(x)
        return xp.sum(x**2 + xp.sqrt(2.0 - x))

    def x0(self, seed=0):
        return np.full(self.n, -1.0)

    @property
    def L(self):
        return 1e-3  # a wrong constant, so derived steps are too large

    @property
    def mu(self):
        return 1e-4


@pytest.mark.parametrize("name", CONFIGS)
def test_optimizer_meeting_nan_stops_as_diverged(name):
    big = {"gd": {"step": 10.0}, "coordinate_descent": {"step": 10.0, "order": "cyclic"},
           "jacobi": {"step": 50.0}, "adagrad": {"step": 10.0}, "rmsprop": {"step": 10.0},
           "adam": {"step": 10.0}, "projected_gd": {"step": 10.0, "set": "box", "lower": -5.0, "upper": 5.0},
           "gd_armijo": {"step": 10.0}}.get(name, {})  # Armijo meets NaN trial points and rejects them
    result = run(name, objective=NaNBeyondTwo(n=2), iterations=200, **big)
    if result.status != "diverged":  # safeguarded methods never step into the NaN region
        assert name in {"gd_armijo", "lbfgs", "newton", "newton_cg", "steepest_exact"}
        assert all(np.isfinite(r["f"]) for r in result.trace)
    else:
        assert "f = nan" in result.reason or "blew up" in result.reason


def test_random_coordinate_order_is_seeded():
    same = [run("coordinate_descent", seed=5).x for _ in range(2)]
    other = run("coordinate_descent", seed=6).x
    np.testing.assert_array_equal(*same)
    assert not np.array_equal(same[0], other)


def test_cyclic_coordinate_descent_changes_one_coordinate_per_step():
    objective = optbench.objective("quadratic", n=4)
    previous = objective.x0(0)
    for k in range(1, 6):
        x = run("coordinate_descent", objective=objective, iterations=k, order="cyclic").x
        assert np.flatnonzero(x != previous).tolist() == [(k - 1) % 4]
        previous = x


@pytest.mark.parametrize("name", ["newton", "newton_cg"])
def test_newton_methods_solve_rosenbrock(name):
    # n = 2: from n = 4 on, Rosenbrock has a second stationary point near x_1 = -1
    result = run(name, objective=optbench.objective("rosenbrock", n=2), iterations=200, damping=1.0)
    np.testing.assert_allclose(result.x, np.ones(2), atol=1e-6)


NEWTON_PROBLEMS = ["logistic_regression", "softmax_regression", "rosenbrock"]


def newton_run(name, objective_name, seed, iterations=60, **params):
    """A Newton method with its default parameters on an objective with its defaults."""
    return optbench.solve(optbench.objective(objective_name), optbench.optimizer(name, **params),
                          optbench.backend("torch"), seed=seed, stop=optbench.StopRules(max_iter=iterations))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("objective_name", NEWTON_PROBLEMS)
@pytest.mark.parametrize("name", ["newton", "newton_cg"])
def test_newton_methods_converge_from_seeded_starts_with_default_parameters(name, objective_name, seed):
    result = newton_run(name, objective_name, seed)
    values = [row["f"] for row in result.trace]
    assert all(later <= earlier + 1e-15 for earlier, later in zip(values, values[1:]))
    assert result.trace[-1]["dist"] < 1e-8 and result.trace[-1]["grad_norm"] < 1e-10


@pytest.mark.parametrize("objective_name", NEWTON_PROBLEMS)
@pytest.mark.parametrize("name", ["newton", "newton_cg"])
def test_newton_methods_take_quadratic_steps_near_the_solution(name, objective_name):
    distances = [row["dist"] for row in newton_run(name, objective_name, seed=0).trace]
    close = [(now, later) for now, later in zip(distances, distances[1:]) if 1e-7 < now < 1e-2]
    assert len(close) >= 2
    # |x_k+1 - x*| <= C |x_k - x*|^2; a linearly converging method breaks C = 100 at once
    assert all(later <= 100 * now**2 for now, later in close)


def test_pure_newton_step_stays_available_and_diverges_where_damped_newton_converges():
    # the example: pure Newton on logistic regression (n = 10) climbs from f = 1.22 to 26
    pure = newton_run("newton", "logistic_regression", seed=0, iterations=30, line_search="none")
    damped = newton_run("newton", "logistic_regression", seed=0, iterations=30)
    assert pure.trace[-1]["f"] > 10 * pure.trace[0]["f"]
    assert damped.trace[-1]["f_gap"] < 1e-12


def test_positive_definite_shift_is_zero_for_a_positive_definite_hessian_and_repairs_others():
    from optbench_plugins.optimizers.second_order import positive_definite_shift

    assert positive_definite_shift(np.diag([1.0, 1e-8])) == 0.0
    for hessian in (np.diag([2.0, -3.0]), np.array([[1.0, 4.0], [4.0, 1.0]]), np.zeros((3, 3))):
        tau = positive_definite_shift(hessian)
        assert tau > 0 and np.linalg.eigvalsh(hessian + tau * np.eye(len(hessian))).min() > 0


@pytest.mark.parametrize("name", ["newton", "newton_cg"])
def test_newton_methods_descend_where_the_hessian_is_indefinite(name):
    # Himmelblau's Hessian is indefinite near (0, 0); the pure step would climb to its maximum
    objective = optbench.objective("himmelblau")
    optimizer = optbench.optimizer(name)
    result = optbench.solve(objective, optimizer, optbench.backend("torch"), x0=[-0.3, -0.9],
                            stop=optbench.StopRules(max_iter=40))
    assert np.linalg.eigvalsh(objective_hessian(objective, [-0.3, -0.9])).min() < 0
    values = [row["f"] for row in result.trace]
    assert all(later <= earlier for earlier, later in zip(values, values[1:]))
    assert result.trace[-1]["f"] < 1e-12  # one of the four minima, all with f = 0


def objective_hessian(objective, x):
    return torch.autograd.functional.hessian(objective, torch.tensor(x, dtype=torch.float64)).numpy()


@pytest.mark.parametrize("feasible_set", PROJECTIONS)
def test_projection_is_feasible_idempotent_and_optimal(feasible_set):
    params = {"lower": -0.5, "upper": 0.7, "radius": 1.5}
    project = PROJECTIONS[feasible_set]
    xp = optbench.namespace(np.zeros(1))
    rng = np.random.default_rng(0)
    for x in 2.0 * rng.standard_normal((20, 5)):
        y = project(xp, x, params)
        np.testing.assert_allclose(project(xp, y, params), y, atol=1e-12)
        others = [project(xp, z, params) for z in 3.0 * rng.standard_normal((20, 5))]
        # the variational inequality that characterises the Euclidean projection onto a convex set
        assert all((x - y) @ (z - y) <= 1e-10 for z in others)
        if feasible_set == "simplex":
            assert y.min() >= 0 and y.sum() == pytest.approx(1.5)
        elif feasible_set == "ball":
            assert np.linalg.norm(y) <= 1.5 + 1e-12
        else:
            assert y.min() >= -0.5 and y.max() <= 0.7


@pytest.mark.parametrize("feasible_set", PROJECTIONS)
def test_projected_gd_on_torch_reaches_the_constrained_fixed_point(feasible_set):
    objective = optbench.objective("quadratic", n=5, cond=4.0)
    optimizer = optbench.optimizer("projected_gd", set=feasible_set, step=0.2, lower=-0.3, upper=0.3, radius=0.5)
    result = optbench.solve(objective, optimizer, optbench.backend("torch"), stop=optbench.StopRules(max_iter=400))
    x = torch.tensor(result.x)
    step = torch.tensor(result.x - 0.2 * (objective.A @ result.x + objective.b))
    np.testing.assert_allclose(optimizer.project(step).numpy(), x.numpy(), atol=1e-9)
