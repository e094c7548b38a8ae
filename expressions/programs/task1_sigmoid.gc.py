# Task 1 (the gradient-check notebook): f(x, w) = 1 / (1 + exp(-(w0*x + w1))), staged, then backward
import numpy as np
x = 2
w = [3, -4]

f = 1 / (1 + np.exp(-(x * w[0] + w[1])))

print('f = {}'.format(f))
a = x * w[0]
b = a + w[1]
c = -1 * b
d = np.exp(c)
e = 1 + d
f = 1 / e

print('f = {}'.format(f))
df = 1
de = -1 / e**2
dd = de * 1
dc = dd * np.exp(c)
db = dc * -1
da = db * 1

dx = da * w[0]
dw0 = da * x
dw1 = db * 1
