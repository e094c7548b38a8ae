"""The evaluator: a Graph's values and gradients at many points at once.

engine.py is the interpreter (staged forward and backward passes over numpy arrays with a leading batch axis);
fast.py the scalar fast path (one point in Python floats, stencil rows one numpy call per gate); delta.py rows
that differ from a point in one entry; blocks.py many points a cache-sized block at a time; leaves.py what they
share; jacobian.py the Jacobian of a graph's output. None of it knows a rule: the ops come with the graph's registry.
"""
