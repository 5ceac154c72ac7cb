"""Efficiency, wasted bytes and inefficient files exactly as dive 0.13.1 computes them
(``dive/filetree/efficiency.go``, ``dive/image/image.go``), plus reclaimable bytes.

dive's quirks are kept so the numbers match it: only leaves count; a whiteout of a directory
counts that directory's size in the layers below (a file's whiteout counts 0); a whiteout whose
target dive cannot find ends that layer's walk and adds -1 to the score's numerator; wasted
bytes count every copy.  ``reclaimable`` is ours: bytes stored in layers that the final
filesystem cannot see (shadowed or deleted), i.e. what squashing would save.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from explorer.core.analysis.dive_stack import FlatStack, LayerTree, layer_nodes, layer_tree
from explorer.core.analysis.gosort import go_sort_by_key
from explorer.core.fs.entry import EntryKind
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.union import UnionTree
from explorer.core.fs.whiteout import PREFIX, whiteout_name

_DOUBLE_SEP = b"/.wh..wh."
_DIR = EntryKind.DIR


@dataclass(slots=True)
class PathUse:
    """One path seen in more than one layer: how often, and the bytes all copies take."""

    path: bytes
    count: int = 0
    size: int = 0
    min_size: int = -1


@dataclass(frozen=True)
class Efficiency:
    """dive's figures for one image, and our reclaimable bytes."""

    score: float
    size: int
    """Total image size: the sum of layer sizes."""
    user_size: int
    """The sum of layer sizes above the first layer."""
    wasted: int
    user_wasted_ratio: float
    inefficient: tuple[PathUse, ...]
    """Paths present in several layers, largest first (dive's order)."""
    reclaimable: int


class _Stacked:
    """dive's StackTreeRange(trees, 0, k), advanced incrementally as k grows.

    Only a whiteout needs it (to size what it deletes), so it is built on demand."""

    def __init__(self, indexes: list[LayerIndex], trees: _Trees) -> None:
        self.indexes = indexes
        self.trees = trees
        self.tree: FlatStack | None = None
        self.base: FlatStack | None = None
        """Layer 0's own tree (what a whiteout in layer 0, or layer 1 alone, looks into)."""
        self.k = -1

    def layer0(self) -> FlatStack:
        if self.base is None:
            first = self.trees.of(self.indexes[0])
            if first is None:
                self.base = FlatStack.of_layer(layer_nodes(self.indexes[0]))
            else:
                self.base = FlatStack.of_layer_tree(first)
        return self.base

    def upto(self, k: int) -> FlatStack:
        if self.tree is None:
            if self.indexes[0].whiteouts:
                self.tree = self.layer0().copy()  # stacked in place from here on
            else:
                # Stacking layer 0 on its own tree changes nothing then, and layer0() is
                # asked for only by a whiteout of layer 0: the tree may grow in place.
                self.tree = self.layer0()
                self.k = 0
        while self.k < k:
            self.k += 1
            index = self.indexes[self.k]
            layer = self.trees.of(index)
            if layer is None:
                self.tree.stack(layer_nodes(index))
            else:
                self.tree.stack_layer_tree(layer)
        return self.tree


class _Trees:
    """Each distinct layer's ``layer_tree``, built once (an image may repeat a layer)."""

    def __init__(self) -> None:
        self.built: dict[int, LayerTree | None] = {}

    def of(self, index: LayerIndex) -> LayerTree | None:
        key = id(index)
        if key not in self.built:
            self.built[key] = layer_tree(index)
        return self.built[key]


class _Uses:
    """Every leaf path dive has counted (keyed without its leading "/") -> [copies, their
    bytes, the smallest copy]; and the paths in the order they got a second copy."""

    def __init__(self) -> None:
        self.uses: dict[bytes, list[int]] = {}
        self.matches: list[bytes] = []

    def touch(self, path: bytes) -> None:
        """dive's lookup of a path, which records it with no copy yet (min size -1)."""
        if path not in self.uses:
            self.uses[path] = [0, 0, -1]

    def add(self, path: bytes, size: int) -> None:
        """One more copy (a path's second makes it a match)."""
        self.matches.extend(self.add_all([path], {path: size}))

    def add_all(self, paths: list[bytes], sizes: Mapping[bytes, int]) -> list[bytes]:
        """Count a copy of ``sizes[path]`` bytes of each path (all different); the paths
        that have just got their second copy, in no particular order."""
        uses = self.uses
        new = []
        for path in paths:
            size = sizes[path]
            use = uses.get(path)
            if use is None or not use[0]:
                uses[path] = [1, size, size]
                continue
            use[0] += 1
            use[1] += size
            if size < use[2]:  # noqa: PLR1730 - min() costs a call per path
                use[2] = size
            if use[0] == 2:
                new.append(path)
        return new

    def score(self) -> float:
        discovered = sum(use[1] for use in self.uses.values())
        if discovered == 0:
            return 1.0
        return sum(use[2] for use in self.uses.values()) / discovered

    def path_uses(self) -> list[PathUse]:
        uses = self.uses
        return [PathUse(b"/" + p, *uses[p]) for p in self.matches]


def _leaves(index: LayerIndex) -> list[tuple[bytes, int, bool]]:
    """The leaves of dive's tree of one layer, in dive's visiting order.

    Each is ``(dive path, size, is_whiteout)``.  dive visits children sorted by name, child
    first, so leaves (never ancestors of one another) come in component order.
    """
    nodes: dict[bytes, tuple[int, bool]] = {}
    for entry in index.entries:
        cut = (b"/" + entry.path).find(_DOUBLE_SEP)
        if cut < 0:
            nodes[entry.path] = (entry.size, False)
        elif cut > 0:  # dive stops at an AUFS name, keeping the parents it made
            nodes.setdefault(entry.path[:cut - 1], (0, False))
    for path in index.whiteouts:
        nodes.setdefault(whiteout_name(path), (0, True))
    for directory in index.opaque_dirs:
        if directory:
            nodes.setdefault(directory, (0, False))
    parents: set[bytes] = set()
    for path in nodes:
        parent = path.rpartition(b"/")[0]
        while parent and parent not in parents:
            parents.add(parent)
            parent = parent.rpartition(b"/")[0]
    # Component order: with "/" as NUL (names never hold NUL) plain byte order is dive's.
    leaves = sorted((p for p in nodes if p not in parents), key=_component_key)
    out = []
    for tree_path in leaves:
        size, is_whiteout = nodes[tree_path]
        if is_whiteout:
            parent, _, name = tree_path.rpartition(b"/")
            name = name[len(PREFIX):]
            tree_path = parent + b"/" + name if parent else name
        out.append((b"/" + tree_path, size, is_whiteout))
    return out


def _component_key(path: bytes) -> bytes:
    """Component order: with "/" as NUL (names never hold NUL) plain byte order is dive's."""
    return path.replace(b"/", b"\0")


def dive_efficiency(indexes: list[LayerIndex]) -> tuple[float, list[PathUse]]:
    """The efficiency score and dive's inefficient-path list (largest first).

    dive walks each layer's leaves in name order, which matters only for the order in which
    paths become inefficient and at a whiteout whose target is missing (it ends the layer's
    walk).  A layer with a ``layer_tree`` (nearly every layer) is counted in any order
    instead: its new matches are sorted, and a missing target cuts the layer at its place in
    name order.  Other layers take dive's ordered walk."""
    if not indexes:
        return 1.0, []
    uses = _Uses()
    trees = _Trees()
    stacked = _Stacked(indexes, trees)
    for current, index in enumerate(indexes):
        layer = trees.of(index)
        if layer is None:
            _walk_in_order(index, current, stacked, uses)
        elif not layer.whiteouts:
            new = uses.add_all(layer.leaves, layer.sizes)
            new.sort(key=_component_key)  # the order dive's walk meets them in
            uses.matches.extend(new)
        else:
            below = stacked.upto(current - 1) if current > 0 else stacked.layer0()
            _walk_unordered(layer, below, uses)
    ordered = uses.path_uses()
    go_sort_by_key(ordered, lambda use: use.size)  # dive's sort.Sort: same tie order
    ordered.reverse()
    return uses.score(), ordered


def _walk_unordered(layer: LayerTree, below: FlatStack, uses: _Uses) -> None:
    """A layer with whiteouts, counted as dive's ordered walk counts it."""
    leaves = layer.leaves
    whiteouts = layer.whiteouts
    missing = [node for node, target in whiteouts.items() if not below.has(target)]
    if missing:
        # dive's walk stops at the first missing target, recording that path with no copy:
        # only what comes before it counts.
        stop = min(missing, key=_component_key)
        uses.touch(whiteouts[stop])
        cut = _component_key(stop)
        leaves = [p for p in leaves if _component_key(p) < cut]
        whiteouts = {n: t for n, t in whiteouts.items() if _component_key(n) < cut}
    new = uses.add_all(leaves, layer.sizes)
    if whiteouts:
        sizes = {target: below.whiteout_size(target) for target in whiteouts.values()}
        node_of = {target: node for node, target in whiteouts.items()}
        new += [node_of[target] for target in uses.add_all(list(sizes), sizes)]
    new.sort(key=_component_key)  # by dive's names (a whiteout's node): the order it meets them
    uses.matches.extend([layer.whiteouts.get(p, p) for p in new])


def _walk_in_order(index: LayerIndex, current: int, stacked: _Stacked, uses: _Uses) -> None:
    """dive's walk of one layer's leaves in name order (the reference, kept for the rare
    layer whose order matters)."""
    for path, node_size, is_whiteout in _leaves(index):
        key = path[1:]
        uses.touch(key)
        if is_whiteout:
            below = stacked.upto(current - 1) if current > 0 else stacked.layer0()
            if not below.has(key):
                break  # dive ends this layer's walk here
            size = below.whiteout_size(key)
        else:
            size = node_size
        uses.add(key, size)


def reclaimable_bytes(indexes: list[LayerIndex], top: UnionTree) -> int:
    """Bytes of regular files stored in some layer but invisible in the final filesystem."""
    shown: dict[int, set[int]] = {}
    """Layer number -> ids of its entries that the final tree shows."""
    level = [top.root]
    while level:  # breadth first: a level at a time is cheaper than a node at a time
        for node in level:
            ids = shown.get(node.layer)
            if ids is None:
                ids = shown[node.layer] = set()
            ids.add(id(node.entry))
        level = [child for node in level if node.children for child in node.children.values()]
    total = 0
    for layer_no, index in enumerate(indexes):
        ids = shown.get(layer_no, set())
        total += sum([e.size for e in index.entries
                      if e.size and e.kind is not _DIR and id(e) not in ids])
    return total


def analyze_efficiency(indexes: list[LayerIndex], top: UnionTree) -> Efficiency:
    score, inefficient = dive_efficiency(indexes)
    sizes = [ix.size for ix in indexes]
    size = sum(sizes)
    user_size = sum(sizes[1:])
    wasted = sum(u.size for u in inefficient)
    if user_size:
        ratio = wasted / user_size
    else:
        ratio = float("inf") if wasted else float("nan")
    return Efficiency(
        score=score,
        size=size,
        user_size=user_size,
        wasted=wasted,
        user_wasted_ratio=ratio,
        inefficient=tuple(inefficient),
        reclaimable=reclaimable_bytes(indexes, top),
    )
