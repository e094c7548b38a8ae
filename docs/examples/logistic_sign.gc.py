# The logistic loss of one example, f = log(1 + exp(-y*w*x)), staged, then backward.
import numpy as np
x = 2.0; y = 1.0
w = -0.5

s = w * x
m = -y * s
u = np.exp(m)
f = np.log(1 + u)

du = 1 / (1 + u)
dm = du * u
ds = y * dm
dw = x * ds
