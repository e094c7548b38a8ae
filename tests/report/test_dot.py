"""The circuit picture: DOT text with a node per gate, a wire per input, values and gradients on the wires,
user names from programs, failed variables and kinks marked, big graphs summarised; rendered when Graphviz is there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from gradcheck_cli.errors import UsageError
from gradcheck_cli.eval.circuit import circuit
from gradcheck_cli.expression.check import Options
from gradcheck_cli.ir import build_graph
from gradcheck_cli.lang.expr import parse
from gradcheck_cli.ops import default_registry
from gradcheck_cli.report.dot import DRAWN_LIMIT, SHARES_UP_TO, case_picture, write
from gradcheck_cli.session import check_text

R = default_registry()


def picture(text: str, at: dict, **kwargs) -> str:
    case = check_text(text, at, **kwargs)
    graph = build_graph(parse(text), R, {k: np.shape(v) for k, v in at.items()})
    return case_picture(graph, circuit(graph, {k: np.asarray(v, dtype=float) for k, v in at.items()}, SHARES_UP_TO), case)


def test_every_gate_is_a_node_and_every_wire_carries_value_and_gradient():
    dot = picture("(x+sigma(y))/(sigma(x)+(x+y)**2)", {"x": 3.0, "y": -4.0})
    assert dot.startswith("digraph gradcheck {") and dot.rstrip().endswith("}")
    assert len(re.findall(r"^  n\d+ \[", dot, re.M)) == 10  # x, y, 2 sigmas, 3 adds, the constant 2, pow, f
    assert "doublecircle" in dot and 'label="x"' in dot
    # x fans out to three gates: each wire carries x's value 3 and the term it sends back, which add up to
    # df/dx = 2.06, as the cs231n notes' `dx += ...` lines do
    terms = re.findall(r'n0 -> n\d+ \[label="3\\n∂ (-?[\d.]+) \(of 2.06\)"\]', dot)
    assert sorted(terms) == ["-0.03576", "0.5121", "1.583"]
    assert re.search(r'-> n\d+ \[label="-1\\n∂ 1.583"\]', dot)  # a wire without a fan-out: df/d(it)


def test_a_failed_variable_is_red_and_a_kink_orange():
    dot = picture("relu(x) * y", {"x": 0.0, "y": 2.0}, expect="dy=5")
    assert 'fillcolor="#f4cccc"' in dot.split('label="y"')[0].rsplit("\n", 1)[-1]  # y failed its claim
    assert "#fce5cd" in dot  # relu sits on its kink


def test_large_graphs_are_summarised():
    text = " + ".join(f"sin(x{i % 20})" for i in range(2000))
    dot = picture(text, {f"x{i}": 0.1 * i for i in range(20)}, options=Options(exact=False))
    nodes = re.findall(r"^  n\d+ \[", dot, re.M)
    assert len(nodes) <= DRAWN_LIMIT + 20 and "more gates" in dot


def test_only_known_formats_and_a_missing_graphviz_says_how_to_install(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match=r"\.dot"):
        write(str(tmp_path / "x.jpg"), "digraph {}")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(UsageError, match="apt-get install graphviz"):
        write(str(tmp_path / "x.svg"), "digraph {}")
    assert write(str(tmp_path / "x.dot"), "digraph {}\n") and (tmp_path / "x.dot").read_text() == "digraph {}\n"


def test_graphviz_reads_the_picture(tmp_path):
    if shutil.which("dot") is None:  # CI installs it (.ci/run): there a missing dot is a failure, not a skip
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail("Graphviz's dot is missing: .ci/run installs it (apt-get install -y graphviz)")
        pytest.skip("Graphviz's dot is not installed (apt-get install graphviz)")
    dot = picture("sum(tanh(W @ x))", {"W": [[1.0, -2.0], [0.5, 0.3]], "x": [0.2, -0.4]})
    done = subprocess.run(["dot", "-Tcanon"], input=dot.encode(), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    write(str(tmp_path / "w.svg"), dot)
    assert (tmp_path / "w.svg").read_text().lstrip().startswith("<?xml")
