"""The cyclic collector pauses while big structures are built, and comes back after."""

from __future__ import annotations

import gc
import threading
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


def test_what_was_built_during_the_pause_is_frozen_not_walked_by_the_next_collection(
        ) -> None:
    before = gc.get_freeze_count()
    with collector_paused():
        built = [[i] for i in range(10_000)]
    assert gc.get_freeze_count() >= before + len(built)
    assert not any(gc.is_tracked(x) and x in gc.get_objects(generation=0) for x in built[:3])
