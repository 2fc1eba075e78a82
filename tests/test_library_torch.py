"""The ``torch_optim`` optimizer: torch.optim's own step on the torch backend's tensors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import optbench
from optbench import CapabilityError, Oracle, ParameterError, StopRules, solve


def iterates(optimizer, objective, steps: int, backend="torch") -> list[np.ndarray]:
    """The first ``steps`` iterates, each copied to NumPy as it is produced."""
    backend = optbench.backend(backend)
    oracle = Oracle(objective, backend)
    x = backend.asarray(objective.x0(0))
    optimizer.start(oracle, x, seed=0)
    out = []
    for _ in range(steps):
        oracle.peek(x)  # as solve does: the trace evaluates each iterate first
        x = optimizer.step(oracle)
        out.append(backend.to_numpy(x).copy())
    return out


def test_adam_matches_the_built_in_adam():
    objective = optbench.objective("quadratic", n=10)
    hyper = {"step": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}
    library = optbench.optimizer("torch_optim", algorithm="Adam", options={
        "lr": hyper["step"], "betas": [hyper["beta1"], hyper["beta2"]], "eps": hyper["eps"]})
    np.testing.assert_allclose(iterates(library, objective, 100),
                               iterates(optbench.optimizer("adam", **hyper), objective, 100), rtol=0, atol=1e-10)


def test_sgd_with_momentum_matches_heavy_ball():
    objective = optbench.objective("quadratic", n=10)
    library = optbench.optimizer("torch_optim", algorithm="SGD", options={"lr": 0.02, "momentum": 0.9})
    built_in = optbench.optimizer("heavy_ball", step=0.02, momentum=0.9)
    np.testing.assert_allclose(iterates(library, objective, 100), iterates(built_in, objective, 100),
                               rtol=0, atol=1e-10)


@pytest.mark.parametrize("objective, line_search, lr, steps", [("quadratic", None, 0.5, 10),
                                                               ("rosenbrock", "strong_wolfe", 1.0, 30)])
def test_lbfgs_matches_torch_lbfgs_driven_directly(objective, line_search, lr, steps):
    objective = optbench.objective(objective, n=10)
    options = {"lr": lr, "history_size": 5, "line_search_fn": line_search}
    leaf = torch.tensor(objective.x0(0), requires_grad=True)
    direct = torch.optim.LBFGS([leaf], max_iter=1, max_eval=25, **options)

    def closure():
        direct.zero_grad()
        value = objective(leaf)
        value.backward()
        return value

    expected = []
    for _ in range(steps):
        direct.step(closure)
        expected.append(leaf.detach().numpy().copy())
    library = optbench.optimizer("torch_optim", algorithm="LBFGS", options=options)
    np.testing.assert_allclose(iterates(library, objective, steps), expected, rtol=1e-12, atol=1e-12)
    assert float(objective(leaf.detach())) < 0.1 * float(objective(objective.x0(0)))  # it moved


def test_lbfgs_with_its_line_search_keeps_torchs_trial_budget_at_one_iteration_per_step():
    objective = optbench.objective("rosenbrock", n=2)
    result = solve(objective, optbench.optimizer("torch_optim", algorithm="LBFGS",
                                                 options={"line_search_fn": "strong_wolfe"}),
                   optbench.backend("torch"), stop=StopRules(max_iter=100, tol_grad=1e-6))
    assert result.status == "stopped" and "no progress (its tolerance_change 1e-09)" in result.reason
    assert result.f < 1e-9 and result.iterations < 50  # it ends when torch stops moving, not at max_iter


def test_a_trace_row_is_one_step_and_the_oracle_counts_the_closure_calls():
    objective = optbench.objective("rosenbrock", n=10)
    result = solve(objective, optbench.optimizer("torch_optim", algorithm="LBFGS",
                                                 options={"line_search_fn": "strong_wolfe"}),
                   optbench.backend("torch"), stop=StopRules(max_iter=40))
    assert result.status == "max_iter" and len(result.trace) == 41
    assert result.trace[-1]["ngev"] > 40  # the line search evaluates more than once per iteration
    assert result.trace[-1]["f"] < 1e-2 * result.trace[0]["f"]


@pytest.mark.parametrize("algorithm, options", [
    ("Adam", {}), ("AdamW", {"lr": 0.01}), ("NAdam", {}), ("RAdam", {}), ("Adamax", {}), ("RMSprop", {}),
    ("Adagrad", {}), ("Adadelta", {}), ("Rprop", {}), ("ASGD", {}), ("SGD", {"lr": 1e-3, "nesterov": True,
                                                                             "momentum": 0.9})])
def test_every_listed_algorithm_decreases_f(algorithm, options):
    result = solve(optbench.objective("quadratic", n=5), optbench.optimizer(
        "torch_optim", algorithm=algorithm, options=options), optbench.backend("torch"), stop=StopRules(max_iter=50))
    assert result.status == "max_iter" and result.trace[-1]["f"] < result.trace[0]["f"]


def test_float32_and_the_iterate_stays_a_tensor_of_the_cells_dtype():
    result = solve(optbench.objective("quadratic", n=5), optbench.optimizer("torch_optim", algorithm="Adam",
                                                                            options={"lr": 0.1}),
                   optbench.backend("torch"), dtype="float32", stop=StopRules(max_iter=20))
    assert result.status == "max_iter" and result.trace[-1]["f"] < result.trace[0]["f"]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU: CUDA is not available")
def test_runs_on_cuda():
    result = solve(optbench.objective("quadratic", n=5), optbench.optimizer("torch_optim", algorithm="Adam",
                                                                            options={"lr": 0.1}),
                   optbench.backend("torch"), device="cuda", stop=StopRules(max_iter=20))
    assert result.status == "max_iter" and result.trace[-1]["f"] < result.trace[0]["f"]


@pytest.mark.parametrize("params, message", [
    ({"algorithm": "Adamm"}, "torch.optim has no optimizer 'Adamm'; it has: ASGD, Adadelta"),
    ({"algorithm": "SGD", "options": {"betas": [0.9, 0.99]}}, "torch.optim.SGD has no option 'betas'; it accepts: "),
    ({"algorithm": "Adam", "options": {"lr": -1.0}}, "torch.optim.Adam rejects its options: Invalid learning rate"),
])
def test_bad_algorithms_and_options_are_one_clear_error(params, message):
    with pytest.raises(ParameterError, match=message):
        optbench.optimizer("torch_optim", **params)


@pytest.mark.parametrize("backend", ["dual", "tape"])
def test_other_backends_are_skipped_with_the_reason(backend):
    with pytest.raises(CapabilityError, match=f"torch_optim runs on torch tensors; backend '{backend}'"):
        solve(optbench.objective("quadratic", n=3), optbench.optimizer("torch_optim"), optbench.backend(backend))
