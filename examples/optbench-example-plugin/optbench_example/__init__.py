"""An example third-party optbench plugin: the Booth function, sign descent, and a
central-finite-difference backend named ``fd``."""
import numpy as np

import optbench


class Booth(optbench.Objective):
    """Booth's function (x1 + 2 x2 - 7)^2 + (2 x1 + x2 - 5)^2; minimum 0 at (1, 3)."""

    name = "booth"
    dim_range = (2, 2)
    convex, smooth = True, True

    def __call__(self, x):
        return (x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2

    @property
    def minimizer(self):
        return np.array([1.0, 3.0])


class SignDescent(optbench.Optimizer):
    """Sign gradient descent: x <- x - step * sign(grad f(x))."""

    name = "sign_descent"
    params = {"step": optbench.Param(float, 0.01, "step size", gt=0)}

    def step(self, oracle):
        self.x = self.x - self.p["step"] * self.xp.sign(oracle.grad(self.x))
        return self.x


class FiniteDifferences(optbench.Backend):
    """Central finite differences on NumPy (gradients only), float64."""

    name = "fd"
    capabilities = optbench.Capabilities(devices=("cpu",), dtypes=("float64",), max_order=1, exact=False)

    def asarray(self, data, dtype=None, device=None):
        return np.array(data, dtype=np.float64)

    def to_numpy(self, a):
        return np.asarray(a)

    def value_and_grad(self, f, x):
        x = self.asarray(x)
        h = 1e-6 * np.maximum(1.0, np.abs(x))
        steps = np.diag(h)
        g = np.array([(f(x + e) - f(x - e)) / (2 * e.sum()) for e in steps])
        return np.asarray(f(x)), g


@optbench.hookimpl
def optbench_register_objectives(register):
    register(Booth)


@optbench.hookimpl
def optbench_register_optimizers(register):
    register(SignDescent)


@optbench.hookimpl
def optbench_register_backends(register):
    register(FiniteDifferences)
