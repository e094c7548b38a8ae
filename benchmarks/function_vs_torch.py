"""check_function against torch.autograd.gradcheck on the same functions and the same hand-written gradients.

The peer setup is how a researcher checks a custom layer in torch: a torch.autograd.Function whose forward
calls the numpy function and whose backward returns the hand-written gradient (times the upstream scalar).
Both tools get the same float64 inputs; time is the median of 5 runs in this process (a shared machine: read
the ratio, not the seconds).

    python benchmarks/function_vs_torch.py        (needs: pip install torch==2.13.0)
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from gradcheck_cli import check_function

RNG = np.random.default_rng(0)
W0, X0, Y0 = RNG.standard_normal((30, 20)), RNG.standard_normal((50, 30)), RNG.standard_normal((50, 20))


def ridge(W):
    return np.sum((X0 @ W - Y0) ** 2) + 0.1 * np.sum(W ** 2)


def ridge_grad(W):
    return 2 * X0.T @ (X0 @ W - Y0) + 0.2 * W


def perturbed(grad, relative: float):
    def wrong(W):
        g = grad(W).copy()
        g[3, 7] *= 1 + relative
        return g
    return wrong


def relu_loss(W):
    return np.sum(np.maximum(W, 0) * 1.5)


def relu_grad(W):
    return 1.5 * (W > 0)


W_KINK = RNG.standard_normal((30, 20))
W_KINK[0, 0] = 0.0  # relu's kink exactly at an input

CASES = [  # (name, f, grad, point, what a right verdict is)
    ("ridge, right gradient", ridge, ridge_grad, W0, "pass"),
    ("ridge, one element 1e-3 off", ridge, perturbed(ridge_grad, 1e-3), W0, "fail"),
    ("ridge, one element 1e-5 off", ridge, perturbed(ridge_grad, 1e-5), W0, "fail"),
    ("ridge scaled by 1e8, right", lambda W: 1e8 * ridge(W), lambda W: 1e8 * ridge_grad(W), W0, "pass"),
    ("relu at a kink (W[0,0] = 0)", relu_loss, relu_grad, W_KINK, "kink"),
]


def torch_verdict(f, grad, point) -> tuple[str, float]:
    import torch

    class Layer(torch.autograd.Function):
        @staticmethod
        def forward(ctx, w):
            ctx.save_for_backward(w)
            return torch.tensor(f(w.detach().numpy()), dtype=torch.float64)

        @staticmethod
        def backward(ctx, upstream):
            (w,) = ctx.saved_tensors
            return upstream * torch.from_numpy(np.asarray(grad(w.detach().numpy()), dtype=np.float64))

    w = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    started = time.perf_counter()
    try:
        passed = torch.autograd.gradcheck(Layer.apply, (w,), raise_exception=False)
    except Exception as problem:  # noqa: BLE001
        return f"error: {type(problem).__name__}", time.perf_counter() - started
    return ("pass" if passed else "fail"), time.perf_counter() - started


def ours(f, grad, point) -> tuple[str, float]:
    started = time.perf_counter()
    report = check_function(f, {"W": point}, grad)
    return report.status, time.perf_counter() - started


def median_time(run, *args) -> tuple[str, float]:
    results = [run(*args) for _ in range(5)]
    return results[0][0], statistics.median(t for _, t in results)


def main() -> None:
    print(f"{'case':34} {'expected':9} {'gradcheck':12} {'torch':8} {'time gc':>9} {'time torch':>10} {'ratio':>6}")
    for name, f, grad, point, expected in CASES:
        verdict, seconds = median_time(ours, f, grad, point)
        peer, peer_seconds = median_time(torch_verdict, f, grad, point)
        print(f"{name:34} {expected:9} {verdict:12} {peer:8} {seconds * 1e3:7.1f} ms {peer_seconds * 1e3:7.1f} ms "
              f"{seconds / peer_seconds:6.2f}")


if __name__ == "__main__":
    main()
