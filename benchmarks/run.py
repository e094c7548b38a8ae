"""gradcheck benchmarks: start-up, scale, the exact column, batch throughput and many points.

    python benchmarks/run.py [--quick] [--repeats N]

Prints markdown tables on stdout. Installs nothing; torch and JAX are compared only when importable.
Every figure is a median of repeats; heavy measurements run in a fresh subprocess each, so peak
memory (ru_maxrss) and SymPy's cache belong to one measurement. On a shared machine the figures
are noisy: compare ratios taken in the same run rather than absolute times across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve()
GRADCHECK = str(Path(sys.executable).with_name("gradcheck"))
SAMPLE_EVAL = [GRADCHECK, "eval", "(x+y)*z", "--at", "x=-2,y=5,z=-4"]


def code_version() -> str:
    """HEAD of the repo and whether gradcheck_cli has uncommitted changes (read-only git; no index refresh)."""
    import importlib.util
    import subprocess

    root = Path(__file__).resolve().parent.parent
    package = Path(importlib.util.find_spec("gradcheck_cli").origin).resolve().parent
    if root not in package.parents:
        return f"gradcheck_cli from {package} (not this repo's tree)"
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, env=env).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "gradcheck_cli"], capture_output=True, text=True, env=env).stdout.strip()
    except OSError:
        return "unknown"
    return head + (" + uncommitted changes in gradcheck_cli" if dirty else "") if head else "unknown"


# --- helpers -----------------------------------------------------------------------------------------

def median_time(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def wall(command: list[str], repeats: int, stdin: str | None = None, long_enough: float = 20.0) -> float:
    """Median wall time of a subprocess (its exit code is not judged: a failing check still did the work).

    A first run longer than `long_enough` seconds is taken alone: it already averages over many cases.
    """
    def once() -> float:
        started = time.perf_counter()
        subprocess.run(command, input=stdin, capture_output=True, text=True)
        return time.perf_counter() - started

    first = once()
    if first > long_enough:
        return first
    return statistics.median([first] + [once() for _ in range(repeats - 1)])


def worker(*args: str) -> dict:
    """Run one measurement of this script in a fresh interpreter and read back its JSON line."""
    done = subprocess.run([sys.executable, str(HERE), "--worker", *args], capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def seconds(x: float) -> str:
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


# --- generated expressions ---------------------------------------------------------------------------

# (template, gates it adds); each input appears once, so no subtree is ever copied; values stay bounded.
UNARY = [("tanh({})", 1), ("sigma({})", 1), ("sin({})", 1), ("cos({})", 1),
         ("log(1 + ({})**2)", 3), ("sqrt(1 + ({})**2)", 3), ("exp(-({})**2)", 3)]
BINARY = [("({} + {})", 1), ("({} - {})", 1), ("sin({})*{}", 2), ("{}/(1 + ({})**2)", 3), ("({} * {})", 1)]


def random_expression(gates: int, variables: int, seed: int) -> str:
    """A random smooth tree of about `gates` gates over x0..x{variables-1}, every variable used."""
    rng = random.Random(seed)
    pool = [f"x{i}" for i in range(variables)]
    rng.shuffle(pool)
    count = 0
    while count < gates:
        if len(pool) < 2 or rng.random() < 0.15:
            pool.append(f"x{rng.randrange(variables)}" if rng.random() < 0.9 else "0.5")
        if rng.random() < 0.45:
            template, cost = rng.choice(UNARY)
            k = rng.randrange(len(pool))
            pool[k] = template.format(pool[k])
        else:
            template, cost = rng.choice(BINARY)
            a = pool.pop(rng.randrange(len(pool)))
            b = pool.pop(rng.randrange(len(pool)))
            if template.startswith("({} * {})"):
                a = f"tanh({a})"  # keeps products bounded
                cost += 1
            pool.append(template.format(a, b))
        count += cost
    return " + ".join(pool)


def random_point(variables: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed + 1)
    return {f"x{i}": rng.uniform(-1, 1) for i in range(variables)}


def rnn_expression(steps: int) -> str:
    return "tanh(w*" * steps + "x" + "+b)" * steps


def nested_expression(depth: int) -> str:
    return "sin(" * depth + "x" + ")" * depth


# --- workers (run in a fresh interpreter) ------------------------------------------------------------

def scale_worker(kind: str, size: int, repeats: int) -> dict:
    """parse + build + forward + backward + differences (the check without exact): stage times and peak RSS."""
    import numpy as np

    from gradcheck_cli.eval.engine import backward, branch_signs, forward, value_scales
    from gradcheck_cli.expression.check import Options, check_points
    from gradcheck_cli.ir import build_graph
    from gradcheck_cli.lang.expr import parse
    from gradcheck_cli.numeric.differences import complex_step, finite_differences
    from gradcheck_cli.ops import default_registry

    if kind == "random":
        text, point = random_expression(size, 100, seed=size), random_point(100, seed=size)
    elif kind == "rnn":
        text, point = rnn_expression(size), {"w": 0.9, "x": 0.5, "b": 0.1}
    else:
        text, point = nested_expression(size), {"x": 0.7}
    registry = default_registry()
    baseline = peak_rss_mb()
    expr = parse(text)
    graph = build_graph(expr, registry)
    inputs = {v: np.array([point[v]]) for v in graph.variables}
    points = [{v: np.asarray(point[v]) for v in graph.variables}]
    values = forward(graph, inputs)
    scales, signs = value_scales(values), branch_signs(graph, values)
    stages = {
        "parse": median_time(lambda: parse(text), repeats),
        "build": median_time(lambda: build_graph(expr, registry), repeats),
        "forward": median_time(lambda: forward(graph, inputs), repeats),
        "backward": median_time(lambda: backward(graph, values), repeats),
        "differences": median_time(lambda: finite_differences(graph, inputs, graph.variables, scales, values[-1], signs), repeats),
        "complex": median_time(lambda: complex_step(graph, inputs, graph.variables), repeats),
        "check_case": median_time(lambda: check_points(graph, points, graph.variables, Options(exact=False)), repeats),
    }
    status = check_points(graph, points, graph.variables, Options(exact=False))[0].status
    gates = sum(1 for n in graph.nodes if n.inputs)
    # the list (parse, forward, backward, forward/centered differences) and all that eval does without exact
    listed = sum(stages[k] for k in ("parse", "build", "forward", "backward", "differences"))
    return {"gates": gates, "variables": len(graph.variables), "chars": len(text), "status": status,
            "stages": stages, "listed": listed, "total": stages["parse"] + stages["build"] + stages["check_case"],
            "baseline_mb": baseline, "peak_mb": peak_rss_mb()}


def exact_worker(method: str, size: int, repeats: int) -> dict:
    """One exact-column method on a random expression of `size` gates (SymPy's cache cleared per repeat).

    The method is forced through exact.WHOLE_EXPRESSION_LIMIT, so only the public exact_case is called.
    """
    import numpy as np
    from sympy.core.cache import clear_cache

    from gradcheck_cli.lang.expr import parse
    from gradcheck_cli.oracle import chain, exact

    exact.WHOLE_EXPRESSION_LIMIT = 10**9 if method == "sympy" else -1
    variables = min(10, max(2, size // 4))
    expr = parse(random_expression(size, variables, seed=size))
    point = {k: np.asarray(v) for k, v in random_point(variables, seed=size).items()}
    times = []
    for _ in range(repeats):
        clear_cache()
        chain.constant_power.cache_clear()
        started = time.perf_counter()
        result = exact.exact_case(expr, [point], expr.variables, budget=5.0)[0]
        times.append(time.perf_counter() - started)
        if result.method != method or any(v is None for v in result.values.values()):
            return {"gates": size, "seconds": None, "note": result.note or result.method}
    return {"gates": size, "seconds": statistics.median(times)}


POINTS_EXPRESSION = "sigma(x*y + b)*tanh(x - y)**2 + log(1 + x**2)/sqrt(1 + y**2) + exp(-b**2)*sin(x*b)"


def points_worker(count: int, repeats: int) -> dict:
    """Point-gradients per second on one numpy batch; torch autograd eager on the same data when importable."""
    import numpy as np

    from gradcheck_cli.eval.engine import backward, forward, gradients
    from gradcheck_cli.ir import build_graph
    from gradcheck_cli.lang.expr import parse
    from gradcheck_cli.ops import default_registry

    graph = build_graph(parse(POINTS_EXPRESSION), default_registry())
    rng = np.random.default_rng(0)
    inputs = {v: rng.uniform(-2, 2, count) for v in graph.variables}
    values = forward(graph, inputs)
    result = {"gates": sum(1 for n in graph.nodes if n.inputs), "points": count,
              "engine": median_time(lambda: backward(graph, forward(graph, inputs)), repeats),
              "engine_forward": median_time(lambda: forward(graph, inputs), repeats),
              "engine_backward": median_time(lambda: backward(graph, values), repeats),
              "gradients": median_time(lambda: gradients(graph, inputs), repeats)}
    result["numpy"] = median_time(lambda: numpy_points(inputs), repeats)
    result["numpy_agrees"] = grads_agree(numpy_points(inputs), graph, inputs)
    result.update(torch_points(inputs, repeats, graph))
    return result


def numpy_points(inputs: dict) -> tuple:
    """POINTS_EXPRESSION's gradient written by hand in numpy (shared subexpressions reused): the floor for an
    interpreter of the same gates."""
    import numpy as np

    x, y, b = inputs["x"], inputs["y"], inputs["b"]
    s = 1 / (1 + np.exp(-(x * y + b)))
    t = np.tanh(x - y)
    t2 = t * t
    one_x2, one_y2 = 1 + x * x, 1 + y * y
    root = np.sqrt(one_y2)
    e = np.exp(-b * b)
    xb = x * b
    sin, cos = np.sin(xb), np.cos(xb)
    du = t2 * s * (1 - s)  # d/d(x*y + b)
    dv = 2 * s * t * (1 - t2)  # d/d(x - y)
    ecos = e * cos
    gx = du * y + dv + 2 * x / one_x2 / root + ecos * b
    gy = du * x - dv - np.log(one_x2) * y / (one_y2 * root)
    gb = du - 2 * b * e * sin + ecos * x
    return gx, gy, gb


TENSOR_EXPRESSION = "sum(tanh(X@W)**2)"


def tensor_worker(size: int, repeats: int, mode: str) -> dict:
    """A (size x size) W with X (20 x size): every element (elements) or random directions, against torch's
    gradcheck (full) or fast_mode on the same function, both on one thread."""
    import numpy as np

    from gradcheck_cli.expression.check import Options
    from gradcheck_cli.session import check_text

    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((20, size)), rng.standard_normal((size, size)) / np.sqrt(size)
    options = Options(exact=False)
    check_text(TENSOR_EXPRESSION, {"X": X, "W": W}, wrt="W", options=options)  # imports and first-call costs apart
    case = check_text(TENSOR_EXPRESSION, {"X": X, "W": W}, wrt="W", options=options)
    result = {"size": size, "elements": size * size, "status": case.status, "mode": case.gradients[0].mode,
              "gradcheck": median_time(lambda: check_text(TENSOR_EXPRESSION, {"X": X, "W": W}, wrt="W", options=options), repeats),
              "gradcheck_exact": median_time(lambda: check_text(TENSOR_EXPRESSION, {"X": X, "W": W}, wrt="W"), repeats)}
    try:
        import torch
    except ImportError:
        return result
    torch.set_num_threads(1)
    Xt, Wt = torch.tensor(X), torch.tensor(W, requires_grad=True)

    def torch_check() -> bool:
        return torch.autograd.gradcheck(lambda w: (torch.tanh(Xt @ w) ** 2).sum(), (Wt,), fast_mode=(mode == "fast"))

    torch_check()
    result.update({"torch": median_time(torch_check, repeats), "torch_mode": "fast_mode" if mode == "fast" else "full",
                   "torch_version": torch.__version__})
    return result


def torch_points(inputs: dict, repeats: int, graph) -> dict:
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(1)  # the engine is single-threaded numpy: compare like with like

    def run() -> tuple:
        x, y, b = (torch.tensor(inputs[v], requires_grad=True) for v in ("x", "y", "b"))
        f = torch.sigmoid(x * y + b) * torch.tanh(x - y) ** 2 + torch.log(1 + x ** 2) / torch.sqrt(1 + y ** 2) \
            + torch.exp(-b ** 2) * torch.sin(x * b)
        return torch.autograd.grad(f.sum(), (x, y, b))

    seconds_torch = median_time(run, repeats)
    agrees = grads_agree(run(), graph, inputs)
    return {"torch": seconds_torch, "torch_version": torch.__version__, "torch_agrees": agrees}


def grads_agree(torch_grads: tuple, graph, inputs: dict) -> bool:
    """The comparison only means something if both compute the same gradient."""
    import numpy as np

    from gradcheck_cli.eval.engine import backward, forward, variable_gradients

    ours = variable_gradients(graph, backward(graph, forward(graph, inputs)))
    ours = {v: g.reshape(-1) for v, g in ours.items()}
    return all(np.allclose(ours[v], np.asarray(g), rtol=1e-12, atol=1e-14) for v, g in zip(("x", "y", "b"), torch_grads))


def run_worker(args: list[str]) -> None:
    kind, *rest = args
    if kind == "scale":
        result = scale_worker(rest[0], int(rest[1]), int(rest[2]))
    elif kind == "exact":
        result = exact_worker(rest[0], int(rest[1]), int(rest[2]))
    elif kind == "tensor":
        result = tensor_worker(int(rest[0]), int(rest[1]), rest[2])
    else:
        result = points_worker(int(rest[0]), int(rest[1]))
    print(json.dumps(result))


# --- sections ----------------------------------------------------------------------------------------

def spin(count: int) -> int:
    total = 0
    for i in range(count):
        total += i
    return total


def parallel_speedup(count: int = 10_000_000) -> float:
    """Two CPU-bound processes vs the same work serially: ~2 on an idle 2-core machine, ~1 when a core is taken."""
    import multiprocessing

    serial = median_time(lambda: (spin(count), spin(count)), 1)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(spin, [1, 1])  # start-up is not what we measure
        parallel = median_time(lambda: pool.map(spin, [count, count]), 1)
    return serial / parallel


def machine_section() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"Machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}; code {code_version()}; load average before the run {load}; "
            f"parallel speedup of 2 spinning processes: {parallel_speedup():.2f}x (2.0 = both cores free). "
            "Shared with other jobs, so figures are noisy.")


def startup_section(repeats: int) -> str:
    sympy_import = wall([sys.executable, "-c", "import sympy"], repeats)
    rows = [["`python -c \"import sympy\"`", seconds(sympy_import), "1.00"]]
    for label, command in (("`gradcheck --help`", [GRADCHECK, "--help"]),
                           ("`gradcheck eval \"(x+y)*z\" --at x=-2,y=5,z=-4`", SAMPLE_EVAL)):
        t = wall(command, repeats)
        rows.append([label, seconds(t), f"{t / sympy_import:.2f}"])
    return "### Start-up (wall time, median of %d)\n\n" % repeats + table(["command", "time", "ratio to import sympy"], rows)


def scale_rows(cases: list[tuple[str, str, int]], repeats: int) -> list[list[object]]:
    rows = []
    for label, kind, size in cases:
        r = worker("scale", kind, str(size), str(repeats))
        if "error" in r:
            rows.append([label, "error", r["error"], *[""] * 11])
            continue
        s = r["stages"]
        rows.append([label, f"{r['gates']:,}", r["variables"], *(seconds(s[k]) for k in ("parse", "build", "forward", "backward",
                     "differences", "complex")), f"**{seconds(r['listed'])}**", seconds(s["check_case"]),
                     f"**{seconds(r['total'])}**", f"{r['peak_mb'] - r['baseline_mb']:.0f} MB ({r['peak_mb']:.0f} MB)",
                     r["status"]])
    return rows


def scale_section(quick: bool, repeats: int) -> str:
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    cases = [(f"random, 10^{len(str(n)) - 1}", "random", n) for n in sizes]
    steps = 1_000 if quick else 10_000
    cases += [(f"tanh RNN, {steps:,} steps", "rnn", steps), (f"sin nested {steps:,} deep", "nested", steps)]
    header = ["expression", "gates", "vars", "parse", "build", "forward", "backward", "differences (7n+1 rows)",
              "complex step (n rows)", "parse→differences", "check_case", "parse→check_case", "peak RSS added (process)", "status"]
    return (f"### Scale (median of {repeats}; one point; target <= 2 s at 10^5 gates)\n\n"
            "parse→differences: the issue's list (parse, build, forward, backward, the forward/centered/Richardson stencil);"
            " parse→check_case: all that `gradcheck eval --no-exact` does (adds the complex step and the verdicts)\n\n"
            + table(header, scale_rows(cases, repeats)))


def largest_within(method: str, limit: float, repeats: int, quick: bool) -> tuple[int, float, int | None, float | None]:
    """Grow the expression x2 until the method takes > limit, then bisect that octave twice (geometrically).

    Returns the largest size within the limit, its time, the smallest size found beyond it and its time
    (None: the 5 s budget ran out).
    """
    def measure(size: int) -> float | None:
        return worker("exact", method, str(size), str(repeats)).get("seconds")

    def within(t: float | None) -> bool:
        return t is not None and t <= limit

    size, best, best_time, over, over_time = 4, 0, 0.0, None, None
    while size <= (1_000 if quick else 200_000):
        t = measure(size)
        if not within(t):
            over, over_time = size, t
            break
        best, best_time = size, t
        size *= 2
    for _ in range(2 if over is not None and best else 0):
        middle = round((best * over) ** 0.5)
        t = measure(middle)
        if within(t):
            best, best_time = middle, t
        else:
            over, over_time = middle, t
    return best, best_time, over, over_time


def exact_section(quick: bool, repeats: int) -> str:
    rows = []
    for method in ("sympy", "chain"):
        best, best_time, over, over_time = largest_within(method, 1.0, repeats, quick)
        beyond = "—" if over is None else f"{over:,} gates: " + ("> 5 s (budget)" if over_time is None else seconds(over_time))
        rows.append([f"`{method}`", f"{best:,}", seconds(best_time), beyond])
    return (f"### Exact column: largest random expression within 1 s (sizes x2, then 2 bisections; median of {repeats}, cache cleared)\n\n"
            + table(["method", "gates", "time", "next size"], rows))


def check_command_available() -> tuple[bool, str]:
    done = subprocess.run([GRADCHECK, "check", "--help"], capture_output=True, text=True)
    text = done.stdout + done.stderr
    if done.returncode != 0 or "not implemented" in text.lower():
        return False, text
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe.gc"
        probe.write_text("x*y @ x=1, y=2\n")
        done = subprocess.run([GRADCHECK, "check", str(probe)], capture_output=True, text=True)
    return "not implemented" not in (done.stdout + done.stderr).lower(), text


def batch_file(lines: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    rows = []
    for k in range(lines):
        variables = rng.randint(1, 3)
        text = random_expression(rng.randint(5, 20), variables, seed=seed * 100_003 + k)
        point = ", ".join(f"{v}={x:.6g}" for v, x in random_point(variables, seed=k).items())
        rows.append(f"{text} @ {point}")
    return "\n".join(rows) + "\n"


def batch_section(quick: bool, repeats: int) -> str:
    lines = 100 if quick else 1_000
    title = f"### Batch throughput: `gradcheck check FILE`, generated {lines:,}-line file (median of {repeats}; a run over 20 s counts alone)\n\n"
    available, help_text = check_command_available()
    if not available:
        return title + "n/a (check command not available)"
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "batch.gc"
        path.write_text(batch_file(lines))
        for flags in ([], ["--exact-method", "auto"], ["--no-exact"]):  # default: the chained exact column
            for jobs in ("1", "2"):
                options = [*flags, "--jobs", jobs]
                if any(o.startswith("--") and o not in help_text for o in options):
                    rows.append([" ".join(options), "n/a (option not available)", ""])
                    continue
                t = wall([GRADCHECK, "check", str(path), *options], repeats)
                rows.append([" ".join(options), seconds(t), f"{lines / t:.0f}"])
    return title + table(["options", "wall", "cases/s"], rows)


def points_section(quick: bool, repeats: int) -> str:
    count = 100_000 if quick else 1_000_000
    r = worker("points", str(count), str(repeats))
    if "error" in r:
        return "### Many points\n\nerror: " + r["error"]
    split = f"forward {seconds(r['engine_forward'])}, backward {seconds(r['engine_backward'])}"
    rows = [[f"gradcheck engine (numpy batch; {split})", seconds(r["engine"]), f"{count / r['engine']:.3g}", "1.00"],
            ["gradcheck `engine.gradients` (16k-point blocks, variables' gradients only)", seconds(r["gradients"]),
             f"{count / r['gradients']:.3g}", f"{r['gradients'] / r['engine']:.2f}"],
            ["hand-written numpy gradient" + ("" if r["numpy_agrees"] else " (gradients DIFFER)"), seconds(r["numpy"]),
             f"{count / r['numpy']:.3g}", f"{r['numpy'] / r['engine']:.2f}"]]
    if "torch" in r:
        note = "" if r["torch_agrees"] else " (gradients DIFFER)"
        rows.append([f"torch {r['torch_version']} autograd eager, 1 thread{note}", seconds(r["torch"]),
                     f"{count / r['torch']:.3g}", f"{r['torch'] / r['engine']:.2f}"])
    else:
        rows.append(["torch", "not installed", "", ""])
    try:
        import jax  # noqa: F401
        rows.append(["jax", "installed but not measured", "", ""])
    except ImportError:
        rows.append(["jax", "not installed (skipped)", "", ""])
    return (f"### Many points: {count:,} points of a {r['gates']}-gate expression (median of {repeats})\n\n"
            f"`{POINTS_EXPRESSION}`\n\n"
            + table(["implementation", "time", "point-gradients/s", "time ratio to engine"], rows))


def tensor_section(quick: bool, repeats: int) -> str:
    """The tensor targets: every element of a 100x100 W against torch's gradcheck; 10^6 parameters in random-direction
    mode against torch's fast_mode (both without an exact column; SymPy's column is skipped by size at these sizes)."""
    rows = []
    for size, mode in ((30, "full"), (100, "full"), (300 if quick else 1000, "fast")):
        r = worker("tensor", str(size), str(repeats), mode)
        if "error" in r:
            rows.append([f"{size}x{size}", "error: " + r["error"], "", "", "", ""])
            continue
        torch_time = r.get("torch")
        ratio = f"{r['gradcheck'] / torch_time:.3f}" if torch_time else "torch not installed"
        rows.append([f"{size}x{size} ({r['elements']:,} elements, {r['mode']})", r["status"], seconds(r["gradcheck"]),
                     seconds(r["gradcheck_exact"]), f"{seconds(torch_time)} ({r.get('torch_mode', '')})" if torch_time else "—", ratio])
    return (f"### Tensors: `{TENSOR_EXPRESSION}`, X 20 x n, W n x n (median of {repeats}; one thread)\n\n"
            "targets: every element of a 100x100 W at <= 0.2x torch.autograd.gradcheck; 10^6 parameters (directions) "
            "at <= 1x torch's fast_mode\n\n"
            + table(["W", "verdict", "gradcheck (no exact)", "with the exact column tried", "torch", "ratio"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description="gradcheck benchmarks (markdown on stdout)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--worker", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker)
        return
    repeats = args.repeats
    sections = [machine_section, lambda: startup_section(repeats), lambda: scale_section(args.quick, max(3, repeats // 2)),
                lambda: exact_section(args.quick, 3), lambda: batch_section(args.quick, 3),
                lambda: points_section(args.quick, repeats), lambda: tensor_section(args.quick, 3)]
    print("## gradcheck benchmarks\n", flush=True)
    for section in sections:
        print(section() + "\n", flush=True)


if __name__ == "__main__":
    main()
