"""optbench's forward-mode AD engine: vectorised tagged dual numbers, chunk mode, nesting."""
from .array import Dual, TagError
from .backend import DualBackend

__all__ = ["Dual", "DualBackend", "TagError"]
