"""The filesystem diff between two endpoints, with what changed on each entry.

The tree is ``fs.diff``'s lazy DiffNode tree from A (lower) to B (upper): ADDED means only
in B, REMOVED only in A.  Tree semantics (the GUI shows the tree, the CLI the flat list):

* a directory that exists on one side only is one ADDED/REMOVED node; its children are
  ADDED/REMOVED below it, and the flat list (``changed_entries``) shows it once, with the
  number of entries it holds;
* a directory present on both sides is MODIFIED when its own attributes differ or anything
  below it does; the flat list names it only for its own attributes (``Change.CHILDREN``
  alone means "something below changed");
* files follow ``FileEntry.same_content`` (type, content, link, mode, owner, device; an
  mtime-only change is not a modification), with content digests filled on both sides.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from explorer.core.compare.digests import DigestMemo, fill_for_comparison
from explorer.core.compare.endpoints import Endpoint
from explorer.core.fs.diff import DiffKind, DiffNode, _subtree_changed, diff_trees
from explorer.core.fs.entry import EntryKind, FileEntry
from explorer.core.fs.sizes import DirSizes, count_changes
from explorer.core.fs.union import Node, UnionTree
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress


class Change(enum.Flag):
    """What differs between the two versions of one path (columns of the comparison view)."""

    NONE = 0
    TYPE = enum.auto()
    MODE = enum.auto()
    OWNER = enum.auto()
    LINK = enum.auto()
    SIZE = enum.auto()
    CONTENT = enum.auto()
    DEVICE = enum.auto()
    CHILDREN = enum.auto()
    """A directory whose contents differ somewhere below it."""
    MTIME = enum.auto()
    """Informational: not a modification on its own."""
    XATTRS = enum.auto()
    """Informational: extended attributes are not part of the roll-up rule."""

    @property
    def words(self) -> list[str]:
        """``["mode", "content"]``: lower-case names in a fixed order."""
        return [c.name.lower() for c in Change if c.name and c.value and c in self]


_FILES = (EntryKind.FILE, EntryKind.HARDLINK)
MODIFYING = ~(Change.MTIME | Change.XATTRS)
"""The flags that make an entry MODIFIED."""


def entry_changes(before: FileEntry | None, after: FileEntry | None, *,
                  children_changed: bool = False) -> Change:
    """Every attribute that differs between two versions of a path (NONE if one is
    missing: the entry was added or removed as a whole)."""
    if before is None or after is None:
        return Change.NONE
    out = Change.NONE
    if before.kind != after.kind:
        out |= Change.TYPE
    if (before.mode & 0o7777) != (after.mode & 0o7777):
        out |= Change.MODE
    if (before.uid, before.gid) != (after.uid, after.gid):
        out |= Change.OWNER
    if before.link != after.link:
        out |= Change.LINK
    if before.rdev != after.rdev:
        out |= Change.DEVICE
    if before.kind in _FILES and after.kind in _FILES:
        if before.size != after.size:
            out |= Change.SIZE | Change.CONTENT
        elif before.needs_digest or after.needs_digest:
            if before.mtime != after.mtime:
                out |= Change.CONTENT  # unhashed: size+mtime decides, as same_content does
        elif before.digest != after.digest:
            out |= Change.CONTENT
    if before.mtime != after.mtime:
        out |= Change.MTIME
    if before.xattrs != after.xattrs:
        out |= Change.XATTRS
    if children_changed:
        out |= Change.CHILDREN
    return out


@dataclass(frozen=True)
class CompareSummary:
    added: int
    modified: int
    """Modified entries, directories whose contents changed included."""
    removed: int
    bytes_added: int
    """Bytes of files only in B, or whose content differs (B's size)."""
    bytes_removed: int
    """Bytes of files only in A, or whose content differs (A's size)."""

    @property
    def equal(self) -> bool:
        return self.added == self.modified == self.removed == 0


@dataclass(frozen=True)
class MarkerChanges:
    """Whiteouts and opaque markers of two layers' own contents (``only_layer``)."""

    whiteouts_removed: tuple[bytes, ...] = ()
    """Paths A's layer deletes and B's does not."""
    whiteouts_added: tuple[bytes, ...] = ()
    opaque_removed: tuple[bytes, ...] = ()
    opaque_added: tuple[bytes, ...] = ()

    @property
    def equal(self) -> bool:
        return not (self.whiteouts_removed or self.whiteouts_added or self.opaque_removed
                    or self.opaque_added)


@dataclass(frozen=True)
class ChangedEntry:
    """One line of the flat change list (see the module docstring for which nodes)."""

    path: bytes
    kind: DiffKind
    changes: Change
    before: FileEntry | None
    after: FileEntry | None
    size_before: int | None
    """dive's size on A's side (a directory: its entry plus the files below it)."""
    size_after: int | None
    entries: int = 0
    """For an added or removed directory: how many entries it holds."""


@dataclass(eq=False)
class Comparison:
    """A's filesystem against B's: the lazy diff tree and what the GUI asks about it."""

    a: Endpoint
    b: Endpoint
    tree_a: UnionTree
    """A's tree, with the content digests the comparison needed (a path copy)."""
    tree_b: UnionTree
    root: DiffNode
    markers: MarkerChanges = field(default_factory=MarkerChanges)
    _sizes_a: DirSizes = field(default_factory=DirSizes, repr=False)
    _sizes_b: DirSizes = field(default_factory=DirSizes, repr=False)
    _summary: CompareSummary | None = field(default=None, repr=False)

    def summary(self, cancel: CancelToken = NEVER_CANCELLED) -> CompareSummary:
        """Counts and bytes, without building the diff tree (memoised)."""
        if self._summary is None:
            s = count_changes(self.tree_a, self.tree_b, cancel=cancel)
            self._summary = CompareSummary(s.added, s.modified, s.removed, s.bytes_added,
                                           s.bytes_removed)
        return self._summary

    @property
    def equal(self) -> bool:
        return self.summary().equal and self.markers.equal

    def changes(self, node: DiffNode) -> Change:
        """What differs at ``node`` (NONE for added and removed entries)."""
        children = (node.kind is DiffKind.MODIFIED and node.lower is not None
                    and node.upper is not None and node.lower.children is not None
                    and node.upper.children is not None
                    and _subtree_changed(node.lower, node.upper))
        return entry_changes(node.before if node.lower is not None else None,
                             node.after if node.upper is not None else None,
                             children_changed=children)

    def sizes(self, node: DiffNode) -> tuple[int | None, int | None]:
        """dive's size of ``node`` on A's and on B's side (None where it does not exist)."""
        return (_size(node.lower, self._sizes_a), _size(node.upper, self._sizes_b))

    def size_delta(self, node: DiffNode) -> int:
        before, after = self.sizes(node)
        return (after or 0) - (before or 0)

    def find(self, path: bytes) -> DiffNode | None:
        """The node at ``path`` (``usr/lib``; ``b""`` is the root), building only its
        ancestors' children."""
        node = self.root
        for part in path.split(b"/") if path else []:
            if not node.is_dir:
                return None
            match = next((c for c in node.children if c.name == part), None)
            if match is None:
                return None
            node = match
        return node

    def swapped(self) -> Comparison:
        """B against A, reusing the digests already filled."""
        return _build(self.b, self.a, self.tree_b, self.tree_a)

    def changed_entries(self, cancel: CancelToken = NEVER_CANCELLED) -> list[ChangedEntry]:
        """The flat list the CLI prints, sorted by path."""
        out: list[ChangedEntry] = []
        stack = list(self.root.children)
        steps = 0
        while stack:
            node = stack.pop()
            steps += 1
            if steps & 1023 == 0:
                cancel.check()
            if node.kind is DiffKind.UNCHANGED:
                continue
            before, after = self.sizes(node)
            if node.kind is not DiffKind.MODIFIED:
                count = sum(1 for _ in node.walk()) if node.is_dir else 0
                out.append(ChangedEntry(node.path, node.kind, Change.NONE, node.before,
                                        node.after, before, after, count))
                continue
            flags = self.changes(node)
            own = flags & ~Change.CHILDREN
            if own & MODIFYING:
                out.append(ChangedEntry(node.path, node.kind, own, node.before, node.after,
                                        before, after))
            if node.is_dir:
                stack.extend(node.children)
        out.sort(key=lambda c: c.path)
        return out


def _size(node: Node | None, sizes: DirSizes) -> int | None:
    if node is None:
        return None
    if node.children is None:
        return node.entry.size
    return node.entry.size + sizes.file_bytes(node)


def compare_trees(
    a: Endpoint, b: Endpoint, *,
    memo: DigestMemo | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> Comparison:
    """A's filesystem against B's.  Reads (and hashes) the files both sides hold with
    equal sizes and unknown content first; the diff tree itself is built lazily.
    Raises IndexError for a missing layer, Cancelled, OSError."""
    tree_a = a.tree()
    tree_b = tree_a if a.same_view(b) else b.tree()
    if tree_a is not tree_b:
        tree_a, tree_b = fill_for_comparison(a.inspection, tree_a, b.inspection, tree_b,
                                             memo=memo, progress=progress, cancel=cancel)
    return _build(a, b, tree_a, tree_b)


def _build(a: Endpoint, b: Endpoint, tree_a: UnionTree, tree_b: UnionTree) -> Comparison:
    markers = MarkerChanges()
    if a.only_layer and b.only_layer:
        ia, ib = a.inspection.indexes[a.index], b.inspection.indexes[b.index]
        wa, wb = set(ia.whiteouts), set(ib.whiteouts)
        oa, ob = set(ia.opaque_dirs), set(ib.opaque_dirs)
        markers = MarkerChanges(tuple(sorted(wa - wb)), tuple(sorted(wb - wa)),
                                tuple(sorted(oa - ob)), tuple(sorted(ob - oa)))
    return Comparison(a, b, tree_a, tree_b, diff_trees(tree_a, tree_b), markers)
