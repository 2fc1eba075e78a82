"""L2-regularised logistic regression, the same function as optbench's ``logistic_regression``."""
import numpy as np
from benchopt import BaseObjective


class Objective(BaseObjective):
    name = "logistic_regression_l2"
    min_benchopt_version = "1.5"
    parameters = {"reg": [1e-2]}

    def set_data(self, X, y, w0):
        self.X, self.y, self.w0 = X, y, w0

    def get_objective(self):
        return dict(X=self.X, y=self.y, reg=self.reg, w0=self.w0)

    def evaluate_result(self, w):
        margins = self.y * (self.X @ w)
        return dict(value=float(np.mean(np.logaddexp(0.0, -margins)) + 0.5 * self.reg * w @ w))

    def get_one_result(self):
        return dict(w=np.zeros(self.X.shape[1]))
