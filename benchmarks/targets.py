"""The speed targets of issue 19, each as a ratio measured in one run: commands alternate within every repeat, and a
row's figure is the median over repeats of the ratio inside each repeat (so the machine's load, which drifts 1.5-3x
on 2 shared cores, cancels out).

    python benchmarks/targets.py [--repeats 7] [--before TREE] [--sections check,scale,startup,bigfile,tests]

Rows:
  check    `gradcheck check` of run.py's 1,000-line file (--jobs 1, JSON to /dev/null), exact column on and off:
           cases/s, start-up included (target >= 1,000 on, >= 3,000 off); and with the default --jobs 0 (a worker per
           core) in wall time, for what a user waits
  scale    `gradcheck eval @FILE --no-exact` of a random 10^5-gate expression over 100 variables against
           `python -c "import sympy"` (target <= 2.5x), and the cost per gate of parse + build + check at 10^3,
           10^4, 10^5 gates inside one process (linear: the three close)
  startup  `gradcheck eval "(x+y)*z" --at x=-2,y=5,z=-4` as it is by default (the target: <= 1.3x), the same with
           --exact-method chain, with --exact-method auto (SymPy's formula printed) and with --no-exact, and
           `gradcheck --help`, against `import sympy`
  bigfile  `gradcheck check` of a 100,000-line file --no-exact, --jobs 0 and 1: wall time (target <= 60 s) and peak
           memory beside the 1,000-line file's (flat); not in the default sections (minutes)
  tests    README's test command, `python -m pytest` (wall time; target <= 90 s); not in the default sections

Every tree's modules are compiled to bytecode first, as pip leaves an installed package (and SymPy in site-packages).
Times are CPU seconds (user + system) of each child process, as os.wait4 reports them: less sensitive to the
neighbours than wall time, and what the issue's figures are; with one BLAS thread (see python_env). Every command runs as `python -S` with the code's
checkout and site-packages on PYTHONPATH, `import sympy` included. `--before TREE` runs the same commands on another
checkout too (TREE from `git archive REV | tar -x -C TREE`), interleaved, and adds after/before ratios. The tests
section runs README's command in this checkout only, with this interpreter. Prints markdown.
"""

from __future__ import annotations

import argparse
import os
import site
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import batch_file, random_expression, random_point  # noqa: E402  (the generators, shared with run.py)


NEUTRAL = tempfile.gettempdir()  # the working directory of every command: no checkout on the path by accident


def cpu_seconds(command: list[str], env: dict[str, str] | None = None, cwd: str = NEUTRAL) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, exit code) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - started, child.returncode


SITE = os.pathsep.join(site.getsitepackages())
PYTHON = [sys.executable, "-S"]  # no site: an editable install's import hook would win over PYTHONPATH


def python_env(*first: str) -> dict[str, str]:
    """One BLAS thread: numpy's import starts a pool whose spinning adds ~50 ms of CPU time (not of wall time) to
    every command that imports numpy, and no command here gains from it."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*first, SITE]), "NO_COLOR": "1", "COLUMNS": "80",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Tree:
    """A checkout whose gradcheck_cli the commands run: `python -S` with the checkout, then site-packages, on the path
    (every command of every tree, and `import sympy`, start the same way)."""

    def __init__(self, path: Path, label: str):
        self.path, self.label = path, label
        self.env = python_env(str(path))
        # bytecode, as `pip install` leaves it (and as site-packages has SymPy's): without it every run recompiles
        # every module (PYTHONDONTWRITEBYTECODE=1 in the environment), ~70 ms that no user pays twice
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(path / "gradcheck_cli")], check=True,
                       stdout=subprocess.DEVNULL, env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
        probe = subprocess.run([*PYTHON, "-c", "import gradcheck_cli; print(gradcheck_cli.__file__)"], env=self.env,
                               capture_output=True, text=True, check=True, cwd=NEUTRAL).stdout.strip()
        if not Path(probe).resolve().is_relative_to(path.resolve()):
            raise SystemExit(f"{label}: gradcheck_cli comes from {probe}, not from {path}")

    def gradcheck(self, *args: str) -> list[str]:
        return [*PYTHON, "-m", "gradcheck_cli", *args]


WALL: dict[str, list[float]] = {}  # the wall times of the last measure(), for a cross-check column


def measure(commands: dict[str, tuple[list[str], dict]], repeats: int) -> dict[str, list[float]]:
    """CPU seconds of every command, alternating (the order rotates each repeat), `repeats` times each; wall
    seconds go to WALL."""
    names = list(commands)
    times: dict[str, list[float]] = {name: [] for name in names}
    WALL.clear()
    WALL.update({name: [] for name in names})
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            command, env = commands[name]
            cpu, wall, _ = cpu_seconds(command, env)
            times[name].append(cpu)
            WALL[name].append(wall)
    return times


def ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    """The median of the per-repeat ratios a/b."""
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def table(header: list[str], rows: list[list[object]]) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                     + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


SYMPY = [*PYTHON, "-c", "import sympy"]


def check_section(trees: list[Tree], repeats: int, folder: Path) -> str:
    path = folder / "batch.gc"
    path.write_text(batch_file(1_000))
    commands = {}
    for tree in trees:
        base = tree.gradcheck("check", str(path), "--jobs", "1", "--format", "json", "--output", os.devnull)
        commands[f"{tree.label}: exact on"] = (base, tree.env)
        commands[f"{tree.label}: --no-exact"] = (base + ["--no-exact"], tree.env)
        every_core = [*base[:-6], "--jobs", "0", *base[-4:]]  # the default: a worker per core
        commands[f"{tree.label}: exact on, every core"] = (every_core, tree.env)
        commands[f"{tree.label}: --no-exact, every core"] = (every_core + ["--no-exact"], tree.env)
    times = measure(commands, repeats)
    rows = []
    for tree in trees:
        on, off = times[f"{tree.label}: exact on"], times[f"{tree.label}: --no-exact"]
        wall_on, wall_off = (WALL[f"{tree.label}: {name}, every core"] for name in ("exact on", "--no-exact"))
        rows.append([tree.label, f"{1000 / statistics.median(on):.0f}", f"{1000 / statistics.median(off):.0f}",
                     f"{ratio(times, f'{tree.label}: exact on', f'{tree.label}: --no-exact'):.2f}",
                     f"{(statistics.median(on) - statistics.median(off)) * 1000:.0f} µs",
                     f"{1000 / statistics.median(wall_on):.0f} / {1000 / statistics.median(wall_off):.0f}"])
    text = table(["code", "exact on: cases/s", "--no-exact: cases/s", "time on / off", "the exact column, per case",
                  "every core (--jobs 0), wall: on / off cases/s"], rows)
    if len(trees) == 2:
        text += "\n\n" + after_before(times, trees, ["exact on", "--no-exact"])
    return f"### `check`, 1,000-line file, start-up included (CPU time, median of {repeats})\n\n" + text


SCALE_WORKER = """
import statistics, sys, time
sys.path.insert(1, {bench!r})
from run import random_expression, random_point
try:
    from gradcheck_cli.expression.check import Options  # the package map
except ImportError:
    from gradcheck_cli.cases import Options  # code from before it (--before)
from gradcheck_cli.session import check_text
size = {size}
text = random_expression(size, 100, seed=size)
at = ", ".join(f"{{k}}={{v!r}}" for k, v in random_point(100, seed=size).items())
check_text(text, at, options=Options(exact=False))
times = []
for _ in range({repeats}):
    started = time.process_time()
    check_text(text, at, options=Options(exact=False))
    times.append(time.process_time() - started)
print(statistics.median(times))
"""


def in_process(tree: Tree, size: int, repeats: int) -> float:
    """CPU seconds of parse + build + check (no exact column) inside one process, median of `repeats`."""
    code = SCALE_WORKER.format(bench=str(HERE), size=size, repeats=repeats)
    done = subprocess.run([*PYTHON, "-c", code], env=tree.env, cwd=NEUTRAL, capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def scale_section(trees: list[Tree], repeats: int, folder: Path) -> str:
    path = folder / "scale.txt"
    path.write_text(random_expression(100_000, 100, seed=100_000))
    at = ", ".join(f"{k}={v!r}" for k, v in random_point(100, seed=100_000).items())
    commands = {"import sympy": (SYMPY, python_env())}
    for tree in trees:
        commands[f"{tree.label}: 100,000"] = (tree.gradcheck("eval", f"@{path}", "--at", at, "--no-exact"), tree.env)
    times = measure(commands, repeats)
    rows = []
    for tree in trees:
        per_gate = {size: in_process(tree, size, count) / size * 1e6 for size, count in ((1_000, 41), (10_000, 9), (100_000, 3))}
        rows.append([tree.label, f"{ratio(times, f'{tree.label}: 100,000', 'import sympy'):.2f}",
                     f"{statistics.median(times[f'{tree.label}: 100,000']):.2f} s",
                     *(f"{per_gate[size]:.1f}" for size in sorted(per_gate)), f"{per_gate[100_000] / per_gate[1_000]:.2f}"])
    text = table(["code", "10^5 gates / import sympy", "10^5 gates", "µs/gate at 10^3", "10^4", "10^5",
                  "10^5 / 10^3 per gate"], rows)
    text += f"\n\n`import sympy`: {statistics.median(times['import sympy']):.2f} s"
    if len(trees) == 2:
        text += "\n\n" + after_before(times, trees, ["100,000"])
    return (f"### 10^5-gate `eval --no-exact`, 100 variables (CPU time, median of {repeats}; µs/gate: parse + build + "
            "check inside one process, medians of 41, 9 and 3 runs)\n\n" + text)


def startup_section(trees: list[Tree], repeats: int) -> str:
    at = ["--at", "x=-2,y=5,z=-4"]
    commands = {"import sympy": (SYMPY, python_env()),
                "import sympy, numpy": ([*PYTHON, "-c", "import sympy, numpy"], python_env())}
    for tree in trees:
        commands[f"{tree.label}: eval"] = (tree.gradcheck("eval", "(x+y)*z", *at), tree.env)
        for method in ("chain", "auto"):  # the same as the default on one side of --before, SymPy's formula with auto
            commands[f"{tree.label}: eval --exact-method {method}"] = (
                tree.gradcheck("eval", "(x+y)*z", *at, "--exact-method", method), tree.env)
        commands[f"{tree.label}: eval --no-exact"] = (tree.gradcheck("eval", "(x+y)*z", *at, "--no-exact"), tree.env)
        commands[f"{tree.label}: --help"] = (tree.gradcheck("--help"), tree.env)
    times = measure(commands, repeats)
    rows = [[name, f"{statistics.median(t) * 1000:.0f} ms", f"{ratio(times, name, 'import sympy'):.2f}",
             f"{ratio(WALL, name, 'import sympy'):.2f}"] for name, t in times.items()]
    return (f"### Start-up (CPU time, median of {repeats}; ratio: median of per-repeat ratios)\n\n"
            + table(["command", "CPU time", "/ import sympy", "wall / import sympy's wall"], rows))


def tests_section(trees: list[Tree], repeats: int) -> str:
    rows = []
    for tree in trees[-1:]:
        for _ in range(max(1, repeats // 5)):
            cpu, wall, code = cpu_seconds([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=str(tree.path))
            rows.append([tree.label, f"{wall:.1f} s", f"{cpu:.1f} s", code, ", ".join(f"{x:.2f}" for x in os.getloadavg())])
    return "### README's test command, `python -m pytest`\n\n" + table(["code", "wall", "CPU (all processes)", "exit", "load after"], rows)


def cpu_and_memory(command: list[str], env: dict[str, str]) -> tuple[float, float, float, int]:
    """(CPU seconds, wall seconds, peak resident MB of the largest process, exit code) of one child and its workers."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=NEUTRAL)
    _, status, usage = os.wait4(child.pid, 0)
    return (usage.ru_utime + usage.ru_stime, time.perf_counter() - started, usage.ru_maxrss / 1024,
            os.waitstatus_to_exitcode(status))


def bigfile_section(trees: list[Tree], repeats: int, folder: Path) -> str:
    """The 100,000-line file, `--no-exact`, on every core (`--jobs 0`) and in one process: wall time against the 60 s
    limit (a limit, not a ratio: the row's target is absolute), and peak memory (flat: it must not grow with the file,
    so the 1,000-line file's peak is shown beside it)."""
    big, small = folder / "big.gc", folder / "small.gc"
    big.write_text(batch_file(100_000))
    small.write_text(batch_file(1_000))
    rows = []
    for tree in trees:
        for jobs in ("0", "1"):
            runs = [cpu_and_memory(tree.gradcheck("check", str(path), "--no-exact", "--jobs", jobs, "--format", "json",
                                                  "--output", os.devnull), tree.env)
                    for _ in range(max(1, repeats // 3)) for path in (big, small)]
            walls = [r[1] for r in runs[::2]]
            rows.append([tree.label, jobs, f"{statistics.median(walls):.1f} s", f"{statistics.median(r[0] for r in runs[::2]):.1f} s",
                         f"{max(r[2] for r in runs[::2]):.0f} MB", f"{max(r[2] for r in runs[1::2]):.0f} MB",
                         ",".join(str(r[3]) for r in runs)])
    return (f"### A 100,000-line file, `--no-exact` (wall time, median of {max(1, repeats // 3)}; target <= 60 s, memory flat)\n\n"
            + table(["code", "--jobs", "wall", "CPU (all processes)", "peak memory", "peak, 1,000 lines", "exit codes"], rows))


def after_before(times: dict[str, list[float]], trees: list[Tree], rows: list[str]) -> str:
    before, after = trees
    lines = [[row, f"{ratio(times, f'{after.label}: {row}', f'{before.label}: {row}'):.2f}"] for row in rows]
    return table([f"command", f"{after.label} / {before.label} (time)"], lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="issue 19's speed targets as ratios measured in one run")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--before", type=Path, help="another checkout to measure alongside (before/after ratios)")
    parser.add_argument("--sections", default="check,scale,startup")
    args = parser.parse_args()
    trees = ([Tree(args.before, "before")] if args.before else []) + [Tree(ROOT, "after" if args.before else "this")]
    sections = args.sections.split(",")
    print(f"## issue 19 targets ({os.cpu_count()} cores, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())})\n",
          flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for name in sections:
            if name == "check":
                print(check_section(trees, args.repeats, Path(folder)) + "\n", flush=True)
            elif name == "scale":
                print(scale_section(trees, args.repeats, Path(folder)) + "\n", flush=True)
            elif name == "startup":
                print(startup_section(trees, args.repeats) + "\n", flush=True)
            elif name == "bigfile":
                print(bigfile_section(trees, args.repeats, Path(folder)) + "\n", flush=True)
            elif name == "tests":
                print(tests_section(trees, args.repeats) + "\n", flush=True)
            else:
                raise SystemExit(f"unknown section {name!r}")


if __name__ == "__main__":
    main()
