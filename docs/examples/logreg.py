"""Logistic regression's loss, its gradient and its Hessian written by hand, for a Newton (IRLS) step
w <- w - H^-1 g (docs/second-order.md). `hessian` has the mistake the page is about; `hessian_fixed` does not."""
import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def loss(w, X, y):
    p = sigmoid(X @ w)
    return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))


def grad(w, X, y):
    return X.T @ (sigmoid(X @ w) - y)


def hessian(w, X, y):
    return X.T @ X  # the p(1 - p) weights are missing: this is least squares' Hessian


def hessian_fixed(w, X, y):
    p = sigmoid(X @ w)
    return X.T @ np.diag(p * (1 - p)) @ X


def hvp(v, w, X, y):
    p = sigmoid(X @ w)
    return X.T @ (p * (1 - p) * (X @ v))  # H·v without forming H: two products with X


def newton_step(w, X, y, hessian=hessian_fixed):
    return w - np.linalg.solve(hessian(w, X, y), grad(w, X, y))
