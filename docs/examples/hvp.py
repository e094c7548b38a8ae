"""A tanh layer's squared output, its gradient and a Hessian-vector product written by hand, with one element
planted wrong (docs/second-order.md): W has 90,000 elements, far past H's 10,000 entries, so gradcheck checks
H·v along random directions and bisects to the element."""
import numpy as np


def loss(W, X):
    return np.sum(np.tanh(X @ W) ** 2)


def grad(W, X):
    t = np.tanh(X @ W)
    return X.T @ (2 * t * (1 - t ** 2))


def hvp(V, W, X):
    t = np.tanh(X @ W)
    s = 1 - t ** 2
    out = X.T @ (2 * s * (s - 2 * t ** 2) * (X @ V))
    out[17, 42] *= 1.5  # the planted mistake
    return out
