"""Directory sizes and change counts computed on union nodes, without building diff trees.

A diff tree of a million entries costs seconds to build; the sizes and counts the window
shows only need sums over union nodes, and those nodes are shared between layers, so each
directory is summed once per image (``DirSizes``) and a layer's counts touch only what the
layer changed (``count_changes``).
"""

from __future__ import annotations

from explorer.core.fs.diff import DiffKind, DiffNode, DiffSummary, _kind_of
from explorer.core.fs.union import Node, UnionTree
from explorer.core.tasks import NEVER_CANCELLED, CancelToken


class DirSizes:
    """dive's size of a diff row (a directory: its own entry plus every file below it on the
    side that exists), memoised per union node for the lifetime of an image."""

    def __init__(self) -> None:
        self._bytes: dict[int, tuple[Node, int]] = {}
        """id(node) -> (node, bytes of the files below it); the node is kept so that its id
        cannot be reused while the cache lives."""

    def __contains__(self, node: Node) -> bool:
        """Whether ``node``'s size is computed already (asking for it then costs nothing)."""
        return id(node) in self._bytes

    def file_bytes(self, node: Node, cancel: CancelToken = NEVER_CANCELLED) -> int:
        """Sum of the sizes of the non-directory entries below ``node``."""
        hit = self._bytes.get(id(node))
        if hit is not None:
            return hit[1]
        stack: list[tuple[Node, bool]] = [(node, False)]
        count = 0
        while stack:
            current, expanded = stack.pop()
            kids = current.children
            if kids is None or id(current) in self._bytes:
                continue
            if not expanded:
                stack.append((current, True))
                stack.extend((c, False) for c in kids.values()
                             if c.children is not None and id(c) not in self._bytes)
                continue
            total = 0
            for child in kids.values():
                if child.children is None:
                    total += child.entry.size
                else:
                    total += self._bytes[id(child)][1]
            self._bytes[id(current)] = (current, total)
            count += 1
            if count & 1023 == 0:
                cancel.check()
        return self._bytes[id(node)][1] if node.children is not None else 0

    def size(self, row: DiffNode) -> int:
        if not row.is_dir:
            return row.entry.size
        node = row.lower if row.kind is DiffKind.REMOVED else row.upper
        return row.entry.size + (self.file_bytes(node) if node is not None else 0)


def count_changes(lower: UnionTree, upper: UnionTree, *,
                  cancel: CancelToken = NEVER_CANCELLED) -> DiffSummary:
    """``diff.summarize(diff_trees(lower, upper))`` without building the diff tree."""
    counts = dict.fromkeys(DiffKind, 0)
    added = removed = 0
    stack: list[tuple[Node | None, Node | None]] = [(lower.root, upper.root)]
    first = True
    steps = 0
    while stack:
        lo, up = stack.pop()
        steps += 1
        if steps & 1023 == 0:  # every entry counts: a folder may hold 100 k files
            cancel.check()
        if not first:
            kind = _kind_of(lo, up)
            if kind is DiffKind.UNCHANGED:
                continue
            counts[kind] += 1
            lo_file = lo is not None and lo.children is None
            up_file = up is not None and up.children is None
            is_dir = (up or lo) is not None and (up or lo).children is not None  # type: ignore[union-attr]
            if not is_dir or kind is DiffKind.MODIFIED:
                if kind in (DiffKind.ADDED, DiffKind.MODIFIED) and up is not None and up_file:
                    added += up.entry.size
                if kind in (DiffKind.REMOVED, DiffKind.MODIFIED) and lo is not None and lo_file:
                    removed += lo.entry.size
            if not is_dir:
                continue
            if kind is DiffKind.REMOVED:
                up = None
            elif kind is DiffKind.ADDED:
                lo = None
        first = False
        lo_kids = lo.children if lo is not None and lo.children is not None else {}
        up_kids = up.children if up is not None and up.children is not None else {}
        for name in lo_kids.keys() | up_kids.keys():
            stack.append((lo_kids.get(name), up_kids.get(name)))
    return DiffSummary(
        added=counts[DiffKind.ADDED],
        modified=counts[DiffKind.MODIFIED],
        removed=counts[DiffKind.REMOVED],
        unchanged=0,
        bytes_added=added,
        bytes_removed=removed,
    )
