"""Adaptive per-coordinate step sizes: Adagrad, RMSProp and Adam, as torch.optim defines them."""
from __future__ import annotations

import math

from optbench import Optimizer, Param


def eps_param(default: float) -> Param:
    return Param(float, default, "added to the denominator, so a zero gradient never divides by 0", gt=0.0)


class Adagrad(Optimizer):
    """Adagrad: G += g^2, x <- x - step g / (sqrt(G) + eps)."""

    name = "adagrad"
    params = {"step": Param(float, 0.01, "step size (learning rate)", gt=0.0), "eps": eps_param(1e-10)}

    def init(self, oracle, x0):
        self.x, self.sum_squares = x0, self.xp.zeros_like(x0)

    def step(self, oracle):
        g = oracle.grad(self.x)
        self.sum_squares = self.sum_squares + g * g
        self.x = self.x - self.p["step"] * g / (self.xp.sqrt(self.sum_squares) + self.p["eps"])
        return self.x


class RMSProp(Optimizer):
    """RMSProp: v <- decay v + (1 - decay) g^2, x <- x - step g / (sqrt(v) + eps)."""

    name = "rmsprop"
    params = {
        "step": Param(float, 0.01, "step size (learning rate)", gt=0.0),
        "decay": Param(float, 0.99, "decay rate of the running mean of g^2", ge=0.0, lt=1.0),
        "eps": eps_param(1e-8),
    }

    def init(self, oracle, x0):
        self.x, self.mean_square = x0, self.xp.zeros_like(x0)

    def step(self, oracle):
        g, decay = oracle.grad(self.x), self.p["decay"]
        self.mean_square = decay * self.mean_square + (1.0 - decay) * g * g
        self.x = self.x - self.p["step"] * g / (self.xp.sqrt(self.mean_square) + self.p["eps"])
        return self.x


class Adam(Optimizer):
    """Adam: bias-corrected running means m of g and v of g^2, x <- x - step m^ / (sqrt(v^) + eps)."""

    name = "adam"
    params = {
        "step": Param(float, 1e-3, "step size (learning rate)", gt=0.0),
        "beta1": Param(float, 0.9, "decay rate of the running mean of g", ge=0.0, lt=1.0),
        "beta2": Param(float, 0.999, "decay rate of the running mean of g^2", ge=0.0, lt=1.0),
        "eps": eps_param(1e-8),
    }

    def init(self, oracle, x0):
        self.x, self.t = x0, 0
        self.mean, self.mean_square = self.xp.zeros_like(x0), self.xp.zeros_like(x0)

    def step(self, oracle):
        p, g = self.p, oracle.grad(self.x)
        self.t += 1
        self.mean = p["beta1"] * self.mean + (1.0 - p["beta1"]) * g
        self.mean_square = p["beta2"] * self.mean_square + (1.0 - p["beta2"]) * g * g
        # torch.optim.Adam's arithmetic order, so the iterates match it to rounding
        rate = p["step"] / (1.0 - p["beta1"] ** self.t)
        denominator = self.xp.sqrt(self.mean_square) / math.sqrt(1.0 - p["beta2"] ** self.t) + p["eps"]
        self.x = self.x - rate * self.mean / denominator
        return self.x


ADAPTIVE = (Adagrad, RMSProp, Adam)
