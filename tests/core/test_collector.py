"""The cyclic collector pauses while big structures are built, and comes back after."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from explorer.core.collector import collector_paused
from explorer.core.fs import union
from explorer.core.fs.union import UnionStack
from tests.core.test_union_stack import LAYERS


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_it_is_off_inside_and_on_after_nested_uses() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "the outer user still builds"
    assert gc.isenabled()


def test_it_stays_off_until_the_last_thread_is_done() -> None:
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(10)
    with collector_paused():
        pass
    assert not gc.isenabled(), "the other thread is still inside"
    leave.set()
    thread.join()
    assert gc.isenabled()


def test_a_collector_the_program_turned_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_merged_trees_are_built_with_the_collector_paused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real = union.apply_layer

    def watching(lower: union.UnionTree, index: union.LayerChanges, layer_no: int
                 ) -> tuple[union.UnionTree, list[str]]:
        seen.append(gc.isenabled())
        return real(lower, index, layer_no)

    monkeypatch.setattr(union, "apply_layer", watching)
    UnionStack(LAYERS).top  # noqa: B018
    assert seen == [False, False, False] and gc.isenabled()


def test_cycles_dropped_during_a_pause_are_collected_after_it() -> None:
    """A plain pause freezes nothing: a cycle any thread dropped meanwhile is still found."""
    before = gc.get_freeze_count()
    with collector_paused():
        cycle: list[object] = []
        cycle.append(cycle)
        ref = weakref.ref(_Cycle(cycle))
        del cycle
    assert gc.get_freeze_count() == before
    gc.collect()
    assert ref() is None


def test_a_pause_for_long_lived_structures_freezes_them_when_the_last_user_leaves() -> None:
    before = gc.get_freeze_count()
    with collector_paused():
        with collector_paused(freeze=True):
            built = [[i] for i in range(10_000)]
        assert gc.get_freeze_count() == before, "not while another builder is inside"
    assert gc.get_freeze_count() >= before + len(built)
    assert gc.isenabled()
    with collector_paused():
        pass
    assert gc.get_freeze_count() >= before + len(built)


class _Cycle:
    def __init__(self, other: object) -> None:
        self.other = other
        self.me = self
