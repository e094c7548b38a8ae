"""What the language accepts: function signatures, the numpy/math spellings people paste, constants.

Signatures are syntax only (how many tensor inputs, which literal parameters); what each function
computes and its derivative live in ops/ (a test checks that both tables name the same functions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Signature:
    """How a function is called: how many tensor inputs, which literal parameters."""

    inputs: int  # tensor arguments; -1: one or more
    params: tuple[str, ...] = ()  # literal parameters after the inputs, positional or keyword; "*name" gathers the rest
    ignored: tuple[str, ...] = ()  # keywords accepted and ignored (np.array(..., dtype=float))


_UNARY = Signature(1)
_BINARY = Signature(2)
_REDUCE = Signature(1, ("axis", "keepdims"), ("dtype",))

SIGNATURES: dict[str, Signature] = {
    **{name: _UNARY for name in ("sigma", "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "relu", "abs", "sign")},
    "max": _BINARY, "min": _BINARY, "pow": _BINARY,
    "sum": _REDUCE, "mean": _REDUCE,
    "softmax": Signature(1, ("axis",)), "log_softmax": Signature(1, ("axis",)),
    "logsumexp": Signature(1, ("axis", "keepdims")),
    "matmul": _BINARY, "dot": _BINARY, "outer": _BINARY,
    "diag": _UNARY, "diagflat": _UNARY,
    "transpose": Signature(1, ("axes",)), "reshape": Signature(1, ("*shape",)),
    "array": Signature(1, (), ("dtype",)),  # np.array(x) is x itself: the parser keeps no node for it
}

# the seeds' names: `sigmoid` (cs231n), `sig` (the hacker's guide); a user's own `def sig(x)` wins over the alias
ALIASES: dict[str, str] = {"sigmoid": "sigma", "sig": "sigma", "ln": "log", "maximum": "max", "minimum": "min"}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
NAMESPACES = ("np", "numpy", "math")

# numpy's makers of constant arrays, read as numpy reads them (values: inputs/points.py); `rand(2, 3)` also works bare
_SIZE = ("dtype",)
MAKERS: dict[str, Signature] = {
    "zeros": Signature(0, ("*shape",), _SIZE), "ones": Signature(0, ("*shape",), _SIZE),
    "full": Signature(0, ("shape", "fill_value"), _SIZE), "eye": Signature(0, ("N", "M", "k"), _SIZE),
    "arange": Signature(0, ("*range",), _SIZE),
    "zeros_like": Signature(1, (), _SIZE), "ones_like": Signature(1, (), _SIZE), "full_like": Signature(1, ("fill_value",), _SIZE),
}
RANDOM: dict[str, Signature] = {  # np.random.NAME: drawn from the cell's np.random.seed (or --seed)
    "rand": Signature(0, ("*shape",)), "randn": Signature(0, ("*shape",)), "random": Signature(0, ("size",)),
    "randint": Signature(0, ("low", "high", "size"), _SIZE), "uniform": Signature(0, ("low", "high", "size")),
    "normal": Signature(0, ("loc", "scale", "size")),
}

# np.NAME / numpy.NAME / math.NAME → the language's function or constant (parsed, never executed)
QUALIFIED: dict[str, dict[str, str]] = {
    "np": {
        **{n: n for n in ("exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "abs", "sign", "sum", "mean", "dot",
                          "matmul", "outer", "diag", "diagflat", "transpose", "reshape", "array", "pi", "e")},
        "maximum": "max", "minimum": "min", "power": "pow", "absolute": "abs",
        **{n: n for n in MAKERS},
        "random.rand": "rand", "random.randn": "randn", "random.randint": "randint", "random.random": "random",
        "random.random_sample": "random", "random.uniform": "uniform", "random.normal": "normal",
    },
    "math": {n: n for n in ("exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "pi", "e")} | {"fabs": "abs"},
}
QUALIFIED["numpy"] = QUALIFIED["np"]

# X.NAME(...) methods, and X.T
METHODS = {"dot": "dot", "sum": "sum", "mean": "mean", "reshape": "reshape", "transpose": "transpose"}

# what people reach for that has a different name here, said in the error
SUGGESTIONS = {
    "max": "np.max reduces an array; for the elementwise maximum write np.maximum(a, b) or max(a, b)",
    "min": "np.min reduces an array; for the elementwise minimum write np.minimum(a, b) or min(a, b)",
    "square": "write x**2",
    "expit": "write sigma(x)",
    "sigmoid": "write sigma(x)",
    "log1p": "write log(1 + x)",
    "expm1": "write exp(x) - 1",
}
