"""f(x, y) = x**2 * y and its gradient, for `gradcheck function` (docs/api.md, docs/json.md)."""


def f(x, y):
    return x * x * y


def f_grad(x, y):
    return {"x": 2 * x * y, "y": x * x}
