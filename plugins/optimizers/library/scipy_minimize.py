"""``scipy.optimize.minimize`` as a loop-owning optimizer, with f and derivatives from the cell's backend.

scipy runs its own loop in NumPy float64; each evaluation converts the iterate to the backend's
array (dtype and device of x0), asks optbench's oracle (counted) and converts the answer back.
Those conversions are part of using scipy with that backend, so they are charged to it.
"""
from __future__ import annotations

import re
import warnings
from types import SimpleNamespace

import numpy as np

from optbench import CapabilityError, LibraryStop, LoopOwningOptimizer, Param, ParameterError

from .arrays import numpy_bridge
from .options import require_library, unknown_option

# method -> the oracle methods its derivatives come from (f alone for the derivative-free ones)
METHODS = {
    "Nelder-Mead": (), "Powell": (), "COBYLA": (), "COBYQA": (),
    "CG": ("grad",), "BFGS": ("grad",), "L-BFGS-B": ("grad",), "TNC": ("grad",), "SLSQP": ("grad",),
    "Newton-CG": ("grad", "hvp"), "trust-ncg": ("grad", "hvp"), "trust-krylov": ("grad", "hvp"),
    "trust-constr": ("grad", "hvp"), "dogleg": ("grad", "hessian"), "trust-exact": ("grad", "hessian"),
}
BOUNDED = ("Nelder-Mead", "Powell", "L-BFGS-B", "TNC", "SLSQP", "trust-constr", "COBYLA", "COBYQA")
COUNTERS = ("nit", "nfev", "njev", "nhev")  # what OptimizeResult reports of itself, where it does


class _Halt(Exception):
    """Ends TNC's loop, whose callback cannot stop it with ``StopIteration`` (scipy 1.17)."""


class ScipyMinimize(LoopOwningOptimizer):
    """scipy.optimize.minimize: any method for unconstrained or box-constrained problems, its own loop."""

    name = "scipy"
    needs = ("grad",)  # the default method's; each method declares its own (METHODS)
    params = {
        "method": Param(str, "L-BFGS-B", "the scipy.optimize.minimize method", choices=tuple(METHODS)),
        "options": Param(dict, {}, "the method's options, passed to minimize unchanged (a table)"),
        "lower": Param(float, None, "lower bound of every coordinate (methods that take bounds); unset: none",
                       optional=True),
        "upper": Param(float, None, "upper bound of every coordinate (methods that take bounds); unset: none",
                       optional=True),
    }

    def validate(self):
        method, lower, upper = self.p["method"], self.p["lower"], self.p["upper"]
        self.needs = METHODS[method]
        if (lower is not None or upper is not None) and method not in BOUNDED:
            raise ParameterError(f"optimizer 'scipy': method {method!r} takes no bounds; these do: "
                                 f"{', '.join(BOUNDED)}")
        if lower is not None and upper is not None and lower > upper:
            raise ParameterError(f"optimizer 'scipy': lower ({lower}) must be <= upper ({upper})")
        try:
            require_library("scipy.optimize", "scipy")
        except CapabilityError:
            return  # nothing to check the options against; the run is skipped with the reason
        _check_options(method, self.p["options"])

    def check(self, backend):
        require_library("scipy.optimize", "scipy")
        super().check(backend)

    def run(self, oracle, x0, callback):
        from scipy.optimize import Bounds, minimize

        method = self.p["method"]
        to_backend, to_numpy = numpy_bridge(oracle.backend, x0)

        def on_iteration(intermediate_result):
            if callback(to_backend(intermediate_result.x, copy=True)):
                raise StopIteration

        def on_iteration_tnc(xk):
            if callback(to_backend(xk, copy=True)):
                raise _Halt

        lower, upper = self.p["lower"], self.p["upper"]
        bounds = None if lower is None and upper is None else Bounds(
            -np.inf if lower is None else lower, np.inf if upper is None else upper)
        try:
            result = minimize(x0=to_numpy(x0), method=method, options=self.p["options"], bounds=bounds,
                              callback=on_iteration_tnc if method == "TNC" else on_iteration,
                              **derivatives(oracle, method, to_backend, to_numpy))
        except _Halt:
            return LibraryStop(False, "TNC: stopped by optbench's stop rules")
        counts = {key: int(result[key]) for key in COUNTERS if key in result}
        return LibraryStop(bool(result.success), f"{method}: {result.message}", counts)


def derivatives(oracle, method: str, to_backend, to_numpy) -> dict:
    """``fun`` and, as ``method`` uses them, ``jac``, ``hessp`` or ``hess``: the oracle's, as NumPy."""
    needs = METHODS[method]
    if "grad" not in needs:
        return {"fun": lambda x: float(oracle.value(to_backend(x)))}

    def value_and_grad(x):
        value, grad = oracle.value_and_grad(to_backend(x))
        return float(value), to_numpy(grad)

    out = {"fun": value_and_grad, "jac": True}  # one backend pass gives f and its gradient
    if "hvp" in needs:
        out["hessp"] = lambda x, v: to_numpy(oracle.hvp(to_backend(x), to_backend(v)))
    if "hessian" in needs:
        out["hess"] = lambda x: to_numpy(oracle.hessian(to_backend(x)))
    return out


def _check_options(method: str, options: dict) -> None:
    """Let scipy itself judge ``options`` on a two-variable problem solved at its start.

    scipy warns about option names a method does not know (or raises a ``TypeError``) and
    raises on bad values: each becomes one :class:`ParameterError` naming the method.
    """
    from scipy.optimize import OptimizeWarning, minimize

    probe = SimpleNamespace(  # f = |x|^2 at x0 = 0: every method stops within an iteration
        value=lambda x: np.dot(x, x), value_and_grad=lambda x: (np.dot(x, x), 2 * x),
        hvp=lambda x, v: 2 * v, hessian=lambda x: 2 * np.eye(x.size))
    unknown: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OptimizeWarning)
        try:
            minimize(x0=np.zeros(2), method=method, options=options,
                     **derivatives(probe, method, np.asarray, np.asarray))
        except TypeError as exc:
            unknown = re.findall(r"unexpected keyword argument '(\w+)'", str(exc))
            if not unknown:
                raise ParameterError(f"optimizer 'scipy': method {method!r} rejects its options: {exc}") from None
        except (ValueError, ArithmeticError) as exc:
            raise ParameterError(f"optimizer 'scipy': method {method!r} rejects its options: {exc}") from None
    for warning in caught:
        text = str(warning.message)
        if text.startswith("Unknown solver options:"):
            unknown += [name.strip() for name in text.split(":", 1)[1].split(",")]
    if unknown:
        raise unknown_option("scipy", f"method {method!r}", unknown[0], option_names(method))


def option_names(method: str) -> list[str]:
    """The options ``scipy.optimize.show_options`` documents for ``method``."""
    from scipy.optimize import show_options

    lines = show_options("minimize", method, disp=False).splitlines()
    headers = [i for i, line in enumerate(lines[:-1]) if line.strip() in ("Options", "Parameters")
               and set(lines[i + 1].strip()) == {"-"}]
    start = next((i for i in headers if lines[i].strip() == "Options"), headers[0])
    indent = len(lines[start]) - len(lines[start].lstrip())
    names = []
    for line in lines[start + 2:]:
        depth = len(line) - len(line.lstrip())
        if line.strip() and depth < indent or line.strip() in ("Returns", "Notes", "References", "See Also"):
            break
        match = re.match(r"([A-Za-z_]\w*(?:, *[A-Za-z_]\w*)*) *:", line.strip())
        if match and depth == indent:
            names += [name.strip() for name in match.group(1).split(",")]
    return names
