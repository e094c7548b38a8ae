"""The expressions/ library: every file green with the exact column, as CI runs it (`gradcheck check expressions/`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradcheck_cli.cli.main import main

EXPRESSIONS = Path(__file__).resolve().parents[2] / "expressions"


@pytest.fixture(scope="module")
def report() -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["check", str(EXPRESSIONS), "--format", "json", "--strict"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def cases_of(report: tuple[int, dict], name: str) -> list[dict]:
    return [c for c in report[1]["cases"] if Path(c["source"].rsplit(":", 1)[0]).name == name]


def test_every_example_file_is_green_even_with_strict(report):
    code, data = report
    failing = [(c["source"], c["status"], c["message"]) for c in data["cases"] if c["status"] != "pass"]
    assert failing == [] and code == 0
    assert data["summary"]["total"] == data["summary"]["pass"] >= 150


def test_every_example_file_holds_cases_and_every_case_has_an_exact_value(report):
    files = sorted(p.name for p in EXPRESSIONS.glob("*.gc"))
    assert files == ["cs231n.gc", "hacker_guide.gc", "identities.gc", "matrices.gc", "micrograd.gc", "sigmoid.gc"]
    assert all(cases_of(report, name) for name in files)
    # check's default exact column chains each gate's local derivatives: a value for every case, no formula
    assert all(c["exact_method"] == "chain" for c in report[1]["cases"])
    assert all(g["exact"] is not None and g["exact_expr"] is None for c in report[1]["cases"] for g in c["gradients"])


def test_exact_method_auto_adds_sympy_formulas_and_agrees_with_chain(report):
    result = CliRunner().invoke(main, ["check", str(EXPRESSIONS / "cs231n.gc"), "--format", "json", "--exact-method", "auto"],
                                catch_exceptions=False)
    auto = json.loads(result.stdout)["cases"]
    chain = cases_of(report, "cs231n.gc")
    assert result.exit_code == 0 and len(auto) == len(chain) > 5
    # small expressions get SymPy's whole formula (the long ones would fall back to the chain)
    assert sum(c["exact_method"] == "sympy" for c in auto) > len(auto) // 2
    assert all(g["exact_expr"] for c in auto if c["exact_method"] == "sympy" for g in c["gradients"])
    for a, c in zip(auto, chain):
        for ga, gc in zip(a["gradients"], c["gradients"]):
            assert ga["exact"] == pytest.approx(gc["exact"], rel=1e-15, abs=1e-300)


def gradient(case: dict, var: str) -> dict:
    return next(g for g in case["gradients"] if g["var"] == var)


def test_micrograd_cases_carry_pytorch_results_as_claims(report):
    cases = cases_of(report, "micrograd.gc")
    sanity = next(c for c in cases if c["point"] == {"x": -4.0})
    more_ops = next(c for c in cases if c["point"] == {"a": -4.0, "b": 2.0})
    assert sanity["value"] == -20.0 and sanity["expr"].startswith("relu((2*x + 2 + x)*(2*x + 2 + x))")
    assert gradient(sanity, "x")["expected"] == 46.0 and gradient(sanity, "x")["exact"] == 46.0
    assert more_ops["value"] == pytest.approx(24.70408163265306, rel=1e-15)
    assert gradient(more_ops, "a")["expected"] == 138.83381924198252 and gradient(more_ops, "b")["expected"] == 645.5772594752186


def test_seed_values_are_claimed(report):
    svm = next(c for c in cases_of(report, "hacker_guide.gc") if c["point"] == {"w0": 0.1, "w1": 0.2, "w2": 0.3})
    assert svm["value"] == pytest.approx(1.815, rel=1e-15)
    assert [gradient(svm, v)["expected"] for v in ("w0", "w1", "w2")] == [-1.48, -0.16, 0.0]
    staged = [c for c in cases_of(report, "cs231n.gc") if c["point"] == {"x": 3.0, "y": -4.0}]
    assert len(staged) == 1 and gradient(staged[0], "x")["expected"] == 2.059569795572165


def test_identities_are_formula_claims_at_five_random_points(report):
    identities = cases_of(report, "identities.gc")
    lines = {c["source"] for c in identities}
    assert len(identities) == 5 * len(lines) and len(lines) >= 20
    assert all(c["point"] and any(g["expected"] is not None for g in c["gradients"]) for c in identities)
