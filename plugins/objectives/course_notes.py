"""The functions of the course notes, with the notes' starting points."""
from __future__ import annotations

import numpy as np

import optbench
from optbench import Objective, Param


class AbsQuadratic(Objective):
    """|x| + (x - 5)^2: convex, non-smooth at 0; the notes' first gradient-descent example."""

    name = "abs_quadratic"
    dim_range = (1, 1)
    default_dim = 1
    convex, smooth = True, False

    def __call__(self, x):
        xp = optbench.namespace(x)
        return xp.sum(xp.abs(x) + (x - 5.0) ** 2)

    def x0(self, seed=0):
        return np.zeros(1)  # the notes start at 0

    @property
    def minimizer(self):
        return np.array([4.5])  # 1 + 2(x - 5) = 0

    @property
    def mu(self):
        return 2.0


class XCos4x(Objective):
    """x cos(4x) + 2|x|: non-convex, many local minima; global minimum 0 at x = 0."""

    name = "xcos4x"
    dim_range = (1, 1)
    default_dim = 1
    convex, smooth = False, False

    def __call__(self, x):
        xp = optbench.namespace(x)
        return xp.sum(x * xp.cos(4.0 * x) + 2.0 * xp.abs(x))

    def x0(self, seed=0):
        return np.array([-3.5])  # the notes' first start

    @property
    def minimizer(self):
        return np.zeros(1)  # f(x) >= -|x| + 2|x| = |x| >= 0 = f(0)


class ADExample(Objective):
    """ln x1 + x1 x2 - sin x2: the notes' forward/reverse-mode example, evaluated at (2, 5).

    Unbounded below (ln x1 -> -inf as x1 -> 0+), so it has no minimiser.
    """

    name = "ad_example"
    dim_range = (2, 2)
    default_dim = 2
    convex, smooth = False, True

    def __call__(self, x):
        xp = optbench.namespace(x)
        return xp.log(x[0]) + x[0] * x[1] - xp.sin(x[1])

    def x0(self, seed=0):
        return np.array([2.0, 5.0])


class MeanLogPlusLinear(Objective):
    """mean(log(x^2 + 1) + 5x): the notes' autograd example at x = (0, 1, ..., n-1).

    Unbounded below (the linear term wins), so it has no minimiser.
    """

    name = "mean_log_plus_linear"
    default_dim = 5
    convex, smooth = False, True

    def __call__(self, x):
        xp = optbench.namespace(x)
        return xp.mean(xp.log(x**2 + 1.0) + 5.0 * x)

    def x0(self, seed=0):
        return np.arange(self.n, dtype=np.float64)


class SumOfSquares(Objective):
    """x1^2 + ... + xn^2: the notes' backward() example at (5, 2)."""

    name = "sum_of_squares"
    convex, smooth = True, True

    def __call__(self, x):
        xp = optbench.namespace(x)
        return xp.sum(x * x)

    def x0(self, seed=0):
        if self.n == 2:
            return np.array([5.0, 2.0])  # the notes' point
        return np.random.default_rng(seed).standard_normal(self.n)

    @property
    def minimizer(self):
        return np.zeros(self.n)

    @property
    def L(self):
        return 2.0

    @property
    def mu(self):
        return 2.0


class Tanh(Objective):
    """sum(tanh(x)): vanishing gradients; from x = 4 the derivative is 1 - tanh(4)^2 = 0.0013.

    Bounded below by -n but the infimum is not attained, so it has no minimiser.
    """

    name = "tanh"
    default_dim = 1
    convex, smooth = False, True

    def __call__(self, x):
        xp = optbench.namespace(x)
        return xp.sum(xp.tanh(x))

    def x0(self, seed=0):
        return np.full(self.n, 4.0)  # the notes' start


class Quadratic(Objective):
    """1/2 x^T A x + b^T x + c with a prescribed spectrum: condition number ``cond``, mu = 1.

    ``A = Q diag(lambda) Q^T`` with eigenvalues from 1 to ``cond`` (spaced by ``spectrum``;
    A and b divided by cond with ``normalize``) and a seeded random rotation ``Q`` (``rotate=false``
    keeps A diagonal).
    """

    name = "quadratic"
    default_dim = 10
    convex, smooth = True, True
    params = {
        "cond": Param(float, 10.0, "condition number L/mu (largest/smallest eigenvalue)", ge=1.0),
        "spectrum": Param(str, "log", "eigenvalue spacing between 1 and cond",
                          choices=("log", "linear", "two")),
        "rotate": Param(bool, True, "apply a seeded random rotation (else A is diagonal)"),
        "seed": Param(int, 0, "seed of the rotation and of b", ge=0),
        "c": Param(float, 0.0, "constant term"),
        "normalize": Param(bool, False, "divide A and b by cond (L = 1, mu = 1/cond, the same minimiser), so "
                                        "one step size 1/L = 1 fits every cond of a family"),
    }

    def setup(self):
        p, n = self.p, self.n
        if n == 1 and p["cond"] != 1.0:
            raise optbench.ParameterError("objective 'quadratic': n = 1 admits only cond = 1")
        rng = np.random.default_rng(p["seed"])
        scale = p["cond"] if p["normalize"] else 1.0
        self.eigenvalues = eigenvalues(n, p["cond"], p["spectrum"]) / scale
        if p["rotate"]:
            q, r = np.linalg.qr(rng.standard_normal((n, n)))
            q *= np.sign(np.diag(r))  # a uniformly distributed rotation
            self.A = (q * self.eigenvalues) @ q.T
            self.A = 0.5 * (self.A + self.A.T)
        else:
            self.A = np.diag(self.eigenvalues)
        self.b = rng.standard_normal(n) / scale
        self.x_star = -np.linalg.solve(self.A, self.b)

    def __call__(self, x):
        xp = optbench.namespace(x)
        A, b = self.constant("A", self.A, x), self.constant("b", self.b, x)
        return 0.5 * xp.sum(x * (A @ x)) + xp.sum(b * x) + self.p["c"]

    def x0(self, seed=0):
        return self.x_star + np.random.default_rng(seed + 1).standard_normal(self.n)

    @property
    def minimizer(self):
        return self.x_star

    @property
    def minimum(self):
        return float(-0.5 * self.b @ np.linalg.solve(self.A, self.b) + self.p["c"])

    @property
    def L(self):
        return float(self.eigenvalues[-1])

    @property
    def mu(self):
        return float(self.eigenvalues[0])


class UnitCircle(Objective):
    """f(x) = ||x - p||^2 on the unit circle, solved as g(theta) = f([cos theta, sin theta]).

    The notes' reparameterisation of a constrained problem: the constrained minimiser is
    p / ||p||, i.e. theta* = atan2(p_y, p_x), with minimum (||p|| - 1)^2.
    """

    name = "unit_circle"
    dim_range = (1, 1)
    default_dim = 1
    convex, smooth = False, True
    params = {
        "px": Param(float, 2.0, "x coordinate of the point p whose distance is minimised"),
        "py": Param(float, 1.0, "y coordinate of the point p"),
    }

    def setup(self):
        self.point = np.array([self.p["px"], self.p["py"]])
        if not np.any(self.point):
            raise optbench.ParameterError("objective 'unit_circle': the point p = (px, py) must not be 0")
        self.theta_star = float(np.arctan2(self.point[1], self.point[0]))

    def __call__(self, x):
        xp = optbench.namespace(x)
        on_circle = xp.concat([xp.cos(x), xp.sin(x)])
        return xp.sum((on_circle - self.constant("p", self.point, x)) ** 2)

    def x0(self, seed=0):
        # within (theta* - pi, theta* + pi), where g decreases monotonically towards theta*
        return np.array([self.theta_star + 0.9 * np.pi * np.random.default_rng(seed).uniform(-1, 1)])

    @property
    def minimizer(self):
        return np.array([self.theta_star])  # unique modulo 2 pi

    @property
    def minimum(self):
        return float((np.linalg.norm(self.point) - 1.0) ** 2)

    @property
    def L(self):
        return 2.0 * float(np.linalg.norm(self.point))  # g'' = 2 ||p|| cos(theta - theta*)

    def circle_point(self, theta) -> np.ndarray:
        """The point of the unit circle that ``theta`` stands for, the original problem's x."""
        theta = float(np.asarray(theta).reshape(-1)[0])
        return np.array([np.cos(theta), np.sin(theta)])


class LinearRegression(Objective):
    """Mean squared error (1/m) ||X w - y||^2 of linear regression on seeded synthetic data.

    ``X`` is m x n standard normal, ``y = X w_true + noise * e`` with ``w_true`` and ``e``
    standard normal; the minimiser is the least-squares solution.
    """

    name = "linear_regression"
    default_dim = 5
    convex, smooth = True, True
    params = {
        "samples": Param(int, 100, "number m of samples (rows of X)", ge=1),
        "noise": Param(float, 0.1, "standard deviation of the label noise", ge=0.0),
        "seed": Param(int, 0, "seed of the data", ge=0),
    }

    def setup(self):
        rng = np.random.default_rng(self.p["seed"])
        self.X = rng.standard_normal((self.p["samples"], self.n))
        self.w_true = rng.standard_normal(self.n)
        self.y = self.X @ self.w_true + self.p["noise"] * rng.standard_normal(self.p["samples"])
        self.curvatures = 2.0 * np.linalg.eigvalsh(self.X.T @ self.X) / self.p["samples"]

    def __call__(self, w):
        xp = optbench.namespace(w)
        residual = self.constant("X", self.X, w) @ w - self.constant("y", self.y, w)
        return xp.mean(residual**2)

    @property
    def minimizer(self):
        return np.linalg.lstsq(self.X, self.y, rcond=None)[0]

    @property
    def L(self):
        return float(self.curvatures[-1])

    @property
    def mu(self):
        return max(float(self.curvatures[0]), 0.0)


def eigenvalues(n: int, cond: float, spectrum: str) -> np.ndarray:
    """n eigenvalues from 1 to ``cond`` inclusive, spaced as asked, ascending."""
    if n == 1:
        return np.ones(1)
    if spectrum == "linear":
        return np.linspace(1.0, cond, n)
    if spectrum == "log":
        return np.geomspace(1.0, cond, n)
    return np.where(np.arange(n) < n // 2, 1.0, cond)  # "two": a two-cluster spectrum


COURSE_NOTES = (AbsQuadratic, XCos4x, ADExample, MeanLogPlusLinear, SumOfSquares, Tanh, Quadratic,
                UnitCircle, LinearRegression)
