"""A linear layer with a squared loss, and two hand-written gradients of it (for `gradcheck function`)."""
import numpy as np


def loss(W, X, Y):
    return np.sum((X @ W - Y) ** 2)


def loss_grad(W, X, Y):
    return 2 * X.T @ (X @ W - Y)


def loss_grad_wrong(W, X, Y):
    return X.T @ (X @ W - Y)  # the factor 2 of the square is missing
