"""The independent oracle: exact derivatives in multi-precision mpmath, formulas from SymPy.

It never imports ops/, ir.py or engine.py: tensors are lowered to scalar operations by numpy's own
object-array semantics (lower.py), each scalar operation's value and local derivatives are its own mpmath
formulas, tested against `sympy.diff` of the operation's definition (rules.py, sympy_ops.py), and values
are chained at 50 digits or more with a bound on their rounding error (chain.py, exact.py). SymPy is
imported only for a whole formula (formula.py).
"""
