"""scipy's L-BFGS-B with the analytic gradient, sampled by benchopt at every iteration."""
import numpy as np
from benchopt import BaseSolver
from scipy.optimize import minimize
from scipy.special import expit


class Solver(BaseSolver):
    name = "scipy-lbfgs"
    sampling_strategy = "callback"

    def set_objective(self, X, y, reg, w0):
        self.X, self.y, self.reg, self.w0 = X, y, reg, w0

    def value_and_grad(self, w):
        margins = self.y * (self.X @ w)
        value = np.mean(np.logaddexp(0.0, -margins)) + 0.5 * self.reg * w @ w
        grad = self.X.T @ (-self.y * expit(-margins)) / len(self.y) + self.reg * w
        return value, grad

    def run(self, callback):
        self.w = self.w0.copy()

        def each_iteration(w):
            self.w = w
            if not callback():
                raise StopIteration

        if callback():
            minimize(self.value_and_grad, self.w, jac=True, method="L-BFGS-B", callback=each_iteration,
                     options={"maxiter": 10_000, "gtol": 0.0, "ftol": 0.0})

    def get_result(self):
        return dict(w=self.w)
