"""Seed 002, Task 3: fprop/bprop as the notebook writes them (In [15], In [16]), checked by check_layer with no glue,
then a bprop whose dW1 uses the wrong cached activation (a1 where x belongs).

    python docs/examples/task3_layer.py
"""

from collections import OrderedDict

import numpy as np

from gradcheck_cli import check_layer


def relu(x):
    return np.maximum(x, 0)

def sigmoid(x):
    return (1 / (1 + np.exp(-x)))

def fprop(x, y, params):
    W1, b1, W2, b2 = [params[key] for key in ('W1', 'b1', 'W2', 'b2')]
    z1 = np.dot(W1, x) + b1
    a1 = relu(z1)
    z2 = np.dot(W2, a1) + b2
    a2 = sigmoid(z2)
    loss = -(y * np.log(a2) + (1 - y) * np.log(1 - a2))

    ret = OrderedDict({'x': x, 'y': y, 'z1': z1, 'a1': a1, 'z2': z2, 'a2': a2, 'loss': loss})
    for key in params:
        ret[key] = params[key]
    return ret

def bprop(fprop_cache):
    x, y, z1, a1, z2, a2, loss = [fprop_cache[key] for key in ('x', 'y', 'z1', 'a1', 'z2', 'a2', 'loss')]

    dz2 = (a2 - y)
    dW2 = np.dot(dz2, a1.T)
    db2 = dz2

    da1 = np.dot(fprop_cache['W2'].T, dz2)
    dz1 = da1 * (z1 > 0)
    dW1 = np.dot(dz1, x.T)
    db1 = dz1
    return OrderedDict({'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': db2})


def bprop_wrong(fprop_cache):
    grads = bprop(fprop_cache)
    dz1 = np.dot(fprop_cache['W2'].T, fprop_cache['a2'] - fprop_cache['y']) * (fprop_cache['z1'] > 0)
    grads['W1'] = np.dot(dz1, fprop_cache['a1'].T)  # a1: the layer's output, where its input x belongs
    return grads


np.random.seed(42)

W1 = np.random.rand(2, 2)
b1 = np.random.rand(2, 1)
W2 = np.random.rand(1, 2)
b2 = np.random.rand(1, 1)
params = {'W1': W1, 'b1': b1, 'W2': W2, 'b2': b2}
x = np.random.rand(2, 1)
y = np.random.randint(0, 2)

report = check_layer(fprop, bprop, {"x": x, "y": y, "params": params}, wrt=["params"])
print(report.ok, report.summary())
report = check_layer(fprop, bprop_wrong, {"x": x, "y": y, "params": params}, wrt=["params"])
print(report.text())
