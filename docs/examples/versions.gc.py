# One hidden unit, h reassigned as a notebook writes it: h = w*x, then h = np.tanh(h).
import numpy as np
x = 0.5
w = 1.5
b = -0.2

h = w*x
h += b
h = np.tanh(h)
loss = (h - 1)**2

dloss = 1
dh = 2*(h - 1)*dloss
dh = dh*(1 - h)          # back through h = np.tanh(h): the derivative of tanh is 1 - h**2
db = dh
dw = x*dh
dx = w*dh
