# Karpathy's "Hacker's guide": the neuron case, sig(a*x + b*y + c), forward then backward
def sig(x):
    return 1 / (1 + np.exp(-x))

a = 1.0; b = 2.0; c = -3.0
x = -1.0; y = 3.0

q = a*x + b*y + c
f = sig(q)
df = 1
dq = (f*(1-f))*df
da = x * dq
dx = a * dq
dy = b * dq
db = y * dq
dc = 1 * dq
