"""The rules: what each operation computes and how its gradient flows back, one table passed around as a Registry.

registry.py says what an op is (forward, VJPs or local derivatives, shape rule, kink detector, domain message);
scalar.py is the gate table (one line per elementwise op), tensor.py the tensor ops (one row each). The default
registry is built here, from both tables, so neither table imports the other and registry.py imports neither.
"""

from __future__ import annotations

from .registry import Registry


def default_registry() -> Registry:
    from .scalar import SCALAR_OPS
    from .tensor import TENSOR_OPS

    return Registry({op.name: op for op in (*SCALAR_OPS, *TENSOR_OPS)})
