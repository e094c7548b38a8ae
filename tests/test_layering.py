"""The package map (docs/design.md) holds: which package may import which, over EVERY import of every module
(function-level ones and `if TYPE_CHECKING:` ones included: ast.walk sees them all), no import cycles between
modules, no `_private` name imported from another module, and the oracle apart from everything it checks.

A unit is a package (`eval`, `report`, ...) or a top-level module (`verdict`, `results`, ...); report/text.py is
a unit of its own: the one set of formatters, a leaf the lower layers write their messages with. A new package or
top-level module needs its row in ALLOWED; a new import between units needs its entry there (or a better place).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gradcheck_cli"

# unit -> the units it may import, bottom of the map first. Every row only names rows above it: the map is a DAG.
ALLOWED: dict[str, set[str]] = {
    "status": set(),  # statuses, exit codes, the shared float64 constants: standard library only
    "display": set(),  # text made safe and short for people (errors.py needs it)
    "results": set(),  # the typed records: numpy only
    "errors": {"display"},
    "lang": {"errors"},  # text -> syntax: no numpy, no SymPy
    "oracle": {"lang"},  # exact derivatives from the syntax alone: never the rules, the graph or the evaluator
    "ops": {"errors", "lang"},  # the rules
    "ir": {"errors", "lang", "ops"},  # the one graph form (ops for the registry's type only)
    "verdict": {"status"},  # the one judge
    "report.text": {"display", "lang", "status"},  # the one set of formatters
    "eval": {"errors", "ir", "lang", "ops", "results"},  # values and gradients of a graph
    "numeric": {"eval", "ir", "report.text", "results", "status", "verdict"},  # finite differences, directions
    "inputs": {"errors", "eval", "ir", "lang", "ops"},  # points, claims, sampling
    "expression": {"errors", "eval", "inputs", "ir", "lang", "numeric", "oracle", "report.text", "results", "status",
                   "verdict"},  # the expression route: columns -> the judge
    "programs": {"display", "errors", "eval", "expression", "inputs", "ir", "lang", "oracle", "report.text", "results",
                 "verdict"},  # a pasted cell, line by line
    "function": {"errors", "inputs", "lang", "numeric", "results", "status", "verdict"},  # the user's own numpy code
    "session": {"errors", "expression", "inputs", "ir", "lang", "ops", "programs", "results"},  # the one entry from text
    "files": {"display", "errors", "eval", "expression", "inputs", "ir", "lang", "ops", "oracle", "programs", "results",
              "session"},  # .gc files, workers, signals
    "report": {"display", "errors", "report.text", "results", "status"},  # printers: no engine, no judge, no parser
    "cli": {"display", "errors", "eval", "expression", "files", "function", "inputs", "ir", "lang", "ops", "programs",
            "report", "report.text", "results", "session", "status", "verdict"},
    "api": {"cli", "function", "inputs", "lang", "report", "report.text", "results", "session", "status", "verdict"},
    "pytest_plugin": {"cli", "display", "errors", "expression", "files", "report", "report.text", "results"},
    "notebook": {"api", "errors", "function", "lang", "report", "report.text"},
    "__init__": {"api", "notebook"},
    "__main__": {"cli"},
}
LEAF_MODULES = {"gradcheck_cli.report.text": "report.text"}  # modules that are a unit apart from their package
# what the oracle must never use: the rules it checks, the graph and passes it is compared with, and what judges
FORBIDDEN = tuple(f"gradcheck_cli.{name}" for name in (
    "ops", "ir", "eval", "numeric", "expression", "inputs", "programs", "function", "verdict", "session", "files",
    "report", "cli", "api"))
LONG_MODULE, LONG_FUNCTION = 600, 80  # lines: longer says in its docstring why it is not split


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _unit(module: str) -> str:
    if module in LEAF_MODULES:
        return LEAF_MODULES[module]
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def imports_of(text: str, module: str, is_package: bool = False) -> list[tuple[str, str, int]]:
    """(the gradcheck_cli module imported, the name imported from it or '', line) for every import statement of
    `text` (the source of `module`), wherever it stands; relative imports resolved against the module's package."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            source = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                whole = f"{source}.{alias.name}"
                found.append((whole, "", node.lineno) if whole in MODULES else (source, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(alias.name, "", node.lineno) for alias in node.names]
    return [(target, name, line) for target, name, line in found if target.startswith("gradcheck_cli")]


def imported(module: str) -> list[tuple[str, str, int]]:
    path = MODULES[module]
    return imports_of(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")


def cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, with an explicit stack: no recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(edges.get(target, ()))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


EDGES = {module: sorted({target for target, _, _ in imported(module) if target in MODULES and target != module})
         for module in MODULES}


def test_every_module_has_a_row():
    missing = sorted({_unit(m) for m in MODULES} - set(ALLOWED))
    assert not missing, f"units without a row in ALLOWED: {missing}"


def test_the_table_is_a_map_from_the_bottom_up():
    """Each row names only rows above it, so the allowed imports between packages can never form a cycle."""
    order = list(ALLOWED)
    later = [(unit, other) for unit, allowed in ALLOWED.items() for other in allowed
             if other not in ALLOWED or order.index(other) >= order.index(unit)]
    assert not later, f"rows that name themselves, a later row or no row: {later}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_map(module):
    unit = _unit(module)
    wrong = [f"line {line}: {target}" for target, _, line in imported(module)
             if target in MODULES and _unit(target) != unit and _unit(target) not in ALLOWED[unit]]
    assert not wrong, f"{module} ({unit}) imports what the map does not allow it: {wrong}"


def test_no_import_cycles():
    assert not cycles(EDGES), f"import cycles: {cycles(EDGES)}"


def test_the_cycle_check_finds_cycles_and_does_not_recurse():
    assert cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"], "e": []}) == [["a", "b", "c"]]
    chain = {str(k): [str(k + 1)] for k in range(20_000)}  # deeper than Python's recursion limit
    chain["20000"] = ["0"]
    assert len(cycles(chain)[0]) == 20_001


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_crosses_a_module(module):
    private = [f"line {line}: {target}.{name}" for target, name, line in imported(module)
               if name.startswith("_") and not name.startswith("__") and target != module]
    assert not private, f"{module} imports private names of other modules: {private}"


def test_the_private_check_sees_a_private_name():
    assert imports_of("def f():\n    from .engine import _args, forward\n", "gradcheck_cli.eval.delta") == [
        ("gradcheck_cli.eval.engine", "_args", 2), ("gradcheck_cli.eval.engine", "forward", 2)]


def test_the_static_check_sees_relative_and_function_level_imports():
    assert "gradcheck_cli.lang.expr" in EDGES["gradcheck_cli.oracle.exact"]
    assert "gradcheck_cli.oracle.lower" in EDGES["gradcheck_cli.oracle.exact"]
    assert "gradcheck_cli.oracle.formula" in EDGES["gradcheck_cli.oracle.exact"]  # imported inside a function


# --- the oracle apart (grown from tests/test_exact.py) ---------------------------------------------------------------

ORACLE_DIR = PACKAGE / "oracle"


@pytest.mark.parametrize("path", sorted(ORACLE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_oracle_modules_never_import_the_rules_statically(path):
    module = "gradcheck_cli.oracle" + ("" if path.name == "__init__.py" else f".{path.stem}")
    targets = {target for target, _, _ in imported(module)} | {f"{t}.{n}" for t, n, _ in imported(module) if n}
    assert not [m for m in targets if m.startswith(FORBIDDEN)], targets


def test_oracle_never_loads_the_rules_at_runtime():
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from gradcheck_cli.lang.expr import parse\n"
        "from gradcheck_cli.oracle.exact import exact_case\n"
        "r = exact_case(parse('sigma(x)*relu(y) + sum(softmax(W @ v))'), [{'x': np.array(0.5), 'y': np.array(2.0), "
        "'W': np.ones((2, 2)), 'v': np.array([0.5, -1.0])}], ('x', 'y', 'W'))[0]\n"
        "assert float(r.values['y']) > 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('gradcheck_cli')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    loaded = ast.literal_eval(out.stdout.strip())
    assert not [m for m in loaded if m.startswith(FORBIDDEN)], loaded


# --- sizes by job --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_long_module_or_function_says_why_it_is_not_split(module):
    path = MODULES[module]
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    unsaid = []
    if len(text.splitlines()) > LONG_MODULE and "not split" not in (ast.get_docstring(tree) or ""):
        unsaid.append(f"the module ({len(text.splitlines())} lines)")
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > LONG_FUNCTION:
            if "not split" not in (ast.get_docstring(node) or ""):
                unsaid.append(f"{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert not unsaid, f"{module}: longer than its job needs, or say why not split: {unsaid}"
