"""The parsed tree's types: Node and Expr (nodes in post-order, the root last), and LazyNodes, the nodes kept as
flat columns by the fast parser until someone asks for one."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Sequence


@dataclass(frozen=True, slots=True)
class Node:
    """One node of the parsed tree: an operation, its argument indices and its source span."""

    op: str  # num | const | var | a BINARY_OPS value | neg | transpose | index | stack | a function name
    args: tuple[int, ...]
    start: int
    end: int
    name: str = ""  # variable or constant name
    value: float = 0.0  # for num and const
    params: tuple = ()  # ((key, literal), ...): axis=, keepdims=, the index of a subscript
    at: int = -1  # offset of the operator or function name, where shape errors point (-1: start)

    def __repr__(self) -> str:
        label = self.name or (repr(self.value) if self.op == "num" else "")
        return f"Node({self.op}{' ' + label if label else ''} {self.args} @{self.start}:{self.end})"


@dataclass(frozen=True, slots=True, eq=False)
class Expr:
    """A parsed expression: `nodes` in post-order, the root last."""

    text: str
    nodes: tuple[Node, ...]
    names: tuple[str, ...] | None = field(default=None, init=False, repr=False)  # `variables`, once asked for

    @property
    def root(self) -> int:
        return len(self.nodes) - 1

    @property
    def variables(self) -> tuple[str, ...]:
        """Variable names in order of first appearance (post-order keeps leaves left to right); found once (a scan
        of every node: 8 ms at 10^5 gates, and a check asks several times)."""
        if self.names is None:
            if isinstance(self.nodes, LazyNodes):
                c = self.nodes.columns
                names = tuple(dict.fromkeys([name for op, name in zip(c.ops, c.names) if op == "var"]))
            else:
                names = tuple(dict.fromkeys(n.name for n in self.nodes if n.op == "var"))
            object.__setattr__(self, "names", names)  # a memo of what the frozen nodes determine
        return self.names

    def source(self, index: int) -> str:
        node = self.nodes[index]
        return self.text[node.start:node.end]

    def __repr__(self) -> str:
        return f"Expr({self.text[:60]!r}, {len(self.nodes)} nodes)"


class LazyRows(Sequence):
    """Rows kept as flat columns; each row's object is made the first time it is asked for (the 10^5-gate
    paths read the columns and make none). Subclasses say how a row is made."""

    __slots__ = ("_made",)

    def __init__(self, count: int):
        self._made: list = [None] * count

    def _make(self, index: int):
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._made)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        i = index if index >= 0 else index + len(self._made)
        row = self._made[i]
        if row is None:
            row = self._made[i] = self._make(i)
        return row

    def __iter__(self) -> Iterator:
        return (self[i] for i in range(len(self._made)))


class LazyNodes(LazyRows):
    """An Expr's nodes kept as the fast parser's columns (fastparse.Columns)."""

    __slots__ = ("columns",)

    def __init__(self, columns):
        super().__init__(len(columns.ops))
        self.columns = columns

    def _make(self, i: int) -> Node:
        c = self.columns
        start, end, at = c.span(i)
        return Node(c.ops[i], c.args[i], start, end, c.names[i], c.values[i], (), at)


@contextmanager
def paused_gc(expected: int = 0) -> Iterator[None]:
    """Building 10^5 acyclic nodes triggers the cycle collector over and over for nothing: pause it meanwhile.

    When it made 10^5 objects or more, they are handed to the oldest generation unscanned on the way out
    (freeze, then unfreeze: two list splices), else the first allocation after would scan them all at once
    (0.1 s for a 10^5-gate parse); the next full collection scans them, as any long-lived object. `expected`:
    how many objects the caller is about to make (its nodes), since the collector's count is net of what died
    meanwhile: in a process that parses again (the API, a notebook), the last expression dies as the next one
    is made, and the count alone would stay low. Small blocks (a `check` line) leave the collector as it was,
    so garbage cycles of many small cases are still found young. Skipped where someone else froze objects (a
    pre-fork server): unfreezing would hand theirs back too."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if max(expected, gc.get_count()[0]) > PROMOTE_AFTER and gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()


PROMOTE_AFTER = 100_000  # objects made in a paused block (gc.get_count()[0]) past which they skip the young scans
