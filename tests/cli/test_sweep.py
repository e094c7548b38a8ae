"""`gradcheck sweep`: the V of truncation against rounding error, against the exact derivative."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest

from gradcheck_cli.numeric.differences import centered_step, forward_step


def sweep_json(cli, expression: str, at: str, *extra: str) -> dict:
    result = cli("sweep", expression, "--at", at, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_truncation_side_of_the_v_follows_taylor(cli):
    data = sweep_json(cli, "sin(x)", "x=1")
    assert data["schema"] == "gradcheck-sweep/1" and data["reference_method"] == "exact"
    assert data["reference"] == pytest.approx(math.cos(1), rel=1e-15)
    rows = {row["h"]: row["errors"] for row in data["rows"]}
    for h in (1e-1, 1e-2, 1e-3):  # sin at 1: centered error h**2/6, forward error (h/2)*tan(1)
        assert rows[h]["centered"] == pytest.approx(h * h / 6, rel=0.01)
        assert rows[h]["forward"] == pytest.approx(h / 2 * math.tan(1), rel=0.03)
        assert rows[h]["richardson"] < rows[h]["centered"] / 100  # extrapolation removes the h**2 term


def test_the_rounding_side_of_the_v_grows_as_h_shrinks(cli):
    rows = {row["h"]: row["errors"] for row in sweep_json(cli, "sin(x)", "x=1")["rows"]}
    best = min(rows, key=lambda h: rows[h]["centered"])
    assert 1e-7 <= best <= 1e-4 and rows[best]["centered"] < 1e-9
    assert rows[1e-15]["centered"] > 1e-3 and rows[1e-15]["centered"] > 1e4 * rows[best]["centered"]


def test_the_steps_gradcheck_picks_are_marked(cli):
    data = sweep_json(cli, "exp(x)*y", "x=3,y=2", "--wrt", "x")
    assert data["var"] == "x" and data["point"] == {"x": 3.0, "y": 2.0}
    assert data["chosen_h"] == {"forward": forward_step(3.0), "centered": centered_step(3.0)}
    table = cli("sweep", "exp(x)*y", "--at", "x=3,y=2")
    assert table.exit_code == 0
    assert "◀ c │" in table.stdout and "◀ f │" in table.stdout and "◀ f, ◀ c: gradcheck's steps here" in table.stdout and "h →" in table.stdout


@pytest.mark.parametrize("args,fragment", [
    (["log(x)", "--at", "x=-1"], "cannot sweep at x=-1: log(-1) = nan"),
    (["sqrt(x)", "--at", "x=0"], "the derivative of sqrt is not finite"),
    (["2*pi", "--at", ""], "no variables"),
    (["x*y", "--at", "x=1,y=2", "--wrt", "z"], "--wrt names 'z'"),
    (["x*y", "--at", "x=1"], "no value for 'y'"),
])
def test_points_without_a_derivative_are_clean_tool_errors(args, fragment, cli, tool_error):
    tool_error(cli("sweep", *args), fragment)


def test_plot_writes_a_png_or_says_what_it_needs(cli, tmp_path):
    target = tmp_path / "v.png"
    result = cli("sweep", "sin(x)", "--at", "x=1", "--plot", str(target))
    if importlib.util.find_spec("matplotlib") is None:
        assert result.exit_code == 2 and "--plot needs matplotlib" in result.stderr and not target.exists()
    else:
        assert result.exit_code == 0 and target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
