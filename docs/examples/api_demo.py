"""The Python API on a two-layer expression and on numpy code (docs/api.md runs this file)."""
import numpy as np

from gradcheck_cli import GradientCheckFailed, check, check_function

X = np.array([[1.0, 2.0], [3.0, -1.0]])
W = np.array([[0.5, -0.2], [0.1, 0.3]])

# An expression, your gradient as a formula: one case, a Report.
report = check("sum(tanh(X @ W) ** 2)", at={"X": X, "W": W}, wrt="W",
               expect={"W": "X.T @ (2 * tanh(X @ W) * (1 - tanh(X @ W) ** 2))"})
print(report.ok, report.status, report.summary())


# Your own numpy code: a loss and its gradient, called by gradcheck.
def loss(W):
    return np.sum(np.tanh(X @ W) ** 2)


def grad(W):
    t = np.tanh(X @ W)
    return X.T @ (2 * t * (1 - t ** 2))


def grad_wrong(W):
    t = np.tanh(X @ W)
    return X.T @ (2 * t)  # the derivative of tanh is missing


print(check_function(loss, {"W": W}, grad).ok)
try:
    check_function(loss, {"W": W}, grad_wrong).raise_for_status()
except GradientCheckFailed as failure:
    print(failure)
