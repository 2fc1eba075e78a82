"""``torch.optim`` optimizers, step-wise: one ``step(closure)`` of the library per iteration.

torch.optim hands control back after every step, so it uses the step-wise contract. It runs
natively on the torch backend's tensors (CPU and CUDA): the iterate is a leaf tensor the
library updates in place, and the closure puts the oracle's gradient (counted) in ``.grad``.
Other backends are skipped: converting every iterate would charge torch for a copy it never
makes when used directly.
"""
from __future__ import annotations

import inspect

from optbench import CapabilityError, Converged, Optimizer, Param, ParameterError, Stalled

from .options import check_option_names

# A trace row is one L-BFGS iteration; max_eval keeps the 24 line-search trials torch's defaults give
# (it derives max_eval = max_iter * 5 // 4, which at max_iter = 1 would leave its line search none).
ONE_ITERATION_PER_STEP = {"LBFGS": {"max_iter": 1, "max_eval": 25}}
# LBFGS uses the closure's value (the others only return it, so theirs asks for the gradient alone),
# and once its own tests hold it stops moving: a step that leaves x unchanged ends the run.
USES_LOSS = ("LBFGS",)


class TorchOptim(Optimizer):
    """torch.optim: any of its optimizers with its keyword arguments, on the torch backend's tensors."""

    name = "torch_optim"
    params = {
        "algorithm": Param(str, "Adam", "a torch.optim optimizer class, e.g. SGD, Adam, LBFGS"),
        "options": Param(dict, {}, "its keyword arguments (a table), checked against its signature; "
                                   "LBFGS's max_iter defaults to 1 here (max_eval to 25)"),
    }

    def validate(self):
        import torch

        algorithm, options = self.p["algorithm"], self.p["options"]
        self.library_class = getattr(torch.optim, algorithm, None)
        if not (isinstance(self.library_class, type) and issubclass(self.library_class, torch.optim.Optimizer)):
            raise ParameterError(f"optimizer 'torch_optim': torch.optim has no optimizer {algorithm!r}; "
                                 f"it has: {', '.join(algorithms())}")
        accepted = [name for name in inspect.signature(self.library_class).parameters if name != "params"]
        check_option_names("torch_optim", f"torch.optim.{algorithm}", options, accepted)
        self.options = {**ONE_ITERATION_PER_STEP.get(algorithm, {}), **options}
        self.uses_loss = algorithm in USES_LOSS
        try:  # torch checks values when it builds the optimizer: a bad one fails here, not mid-suite
            self.library_class([torch.zeros(1, requires_grad=True)], **self.options)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ParameterError(f"optimizer 'torch_optim': torch.optim.{algorithm} rejects its options: "
                                 f"{' '.join(str(exc).split())}") from None

    def check(self, backend):
        import torch

        if not isinstance(backend.asarray([0.0]), torch.Tensor):
            raise CapabilityError(f"torch_optim runs on torch tensors; backend {backend.name!r} does not give "
                                  "them (use backend 'torch')")
        super().check(backend)

    def init(self, oracle, x0):
        self.leaf = x0.detach().clone().requires_grad_(True)  # the tensor the library updates in place
        self.library = self.library_class([self.leaf], **self.options)
        self.x = x0

    def step(self, oracle):
        import torch

        at = self.x  # the trace has just evaluated this iterate: the oracle's cache answers the first call

        def closure():
            nonlocal at
            x, at = (self.leaf.detach() if at is None else at), None
            if not self.uses_loss:  # counted as the built-in optimizers count: a gradient, no f
                self.leaf.grad = oracle.grad(x)
                return None
            value, self.leaf.grad = oracle.value_and_grad(x)
            return value

        before = self.leaf.detach().clone() if self.uses_loss else None
        self.library.step(closure)
        self.x = self.leaf.detach()  # a new view: the oracle never mistakes it for an older iterate
        if before is not None and torch.equal(before, self.x):
            raise self.ended()
        return self.x

    def ended(self) -> Exception:
        """Why LBFGS, which stops moving once its own tests hold, did not move: converged or stalled."""
        group = self.library.param_groups[0]
        if float(self.leaf.grad.abs().max()) <= group["tolerance_grad"]:
            return Converged(f"torch.optim.LBFGS: max |grad f| <= its tolerance_grad {group['tolerance_grad']:g}")
        return Stalled(f"torch.optim.LBFGS made no progress (its tolerance_change {group['tolerance_change']:g})")


def algorithms() -> list[str]:
    """The optimizer classes torch.optim offers."""
    import torch

    return sorted(name for name, value in vars(torch.optim).items() if isinstance(value, type)
                  and issubclass(value, torch.optim.Optimizer) and value is not torch.optim.Optimizer)
