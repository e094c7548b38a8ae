"""lang/tree.paused_gc: a block that makes many objects hands them to the oldest generation (no young scan of 10^5
nodes right after a parse), whether the collector's net count shows them or not; a small block leaves the
collector as it was."""

from __future__ import annotations

import gc

from gradcheck_cli.lang.tree import PROMOTE_AFTER, paused_gc


def _oldest(objects: list) -> bool:
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    return all(id(o) in oldest for o in objects)


def test_a_block_that_expects_many_objects_promotes_them_and_a_small_one_does_not():
    assert gc.isenabled()
    gc.collect()
    with paused_gc(expected=PROMOTE_AFTER + 1):  # as a parse of a long text says beforehand
        promoted = [[] for _ in range(2_000)]
        assert not gc.isenabled()
    assert gc.isenabled() and _oldest(promoted)  # handed on unscanned: no young collection walks them
    with paused_gc(expected=10):
        young = [[] for _ in range(2_000)]
    assert not _oldest(young)  # left young, to be scanned as usual


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    try:
        with paused_gc(expected=PROMOTE_AFTER + 1):
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
