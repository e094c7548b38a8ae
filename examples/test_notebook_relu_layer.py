"""Notebook 003 (Pujol): a linear layer with relu, its forward, backward (d output / d input) and gradient
(d output / d weights), as the notebook writes them, checked through gradcheck's Python API."""

import numpy as np
import pytest

from gradcheck_cli import GradientCheckFailed, check, check_function


class reluLayer:  # the notebook's class, unchanged but for its base class
    def __init__(self, input_dim, n_neurons):
        self.x = np.zeros((1, input_dim))
        self.z = np.zeros((1, n_neurons))
        self.w = np.random.randn(input_dim, n_neurons)
        self.y = np.zeros((1, n_neurons))

    def forward(self, x):  # evaluate the layer
        self.x = x
        self.z = np.dot(x, self.w)
        self.y = np.maximum(0, self.z)
        return self.y

    def backward(self):  # gradient with respect to the inputs
        return np.select([self.z > 0], [self.w], default=0).T

    def gradient(self):  # gradient with respect to the parameters
        dydz = np.where(self.z > 0, 1., 0.)
        return np.dot(dydz[:, np.newaxis], self.x).T


def make_layer(seed=4):
    np.random.seed(seed)
    layer = reluLayer(3, 1)
    return layer, np.random.randn(1, 3)


def test_backward_is_the_gradient_of_the_single_output_wrt_x():
    layer, x = make_layer()

    def f(x):
        return layer.forward(x)[0, 0]

    def grad(x):
        layer.forward(x)
        return layer.backward().reshape(x.shape)  # (1, n_in): one output neuron

    check_function(f, {"x": x}, grad).raise_for_status()


def test_gradient_is_d_output_d_weights():
    layer, x = make_layer()

    def f(w):
        layer.w = w
        return layer.forward(x)[0, 0]

    def grad(w):
        layer.w = w
        layer.forward(x)
        return layer.gradient().reshape(w.shape)

    check_function(f, {"w": layer.w.copy()}, grad).raise_for_status()


def test_the_same_layer_as_an_expression():
    layer, x = make_layer()
    report = check("sum(np.maximum(0, np.dot(x, w)))", at={"x": x, "w": layer.w},
                   expect={"w": "x.T @ (np.dot(x, w) > 0)"})
    assert report.ok, report.text()


def test_a_wrong_backward_is_caught():
    layer, x = make_layer()

    def grad(x):  # forgets the relu mask
        layer.forward(x)
        return layer.w.T.reshape(x.shape)

    def f(x):
        return layer.forward(x)[0, 0]

    layer.w[:, 0] = [1.0, -2.0, 0.5]
    x = np.array([[0.3, 0.4, -0.2]])  # z = 0.3 - 0.8 - 0.1 < 0: the unit is off, its gradient is 0
    with pytest.raises(GradientCheckFailed, match="dx"):
        check_function(f, {"x": x}, grad).raise_for_status()
