"""``tape``: optbench's native reverse-mode engine (a vectorised Wengert list, rule table,
higher order by differentiating the backward pass, graph export)."""
from .array import Tape, TapeArray, no_grad
from .backend import TapeBackend

__all__ = ["Tape", "TapeArray", "TapeBackend", "no_grad"]
