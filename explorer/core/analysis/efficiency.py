"""Efficiency, wasted bytes and inefficient files exactly as dive 0.13.1 computes them
(``dive/filetree/efficiency.go``, ``dive/image/image.go``), plus reclaimable bytes.

dive's quirks are kept so the numbers match it: only leaves count; a whiteout of a directory
counts that directory's size in the layers below (a file's whiteout counts 0); a whiteout whose
target dive cannot find ends that layer's walk and adds -1 to the score's numerator; wasted
bytes count every copy.  ``reclaimable`` is ours: bytes stored in layers that the final
filesystem cannot see (shadowed or deleted), i.e. what squashing would save.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.core.analysis.dive_stack import FlatStack, Node, layer_nodes
from explorer.core.analysis.gosort import go_sort
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.union import UnionTree
from explorer.core.fs.whiteout import PREFIX, whiteout_name

_DOUBLE_SEP = b"/.wh..wh."


@dataclass
class PathUse:
    """One path seen in more than one layer: how often, and the bytes all copies take."""

    path: bytes
    count: int = 0
    size: int = 0
    min_size: int = -1

    def add(self, size: int) -> bool:
        """Count one more copy of ``size`` bytes; True when the path has just become
        inefficient (its second copy)."""
        self.size += size
        if self.min_size < 0 or size < self.min_size:
            self.min_size = size
        self.count += 1
        return self.count == 2


def _use(uses: dict[bytes, PathUse], path: bytes) -> PathUse:
    use = uses.get(path)
    if use is None:
        use = uses[path] = PathUse(path)
    return use


@dataclass(frozen=True)
class Efficiency:
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

    def __init__(self, indexes: list[LayerIndex]) -> None:
        self.indexes = indexes
        self.nodes: dict[int, list[Node]] = {}
        self.tree: FlatStack | None = None
        self.base: FlatStack | None = None
        """Layer 0's own tree (what a whiteout in layer 0, or layer 1 alone, looks into)."""
        self.k = -1

    def layer_nodes(self, i: int) -> list[Node]:
        nodes = self.nodes.get(i)
        if nodes is None:
            nodes = self.nodes[i] = layer_nodes(self.indexes[i])
        return nodes

    def layer0(self) -> FlatStack:
        if self.base is None:
            self.base = FlatStack.of_layer(self.layer_nodes(0))
        return self.base

    def upto(self, k: int) -> FlatStack:
        if k == 0 and self.tree is None and not self.indexes[0].whiteouts:
            return self.layer0()  # stacking layer 0 on itself changes nothing then
        if self.tree is None:
            self.tree = self.layer0().copy()  # stacked in place from here on
        while self.k < k:
            self.k += 1
            self.tree.stack(self.layer_nodes(self.k))
        return self.tree


def _leaves(index: LayerIndex, *, ordered: bool = True) -> list[tuple[bytes, int, bool]]:
    """The leaves of dive's tree of one layer, in dive's visiting order (``ordered``).

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
    leaves = [p for p in nodes if p not in parents]
    if ordered:
        leaves.sort(key=_component_key)
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

    dive's visiting order matters only for a layer with whiteouts (an unknown one ends the
    layer's walk) and for the order in which paths become inefficient; a layer without
    whiteouts is counted in any order and only its new matches are sorted, which spares
    sorting a million paths nobody needs sorted."""
    if not indexes:
        return 1.0, []
    uses: dict[bytes, PathUse] = {}
    matches: list[PathUse] = []
    stacked = _Stacked(indexes)
    leaves_of: dict[int, list[tuple[bytes, int, bool]]] = {}
    for current, index in enumerate(indexes):
        leaves = leaves_of.get(id(index))
        if leaves is None:
            leaves = leaves_of[id(index)] = _leaves(index, ordered=bool(index.whiteouts))
        if not index.whiteouts:
            _count_unordered(leaves, uses, matches)
            continue
        for path, node_size, is_whiteout in leaves:
            use = _use(uses, path)
            if is_whiteout:
                below = stacked.upto(current - 1) if current > 0 else stacked.layer0()
                target = path[1:]
                if not below.has(target):
                    break  # dive ends this layer's walk here
                size = below.whiteout_size(target)
            else:
                size = node_size
            if use.add(size):
                matches.append(use)
    minimum = sum(u.min_size for u in uses.values())
    discovered = sum(u.size for u in uses.values())
    score = 1.0 if discovered == 0 else minimum / discovered
    ordered = list(matches)
    go_sort(ordered, lambda a, b: a.size < b.size)  # dive's sort.Sort: same tie order
    ordered.reverse()
    return score, ordered


def _count_unordered(leaves: list[tuple[bytes, int, bool]], uses: dict[bytes, PathUse],
                     matches: list[PathUse]) -> None:
    """A whiteout-free layer's leaves, counted as dive would; new matches in dive's order."""
    new: list[PathUse] = []
    for path, size, _whiteout in leaves:
        use = _use(uses, path)
        if use.add(size):
            new.append(use)
    new.sort(key=lambda u: _component_key(u.path))
    matches.extend(new)


def reclaimable_bytes(indexes: list[LayerIndex], top: UnionTree) -> int:
    """Bytes of regular files stored in some layer but invisible in the final filesystem."""
    visible: set[tuple[int, int]] = set()
    stack = [top.root]
    while stack:
        node = stack.pop()
        visible.add((node.layer, id(node.entry)))
        if node.children:
            stack.extend(node.children.values())
    total = 0
    for layer_no, index in enumerate(indexes):
        for entry in index.entries:
            if entry.size and not entry.is_dir and (layer_no, id(entry)) not in visible:
                total += entry.size
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
