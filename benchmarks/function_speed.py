"""check_function against the cs231n loop: the time to check a hand-written gradient of a 100×100 W affine layer,
as a ratio measured in one run (alternating, median of the per-repeat ratios), for issue 19's row
"check_function, 100×100 W, complex-safe f: ≤ 2× the cs231n loop".

    python benchmarks/function_speed.py [--repeats 7] [--size 100]

The cs231n loop is `eval_numerical_gradient` of the assignments (two calls of f per element, centered
difference, h = 1e-5) plus `rel_error`; it is written out here, as the students have it. Also reported: how many
times each calls f. Prints markdown. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from gradcheck_cli import check_function


def eval_numerical_gradient(f, x, h=1e-5):
    """cs231n's loop (assignment 1, gradient_check.py): one element at a time, changed in place and put back."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        plus = f(x)
        x[ix] = old - h
        minus = f(x)
        x[ix] = old
        grad[ix] = (plus - minus) / (2 * h)
        it.iternext()
    return grad


def rel_error(x, y):
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))


def layer(size: int, complex_safe: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    X, W, b = rng.standard_normal((50, size)), rng.standard_normal((size, size)) / size, rng.standard_normal(size)
    dout = rng.standard_normal((50, size))
    calls = [0]

    def loss(W):
        calls[0] += 1
        value = np.sum(dout * (X @ W + b))
        return value if complex_safe else float(value)  # float() refuses complex input: real differences only

    def grad(W):
        return X.T @ dout

    return loss, grad, W, calls


def compare(size: int, repeats: int, complex_safe: bool) -> list[str]:
    loss, grad, W, calls = layer(size, complex_safe)
    ratios, ours, theirs = [], [], []
    for _ in range(repeats):
        calls[0] = 0
        started = time.process_time()
        report = check_function(loss, {"W": W}, grad)
        ours.append(time.process_time() - started)
        our_calls = calls[0]
        calls[0] = 0
        started = time.process_time()
        error = rel_error(eval_numerical_gradient(loss, W.copy()), grad(W))
        theirs.append(time.process_time() - started)
        their_calls = calls[0]
        ratios.append(ours[-1] / theirs[-1])
    assert report.ok and error < 1e-5
    what = "np.sum (complex-safe)" if complex_safe else "float(np.sum) (real only)"
    return [f"| {what} | {statistics.median(ours):.3f} | {statistics.median(theirs):.3f} | {our_calls / W.size:.2f} | "
            f"{their_calls / W.size:.2f} | **{statistics.median(ratios):.2f}×** |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--size", type=int, default=100)
    args = parser.parse_args()
    print(f"### check_function against the cs231n loop, {args.size}×{args.size} W (median of {args.repeats}, CPU time)\n")
    print("| f returns | check_function s | cs231n loop s | its calls per element | cs231n's | ratio (target ≤ 2×) |")
    print("|---|---:|---:|---:|---:|---:|")
    for complex_safe in (True, False):
        print("\n".join(compare(args.size, args.repeats, complex_safe)))


if __name__ == "__main__":
    main()
