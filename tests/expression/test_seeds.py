"""The seeds' worked examples (/work/shared/seeds): the values they print, and the staged computation of
f(x,y) = (x + sigma(y)) / (sigma(x) + (x+y)**2) line by line, against --trace."""

from __future__ import annotations

import json
import math

import pytest

STAGED = "(x+sigma(y))/(sigma(x)+(x+y)**2)"


def _seed_staged(x: float = 3.0, y: float = -4.0) -> dict[str, float]:
    """The seed's hand-written forward and backward passes, line by line, in plain Python."""
    sigy = 1.0 / (1 + math.exp(-y))  # (1)
    num = x + sigy  # (2)
    sigx = 1.0 / (1 + math.exp(-x))  # (3)
    xpy = x + y  # (4)
    xpysqr = xpy**2  # (5)
    den = sigx + xpysqr  # (6)
    invden = 1.0 / den  # (7)
    f = num * invden
    dnum = invden  # (8)
    dinvden = num  # (8)
    dden = (-1.0 / (den**2)) * dinvden  # (7)
    dsigx = (1) * dden  # (6)
    dxpysqr = (1) * dden  # (6)
    dxpy = (2 * xpy) * dxpysqr  # (5)
    dx = (1) * dxpy  # (4)
    dy = (1) * dxpy  # (4)
    dx += ((1 - sigx) * sigx) * dsigx  # (3)
    dx += (1) * dnum  # (2)
    dsigy = (1) * dnum  # (2)
    dy += ((1 - sigy) * sigy) * dsigy  # (1)
    return dict(x=x, y=y, sigy=sigy, num=num, sigx=sigx, xpy=xpy, xpysqr=xpysqr, den=den, invden=invden, f=f,
                dnum=dnum, dinvden=dinvden, dden=dden, dsigx=dsigx, dxpysqr=dxpysqr, dxpy=dxpy, dsigy=dsigy, dx=dx, dy=dy)


# source text of each staged node in STAGED -> (the seed's value name, the seed's gradient name)
STAGES = {
    "x": ("x", "dx"),
    "y": ("y", "dy"),
    "sigma(y)": ("sigy", "dsigy"),
    "(x+sigma(y))": ("num", "dnum"),
    "sigma(x)": ("sigx", "dsigx"),
    "(x+y)": ("xpy", "dxpy"),
    "(x+y)**2": ("xpysqr", "dxpysqr"),
    "(sigma(x)+(x+y)**2)": ("den", "dden"),
    STAGED: ("f", None),
}


# --- the printed values -------------------------------------------------------------------------------

SEED_CASES = [
    ("sigma(x*w0+w1)", "x=2,w0=3,w1=-4",
     {"x": 0.3149807562105195, "w0": 0.209987170807013, "w1": 0.1049935854035065}),
    ("sigma(w0*x0+w1*x1+w2)", "w0=2,w1=-3,w2=-3,x0=-1,x1=-2",
     {"x0": 0.3932238664829637, "x1": -0.5898357997244456,
      "w0": -0.19661193324148185, "w1": -0.3932238664829637, "w2": 0.19661193324148185}),
    ("(x+y)*z", "x=-2,y=5,z=-4", {"x": -4.0, "y": -4.0, "z": 3.0}),
]


@pytest.mark.parametrize("text,at,expected", SEED_CASES)
def test_seed_gradients(text, at, expected, check):
    case = check(text, at)
    assert case.status == "pass", case.message
    got = {g.var: g for g in case.gradients}
    assert set(got) == set(expected)
    for var, value in expected.items():
        # the seeds printed float64 backprop results: a few ulps from the true value, like ours
        assert got[var].analytic == pytest.approx(value, rel=1e-14, abs=1e-300), var
        assert got[var].exact == pytest.approx(value, rel=1e-14, abs=0), var
        assert got[var].centered == pytest.approx(value, rel=1e-7, abs=0), var


def test_seed_circuit_value(check):
    assert check("(x+y)*z", "x=-2,y=5,z=-4").value == -12.0


def test_neuron_sigmoid_value(check):
    case = check("sigma(w0*x0+w1*x1+w2)", "w0=2,w1=-3,w2=-3,x0=-1,x1=-2")
    assert case.value == pytest.approx(1 / (1 + math.exp(-1.0)), rel=1e-15, abs=0)
    assert [g.var for g in case.gradients] == ["w0", "x0", "w1", "x1", "w2"]  # order of first appearance


@pytest.mark.parametrize("text,at,expected", SEED_CASES)
def test_seed_gradients_through_the_cli_json(text, at, expected, cli):
    result = cli("eval", text, "--at", at, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    gradients = {g["var"]: g for g in data["cases"][0]["gradients"]}
    for var, value in expected.items():
        assert gradients[var]["analytic"] == pytest.approx(value, rel=1e-14, abs=1e-300)
        assert gradients[var]["status"] == "pass"


def table_rows(out: str) -> dict[str, dict[str, str]]:
    """The gradient table as {var: {column header: cell text}} (box-drawing characters, NO_COLOR)."""
    header: list[str] | None = None
    rows: dict[str, dict[str, str]] = {}
    for line in out.splitlines():
        if "┃" in line and header is None:
            header = [c.strip() for c in line.strip().strip("┃").split("┃")]
        elif "│" in line and header is not None:
            cells = [c.strip() for c in line.strip().strip("│").split("│")]
            if len(cells) == len(header):
                rows[cells[0]] = dict(zip(header, cells))
    assert header is not None, out
    return rows


def test_seed_values_printed_in_the_table(cli):
    result = cli("eval", "sigma(x*w0+w1)", "--at", "x=2,w0=3,w1=-4")
    assert result.exit_code == 0
    rows = table_rows(result.stdout)
    for var, value in SEED_CASES[0][2].items():
        row = rows[var]
        # enough digits to see a 1e-7 disagreement: compare at 1e-11
        assert float(row["analytic"]) == pytest.approx(value, rel=1e-11, abs=0)
        assert float(row["exact"]) == pytest.approx(value, rel=1e-11, abs=0)
        assert float(row["centered"]) == pytest.approx(value, rel=1e-7, abs=0)
        assert "pass" in row["verdict"]


# --- the staged example -------------------------------------------------------------------------------

def test_staged_forward_values_match_the_seed(check):
    seed = _seed_staged()
    case = check(STAGED, "x=3,y=-4", trace=True)
    rows = {row.source: row for row in case.trace}
    assert set(STAGES) <= set(rows), sorted(rows)
    for source, (value_name, _) in STAGES.items():
        assert rows[source].value == pytest.approx(seed[value_name], rel=1e-15, abs=0), source
    assert case.value == pytest.approx(seed["f"], rel=1e-15, abs=0)


def test_staged_backward_gradients_match_the_seed(check):
    seed = _seed_staged()
    case = check(STAGED, "x=3,y=-4", trace=True)
    rows = {row.source: row for row in case.trace}
    for source, (_, grad_name) in STAGES.items():
        want = 1.0 if grad_name is None else seed[grad_name]
        assert rows[source].gradient == pytest.approx(want, rel=1e-14, abs=0), source
    # the seed's dnum = invden: df/d(numerator) is 1/denominator
    assert rows["(x+sigma(y))"].gradient == pytest.approx(seed["invden"], rel=1e-15, abs=0)
    got = {g.var: g.analytic for g in case.gradients}
    assert got["x"] == pytest.approx(seed["dx"], rel=1e-14, abs=0)
    assert got["y"] == pytest.approx(seed["dy"], rel=1e-14, abs=0)
    assert case.status == "pass"


def test_staged_trace_is_in_forward_order(check):
    case = check(STAGED, "x=3,y=-4", trace=True)
    order = [row.source for row in case.trace]
    # a stage comes after everything it reads
    assert order.index("sigma(y)") < order.index("(x+sigma(y))")
    assert order.index("(x+y)") < order.index("(x+y)**2") < order.index("(sigma(x)+(x+y)**2)")
    assert order[-1] == STAGED
    assert case.trace[-1].label == "f"


def test_staged_trace_in_the_cli_json(cli):
    seed = _seed_staged()
    result = cli("eval", STAGED, "--at", "x=3,y=-4", "--trace", "--format", "json")
    assert result.exit_code == 0, result.output
    trace = json.loads(result.stdout)["cases"][0]["trace"]
    rows = {row["source"]: row for row in trace}
    for source, (value_name, grad_name) in STAGES.items():
        assert rows[source]["value"] == pytest.approx(seed[value_name], rel=1e-15, abs=0)
        assert rows[source]["grad"] == pytest.approx(1.0 if grad_name is None else seed[grad_name], rel=1e-14, abs=0)
    assert {"name", "op", "source", "value", "grad"} <= set(trace[0])


def test_staged_trace_table(cli):
    seed = _seed_staged()
    result = cli("eval", STAGED, "--at", "x=3,y=-4", "--trace")
    assert result.exit_code == 0
    out = result.stdout
    assert "staged computation" in out
    for name in ("sigy", "num", "sigx", "den", "f"):
        assert f"{seed[name]:.12g}"[:12] in out, name
    for name in ("dx", "dy", "dden", "dnum"):
        assert f"{seed[name]:.12g}"[:12] in out, name
