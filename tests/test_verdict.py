"""verdict.judge on hand-made columns: each status and each diagnosis, and the exit code (one place)."""

from __future__ import annotations

import pytest

from gradcheck_cli.errors import ExitCode
from gradcheck_cli.numeric import Differences
from gradcheck_cli.verdict import Kink, Tolerances, exit_code, judge, relative_error


def differences(centered: float, error_estimate: float = 1e-10, reliable: bool = True, left: float | None = None,
                right: float | None = None) -> Differences:
    return Differences(forward=centered, centered=centered, richardson=centered, error_estimate=error_estimate,
                       reliable=reliable, left=centered if left is None else left,
                       right=centered if right is None else right, second=0.0, h_forward=1.5e-8,
                       h_centered=6e-6, crossed_gates=(), tied_gates=())


def check(analytic: float, d: Differences, exact: float | None = None, complex_step: float | None = None,
          expected: float | None = None, kink: Kink | None = None):
    return judge("x", analytic, abs(analytic), 0.0, 1.0, d, exact, None, expected, complex_step, Tolerances(), kink)


def test_all_columns_agree_is_a_pass():
    g = check(2.0, differences(2.0 + 1e-11), exact=2.0, complex_step=2.0)
    assert (g.status, g.diagnosis) == ("pass", None)


def test_backprop_alone_disagreeing_blames_the_rule():
    g = check(2.002, differences(2.0), exact=2.0, complex_step=2.0)
    assert g.status == "mismatch"
    assert "derivative rule or backward pass is wrong" in g.diagnosis


def test_finite_differences_alone_disagreeing_is_a_note_not_a_failure():
    g = check(2.0, differences(2.5), exact=2.0, complex_step=2.0)
    assert g.status == "pass"
    assert "finite-difference trouble" in g.diagnosis


def test_exact_alone_disagreeing_names_the_exact_column():
    g = check(2.0, differences(2.0), exact=3.0, complex_step=2.0)
    assert g.status == "mismatch"
    assert "exact column is the odd one out" in g.diagnosis


def test_without_exact_or_complex_step_an_unreliable_difference_is_inconclusive():
    g = check(2.0, differences(2.5, error_estimate=0.4, reliable=False))
    assert g.status == "inconclusive"
    assert "no exact value" in g.diagnosis
    assert exit_code([g.status]) == ExitCode.OK
    assert exit_code([g.status], strict=True) == ExitCode.FAILED


def test_without_exact_a_reliable_difference_judges():
    g = check(2.1, differences(2.0, error_estimate=1e-10))
    assert g.status == "mismatch"
    assert "no exact value" in g.diagnosis


@pytest.mark.parametrize("analytic,status", [(0.5, "kink"), (0.0, "kink"), (1.0, "kink"), (1.5, "mismatch")])
def test_a_kink_judges_against_the_one_sided_interval(analytic, status):
    kink = Kink("kink: the point sits on the kink of relu", tied=True)
    g = check(analytic, differences(0.5, left=0.0, right=1.0), kink=kink)
    assert g.status == status
    assert (g.left, g.right) == (0.0, 1.0)


def test_a_wrong_claim_is_a_mismatch_even_when_backprop_is_right():
    g = check(2.0, differences(2.0), exact=2.0, complex_step=2.0, expected=2.1)
    assert g.status == "mismatch"
    assert g.diagnosis.startswith("claimed dx = 2.1 but exact is 2")
    assert g.expected_rel_error == pytest.approx(relative_error(2.1, 2.0))


def test_exit_codes_come_from_the_statuses():
    assert exit_code(["pass", "kink"]) == ExitCode.OK
    assert exit_code(["pass", "mismatch"]) == ExitCode.FAILED
    assert exit_code(["error"]) == ExitCode.FAILED
    assert exit_code(["kink"], strict=True) == ExitCode.FAILED


# check_points judges first without rounding allowances and measures them only where that is not a clean pass:
# sound only if allowances never turn a clean pass into anything else (and never change what it reports)
from hypothesis import given, strategies as st  # noqa: E402

_relative = st.one_of(st.just(0.0), st.floats(-1e-5, 1e-5), st.floats(-1e-12, 1e-12))
_optional = st.one_of(st.none(), _relative)


@given(base=st.floats(-1e6, 1e6), analytic=_relative, centered=_relative, estimate=st.floats(0, 1e-3),
       reliable=st.booleans(), exact=_optional, complex_step=_optional, expected=_optional,
       magnitude=st.floats(0, 1e12), noise=st.floats(0, 1e3), second=st.floats(-1e6, 1e6))
def test_rounding_allowances_never_change_a_clean_pass(base, analytic, centered, estimate, reliable, exact, complex_step,
                                                       expected, magnitude, noise, second):
    d = Differences(forward=base * (1 + centered), centered=base * (1 + centered), richardson=base * (1 + centered),
                    error_estimate=abs(base) * estimate, reliable=reliable, left=base, right=base, second=second,
                    h_forward=1.5e-8, h_centered=6e-6, crossed_gates=(), tied_gates=())

    def at(m: float, n: float):
        return judge("x", base * (1 + analytic), m, n, 1.0, d, None if exact is None else base * (1 + exact), None,
                     None if expected is None else base * (1 + expected),
                     None if complex_step is None else base * (1 + complex_step), Tolerances(), None)

    clean = at(0.0, 0.0)
    if clean.status == "pass" and clean.diagnosis is None:
        assert at(magnitude, noise) == clean
