"""The circuit picture: the gate graph as Graphviz DOT, as the seeds draw circuits — every wire carries its
value (top) and its gradient df/d(wire) (bottom); inputs are boxes, f a double circle; a variable whose
gradient failed is red, a gate sitting on its kink orange. FILE.svg / FILE.png go through Graphviz's `dot`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import numpy as np

from ..errors import UsageError
from ..results import Circuit
from .text import number, shape_text

DRAWN_LIMIT = 150  # gates drawn at most; past it the picture keeps f, the inputs and the gates nearest f
FORMATS = ("dot", "svg", "png", "pdf")
SHARES_UP_TO = 10 * DRAWN_LIMIT  # gates: past this, a fan-out's wires show df/d(wire) only, not each one's own term


def _number(value) -> str:
    """A wire's label: a number at 4 digits, a small tensor's values at 3, a larger one's shape and norm."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return number(array, 4)
    if array.size <= 4:
        return "[" + ", ".join(number(v, 3) for v in array.reshape(-1)) + "]"
    return f"{shape_text(array.shape)} |{number(np.linalg.norm(array), 3)}|"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _kept(graph) -> set[int]:
    """Every node when the graph is small; else f, the inputs and the gates within a few steps of f."""
    if len(graph.nodes) <= DRAWN_LIMIT:
        return set(range(len(graph.nodes)))
    kept, frontier = {graph.output}, [graph.output]
    while frontier and len(kept) < DRAWN_LIMIT:
        nxt = []
        for index in frontier:
            for i in graph.nodes[index].inputs:
                if i not in kept and graph.nodes[i].op != "const":
                    kept.add(i)
                    nxt.append(i)
        frontier = nxt
    return kept | set(graph.variable_nodes)


def to_dot(graph, values, grads, failed: set[str] = frozenset(), kinks: set[int] = frozenset(), title: str = "",
           shares: dict | None = None) -> str:
    """DOT text for the graph at one point: `values`/`grads` per node (own shape), `failed` variable names;
    `shares[(source, consumer)]`: what a fanned-out wire sends back (its `+=` term), when known."""
    kept = _kept(graph)
    lines = ["digraph gradcheck {", '  rankdir=LR; node [fontname="Helvetica", fontsize=11]; edge [fontname="Helvetica", fontsize=9];']
    if title:
        lines.append(f"  labelloc=t; label={_quote(title)};")
    for index in sorted(kept):
        lines.append("  " + _node(graph, index, values, failed, kinks))
    hidden = len(graph.nodes) - len(kept)
    if hidden:
        lines.append(f'  hidden [shape=note, label={_quote(f"… {hidden:,} more gates (the picture keeps the {len(kept)} nearest f)")}];')
    for index in sorted(kept):
        for i in dict.fromkeys(graph.nodes[index].inputs):
            source = f"n{i}" if i in kept else "hidden"
            wire = "" if graph.nodes[i].op == "const" else _wire(graph, i, values, grads, (shares or {}).get((i, index)))
            lines.append(f"  {source} -> n{index} [label={_quote(wire)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node(graph, index: int, values, failed: set[str], kinks: set[int]) -> str:
    node = graph.nodes[index]
    if node.op == "var":
        style = 'shape=box, style=filled, fillcolor="#f4cccc", color="#cc0000"' if node.label in failed else "shape=box"
        return f"n{index} [{style}, label={_quote(node.label + (f' {node.shape}' if node.shape else ''))}];"
    if node.op == "const":
        return f"n{index} [shape=plaintext, label={_quote(_number(values[index]))}];"
    symbol = graph.registry.ops[node.op].symbol if node.op in graph.registry.ops else node.op
    automatic = node.label.rstrip("0123456789") == node.op  # mul3: gradcheck's own name, nothing to add
    label = symbol if automatic else f"{symbol}\n{node.label}"
    shape = "doublecircle" if index == graph.output else "circle" if len(symbol) <= 2 else "ellipse"
    color = ', style=filled, fillcolor="#fce5cd", color="#e69138"' if index in kinks else ""
    return f"n{index} [shape={shape}{color}, label={_quote(label)}];"


def _wire(graph, index: int, values, grads, share=None) -> str:
    """The wire leaving node `index`: its value, and the gradient it carries back — df/d(it), or at a fan-out
    this wire's own term of it (the cs231n notes' `dx += ...`), with the total beside it."""
    gradient = grads[index] if grads is not None and graph.nodes[index].varies else None
    value = _number(values[index])
    if gradient is None:
        return value
    if share is not None:
        return f"{value}\n∂ {_number(share)} (of {_number(gradient)})"
    return f"{value}\n∂ {_number(gradient)}"


def check_destination(path: str) -> str:
    """The picture's format from its extension, and a directory to write it in (checked before any work)."""
    extension = os.path.splitext(path)[1].lstrip(".").lower()
    if extension not in FORMATS:
        raise UsageError(f"--graph {path}: write .dot (Graphviz text), or .svg, .png or .pdf (drawn by Graphviz's dot)")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise UsageError(f"--graph {path}: there is no directory {folder!r} (create it first: mkdir -p {folder})")
    return extension


def write(path: str, text: str) -> str:
    """FILE.dot as it is; FILE.svg/.png/.pdf through Graphviz's `dot` (a clear error when it is missing)."""
    extension = check_destination(path)
    if extension == "dot":
        try:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as problem:
            raise UsageError(f"--graph {path}: cannot write it: {problem.strerror or problem}") from None
        return path
    program = shutil.which("dot")
    if program is None:
        raise UsageError(f"--graph {path}: drawing .{extension} needs Graphviz's `dot` program, which is not installed "
                         "(apt-get install graphviz, brew install graphviz, conda install graphviz); --graph FILE.dot "
                         "works without it")
    done = subprocess.run([program, f"-T{extension}", "-o", path], input=text.encode("utf-8"), capture_output=True, timeout=120)
    if done.returncode:
        raise UsageError(f"--graph {path}: Graphviz failed: {done.stderr.decode(errors='replace').strip()[:200]}")
    return path


def case_picture(graph, wires: Circuit, case) -> str:
    """The DOT picture of one checked case, from the values and gradients at its point (eval/circuit.py)."""
    failed = {g.var for g in case.gradients if g.status in ("mismatch", "error")}
    prefix = "" if case.is_program else "f = "  # a program's title names its file and its f already
    title = f"{prefix}{case.expr.strip()[:80]}   ({case.status})"
    return to_dot(graph, wires.values, wires.grads, failed, wires.kinks, title, wires.shares)
