"""``torch.optim`` optimizers, step-wise: one ``step(closure)`` of the library per iteration.

torch.optim hands control back after every step, so it uses the step-wise contract. It runs
natively on the torch backend's tensors (CPU and CUDA): the iterate is a leaf tensor the
library updates in place, and the closure puts the oracle's gradient (counted) in ``.grad``.
Other backends are skipped: converting every iterate would charge torch for a copy it never
makes when used directly.
"""
from __future__ import annotations

import inspect

from optbench import CapabilityError, Optimizer, Param, ParameterError

from .options import check_option_names

ONE_ITERATION_PER_STEP = {"LBFGS": {"max_iter": 1}}  # so that a trace row is one L-BFGS iteration
USES_LOSS = ("LBFGS",)  # the others only return the closure's value, so theirs asks for the gradient alone


class TorchOptim(Optimizer):
    """torch.optim: any of its optimizers with its keyword arguments, on the torch backend's tensors."""

    name = "torch_optim"
    params = {
        "algorithm": Param(str, "Adam", "a torch.optim optimizer class, e.g. SGD, Adam, LBFGS"),
        "options": Param(dict, {}, "its keyword arguments (a table), checked against its signature; "
                                   "LBFGS's max_iter defaults to 1 here"),
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
        at = self.x  # the trace has just evaluated this iterate: the oracle's cache answers the first call

        def closure():
            nonlocal at
            x, at = (self.leaf.detach() if at is None else at), None
            if not self.uses_loss:  # counted as the built-in optimizers count: a gradient, no f
                self.leaf.grad = oracle.grad(x)
                return None
            value, self.leaf.grad = oracle.value_and_grad(x)
            return value

        self.library.step(closure)
        self.x = self.leaf.detach()  # a new view: the oracle never mistakes it for an older iterate
        return self.x


def algorithms() -> list[str]:
    """The optimizer classes torch.optim offers."""
    import torch

    return sorted(name for name, value in vars(torch.optim).items() if isinstance(value, type)
                  and issubclass(value, torch.optim.Optimizer) and value is not torch.optim.Optimizer)
