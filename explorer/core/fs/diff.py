"""Differences between two merged trees, as a tree (a pure function of its inputs).

Roll-up rule for directories: a directory is ADDED or REMOVED when it is; otherwise it is
MODIFIED when its own attributes changed (type, mode, uid, gid) or anything below it changed,
and UNCHANGED when neither did.  A file is MODIFIED when type, content, link target, mode, uid,
gid or device numbers differ; an mtime-only change is not a modification (as dive decides).
Subtrees shared by both trees (the same node object) are unchanged without being visited.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

from explorer.core.fs.entry import FileEntry
from explorer.core.fs.union import Node, UnionTree


class DiffKind(enum.Enum):
    UNCHANGED = "unchanged"
    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"

    @property
    def letter(self) -> str:
        return {"unchanged": " ", "added": "A", "modified": "M", "removed": "D"}[self.value]


class RemovalCause(enum.Enum):
    NONE = ""
    WHITEOUT = "whiteout"
    OPAQUE = "opaque"
    REPLACED = "replaced"
    """A directory's child vanished because the directory became a file or link."""


@dataclass(eq=False, slots=True, weakref_slot=True)
class DiffNode:
    """One path of a diff: what it was, what it is, and how it changed."""

    name: bytes
    path: bytes
    kind: DiffKind
    before: FileEntry | None
    after: FileEntry | None
    lower: Node | None = field(repr=False, default=None)
    upper: Node | None = field(repr=False, default=None)
    cause: RemovalCause = RemovalCause.NONE
    context: LayerContext | None = field(default=None, repr=False)
    _children: list[DiffNode] | None = field(default=None, repr=False)

    @property
    def entry(self) -> FileEntry:
        entry = self.after or self.before
        assert entry is not None
        return entry

    @property
    def layer(self) -> int:
        """The layer that set the current entry (-1 when removed or implicit)."""
        if self.upper is not None:
            return self.upper.layer
        return self.lower.layer if self.lower is not None else -1

    @property
    def is_dir(self) -> bool:
        node = self.upper or self.lower
        return node is not None and node.children is not None

    @property
    def children(self) -> list[DiffNode]:
        if self._children is None:
            self._children = _children(self)
        return self._children

    def walk(self) -> Iterator[DiffNode]:
        """This node's descendants, depth-first in name order (not the node itself)."""
        stack = list(reversed(self.children))
        while stack:
            node = stack.pop()
            yield node
            if node.is_dir:
                stack.extend(reversed(node.children))

    def size(self) -> int:
        """Bytes in this subtree as dive shows them: removed children are not counted unless
        the node itself is removed."""
        if not self.is_dir:
            return self.entry.size
        total = self.entry.size
        for node in self.walk():
            if node.kind is DiffKind.REMOVED and self.kind is not DiffKind.REMOVED:
                continue
            if not node.is_dir:
                total += node.entry.size
        return total


def _kind_of(lower: Node | None, upper: Node | None) -> DiffKind:
    if lower is None:
        return DiffKind.ADDED
    if upper is None:
        return DiffKind.REMOVED
    if lower is upper:
        return DiffKind.UNCHANGED
    if (lower.children is None) != (upper.children is None):
        return DiffKind.MODIFIED
    if not lower.entry.same_content(upper.entry) and not (
        lower.entry.implicit or upper.entry.implicit
    ):
        return DiffKind.MODIFIED
    if lower.children is not None and upper.children is not None and _subtree_changed(
        lower, upper
    ):
        return DiffKind.MODIFIED
    return DiffKind.UNCHANGED


def _subtree_changed(lower: Node, upper: Node) -> bool:
    """Whether anything below two same-path directories differs (shared subtrees skipped)."""
    stack = [(lower, upper)]
    while stack:
        a, b = stack.pop()
        if a is b:
            continue
        ac, bc = a.children or {}, b.children or {}
        if ac.keys() != bc.keys():
            return True
        for name, x in ac.items():
            y = bc[name]
            if x is y:
                continue
            if (x.children is None) != (y.children is None):
                return True
            if not x.entry.same_content(y.entry) and not (x.entry.implicit or y.entry.implicit):
                return True
            if x.children is not None:
                stack.append((x, y))
    return False


def _children(parent: DiffNode) -> list[DiffNode]:
    """The children of a diff directory, by name.  Runs once per directory and is most of
    the cost of listing a big tree: positional construction, and one-sided and shared
    directories without per-child comparisons."""
    kind = parent.kind
    lower_kids = parent.lower.children if parent.lower is not None and kind is not ADDED \
        else None
    upper_kids = parent.upper.children if parent.upper is not None and kind is not REMOVED \
        else None
    prefix = parent.path + b"/" if parent.path else b""
    context = parent.context
    cause = parent.cause if kind is REMOVED else RemovalCause.NONE
    out = []
    if not upper_kids or not lower_kids or lower_kids is upper_kids:
        # One side only (all added or all removed), or the very same directory (unchanged).
        kids = upper_kids or lower_kids or {}
        child_kind = UNCHANGED if upper_kids and lower_kids else ADDED if upper_kids \
            else REMOVED
        for name in sorted(kids):
            node = kids[name]
            path = prefix + name
            lo = node if child_kind is not ADDED else None
            up = node if child_kind is not REMOVED else None
            path_cause = cause
            if child_kind is REMOVED and kind is not REMOVED and context is not None:
                path_cause = context.cause(path)
            out.append(DiffNode(name, path, child_kind, lo.entry if lo is not None else None,
                                up.entry if up is not None else None, lo, up, path_cause,
                                context))
        return out
    for name in sorted(lower_kids.keys() | upper_kids.keys()):
        lo = lower_kids.get(name)
        up = upper_kids.get(name)
        child_kind = UNCHANGED if lo is up else _kind_of(lo, up)
        path = prefix + name
        path_cause = RemovalCause.NONE
        if child_kind is REMOVED and context is not None:
            path_cause = context.cause(path)
        out.append(DiffNode(name, path, child_kind, lo.entry if lo is not None else None,
                            up.entry if up is not None else None, lo, up, path_cause, context))
    return out


ADDED, REMOVED, UNCHANGED = DiffKind.ADDED, DiffKind.REMOVED, DiffKind.UNCHANGED


@dataclass(frozen=True)
class DiffSummary:
    """Counts and bytes of one comparison, as the layer details show them."""

    added: int
    modified: int
    removed: int
    unchanged: int
    bytes_added: int
    """Bytes of entries that are new or whose content changed (their new size)."""
    bytes_removed: int
    """Bytes of entries that disappeared or whose content changed (their old size)."""


@dataclass(frozen=True)
class LayerContext:
    """Why entries disappeared in one layer: its whiteouts and opaque directories."""

    whiteouts: frozenset[bytes]
    opaque_dirs: frozenset[bytes]

    def cause(self, path: bytes) -> RemovalCause:
        p = path
        while True:
            if p in self.whiteouts:
                return RemovalCause.WHITEOUT
            parent = p.rpartition(b"/")[0]
            if parent in self.opaque_dirs:
                return RemovalCause.OPAQUE
            if not parent:
                return RemovalCause.REPLACED
            p = parent


def diff_trees(
    lower: UnionTree, upper: UnionTree, *, context: LayerContext | None = None
) -> DiffNode:
    """The diff from ``lower`` to ``upper`` as a tree rooted at ``b""``.

    ``context`` (the layer between them, when there is exactly one) explains removals.
    """
    return DiffNode(
        context=context,
        name=b"",
        path=b"",
        kind=_kind_of(lower.root, upper.root),
        before=lower.root.entry,
        after=upper.root.entry,
        lower=lower.root,
        upper=upper.root,
    )


def summarize(root: DiffNode, *, include_unchanged: bool = False) -> DiffSummary:
    """Count entries by kind; unchanged shared subtrees are only counted when asked."""
    counts = dict.fromkeys(DiffKind, 0)
    added = removed = 0
    stack = list(root.children)
    while stack:
        node = stack.pop()
        if node.kind is DiffKind.UNCHANGED and not include_unchanged:
            continue
        counts[node.kind] += 1
        if not node.is_dir or node.kind is DiffKind.MODIFIED:
            if node.kind in (DiffKind.ADDED, DiffKind.MODIFIED) and node.after is not None \
                    and node.upper is not None and node.upper.children is None:
                added += node.after.size
            if node.kind in (DiffKind.REMOVED, DiffKind.MODIFIED) and node.before is not None \
                    and node.lower is not None and node.lower.children is None:
                removed += node.before.size
        if node.is_dir:
            stack.extend(node.children)
    return DiffSummary(
        added=counts[DiffKind.ADDED],
        modified=counts[DiffKind.MODIFIED],
        removed=counts[DiffKind.REMOVED],
        unchanged=counts[DiffKind.UNCHANGED],
        bytes_added=added,
        bytes_removed=removed,
    )
