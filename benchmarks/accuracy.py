"""Accuracy study: random smooth expressions checked against SymPy, with the correct gate rules.

Every `mismatch` here is a false alarm (the rules are right), so it is a bug in gradcheck's
tolerances. Also reports how far each numerical column (forward, centered, Richardson, complex
step) lands from the 50-digit exact value.

    python benchmarks/accuracy.py [--cases N] [--seed S] [--jobs J]

Not part of the test suite. Deterministic for a given seed (the case list is generated up front;
results are gathered in case order whatever --jobs is).
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from multiprocessing import Pool

import numpy as np
from run import code_version  # benchmarks/run.py: this script's directory is sys.path[0]

from gradcheck_cli.eval.engine import forward
from gradcheck_cli.expression.check import Options
from gradcheck_cli.ir import build_graph
from gradcheck_cli.lang.expr import parse
from gradcheck_cli.ops import default_registry
from gradcheck_cli.session import check_text
from gradcheck_cli.verdict import relative_error

VARIABLES = ("x", "y", "z")
CONSTANTS = ("0.5", "2", "3", "0.1", "1.5", "10")  # 0.1 on purpose: the exact column reads it as 1/10
METHODS = ("analytic", "forward", "centered", "richardson", "complex_step")
UNARY = ("exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigma")
BINARY = ("add", "sub", "mul", "div", "pow")


# --- case generation ---------------------------------------------------------------------------------

def leaf(rng: random.Random, variables: tuple[str, ...]) -> str:
    return rng.choice(variables) if rng.random() < 0.8 else rng.choice(CONSTANTS)


def safe_unary(op: str, inner: str, rng: random.Random) -> str:
    """The gate applied where it is smooth: log/sqrt of 1+u**2, tan of a value in (-1, 1)."""
    if op == "log":
        return f"log(1 + ({inner})**2)"
    if op == "sqrt":
        return f"sqrt(1 + ({inner})**2)"
    if op == "tan":
        return f"tan(tanh({inner}))"
    if op == "exp" and rng.random() < 0.5:
        return f"exp(sin({inner}))"  # keeps deep nests from overflowing half of the time
    return f"{op}({inner})"


def safe_binary(op: str, a: str, b: str, rng: random.Random) -> str:
    if op == "div":
        return f"({a})/(1 + ({b})**2)"
    if op == "pow":
        k = rng.choice((2, 3, 4, -1, -2))
        return f"({a})**{k}" if k > 0 else f"(1 + ({a})**2)**({k})"
    return f"({a}) {dict(add='+', sub='-', mul='*')[op]} ({b})"


def random_expression(rng: random.Random, depth: int, variables: tuple[str, ...]) -> str:
    """A random tree, written fully parenthesized; recursion depth is bounded by `depth` (<= 5)."""
    if depth == 0 or rng.random() < 0.2:
        return leaf(rng, variables)
    if rng.random() < 0.5:
        return safe_unary(rng.choice(UNARY), random_expression(rng, depth - 1, variables), rng)
    a = random_expression(rng, depth - 1, variables)
    b = random_expression(rng, depth - 1, variables)
    return safe_binary(rng.choice(BINARY), a, b, rng)


def random_point(rng: random.Random, variables: tuple[str, ...], scale: float = 2.0) -> dict[str, float]:
    return {v: round(rng.uniform(-scale, scale), rng.choice((2, 6, 17))) for v in variables}


def smooth_case(rng: random.Random) -> tuple[str, str, dict[str, float]]:
    variables = VARIABLES[:rng.randint(1, 3)]
    while True:
        text = random_expression(rng, rng.randint(1, 5), variables)
        if any(v in text for v in variables):
            break
    used = tuple(v for v in variables if v in text)
    return "smooth", text, random_point(rng, used)


# Ill-conditioned families: large arguments, fast oscillation, saturation, cancellation, underflow.
def ill_conditioned_case(rng: random.Random) -> tuple[str, str, dict[str, float]]:
    family = rng.randrange(13)
    u = rng.uniform
    if family == 0:
        return "exp(large)", "exp(x)", {"x": u(300, 709)}
    if family == 1:
        return "exp(10*x)", "exp(10*x)*y", {"x": u(20, 70), "y": u(-2, 2)}
    if family == 2:
        return "sin(100*x)", "sin(100*x)", {"x": u(-3, 3)}
    if family == 3:
        return "cos(1000*x)*y", "cos(1000*x)*y", {"x": u(-3, 3), "y": u(-2, 2)}
    if family == 4:
        return "sin(large)", "sin(x)", {"x": 10 ** u(4, 8)}
    if family == 5:
        k = rng.randint(5, 8)
        return "x**k large", f"x**{k}", {"x": 10 ** u(2, 10)}
    if family == 6:
        return "cancellation", "(x + y)**2 - x**2 - 2*x*y", {"x": 10 ** u(3, 7), "y": u(-2, 2)}
    if family == 7:
        return "log(1+x**2) extreme", "log(1 + x**2)", {"x": rng.choice((1, -1)) * 10 ** u(-9, 9)}
    if family == 8:
        text = rng.choice(("sigma(x)", "tanh(x)", "sigma(x*y)"))
        point = {"x": u(15, 40), "y": u(0.5, 1.5)}
        return "saturated sigma/tanh", text, {v: point[v] for v in ("x", "y") if v in text}
    if family == 9:
        return "tan near pole", "tan(x)", {"x": math.pi / 2 - 10 ** u(-6, -2)}
    if family == 10:
        return "exp(-x**2) underflow", "exp(-x**2)", {"x": u(20, 27.25)}  # 27.25: f' is subnormal
    if family == 11:
        return "tanh far saturated", "tanh(x)", {"x": u(40, 300)}  # f' < 1e-35: below the oracle's 50 digits
    variables = VARIABLES[:rng.randint(1, 3)]
    text = random_expression(rng, rng.randint(1, 4), variables)
    used = tuple(v for v in variables if v in text) or ("x",)
    text = text if any(v in text for v in variables) else f"({text})*x"
    return "smooth, large point", text, random_point(rng, used, scale=50.0)


def finite_at(text: str, point: dict[str, float]) -> bool:
    """Reject the rare random tree whose value overflows (exp of a large nest): not a smooth case."""
    graph = build_graph(parse(text), default_registry())
    value = forward(graph, {v: np.array([point[v]]) for v in graph.variables})[graph.output][0]
    return bool(np.isfinite(value)) and abs(value) < 1e150


def generate_cases(count: int, seed: int, ill_fraction: float) -> list[tuple[str, str, dict[str, float]]]:
    rng = random.Random(seed)
    cases = []
    while len(cases) < count:
        family, text, point = ill_conditioned_case(rng) if rng.random() < ill_fraction else smooth_case(rng)
        if finite_at(text, point):
            cases.append((family, text, point))
    return cases


# --- running -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Record:
    family: str
    text: str
    point: dict[str, float]
    status: str
    message: str | None
    exact_method: str | None
    errors: dict[str, list[float]]  # per method: relative error against the exact value (1000 digits where 50 were wrong)
    exact_missing: int  # gradients without an exact value (timeout, not real)
    status_no_exact: str  # the same case judged on finite differences alone (--no-exact)
    message_no_exact: str | None
    oracle_wrong: int  # gradients whose 50-digit exact value differs from a 1000-digit one by > 1e-10 relative
    seconds: float


ORACLE_CHECK_DIGITS = 1000


def precise_value(text: str, point: dict[str, float], var: str) -> float | None:
    """The exact column recomputed at 1000 digits (then 2000); None if unavailable."""
    from gradcheck_cli.oracle import exact

    saved, exact.PRECISIONS = exact.PRECISIONS, (ORACLE_CHECK_DIGITS, 2 * ORACLE_CHECK_DIGITS)
    try:
        values = exact.exact_case(parse(text), [{k: np.asarray(v) for k, v in point.items()}], (var,), 10.0,
                                  formula=False)[0].values[var]
        return None if values is None or not np.isfinite(values) else float(values)
    finally:
        exact.PRECISIONS = saved


def suspicious(g) -> bool:
    """Backprop or the complex step (no subtraction) disagrees with the exact column: is the oracle itself right?"""
    return g.exact is not None and any(
        estimate is not None and relative_error(estimate, g.exact) > 1e-6 for estimate in (g.analytic, g.complex_step))


def reference(text: str, point: dict[str, float], g) -> tuple[float, bool]:
    """The value to measure errors against, and whether the 50-digit exact column was wrong (> 1e-10 off)."""
    if not suspicious(g):
        return g.exact, False
    precise = precise_value(text, point, g.var)
    if precise is None or relative_error(g.exact, precise) <= 1e-10:
        return g.exact, False
    return precise, True


def run_case(case: tuple[str, str, dict[str, float]], timeout: float = 5.0, exact_method: str = "auto") -> Record:
    """One case; exact_method "auto" is `eval`'s default (SymPy's formula for small expressions), "chain" is
    `check`'s (the chained local rules, proved at one precision where the error bound allows)."""
    family, text, point = case
    started = time.perf_counter()
    result = check_text(text, point, options=Options(exact_timeout=timeout, exact_method=exact_method))
    seconds = time.perf_counter() - started
    errors: dict[str, list[float]] = {m: [] for m in METHODS}
    oracle_wrong = 0
    for g in result.gradients:
        if g.exact is None:
            continue
        truth, wrong = reference(text, point, g)
        oracle_wrong += wrong
        for method in METHODS:
            estimate = getattr(g, method)
            errors[method].append(relative_error(estimate, truth) if estimate is not None else math.inf)
    missing = sum(g.exact is None for g in result.gradients)
    alone = check_text(text, point, options=Options(exact=False))
    return Record(family, text, point, result.status, result.message, result.exact_method, errors, missing,
                  alone.status, alone.message, oracle_wrong, seconds)


def run_all(cases: list, jobs: int, exact_method: str = "auto") -> list[Record]:
    one = functools.partial(run_case, exact_method=exact_method)
    if jobs <= 1:
        return [one(c) for c in cases]
    with Pool(jobs) as pool:  # map keeps case order, so the report does not depend on --jobs
        return pool.map(one, cases, chunksize=50)


# --- report ------------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def method_table(records: list[Record], title: str) -> str:
    lines = [f"| {title} | gradients | median rel. error | 99th percentile | worst | worst case |",
             "|---|---:|---:|---:|---:|---|"]
    for method in METHODS:
        pairs = [(e, r) for r in records for e in r.errors[method]]
        if not pairs:
            continue
        values = [e for e, _ in pairs]
        worst_error, worst_record = max(pairs, key=lambda p: p[0])
        where = f"`{short(worst_record.text)}` at {fmt_point(worst_record.point)}"
        lines.append(f"| {method} | {len(values)} | {statistics.median(values):.2e} | {percentile(values, 0.99):.2e} "
                     f"| {worst_error:.2e} | {where} |")
    return "\n".join(lines)


def short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def fmt_point(point: dict[str, float]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items())


STATUSES = ("pass", "mismatch", "inconclusive", "kink", "error")


def status_table(records: list[Record]) -> str:
    families = sorted({r.family for r in records}, key=lambda f: (f != "smooth", f))
    no_exact = [f"{s} (no exact)" for s in STATUSES[1:3]]
    lines = ["| family | cases | " + " | ".join([*STATUSES, "exact missing", "exact wrong (vs 1000 digits)", *no_exact]) + " |",
             "|---|---:|" + "---:|" * (len(STATUSES) + 2 + len(no_exact))]
    for family in [*families, "all"]:
        chosen = [r for r in records if family in ("all", r.family)]
        counts = [sum(r.status == s for r in chosen) for s in STATUSES]
        missing = sum(r.exact_missing > 0 for r in chosen)
        alone = [sum(r.status_no_exact == s for r in chosen) for s in STATUSES[1:3]]
        wrong = sum(r.oracle_wrong > 0 for r in chosen)
        lines.append(f"| {family} | {len(chosen)} | " + " | ".join(map(str, [*counts, missing, wrong, *alone])) + " |")
    return "\n".join(lines)


def report(records: list[Record], seed: int, seconds: float, jobs: int, limit: int = 10) -> str:
    false_mismatches = [r for r in records if r.status == "mismatch"]
    smooth = [r for r in records if r.family == "smooth"]
    parts = [
        f"## gradcheck accuracy study: {len(records)} cases, seed {seed}",
        f"{seconds:.0f} s wall with --jobs {jobs} on {os.cpu_count()} cores (median {statistics.median(r.seconds for r in records) * 1000:.0f} ms/case); "
        f"Python {sys.version.split()[0]}; code {code_version()}",
        "",
        f"**False mismatches: {len(false_mismatches)} of {len(records)} cases** (every one is a tolerance bug: the gate rules are correct); "
        f"with --no-exact: {sum(r.status_no_exact == 'mismatch' for r in records)} mismatches, "
        f"{sum(r.status_no_exact == 'inconclusive' for r in records)} inconclusive",
        "",
        status_table(records),
        "",
        "Relative errors are against the exact value; where the 50-digit column was found wrong, against the 1000-digit one.",
        "",
        method_table(records, "all cases: method"),
        "",
        method_table(smooth, "smooth cases only: method"),
    ]
    if false_mismatches:
        parts += ["", f"### First {min(limit, len(false_mismatches))} false mismatches", ""]
        for r in false_mismatches[:limit]:
            parts.append(f"- [{r.family}] `{short(r.text, 200)}` at {fmt_point(r.point)}: {r.message}")
    alone = [r for r in records if r.status_no_exact == "mismatch"]
    if alone:
        parts += ["", f"### First {min(limit, len(alone))} false mismatches with --no-exact (finite differences only)", ""]
        for r in alone[:limit]:
            parts.append(f"- [{r.family}] `{short(r.text, 200)}` at {fmt_point(r.point)}: {r.message_no_exact}")
    oracle = [r for r in records if r.oracle_wrong]
    if oracle:
        parts += ["", f"### First {min(limit, len(oracle))} cases where the 50-digit exact column is wrong (status shown)", ""]
        for r in oracle[:limit]:
            parts.append(f"- [{r.family}] {r.status}: `{short(r.text, 200)}` at {fmt_point(r.point)}")
    inconclusive = [r for r in records if r.status in ("inconclusive", "error", "kink")]
    if inconclusive:
        parts += ["", f"### First {min(limit, len(inconclusive))} inconclusive / kink / error cases", ""]
        for r in inconclusive[:limit]:
            parts.append(f"- [{r.family}] {r.status}: `{short(r.text, 200)}` at {fmt_point(r.point)}: {r.message}")
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (results do not depend on it)")
    parser.add_argument("--ill-fraction", type=float, default=0.15, help="share of ill-conditioned cases")
    parser.add_argument("--exact-method", choices=["auto", "chain"], default="auto",
                        help="auto: eval's default (SymPy's formula for small expressions); chain: check's default")
    args = parser.parse_args()
    cases = generate_cases(args.cases, args.seed, args.ill_fraction)
    started = time.perf_counter()
    records = run_all(cases, args.jobs, args.exact_method)
    print(f"exact column: --exact-method {args.exact_method}\n")
    print(report(records, args.seed, time.perf_counter() - started, args.jobs))


if __name__ == "__main__":
    main()
