"""Notebook 002, Task 3: fprop and bprop of a 2-layer net, the notebook's own code, checked through the API
at the notebook's seed-42 point, and a broken bprop that gradcheck catches."""

from collections import OrderedDict

import numpy as np
import pytest

from gradcheck_cli import GradientCheckFailed, check_function


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


def broken_bprop(fprop_cache):
    grads = bprop(fprop_cache)
    grads['W1'] = np.dot(fprop_cache['a1'] - fprop_cache['y'], fprop_cache['x'].T)  # not the chain rule
    return grads


def notebook_point():
    np.random.seed(42)
    params = {'W1': np.random.rand(2, 2), 'b1': np.random.rand(2, 1), 'W2': np.random.rand(1, 2), 'b2': np.random.rand(1, 1)}
    x = np.random.rand(2, 1)
    y = np.random.randint(0, 2)
    return params, x, y


def loss_and_grad(backward):
    params, x, y = notebook_point()

    def f(W1, b1, W2, b2):
        return fprop(x, y, {'W1': W1, 'b1': b1, 'W2': W2, 'b2': b2})['loss']

    def grad(W1, b1, W2, b2):
        return dict(backward(fprop(x, y, {'W1': W1, 'b1': b1, 'W2': W2, 'b2': b2})))

    return f, grad, params


def test_bprop_is_right_at_the_notebooks_point():
    f, grad, params = loss_and_grad(bprop)
    report = check_function(f, params, grad)
    report.raise_for_status()
    assert report.cases[0].value == pytest.approx(0.25835725, abs=5e-9)  # the notebook prints [[0.25835725]]


def test_a_broken_bprop_is_caught_and_blamed_on_W1():
    f, grad, params = loss_and_grad(broken_bprop)
    report = check_function(f, params, grad)
    assert not report.ok
    statuses = {g.var: g.status for g in report.cases[0].gradients}
    assert statuses == {'W1': 'mismatch', 'b1': 'pass', 'W2': 'pass', 'b2': 'pass'}
    with pytest.raises(GradientCheckFailed, match="dW1"):
        report.raise_for_status()
