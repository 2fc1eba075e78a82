"""Learning problems on the real data sets that ship inside scikit-learn; nothing is downloaded.

breast_cancer (569 x 30, 2 classes), digits (1797 x 64, 10), wine (178 x 13, 3) and iris
(150 x 4, 3), each feature standardised to mean 0 and variance 1 (constant pixels of digits
stay 0), with an intercept column of ones. Logistic regression separates the first class from
the rest; softmax regression and a one-hidden-layer tanh MLP classify all classes. Every loss
is a mean over the samples plus an L2 term ``l2``/2 ||w||^2 on all weights (intercepts too).

scikit-learn is an optional dependency (``pip install 'optbench[sklearn]'``): without it the
objectives stay registered and raise :class:`~optbench.CapabilityError` when built, so suite
cells on them are ``skipped`` with that reason.
"""
from __future__ import annotations

import numpy as np

import optbench
from optbench import CapabilityError, Objective, Param

from .convex import LogisticRegression, SoftmaxRegression, logsumexp

DATASETS = {"breast_cancer": (30, 2), "digits": (64, 10), "wine": (13, 3), "iris": (4, 3)}  # features, classes
SKLEARN_MISSING = "needs scikit-learn for its bundled data sets: pip install 'optbench[sklearn]'"


def load(dataset: str, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """Standardised features with an intercept column, and integer labels, of a bundled data set."""
    try:
        from sklearn import datasets
    except ImportError:
        raise CapabilityError(f"{owner} {SKLEARN_MISSING}") from None
    bunch = getattr(datasets, f"load_{dataset}")()
    features = np.asarray(bunch.data, dtype=np.float64)
    spread = features.std(axis=0)
    standardised = (features - features.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return np.hstack([standardised, np.ones((len(features), 1))]), np.asarray(bunch.target)


class RealData:
    """Mixin: the dimension n follows from the data set (and the model); give it or leave it out."""

    @classmethod
    def dimension(cls, params):
        features, classes = DATASETS[params["dataset"]]
        return cls.weights(features + 1, classes, params)

    @staticmethod
    def weights(inputs: int, classes: int, params: dict) -> int:
        """The number of weights for ``inputs`` features (intercept included) and ``classes``."""
        raise NotImplementedError

    def setup(self):
        self.X, self.labels = load(self.p["dataset"], f"objective {self.name!r}")
        self.classes = DATASETS[self.p["dataset"]][1]
        self.onehot = np.eye(self.classes)[self.labels]
        self.features = self.X.shape[1]

    @property
    def reg(self) -> float:
        return self.p["l2"]


DATASET = Param(str, "breast_cancer", "scikit-learn's bundled data set", choices=tuple(DATASETS))
L2 = Param(float, 1e-3, "weight lambda of the L2 term lambda/2 ||w||^2 (the strong-convexity constant)", gt=0.0)


class RealLogisticRegression(RealData, LogisticRegression):
    """Logistic regression, the data set's first class against the rest: convex, smooth, mu = l2."""

    name = "real_logistic_regression"
    params = {"dataset": DATASET, "l2": L2}

    @staticmethod
    def weights(inputs, classes, params):
        return inputs

    def setup(self):
        super().setup()
        self.y = np.where(self.labels == 0, 1.0, -1.0)


class RealSoftmaxRegression(RealData, SoftmaxRegression):
    """Softmax (multinomial logistic) regression over all classes; n = (features + 1) classes."""

    name = "real_softmax_regression"
    params = {"dataset": DATASET, "l2": L2}

    @staticmethod
    def weights(inputs, classes, params):
        return inputs * classes


class RealMlp(RealData, Objective):
    """A one-hidden-layer tanh network with a softmax output, cross-entropy loss: smooth, non-convex.

    Weights, flattened: W1 ((features + 1) x hidden, the last row the hidden biases), then W2
    ((hidden + 1) x classes, the last row the output biases). Seeded starts are Glorot-scaled
    Gaussians with zero biases.
    """

    name = "real_mlp"
    convex, smooth = False, True
    params = {"dataset": DATASET, "hidden": Param(int, 16, "number of hidden tanh units", ge=1),
              "l2": Param(float, 1e-4, "weight lambda of the L2 term lambda/2 ||w||^2", ge=0.0)}

    @staticmethod
    def weights(inputs, classes, params):
        hidden = params["hidden"]
        return inputs * hidden + (hidden + 1) * classes

    def __call__(self, w):
        xp = optbench.namespace(w)
        hidden, classes = self.p["hidden"], self.classes
        split = self.features * hidden
        first = xp.reshape(w[:split], (self.features, hidden))
        second = xp.reshape(w[split:], (hidden + 1, classes))
        activations = xp.tanh(self.constant("X", self.X, w) @ first)
        scores = activations @ second[:hidden, :] + second[hidden, :]
        true_scores = xp.sum(self.constant("onehot", self.onehot, w) * scores, axis=1)
        return xp.mean(logsumexp(xp, scores) - true_scores) + 0.5 * self.reg * xp.sum(w * w)

    def x0(self, seed=0):
        rng = np.random.default_rng(seed)
        hidden = self.p["hidden"]
        first = rng.standard_normal((self.features, hidden)) / np.sqrt(self.features)
        first[-1] = 0.0
        second = rng.standard_normal((hidden + 1, self.classes)) / np.sqrt(hidden)
        second[-1] = 0.0
        return np.concatenate([first.ravel(), second.ravel()])


REAL_DATA = (RealLogisticRegression, RealSoftmaxRegression, RealMlp)
