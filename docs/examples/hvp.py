"""A tanh layer's squared output, its gradient and a Hessian-vector product written by hand, with one entry of H
planted wrong (docs/second-order.md): W has 90,000 elements, far past H's 10,000 entries, so gradcheck checks
H·v along random directions and bisects to the entry."""
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
    out[17, 42] += 0.3 * V[100, 7]  # the planted mistake: d2f/dW[17,42]dW[100,7] is 0.3 too large
    return out
