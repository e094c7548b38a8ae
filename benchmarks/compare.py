"""The same measurements on two source trees in one run, alternating, so their ratio means something on a noisy
machine (issue 14's targets: a 10^5-gate check, many points, per-line cost, tensor checks).

    python benchmarks/compare.py BEFORE_TREE [AFTER_TREE] [--repeats N]

Each tree is a checkout of this repository; each measurement runs in a fresh interpreter with that tree first
on sys.path. Prints a markdown table with medians and after/before ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

_PRELUDE = """
import sys, time, statistics, json
sys.path.insert(0, {tree!r}); sys.path.insert(1, {bench!r})
def median(action, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter(); action(); times.append(time.perf_counter() - started)
    return statistics.median(times)
"""

MEASUREMENTS = {
    "check 10^3 gates (no exact)": ("scale", 1_000, 5),
    "check 10^4 gates (no exact)": ("scale", 10_000, 3),
    "check 10^5 gates (no exact)": ("scale", 100_000, 3),
    "10^6 points x 22 gates: forward + backward": ("points", "full", 5),
    "10^6 points x 22 gates: engine.gradients": ("points", "gradients", 5),
    "1,000 lines, check_text, exact chain": ("lines", "chain", 1),
    "1,000 lines, check_text, exact auto": ("lines", "auto", 1),
    "1,000 lines, check_text, no exact": ("lines", "none", 1),
    "tensor 100x100 W, every element": ("tensor", 100, 3),
    "tensor 1000x1000 W, directions": ("tensor", 1000, 3),
}

_BODIES = {
    "scale": """
from run import random_expression, random_point
from gradcheck_cli.session import check_text
try:
    from gradcheck_cli.expression.check import Options  # the package map
except ImportError:
    from gradcheck_cli.cases import Options  # code from before it (--before)
text, point = random_expression({arg}, 100, seed={arg}), random_point(100, seed={arg})
at = ", ".join(f"{{k}}={{v!r}}" for k, v in point.items())
check_text(text, at, options=Options(exact=False))
print(json.dumps(median(lambda: check_text(text, at, options=Options(exact=False)), {repeats})))
""",
    "points": """
import numpy as np
from run import POINTS_EXPRESSION
try:
    from gradcheck_cli.eval import engine
except ImportError:
    from gradcheck_cli import engine
from gradcheck_cli.ir import build_graph
from gradcheck_cli.lang.expr import parse
try:
    from gradcheck_cli.ops import default_registry
except ImportError:
    from gradcheck_cli.ops.registry import default_registry
graph = build_graph(parse(POINTS_EXPRESSION), default_registry())
rng = np.random.default_rng(0)
inputs = {{v: rng.uniform(-2, 2, 1_000_000) for v in graph.variables}}
if {arg!r} == "full":
    action = lambda: engine.backward(graph, engine.forward(graph, inputs))
elif hasattr(engine, "gradients"):
    action = lambda: engine.gradients(graph, inputs)
else:
    action = lambda: engine.variable_gradients(graph, engine.backward(graph, engine.forward(graph, inputs)))
action()
print(json.dumps(median(action, {repeats})))
""",
    "lines": """
from run import batch_file
from gradcheck_cli.session import check_text
try:
    from gradcheck_cli.expression.check import Options  # the package map
except ImportError:
    from gradcheck_cli.cases import Options  # code from before it (--before)
lines = [line.split(" @ ") for line in batch_file(1000).splitlines()]
options = Options(exact={arg!r} != "none", exact_method="chain" if {arg!r} == "chain" else "auto")
for text, at in lines[:20]:
    check_text(text, at, options=options)
print(json.dumps(median(lambda: [check_text(text, at, options=options) for text, at in lines], {repeats})))
""",
    "tensor": """
import numpy as np
from run import TENSOR_EXPRESSION
from gradcheck_cli.session import check_text
try:
    from gradcheck_cli.expression.check import Options  # the package map
except ImportError:
    from gradcheck_cli.cases import Options  # code from before it (--before)
rng = np.random.default_rng(0)
X, W = rng.standard_normal((20, {arg})), rng.standard_normal(({arg}, {arg})) / np.sqrt({arg})
options = Options(exact=False)
check_text(TENSOR_EXPRESSION, {{"X": X, "W": W}}, wrt="W", options=options)
print(json.dumps(median(lambda: check_text(TENSOR_EXPRESSION, {{"X": X, "W": W}}, wrt="W", options=options), {repeats})))
""",
}


def measure(tree: str, kind: str, arg, repeats: int) -> float | None:
    code = _PRELUDE.format(tree=tree, bench=str(HERE)) + _BODIES[kind].format(arg=arg, repeats=repeats)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after", nargs="?", default=str(HERE.parent))
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per measurement (median taken)")
    parser.add_argument("--only", default="", help="measurements whose label contains this text")
    args = parser.parse_args()
    print("| measurement | before | after | after/before |\n|---|---:|---:|---:|")
    for label, (kind, arg, repeats) in MEASUREMENTS.items():
        if args.only not in label:
            continue
        before, after = [], []
        for _ in range(args.rounds):
            before.append(measure(args.before, kind, arg, repeats))
            after.append(measure(args.after, kind, arg, repeats))
        b = statistics.median([t for t in before if t is not None]) if any(t is not None for t in before) else None
        a = statistics.median([t for t in after if t is not None]) if any(t is not None for t in after) else None
        ratio = f"{a / b:.2f}" if a and b else "—"
        show = lambda t: "error" if t is None else (f"{t * 1000:.1f} ms" if t < 1 else f"{t:.2f} s")
        print(f"| {label} | {show(b)} | {show(a)} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
