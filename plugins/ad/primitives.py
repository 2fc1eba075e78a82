"""The primitives the native engines differentiate: one list, one rule table per engine.

Each engine (forward-mode ``dual``, reverse-mode ``tape``) has a table keyed by these names;
``test_rule_table_covers_the_primitives_exactly`` in ``tests/test_dual.py`` and
``tests/test_tape_rules.py`` checks that both tables cover the list exactly. A primitive's
value is always computed by the storage namespace's function of the same name (NumPy or
torch through ``array_api_compat``), so only derivative rules differ between engines.

Conventions at non-differentiable points follow torch:

* ``abs``: derivative ``sign(x)``, so 0 at 0; ``sign``: derivative 0 everywhere.
* ``sqrt``: derivative ``1/(2 sqrt x)``, so ``inf`` at 0.
* ``maximum``/``minimum``: on ties each argument gets half the derivative.
* ``max``/``min`` reductions: on ties the derivative is shared evenly among the tied entries.
* ``clip``: derivative 1 where ``min <= x <= max`` (bounds included), 0 outside.
* ``pow(x, y)``: the ``y`` derivative ``x**y * log(x)`` is taken as 0 where ``x == 0``.
"""
from __future__ import annotations

UNARY = (
    "negative", "positive", "abs", "sign", "sqrt", "square", "exp", "expm1", "log", "log1p",
    "sin", "cos", "tan", "tanh", "sinh", "cosh", "atan",
)
BINARY = ("add", "subtract", "multiply", "divide", "pow", "maximum", "minimum", "logaddexp")
# (x, /, *, axis=None, keepdims=False)
REDUCTIONS = ("sum", "mean", "prod", "max", "min")
LINEAR_ALGEBRA = ("matmul", "vecdot", "tensordot", "matrix_transpose")
# getitem is x[key]; take(x, indices, /, *, axis=None) gathers along one axis by a plain integer
# array (the standard's form of x[..., indices, ...]); astype changes the dtype (derivative: identity, cast)
SHAPE = ("reshape", "expand_dims", "squeeze", "broadcast_to", "stack", "concat", "getitem", "take", "astype")
SELECTION = ("where", "clip")

PRIMITIVES = UNARY + BINARY + REDUCTIONS + LINEAR_ALGEBRA + SHAPE + SELECTION

# Computed on the innermost primal values; the result is a plain storage array (no derivative).
NON_DIFFERENTIABLE = (
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "isfinite", "isnan", "isinf", "logical_and", "logical_or", "logical_not",
    "argmax", "argmin", "any", "all",
    "floor",  # a step function: derivative 0 almost everywhere (COCO's rounding in bbob f7, f23)
)

# Taken from the storage namespace unchanged (constructors, dtypes, constants).
PASSTHROUGH = (
    "zeros", "ones", "full", "eye", "arange", "linspace", "empty",
    "float32", "float64", "int32", "int64", "bool", "pi", "e", "inf", "nan", "newaxis",
    "finfo", "iinfo", "isdtype", "result_type",
)
