"""The sandbox: a writable container layer over an image's merged filesystem.

A ``Sandbox`` is an immutable value: every edit returns a new one and leaves the old one as
it was, so undo/redo is keeping the old values (see ``history``).  Its state is two things:

- ``deleted``: paths of the image the sandbox hides (each becomes one whiteout; a deleted
  folder is one whiteout, never one per child);
- ``added``: entries the sandbox writes (files and folders from the host, new folders,
  replaced file contents), by path.

A path in both was deleted and made again: a file simply replaces the old entry; a folder
over an old folder becomes an opaque folder (``rm -rf d; mkdir d`` in a container).  From
that state come the new layer (``layer()``: entries, whiteouts, opaque folders, plus the
headers of the image folders above them, copied exactly), the resulting filesystem
(``merged()``) and what a view shows (``diff()``: the pending changes against the image,
removed entries included, with why they went; ``changes()`` / ``summary()``: what was
edited and how many bytes that removes and adds).

Rules, as a container behaves: deleting what the sandbox added drops it (and, where it had
replaced an image entry, deletes that too); only paths visible in the merged view can be
deleted, replaced or used as a folder; an existing folder is merged into (``docker cp``),
never replaced by a file or the other way round; ``restore`` puts a path and everything below
it back as the image has it.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from explorer.core.errors import ExplorerError, SandboxError
from explorer.core.fs.diff import DiffNode, DiffSummary, LayerContext, diff_trees, summarize
from explorer.core.fs.entry import EntryKind, FileEntry
from explorer.core.fs.union import Node, UnionTree, apply_layer
from explorer.core.sandbox.changes import Change, describe_changes, list_changes
from explorer.core.sandbox.host import HostFile, HostTree
from explorer.core.sandbox.paths import (
    PathLike,
    ancestors,
    image_path,
    is_under,
    parent_of,
    shown,
)

if TYPE_CHECKING:
    from explorer.core.inspection import Inspection

DEFAULT_DIR_MODE = 0o755
_FILES = (EntryKind.FILE, EntryKind.HARDLINK)


@dataclass(frozen=True, slots=True)
class Added:
    """An entry the sandbox writes; regular files say where their bytes come from."""

    entry: FileEntry
    source: HostFile | None = None


@dataclass(frozen=True)
class SandboxLayer:
    """The new layer as the union applies it (and commit writes it)."""

    entries: tuple[FileEntry, ...]
    """Sorted; added entries plus exact copies of the image folders above every change."""
    whiteouts: tuple[bytes, ...]
    opaque_dirs: tuple[bytes, ...]
    sources: Mapping[bytes, HostFile]
    """Where each added regular file's bytes are read from."""

    @property
    def is_empty(self) -> bool:
        return not (self.entries or self.whiteouts or self.opaque_dirs)


class PathState(enum.Enum):
    """What the sandbox did to one path (for a view's icons and context menu)."""

    UNCHANGED = "unchanged"
    DELETED = "deleted"
    """Deleted explicitly (restorable)."""
    HIDDEN = "hidden"
    """Gone because a folder above it was deleted or made again (restorable)."""
    ADDED = "added"
    REPLACED = "replaced"
    """The sandbox wrote a new entry over the image's (restorable)."""
    CONTAINS_CHANGES = "contains changes"
    """A folder of the image with changes below it."""
    MISSING = "missing"
    """Neither in the image nor in the sandbox."""


class _Edit:
    """Mutable copies of a sandbox's state while one operation runs."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.deleted = set(sandbox.deleted)
        self.added = dict(sandbox.added)

    def drop_added(self, top: bytes) -> None:
        for path in [p for p in self.added if is_under(p, top)]:
            del self.added[path]

    def drop_deleted(self, top: bytes, *, include_top: bool) -> None:
        for path in [p for p in self.deleted if is_under(p, top)]:
            if include_top or path != top:
                self.deleted.discard(path)

    def done(self, description: str) -> Sandbox:
        s = self.sandbox
        return Sandbox(s.base, image_id=s.image_id, deleted=frozenset(self.deleted),
                       added=self.added, description=description)


class Sandbox:
    """An immutable writable layer over ``base`` (the image's top merged tree)."""

    __slots__ = ("_added", "_base", "_deleted", "_diff", "_layer", "_merged", "description",
                 "image_id")

    def __init__(self, base: UnionTree, *, image_id: str = "",
                 deleted: frozenset[bytes] = frozenset(),
                 added: Mapping[bytes, Added] | None = None, description: str = "") -> None:
        self._base = base
        self.image_id = image_id
        """The config digest of the image it belongs to (checked by commit and load)."""
        self._deleted = deleted
        self._added: Mapping[bytes, Added] = MappingProxyType(dict(added or {}))
        self.description = description
        """What the edit that made this value did ("delete /x"), for Undo/Redo labels."""
        self._layer: SandboxLayer | None = None
        self._merged: UnionTree | None = None
        self._diff: DiffNode | None = None

    @classmethod
    def over(cls, inspection: Inspection) -> Sandbox:
        """An empty sandbox over an opened image's top layer."""
        return cls(inspection.merged(), image_id=str(inspection.image.id))

    # ------------------------------------------------------------------ state

    @property
    def base(self) -> UnionTree:
        return self._base

    @property
    def layer_no(self) -> int:
        """The index the new layer gets (one above the image's top)."""
        return self._base.top + 1

    @property
    def deleted(self) -> frozenset[bytes]:
        return self._deleted

    @property
    def added(self) -> Mapping[bytes, Added]:
        return self._added

    @property
    def is_empty(self) -> bool:
        return not self._deleted and not self._added

    def __repr__(self) -> str:
        return (f"Sandbox({len(self._deleted)} deleted, {len(self._added)} added, "
                f"{self.description!r})")

    # ------------------------------------------------------------------ views

    def layer(self) -> SandboxLayer:
        if self._layer is None:
            self._layer = self._make_layer()
        return self._layer

    def _make_layer(self) -> SandboxLayer:
        entries = {p: a.entry for p, a in self._added.items()}
        whiteouts, opaque = [], []
        for p in self._deleted:
            added = self._added.get(p)
            if added is None:
                whiteouts.append(p)
            else:
                old = self._base.get(p)
                if added.entry.kind is EntryKind.DIR and old is not None and old.is_dir:
                    opaque.append(p)
        for p in [*entries, *whiteouts]:
            for a in ancestors(p):
                if a not in entries:
                    node = self._base.get(a)
                    if node is None or not node.is_dir:
                        raise AssertionError(f"sandbox state has no folder {a!r}")
                    if not node.entry.implicit:
                        entries[a] = node.entry
        ordered = sorted(entries.values(), key=lambda e: e.path.split(b"/"))
        sources = {p: a.source for p, a in self._added.items() if a.source is not None}
        return SandboxLayer(tuple(ordered), tuple(sorted(whiteouts)), tuple(sorted(opaque)),
                            MappingProxyType(sources))

    def merged(self) -> UnionTree:
        """The filesystem a container would see: the image top with the sandbox applied."""
        if self._merged is None:
            if self.is_empty:
                self._merged = self._base
            else:
                self._merged, _warnings = apply_layer(self._base, self.layer(), self.layer_no)
        return self._merged

    def diff(self) -> DiffNode:
        """The pending changes against the image, as a tree: every path of both, with
        removed entries kept (``kind`` REMOVED, ``cause`` WHITEOUT or OPAQUE) so a view can
        strike them through; ADDED and MODIFIED for what the sandbox writes."""
        if self._diff is None:
            layer = self.layer()
            context = LayerContext(frozenset(layer.whiteouts), frozenset(layer.opaque_dirs))
            self._diff = diff_trees(self._base, self.merged(), context=context)
        return self._diff

    def summary(self) -> DiffSummary:
        """Counts and bytes (``bytes_added`` / ``bytes_removed``) of the pending changes."""
        return summarize(self.diff())

    def changes(self) -> list[Change]:
        """The edits, sorted by path: deletions, additions (a folder with everything in it
        is one change) and replacements, with the bytes each removes and adds."""
        return list_changes(self)

    def describe(self, limit: int = 400) -> str:
        """One line for a history entry: ``delete /a, /b; add /c (2 entries)``."""
        return describe_changes(self.changes(), limit)

    def state(self, path: PathLike) -> PathState:
        p = image_path(path, allow_root=True)
        if p in self._added:
            old = self._base.get(p)
            if old is not None and (p in self._deleted or self.base_visible(p)):
                return PathState.REPLACED
            return PathState.ADDED
        if p in self._deleted:
            return PathState.DELETED
        if self._base.get(p) is None:
            return PathState.MISSING
        if not self.base_visible(p) or self.merged().get(p) is None:
            return PathState.HIDDEN
        if any(is_under(q, p) for q in (*self._deleted, *self._added)):
            return PathState.CONTAINS_CHANGES
        return PathState.UNCHANGED

    def can_restore(self, path: PathLike) -> bool:
        try:
            p = image_path(path)
        except ExplorerError:
            return False
        return self._base.get(p) is not None and self._touched(p)

    def base_visible(self, p: bytes) -> bool:
        """The image's ``p`` (if any) shows through: no folder above it is deleted (or
        deleted and made again)."""
        return not any(a in self._deleted for a in ancestors(p))

    def _touched(self, p: bytes) -> bool:
        return (any(a in self._deleted for a in ancestors(p))
                or any(is_under(q, p) for q in self._deleted)
                or any(is_under(q, p) for q in self._added))

    def _visible(self, p: bytes, *, what: str) -> Node:
        node = self.merged().get(p)
        if node is None:
            raise SandboxError(f"{shown(p)} is not in the container's filesystem{what}.")
        return node

    def _folder(self, p: bytes) -> Node:
        node = self.merged().get(p)
        if node is None:
            raise SandboxError(f"The folder {shown(p)} does not exist in the container's "
                               "filesystem.")
        if not node.is_dir:
            if node.entry.kind is EntryKind.SYMLINK:
                raise SandboxError(f"{shown(p)} is a symbolic link; choose the folder it points "
                                   "to instead (links are not followed).")
            raise SandboxError(f"{shown(p)} is not a folder.")
        return node

    # ------------------------------------------------------------------ edits

    def delete(self, path: PathLike) -> Sandbox:
        """Delete a file, symlink or whole folder (one whiteout); what the sandbox added
        there is dropped instead."""
        p = image_path(path)
        self._visible(p, what=" (already deleted, or hidden by a deleted folder)")
        edit = _Edit(self)
        edit.drop_added(p)
        edit.drop_deleted(p, include_top=False)
        if self._base.get(p) is not None and self.base_visible(p):
            edit.deleted.add(p)
        return edit.done(f"delete {shown(p)}")

    def restore(self, path: PathLike) -> Sandbox:
        """Put ``path`` and everything below it back as the image has it (undoing deletions,
        additions and replacements there; a folder deleted above it comes back with only this
        path restored, its other contents still deleted)."""
        p = image_path(path)
        if self._base.get(p) is None:
            raise SandboxError(f"{shown(p)} is not in the image, so there is nothing to "
                               "restore; delete it to drop it from the container layer.")
        if not self._touched(p):
            raise SandboxError(f"{shown(p)} is as the image has it; there is nothing to "
                               "restore.")
        edit = _Edit(self)
        parts = p.split(b"/")
        for i, a in enumerate(ancestors(p), start=1):
            made = edit.added.get(a)
            if made is not None and made.entry.kind is not EntryKind.DIR:
                del edit.added[a]
            if a in edit.deleted:
                edit.deleted.discard(a)
                folder = self._base.get(a)
                assert folder is not None and folder.children is not None
                edit.deleted.update(a + b"/" + name for name in folder.children
                                    if name != parts[i])
        edit.drop_added(p)
        edit.drop_deleted(p, include_top=True)
        return edit.done(f"restore {shown(p)}")

    def mkdir(self, path: PathLike, *, mode: int = DEFAULT_DIR_MODE, uid: int = 0,
              gid: int = 0, mtime: int | None = None) -> Sandbox:
        """Create an empty folder (in a visible folder, where nothing is)."""
        p = image_path(path)
        self._folder(parent_of(p))
        if self.merged().get(p) is not None:
            raise SandboxError(f"{shown(p)} already exists.")
        when = int(time.time()) if mtime is None else mtime
        edit = _Edit(self)
        edit.added[p] = Added(FileEntry(p, EntryKind.DIR, mode & 0o7777, uid, gid, 0, when))
        return edit.done(f"create folder {shown(p)}")

    def add(self, tree: HostTree, dest: PathLike, *, uid: int = 0, gid: int = 0) -> Sandbox:
        """Add a snapshot (``snapshot_host``) as ``dest``, like ``docker cp SRC CTR:DEST``
        when DEST is a new name: a folder merges into an existing folder (keeping that
        folder's own attributes), a file replaces an existing file or symlink; a file never
        replaces a folder nor a folder a file.  Owner ``uid:gid`` (default root, like
        ``docker cp``); modes and mtimes come from the host."""
        d = image_path(dest)
        self._folder(parent_of(d))
        merged = self.merged()
        edit = _Edit(self)
        name_len = len(tree.name)
        for item in tree.items:
            target = d + item.rel[name_len:]
            existing = merged.get(target)
            if existing is not None:
                if existing.is_dir and item.kind is EntryKind.DIR:
                    continue
                if existing.is_dir or item.kind is EntryKind.DIR:
                    what = "folder" if existing.is_dir else "file"
                    raise SandboxError(f"Cannot add {shown(target)}: the image has a {what} "
                                       "there, and a folder and a file never replace each "
                                       "other; delete it first.")
            file = item.file
            entry = FileEntry(target, item.kind, item.mode & 0o7777, uid, gid,
                              item.size if file else 0, item.mtime, link=item.link,
                              digest=file.digest if file else None)
            edit.added[target] = Added(entry, file)
        return edit.done(f"add {shown(d)}")

    def add_into(self, tree: HostTree, folder: PathLike, *, uid: int = 0,
                 gid: int = 0) -> Sandbox:
        """Add a snapshot into a folder under its own name (a drop on a folder)."""
        f = image_path(folder, allow_root=True)
        dest = f + b"/" + tree.name if f else tree.name
        return self.add(tree, dest, uid=uid, gid=gid)

    def replace(self, path: PathLike, tree: HostTree) -> Sandbox:
        """Give a regular file new content from a host file, keeping its mode, owner and
        xattrs (as writing into it in a container does); the mtime is the host file's."""
        p = image_path(path)
        node = self._visible(p, what="")
        if node.is_dir or node.entry.kind not in _FILES:
            raise SandboxError(f"{shown(p)} is not a regular file; only a file's content can "
                               "be replaced.")
        item = tree.items[0]
        if item.kind is not EntryKind.FILE or item.file is None:
            raise SandboxError(f"{tree.source} is not a regular file.")
        old = node.entry
        entry = FileEntry(p, EntryKind.FILE, old.mode & 0o7777, old.uid, old.gid, item.size,
                          item.mtime, digest=item.file.digest, xattrs=old.xattrs)
        edit = _Edit(self)
        edit.added[p] = Added(entry, item.file)
        return edit.done(f"replace {shown(p)}")
