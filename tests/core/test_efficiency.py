"""The efficiency analysis beyond dive's own figures (test_dive_oracle.py checks those).

The walk may count a layer in any order and stack it in bulk (``layer_tree``); its figures
must equal dive's ordered walk (``layer_tree`` disabled) on any layer stack.  Layer indexes
are built directly, so names the layer reader never lets through (``.wh.`` prefixes, AUFS
``.wh..wh.`` names, a whiteout and an entry on one path) are covered too.  Reclaimable bytes
and the collector pause are stated here as well.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.core import inspection
from explorer.core.analysis import efficiency
from explorer.core.analysis.dive_stack import FlatStack, layer_nodes, layer_tree
from explorer.core.archive.compression import Compression
from explorer.core.digest import Digest
from explorer.core.fs.entry import EntryKind, FileEntry
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.union import UnionStack, UnionTree
from explorer.core.inspection import inspect_path
from tests.core.factories import DockerArchive

_NAMES = [b"a", b"b", b"-", b"a-b", b"ab", b"\x01", b"x y", b".wh.", b".wh.a", b".wh..wh.z"]
_DIGEST = Digest.of_bytes(b"")


def _paths(names: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.lists(st.sampled_from(names), min_size=1, max_size=3).map(b"/".join)


@st.composite
def _layers(draw: st.DrawFn) -> list[LayerIndex]:
    """Layer stacks whose whiteouts mostly name what the layers below hold (directories
    too), with now and then a layer of awkward names or a whiteout of nothing."""
    layers: list[LayerIndex] = []
    below: set[bytes] = set()
    for _ in range(draw(st.integers(1, 6))):
        paths = _paths(_NAMES if draw(st.integers(0, 3)) == 0 else _NAMES[:5])
        entries = {}
        for path in draw(st.lists(paths, max_size=10)):
            kind = draw(st.sampled_from([EntryKind.FILE, EntryKind.FILE, EntryKind.DIR]))
            entries[path] = FileEntry(path, kind, 0o644, 0, 0, draw(st.integers(0, 40)), 0)
        own = {b"/".join(p.split(b"/")[:i]) for p in entries for i in range(1, 4)}
        targets = sorted(below - own) if draw(st.integers(0, 3)) else sorted(below)
        whiteouts = draw(st.lists(st.sampled_from(targets) if targets else paths, max_size=4,
                                  unique=True))
        if draw(st.integers(0, 3)) == 0:
            whiteouts.append(draw(paths))  # perhaps of nothing, or of its own layer's
        layers.append(LayerIndex(
            entries=tuple(entries.values()),
            whiteouts=tuple(dict.fromkeys(whiteouts)),
            opaque_dirs=tuple(draw(st.lists(st.just(b"") | paths, max_size=1))),
            warnings=(), blob_digest=_DIGEST, blob_size=0, diff_id=_DIGEST, tar_size=0,
            compression=Compression.NONE,
        ))
        for path in entries:
            parts = path.split(b"/")
            below.update(b"/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return layers


def _figures(indexes: list[LayerIndex]) -> tuple[object, ...]:
    score, inefficient = efficiency.dive_efficiency(indexes)
    return repr(score), [(u.path, u.count, u.size, u.min_size) for u in inefficient]


@settings(max_examples=400)
@given(layers=_layers(), repeat_base=st.booleans())
def test_any_order_gives_the_ordered_walks_figures(layers: list[LayerIndex],
                                                   repeat_base: bool) -> None:
    if repeat_base:
        layers = [*layers, layers[0]]  # the same index object twice, as a cache may give
    fast = _figures(layers)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(efficiency, "layer_tree", lambda index: None)
        assert _figures(layers) == fast


@settings(max_examples=300)
@given(layers=_layers())
def test_bulk_stacking_builds_dives_stacked_trees(layers: list[LayerIndex]) -> None:
    bulk: FlatStack | None = None
    ordered: FlatStack | None = None
    for index in layers:
        tree = layer_tree(index)
        if ordered is None:
            ordered = FlatStack.of_layer(layer_nodes(index))
            bulk = ordered.copy() if tree is None else FlatStack.of_layer_tree(tree)
        else:
            assert bulk is not None
            ordered.stack(layer_nodes(index))
            if tree is None:
                bulk.stack(layer_nodes(index))
            else:
                bulk.stack_layer_tree(tree)
        assert bulk is not None
        assert bulk.size == ordered.size
        assert bulk.dirs == ordered.dirs
        assert {p: bulk.whiteout_size(p) for p in bulk.size} == {
            p: ordered.whiteout_size(p) for p in ordered.size}


def test_a_whiteout_meeting_its_own_layer_takes_the_ordered_walk() -> None:
    entry = FileEntry(b"a/b", EntryKind.FILE, 0o644, 0, 0, 1, 0)
    index = LayerIndex((entry,), (b"a",), (), (), _DIGEST, 0, _DIGEST, 0, Compression.NONE)
    assert layer_tree(index) is None
    assert layer_tree(index.__class__(**{**index.__dict__, "whiteouts": (b"c",)})) is not None


@settings(max_examples=100)
@given(layers=_layers(), repeat_base=st.booleans())
def test_reclaimable_bytes_are_what_layers_store_and_the_top_does_not_show(
        layers: list[LayerIndex], repeat_base: bool) -> None:
    if repeat_base:
        layers = [*layers, layers[0]]
    top = UnionStack(layers).top
    shown = {(node.layer, id(node.entry)) for _path, node in top.walk()}
    hidden = sum(entry.size for layer, index in enumerate(layers) for entry in index.entries
                 if entry.kind is not EntryKind.DIR and (layer, id(entry)) not in shown)
    assert efficiency.reclaimable_bytes(layers, top) == hidden


def test_the_analysis_runs_with_the_collector_paused_and_resumes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    def analyze(indexes: list[LayerIndex], top: UnionTree) -> efficiency.Efficiency:
        seen.append(gc.isenabled())
        return efficiency.analyze_efficiency(indexes, top)

    monkeypatch.setattr(inspection, "analyze_efficiency", analyze)
    path = DockerArchive([[("a", b"1", "file")], [("a", b"22", "file")]],
                         compression="gzip").write(tmp_path / "i.tar")
    assert gc.isenabled()
    with inspect_path(str(path)) as ins:
        assert ins.efficiency.wasted == 3
    assert seen == [False]
    assert gc.isenabled()
