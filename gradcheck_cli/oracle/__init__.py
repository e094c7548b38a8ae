"""The independent oracle: exact derivatives from SymPy and multi-precision mpmath.

It never imports ops/, ir.py or engine.py: tensors are lowered to scalar operations by numpy's own
object-array semantics (lower.py), each scalar operation's derivative comes from `sympy.diff` of its
definition (sympy_ops.py), and values are chained in mpmath at 50 digits or more (chain.py).
"""
