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

from explorer.core.analysis.dive_tree import DTree, dive_tree
from explorer.core.analysis.gosort import go_sort
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.union import UnionTree


@dataclass
class PathUse:
    """One path seen in more than one layer: how often, and the bytes all copies take."""

    path: bytes
    count: int = 0
    size: int = 0
    min_size: int = -1


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


class _Abort(Exception):
    pass


class _Stacked:
    """dive's StackTreeRange(trees, 0, k), advanced incrementally as k grows."""

    def __init__(self, trees: list[DTree]) -> None:
        self.trees = trees
        self.tree = trees[0].copy()
        self.k = -1

    def upto(self, k: int) -> DTree:
        while self.k < k:
            self.k += 1
            self.tree.stack(self.trees[self.k])
        return self.tree


def dive_efficiency(indexes: list[LayerIndex]) -> tuple[float, list[PathUse]]:
    """The efficiency score and dive's inefficient-path list (largest first)."""
    if not indexes:
        return 1.0, []
    trees = [dive_tree(ix) for ix in indexes]
    uses: dict[bytes, PathUse] = {}
    matches: list[PathUse] = []
    stacked = _Stacked(trees)
    for current, tree in enumerate(trees):
        try:
            for node in tree.root.post_order():
                if node.children:
                    continue
                path = node.path()
                use = uses.get(path)
                if use is None:
                    use = uses[path] = PathUse(path)
                if node.is_whiteout:
                    below = stacked.upto(current - 1) if current > 0 else trees[0]
                    previous = below.get(path)
                    if previous is None:
                        raise _Abort
                    size = 0
                    if previous.is_dir:
                        size = previous.size + sum(n.size for n in previous.post_order_all())
                else:
                    size = node.size
                use.size += size
                if use.min_size < 0 or size < use.min_size:
                    use.min_size = size
                use.count += 1
                if use.count == 2:
                    matches.append(use)
        except _Abort:
            continue
    minimum = sum(u.min_size for u in uses.values())
    discovered = sum(u.size for u in uses.values())
    score = 1.0 if discovered == 0 else minimum / discovered
    ordered = list(matches)
    go_sort(ordered, lambda a, b: a.size < b.size)  # dive's sort.Sort: same tie order
    ordered.reverse()
    return score, ordered


def reclaimable_bytes(indexes: list[LayerIndex], top: UnionTree) -> int:
    """Bytes of regular files stored in some layer but invisible in the final filesystem."""
    total = 0
    for layer_no, index in enumerate(indexes):
        for entry in index.entries:
            if not entry.size or entry.is_dir:
                continue
            node = top.get(entry.path)
            if node is None or node.layer != layer_no or node.entry is not entry:
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
