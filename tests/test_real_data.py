"""Real-data objectives: minimisers against scikit-learn's own solvers, and skipping without it."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import optbench
from optbench.tasks import run_cell

sklearn = pytest.importorskip("sklearn", reason="scikit-learn (the real data sets) is not installed")
from sklearn.linear_model import LogisticRegression  # noqa: E402

DATASETS = ("breast_cancer", "digits", "wine", "iris")


def sklearn_weights(objective, multinomial: bool) -> np.ndarray:
    """The same L2-regularised problem solved by scikit-learn: its C is 1 / (l2 m)."""
    m = len(objective.X)
    model = LogisticRegression(C=1.0 / (objective.reg * m), fit_intercept=False, tol=1e-12, max_iter=10000)
    model.fit(objective.X, objective.labels if multinomial else (objective.y > 0))
    return model.coef_.T.ravel() if multinomial else model.coef_.ravel()


@pytest.mark.parametrize("dataset", ["breast_cancer", "wine", "iris"])
def test_logistic_minimiser_matches_scikit_learn(dataset):
    objective = optbench.objective("real_logistic_regression", dataset=dataset, l2=1e-2)
    np.testing.assert_allclose(objective.minimizer, sklearn_weights(objective, False), atol=1e-5)


@pytest.mark.parametrize("dataset", ["wine", "iris"])
def test_softmax_minimum_matches_scikit_learn(dataset):
    objective = optbench.objective("real_softmax_regression", dataset=dataset, l2=1e-2)
    theirs = sklearn_weights(objective, True)
    # the softmax is invariant to adding one vector to every class; the L2 term picks the
    # centred weights, so both solvers find the same minimiser
    np.testing.assert_allclose(objective.minimizer, theirs, atol=1e-5)
    assert float(objective(theirs)) == pytest.approx(objective.minimum, rel=1e-10)


@pytest.mark.parametrize("name", ["real_logistic_regression", "real_softmax_regression", "real_mlp"])
@pytest.mark.parametrize("dataset", DATASETS)
def test_data_are_standardised_with_an_intercept_and_n_follows(name, dataset):
    objective = optbench.objective(name, dataset=dataset)
    features = objective.X[:, :-1]
    np.testing.assert_allclose(features.mean(axis=0), 0.0, atol=1e-12)
    assert set(np.round(features.std(axis=0), 12)) <= {0.0, 1.0} and (objective.X[:, -1] == 1.0).all()
    assert objective.x0().shape == (objective.n,)
    assert optbench.objective(name, dataset=dataset, n=objective.n).n == objective.n
    with pytest.raises(optbench.ParameterError, match=f"n follows from its parameters: {objective.n}"):
        optbench.objective(name, dataset=dataset, n=objective.n + 1)


def test_mlp_gradient_matches_central_differences_and_training_fits_iris():
    optimize = pytest.importorskip("scipy.optimize")
    objective = optbench.objective("real_mlp", dataset="iris", hidden=8, l2=1e-4)
    x = objective.x0(3)

    def value_and_grad(w):
        ww = torch.tensor(w, requires_grad=True)
        value = objective(ww)
        (grad,) = torch.autograd.grad(value, ww)
        return float(value.detach()), grad.numpy()

    _, grad = value_and_grad(x)
    h = 1e-6
    differences = [(float(objective(x + h * e)) - float(objective(x - h * e))) / (2 * h) for e in np.eye(x.size)[:20]]
    np.testing.assert_allclose(grad[:20], differences, rtol=1e-5, atol=1e-9)
    fitted = optimize.minimize(value_and_grad, x, jac=True, method="L-BFGS-B", options={"maxiter": 500}).x
    split = objective.features * 8
    hidden = np.tanh(objective.X @ fitted[:split].reshape(objective.features, 8))
    second = fitted[split:].reshape(9, 3)
    accuracy = np.mean(np.argmax(hidden @ second[:8] + second[8], axis=1) == objective.labels)
    assert accuracy >= 0.97


def test_without_scikit_learn_the_objectives_are_skipped_with_the_reason(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    assert "real_mlp" in optbench.load_registry().objectives  # still registered
    with pytest.raises(optbench.CapabilityError, match=r"scikit-learn .*pip install 'optbench\[sklearn\]'"):
        optbench.objective("real_logistic_regression", dataset="iris")
    config = {"task": "optimize", "objective": {"name": "real_mlp", "params": {"dataset": "iris"}},
              "optimizer": {"name": "gd", "params": {}}, "backend": "torch", "device": "cpu", "dtype": "float64",
              "seed": 0, "repeat": 0, "stop": {"max_iter": 3}, "metrics": ["f"], "trace_every": 1}
    outcome = run_cell(config, lambda row: None)
    assert outcome.status == "skipped" and "scikit-learn" in outcome.reason
