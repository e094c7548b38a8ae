# f = tanh(w*x) + x**2: x is used twice, so dx needs a contribution from each use.
import numpy as np
x = 1.5; w = -2.0

q = w * x
f = np.tanh(q) + x**2

dq = 1 - np.tanh(q)**2
dw = x * dq
dx = w * dq
