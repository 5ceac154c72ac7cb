"""A stack of merged trees builds each layer's tree once, even when a view of the lower
layers (shown while an image loads) and the whole image's stack ask for it."""

from __future__ import annotations

import threading

import pytest

from explorer.core.archive.compression import Compression
from explorer.core.digest import Digest
from explorer.core.fs import union
from explorer.core.fs.entry import EntryKind, FileEntry
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.union import UnionStack

ID = Digest.parse("sha256:" + "00" * 32)


def _layer(*entries: FileEntry) -> LayerIndex:
    return LayerIndex(entries=entries, whiteouts=(), opaque_dirs=(), warnings=(),
                      blob_digest=ID, blob_size=0, diff_id=ID, tar_size=0,
                      compression=Compression.NONE)


def _file(path: bytes, size: int = 1) -> FileEntry:
    return FileEntry(path, EntryKind.FILE, 0o644, 0, 0, size, 0)


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The layer number of every tree built."""
    real = union.apply_layer
    seen: list[int] = []

    def counting(lower: union.UnionTree, index: union.LayerChanges, layer_no: int
                 ) -> tuple[union.UnionTree, list[str]]:
        seen.append(layer_no)
        return real(lower, index, layer_no)

    monkeypatch.setattr(union, "apply_layer", counting)
    return seen


LAYERS = [_layer(_file(b"a")), _layer(_file(b"b")), _layer(_file(b"c"))]


def test_the_whole_image_reuses_the_trees_of_its_lower_layers(builds: list[int]) -> None:
    lower = UnionStack(LAYERS[:2])
    lower.top  # noqa: B018
    whole = UnionStack(LAYERS, share=lower)
    assert sorted(whole.top.root.children or {}) == [b"a", b"b", b"c"]
    assert builds == [0, 1, 2]
    assert whole.at(1) is lower.at(1)


def test_a_view_of_lower_layers_uses_what_the_whole_image_built(builds: list[int]) -> None:
    whole = UnionStack(LAYERS)
    whole.top  # noqa: B018
    lower = UnionStack(LAYERS[:1], share=whole)
    assert lower.top is whole.at(0) and builds == [0, 1, 2]
    with pytest.raises(IndexError):
        lower.at(1)


def test_trees_above_a_layer_that_differs_are_built_again(builds: list[int]) -> None:
    """The final indexes can be new objects (content digests filled in after the first
    look): only the trees below the first difference are shared."""
    lower = UnionStack(LAYERS[:2])
    lower.top  # noqa: B018
    changed = _layer(_file(b"b", size=2))
    whole = UnionStack([LAYERS[0], changed, LAYERS[2]], share=lower)
    assert whole.at(0) is lower.at(0)
    node = whole.top.get(b"b")
    assert node is not None and node.entry.size == 2
    assert lower.top.get(b"b").entry.size == 1  # type: ignore[union-attr]
    assert builds == [0, 1, 1, 2]


def test_stacks_on_two_threads_build_each_tree_once(builds: list[int]) -> None:
    layers = [_layer(*(_file(b"d%d/f%d" % (n, i)) for i in range(2000))) for n in range(6)]
    lower = UnionStack(layers[:4])
    whole = UnionStack(layers, share=lower)
    threads = [threading.Thread(target=lambda s=stack: s.top) for stack in (lower, whole)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(builds) == [0, 1, 2, 3, 4, 5]
    assert whole.at(3) is lower.top


def test_each_view_reports_the_warnings_of_its_own_layers() -> None:
    dangling = FileEntry(b"h", EntryKind.HARDLINK, 0o644, 0, 0, 0, 0, link=b"missing")
    layers = [LAYERS[0], _layer(dangling)]
    lower = UnionStack(layers[:1])
    whole = UnionStack(layers, share=lower)
    whole.top  # noqa: B018
    assert lower.warnings == []
    assert len(whole.warnings) == 1 and "dangling hardlink" in whole.warnings[0]


def test_a_new_view_does_not_wait_for_a_tree_being_built(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The window makes views on its own thread while a worker builds the whole image's
    trees: making one must not wait for that build."""
    import time

    started, release = threading.Event(), threading.Event()
    real = union.apply_layer

    def slow(lower: union.UnionTree, index: union.LayerChanges, layer_no: int
             ) -> tuple[union.UnionTree, list[str]]:
        if layer_no == 2:
            started.set()
            release.wait(10)
        return real(lower, index, layer_no)

    monkeypatch.setattr(union, "apply_layer", slow)
    lower = UnionStack(LAYERS[:2])
    lower.top  # noqa: B018
    whole = UnionStack(LAYERS, share=lower)
    worker = threading.Thread(target=lambda: whole.top)
    worker.start()
    try:
        assert started.wait(10)
        begin = time.perf_counter()
        view = UnionStack(LAYERS[:2], share=whole)
        assert time.perf_counter() - begin < 1.0
        assert view.top is lower.top, "and it shares what was built"
    finally:
        release.set()
        worker.join()
