"""Second order's timings (issue 20): `gradcheck eval --order 2` on a random 10^3-gate expression (target: under 2 s),
against the same command without it; logistic regression as an expression and as your functions; a 300x300 W's
Hessian-vector products with one planted wrong element.

    python benchmarks/second_order.py [--repeats 3]

Each row is one command in a fresh interpreter (start-up included), wall seconds and CPU seconds (user + system,
as os.wait4 reports them), the median over repeats. Prints markdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import random_expression, random_point  # noqa: E402  (the generators, shared with run.py)

GRADCHECK = [sys.executable, "-m", "gradcheck_cli"]


def timed(command: list[str]) -> tuple[float, float, int]:
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                             env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    _, status, usage = os.wait4(child.pid, 0)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def rows(directory: Path) -> list[tuple[str, list[str]]]:
    out = []
    for variables in (5, 20):
        path = directory / f"random_{variables}.txt"
        path.write_text(random_expression(1000, variables, 7))
        at = ", ".join(f"{k}={v!r}" for k, v in random_point(variables, 7).items())
        base = [*GRADCHECK, "eval", f"@{path}", "--at", at, "--format", "json"]
        out.append((f"10^3 gates, {variables} variables, first order", base))
        out.append((f"10^3 gates, {variables} variables, --order 2", [*base, "--order", "2"]))
    logistic = "-sum(y*log(sigma(X @ w)) + (1 - y)*log(1 - sigma(X @ w)))"
    out.append(("logistic regression, eval --order 2 (exact column)",
                [*GRADCHECK, "eval", logistic, "--wrt", "w", "--at", "@docs/examples/logreg.json", "--order", "2"]))
    out.append(("logistic regression, function --hessian --hvp",
                [*GRADCHECK, "function", "docs/examples/logreg.py:loss", "--grad", "docs/examples/logreg.py:grad",
                 "--hessian", "docs/examples/logreg.py:hessian_fixed", "--hvp", "docs/examples/logreg.py:hvp",
                 "--at", "@docs/examples/logreg.json", "--wrt", "w"]))
    out.append(("300x300 W, function --hvp (random directions, planted element)",
                [*GRADCHECK, "function", "docs/examples/hvp.py:loss", "--grad", "docs/examples/hvp.py:grad",
                 "--hvp", "docs/examples/hvp.py:hvp", "--at", "W=randn(300, 300)*0.05, X=randn(4, 300)", "--wrt", "W"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("| command | wall s | CPU s | exit |")
    print("|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as directory:
        for name, command in rows(Path(directory)):
            runs = [timed(command) for _ in range(args.repeats)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            print(f"| {name} | {wall:.2f} | {cpu:.2f} | {runs[-1][2]} |")


if __name__ == "__main__":
    main()
