"""The corpus (tests/function/corpus/) through check_function with default options, in float64 and float32.

Correct functions must pass (the deliberate kink cases must be `kink`, which passes unless strict): 0 false
alarms. Planted bugs must be a `mismatch` on exactly the inputs they break, the one wrong element of a
100x100 dW among the failing elements: 0 false passes. A grad that changes its input, a loss that is NaN and a
grad that returns text are `error`s with one-line messages. The first tests check the corpus itself against
an oracle of its own (a plain central difference), so a failure below is the checker's, not the corpus'.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from corpus import BUGS, CASES, DTYPES, Bug, Case, dtype_name

from gradcheck_cli import check_function
from gradcheck_cli.errors import GradcheckError

VARIANTS = [pytest.param(case, dtype, id=f"{case.name}-{dtype_name(dtype)}") for case in CASES for dtype in DTYPES]
MISMATCHES = [pytest.param(bug, dtype, id=f"{bug.name}-{dtype_name(dtype)}")
              for bug in BUGS if bug.expect == "mismatch" for dtype in DTYPES]
DTYPE_IDS = [dtype_name(d) for d in DTYPES]


def run(case: Case, dtype, inputs: dict | None = None, **options):
    return check_function(case.f, case.inputs(dtype) if inputs is None else inputs, case.grad, wrt=case.wrt, **options)


def as_dict(case: Case, given) -> dict:
    return dict(given) if isinstance(given, dict) else {case.wrt[0]: given}


def bug(name: str) -> Bug:
    return next(b for b in BUGS if b.name == name)


# --- the corpus itself: right where it says right, wrong where it says wrong, float32 where it says float32 ---

def central_difference(case: Case, var: str, flat_indices, h: float = 1e-6) -> np.ndarray:
    """d f / d var[k] by (f(x+h) - f(x-h)) / 2h in float64: the corpus' own oracle, no gradcheck code."""
    rows = []
    for k in flat_indices:
        moved = []
        for step in (h, -h):
            inputs = case.inputs(np.float64)
            inputs[var].reshape(-1)[k] += step
            moved.append(np.asarray(case.f(**inputs), dtype=np.float64).reshape(-1))
        rows.append((moved[0] - moved[1]) / (2 * h))
    return np.array(rows)  # (elements, outputs)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_corpus_gradient_agrees_with_a_central_difference(case):
    point = case.inputs(np.float64)
    given = as_dict(case, case.grad(**case.inputs(np.float64)))
    outputs = np.asarray(case.f(**point)).size
    for var in case.wrt:
        x = point[var].reshape(-1)
        chosen = np.arange(x.size) if x.size <= 400 else np.random.default_rng(0).choice(x.size, 40, replace=False)
        chosen = chosen[x[chosen] != 0] if case.expect == "kink" else chosen  # the kink elements have no derivative
        numeric = central_difference(case, var, chosen)
        mine = np.asarray(given[var], dtype=np.float64).reshape(outputs, -1)[:, chosen].T if outputs > 1 else \
            np.asarray(given[var], dtype=np.float64).reshape(-1)[chosen][:, None]
        np.testing.assert_allclose(mine, numeric, rtol=1e-5, atol=1e-5, err_msg=f"{case.name}: d{var}")


def test_the_corpus_is_big_enough_and_names_are_unique():
    assert len(CASES) >= 24 and len({c.name for c in CASES}) == len(CASES)
    assert len({b.name for b in BUGS}) == len(BUGS)
    assert {c.name for c in CASES if c.expect == "kink"} == {"relu-kink", "l1-kink"}


@pytest.mark.parametrize("item", [*CASES, *(b.case for b in BUGS if b.name != "bug-grad-returns-text")],
                         ids=[*(c.name for c in CASES), *(b.name for b in BUGS if b.name != "bug-grad-returns-text")])
def test_the_float32_variant_computes_in_float32(item):
    inputs = item.inputs(np.float32)
    assert all(v.dtype in (np.float32, np.int64) for v in inputs.values())
    with np.errstate(all="ignore"):
        assert np.asarray(item.f(**inputs)).dtype == np.float32
    given = as_dict(item, item.grad(**item.inputs(np.float32)))
    assert {var: np.asarray(given[var]).dtype for var in item.wrt} == {var: np.float32 for var in item.wrt}


@pytest.mark.parametrize("b", [b for b in BUGS if b.expect == "mismatch"], ids=[b.name for b in BUGS if b.expect == "mismatch"])
def test_every_planted_bug_changes_exactly_the_gradients_it_blames(b):
    right = as_dict(b.case, layers_grad(b)(**b.case.inputs(np.float64)))
    wrong = as_dict(b.case, b.case.grad(**b.case.inputs(np.float64)))
    for var in b.case.wrt:
        r, w = np.asarray(right[var]), np.asarray(wrong[var])
        if var not in b.blamed:
            np.testing.assert_array_equal(w, r, err_msg=f"{b.name}: d{var} should be untouched")
        elif b.element is not None:
            changed = np.argwhere(w != r)
            assert [tuple(i) for i in changed] == [b.element]
            assert 0.5 < abs(r[b.element]) < 2 and abs(w[b.element] / r[b.element] - 1) == pytest.approx(1e-3)
        else:
            assert np.abs(w - r).max() > 1e-3 * max(1.0, np.abs(r).max()), f"{b.name}: d{var} is not wrong enough"


def layers_grad(b: Bug):
    """The correct grad of a bug's function (the corpus case it was made from)."""
    return next(c.grad for c in CASES if c.f is b.case.f and c.point is b.case.point)


# --- correct functions: 0 false alarms with default options ---

@pytest.mark.parametrize("case, dtype", VARIANTS)
def test_a_correct_gradient_passes_with_default_options(case, dtype):
    report = run(case, dtype)
    assert report.ok, report.text()
    assert report.status == case.expect, report.text()
    statuses = {g.var: g.status for g in report.cases[0].gradients}
    assert set(statuses) == set(case.wrt)
    assert set(statuses.values()) <= {"pass", case.expect}, report.text()


def in_float32(function):
    """The user's function on float64 inputs that it casts to float32 itself (its answer is float32)."""

    def inside(**inputs):
        return function(**{k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in inputs.items()})

    inside.__name__ = inside.__qualname__ = function.__name__
    return inside


@pytest.mark.parametrize("case", [c for c in CASES if c.name != "l2-100x100"],
                         ids=[c.name for c in CASES if c.name != "l2-100x100"])
def test_a_function_that_computes_in_float32_inside_passes(case):
    """float64 inputs, float32 arithmetic: the precision is read from what f returns. Where f is not holomorphic
    (np.abs, np.var) only float32 differences are left, which cannot resolve a small element to rtol: that
    element is `inconclusive` (still ok), never a mismatch."""
    report = check_function(in_float32(case.f), case.inputs(np.float64), in_float32(case.grad), wrt=case.wrt)
    assert report.ok, report.text()
    text = " ".join(report.text().split())  # the table wraps its notes
    assert report.status == case.expect or (report.status == "inconclusive" and "cannot judge" in text
                                            and "not holomorphic" in text), text


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", ["relu-kink", "l1-kink"])
def test_a_subgradient_at_a_kink_passes_unless_strict(name, dtype):
    case = next(c for c in CASES if c.name == name)
    report = run(case, dtype, strict=True)
    assert report.status == "kink" and not report.ok, report.text()
    kinked = next(g for g in report.cases[0].gradients if g.var == case.wrt[0])
    zeros = {tuple(int(i) for i in index) for index in np.argwhere(case.inputs(np.float64)[case.wrt[0]] == 0)}
    assert {tuple(index) for index, status, _ in kinked.failing if status == "kink"} == zeros, report.text()


# --- planted bugs: 0 false passes, and the input (and element) that is wrong is named ---

@pytest.mark.parametrize("b, dtype", MISMATCHES)
def test_a_planted_bug_is_a_mismatch_of_the_input_it_breaks(b, dtype):
    report = run(b.case, dtype)
    assert not report.ok, report.text()
    assert report.status == "mismatch", report.text()
    checks = {g.var: g for g in report.cases[0].gradients}
    for var in b.case.wrt:
        if var in b.blamed:
            assert checks[var].status == "mismatch", report.text()
            assert re.search(rf"\bd{var}\b", report.text()), report.text()
        else:
            assert checks[var].status != "mismatch", f"d{var} is blamed but {b.name} leaves it right\n{report.text()}"
    if b.element is not None:
        failing = [tuple(int(i) for i in index) for index, *_ in checks[b.blamed[0]].failing]
        assert b.element in failing, (failing, report.text())


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_a_grad_that_changes_its_input_is_an_error_naming_the_grad_and_the_input(dtype):
    b = bug("bug-grad-mutates-input")
    inputs = b.case.inputs(dtype)
    before = {k: v.copy() for k, v in inputs.items()}
    report = run(b.case, dtype, inputs=inputs)
    assert report.status == "error" and not report.ok, report.text()
    text = report.text()
    assert b.case.grad.__name__ in text and re.search(r"\bW\b", text), text
    for name, value in before.items():  # f and grad get copies: the caller's arrays are untouched
        np.testing.assert_array_equal(inputs[name], value, err_msg=f"check_function let the grad change {name}")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_a_loss_that_is_nan_is_an_error(dtype):
    report = run(bug("bug-nan-loss").case, dtype)
    assert report.status == "error" and not report.ok, report.text()
    assert re.search(r"nan|not finite", report.text(), re.IGNORECASE), report.text()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_a_grad_that_returns_text_is_a_one_line_error(dtype):
    b = bug("bug-grad-returns-text")
    try:
        report = run(b.case, dtype)
    except GradcheckError as error:  # refused before checking: fine, if it says what and how in one line
        assert "\n" not in str(error) and "grad" in str(error) and "str" in str(error), str(error)
        return
    assert report.status == "error" and not report.ok, report.text()
    message = report.cases[0].message or ""
    assert message and "\n" not in message and "grad" in message, report.text()
