"""The corpus of tests/function/corpus/ through check_function with default options: a table and the totals.

Every correct function (float64 and float32) should be `pass` (or `kink` at its deliberate kinks), every
planted bug a `mismatch` (or `error` where the corpus says so). A false alarm is a correct function that is
not `ok` (or raises); a false pass is a bug that is `ok`. "not clean" counts the rest that is off: a correct
function that is `ok` but `inconclusive`, a bug that fails with another status than expected or blames
another input. With torch installed (`pip install torch==2.13.0`, never a dependency of gradcheck), a column
gives torch.autograd.gradcheck's verdict on the same function and gradient (a torch.autograd.Function whose
forward calls the numpy f and whose backward returns the hand-written gradient times the upstream).

    python benchmarks/corpus.py              # markdown on stdout
    python benchmarks/corpus.py --no-torch   # gradcheck only
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "function"))

from corpus import BUGS, CASES, DTYPES, dtype_name  # noqa: E402  (tests/function/corpus, put on the path above)

from gradcheck_cli import check_function  # noqa: E402


def ours(item, dtype) -> tuple[str, object, float]:
    """(status or 'raised: Type', the report or None, seconds)."""
    started = time.perf_counter()
    try:
        report = check_function(item.f, item.inputs(dtype), item.grad, wrt=item.wrt)
    except Exception as problem:  # noqa: BLE001 -- a raise is a result here
        return f"raised {type(problem).__name__}", None, time.perf_counter() - started
    return report.status, report, time.perf_counter() - started


def torch_verdict(item, dtype) -> tuple[str, float]:
    import torch

    inputs = item.inputs(dtype)
    wrt = item.wrt

    def call(function, tensors):
        values = dict(inputs)
        values.update({name: t.detach().numpy() for name, t in zip(wrt, tensors)})
        return function(**values)

    class Layer(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *tensors):
            ctx.save_for_backward(*tensors)
            return torch.as_tensor(np.asarray(call(item.f, tensors)))

        @staticmethod
        def backward(ctx, upstream):
            given = call(item.grad, ctx.saved_tensors)
            given = given if isinstance(given, dict) else {wrt[0]: given}
            up = upstream.detach().numpy()
            if up.size == 1:  # a scalar loss, however shaped (seed 002's Task 3 returns a (1, 1) array)
                return tuple(torch.as_tensor(up.reshape(()) * np.asarray(given[name])) for name in wrt)
            return tuple(torch.as_tensor(np.tensordot(up, np.asarray(given[name]), axes=up.ndim)) for name in wrt)

    tensors = tuple(torch.tensor(inputs[name], requires_grad=True) for name in wrt)
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            passed = torch.autograd.gradcheck(Layer.apply, tensors, raise_exception=False)
    except Exception as problem:  # noqa: BLE001
        return f"raised {type(problem).__name__}", time.perf_counter() - started
    return ("pass" if passed else "fail"), time.perf_counter() - started


def blame_ok(report, bug) -> bool:
    if bug.expect != "mismatch" or report is None:
        return True
    statuses = {g.var: g.status for g in report.cases[0].gradients}
    right = all((statuses.get(v) == "mismatch") == (v in bug.blamed) for v in bug.case.wrt)
    if bug.element is not None:
        failing = next(g for g in report.cases[0].gradients if g.var == bug.blamed[0]).failing
        right = right and bug.element in [tuple(int(i) for i in index) for index, *_ in failing]
    return right


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-torch", action="store_true", help="skip the torch.autograd.gradcheck column")
    args = parser.parse_args()
    use_torch = not args.no_torch
    if use_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            use_torch = False

    head = "| function | dtype | expected | got | seconds |" + (" torch | torch s |" if use_torch else "")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    totals = {"correct": 0, "false alarms": 0, "not clean": 0, "bugs": 0, "false passes": 0, "bugs not clean": 0,
              "torch false alarms": 0, "torch false passes": 0, "seconds": 0.0}
    rows = [(c, c.expect, False, None) for c in CASES] + [(b.case, b.expect, True, b) for b in BUGS]
    for item, expected, is_bug, bug in rows:
        for dtype in DTYPES:
            got, report, seconds = ours(item, dtype)
            totals["seconds"] += seconds
            ok = report is not None and report.ok
            if is_bug:
                totals["bugs"] += 1
                totals["false passes"] += ok
                totals["bugs not clean"] += (not ok) and (got != expected or not blame_ok(report, bug))
                if got == expected and not blame_ok(report, bug):
                    got += " (wrong input blamed)"
            else:
                totals["correct"] += 1
                totals["false alarms"] += not ok
                totals["not clean"] += ok and got != expected
            mark = "" if got == expected else " ✗"
            line = f"| {item.name} | {dtype_name(dtype)} | {expected} | {got}{mark} | {seconds:.3f} |"
            if use_torch:
                peer, peer_seconds = torch_verdict(item, dtype)
                peer_ok = peer == "pass"
                if is_bug:
                    totals["torch false passes"] += peer_ok
                else:
                    totals["torch false alarms"] += not peer_ok
                line += f" {peer} | {peer_seconds:.3f} |"
            print(line, flush=True)
    print()
    print(f"correct functions: {totals['correct']}, false alarms (not ok or raised): {totals['false alarms']}, "
          f"ok but not {'/'.join(sorted({c.expect for c in CASES}))} (inconclusive): {totals['not clean']}")
    print(f"planted bugs: {totals['bugs']}, false passes (ok): {totals['false passes']}, "
          f"caught but not as expected (another status, raised, or another input blamed): {totals['bugs not clean']}")
    if use_torch:
        print(f"torch.autograd.gradcheck: false alarms {totals['torch false alarms']} of {totals['correct']}, "
              f"false passes {totals['torch false passes']} of {totals['bugs']}")
    print(f"gradcheck time, all rows: {totals['seconds']:.1f} s")


if __name__ == "__main__":
    main()
