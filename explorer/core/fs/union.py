"""The union (merged) filesystem at each layer, as the OCI spec applies layers.

Trees are persistent: applying a layer copies only the directories it touches and shares the
rest with the tree below, so every layer's merged view is kept for the cost of its changes.
Nodes are never mutated once a layer has been applied.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from explorer.core.collector import collector_paused
from explorer.core.fs.entry import EntryKind, FileEntry, display_path, implicit_dir, link_target
from explorer.core.fs.layer_index import LayerIndex

ROOT = implicit_dir(b"")
_DIR, _HARDLINK = EntryKind.DIR, EntryKind.HARDLINK
SYMLINK_HOPS = 40
"""Symlinks followed while resolving a whiteout's parents (Linux MAXSYMLINKS)."""


class Node:
    """One path of a merged tree: its entry, the layer that set it, and its children."""

    __slots__ = ("children", "entry", "layer")

    def __init__(self, entry: FileEntry, layer: int, children: dict[bytes, Node] | None) -> None:
        self.entry = entry
        self.layer = layer
        self.children = children

    @property
    def is_dir(self) -> bool:
        return self.children is not None

    def sorted_children(self) -> list[tuple[bytes, Node]]:
        return sorted(self.children.items()) if self.children else []


def _walk(node: Node | None, parts: Iterable[bytes]) -> Node | None:
    """The node ``parts`` names below ``node``; None when one is missing or not a directory."""
    for part in parts:
        if node is None or node.children is None:
            return None
        node = node.children.get(part)
    return node


@dataclass(frozen=True)
class UnionTree:
    """The merged filesystem after layers ``0..top`` (``top == -1``: empty)."""

    root: Node
    top: int

    def get(self, path: bytes) -> Node | None:
        return _walk(self.root, path.split(b"/")) if path else self.root

    def walk(self) -> Iterator[tuple[bytes, Node]]:
        """Every path below the root, depth-first, children sorted by bytes."""
        stack: list[tuple[bytes, Node]] = [
            (name, child) for name, child in reversed(self.root.sorted_children())
        ]
        while stack:
            path, node = stack.pop()
            yield path, node
            if node.children:
                stack.extend(
                    (path + b"/" + name, child) for name, child in reversed(node.sorted_children())
                )

    def count(self) -> int:
        return sum(1 for _ in self.walk())


EMPTY = UnionTree(Node(ROOT, -1, {}), -1)


class _Applier:
    """Applies one layer onto a tree, copying nodes on the paths it changes."""

    def __init__(self, lower: UnionTree, layer_no: int) -> None:
        self.layer_no = layer_no
        self.owned: set[int] = set()
        self.root = self._own(lower.root)
        self.warnings: list[str] = []
        self.dirs: dict[bytes, Node] = {b"": self.root}
        """Owned directories by path, so entries of one directory skip the walk from the root
        (valid because removals all happen before the first add)."""

    def _own(self, node: Node) -> Node:
        if id(node) in self.owned:
            return node
        copy = Node(node.entry, node.layer, dict(node.children or {}))
        self.owned.add(id(copy))
        return copy

    def _parent(self, parts: list[bytes], *, create: bool) -> Node | None:
        """The (owned) parent directory of ``parts``; None when missing or blocked by a file."""
        cur = self.root
        for i, part in enumerate(parts[:-1]):
            assert cur.children is not None
            child = cur.children.get(part)
            if child is None:
                if not create:
                    return None
                child = Node(implicit_dir(b"/".join(parts[: i + 1])), self.layer_no, {})
                self.owned.add(id(child))
            elif child.children is None:
                return None
            else:
                child = self._own(child)
            cur.children[part] = child
            cur = child
        return cur

    def _exists(self, path: bytes) -> bool:
        return _walk(self.root, path.split(b"/")) is not None

    def remove(self, path: bytes) -> None:
        if not path:
            return
        if not self._exists(path):
            resolved, via = self._through_symlinks(path)
            if resolved is None or resolved == path or not self._exists(resolved):
                return
            self.warnings.append(
                f"Layer {self.layer_no}: the whiteout of {display_path(path)} deleted "
                f"{display_path(resolved)} via symlinked parent {display_path(via)} (resolved "
                "inside the image, as containerd does).")
            path = resolved
        parts = path.split(b"/")
        parent = self._parent(parts, create=False)
        if parent is not None and parent.children is not None:
            parent.children.pop(parts[-1], None)

    def _through_symlinks(self, path: bytes) -> tuple[bytes | None, bytes]:
        """``path`` with its symlinked parents resolved inside the root (``..`` stops at the
        root, absolute targets start there), and the first symlink met; None when a hop
        limit is hit or a parent is missing."""
        todo = path.split(b"/")
        done: list[bytes] = []
        via = b""
        hops = 0
        while len(todo) > 1:
            name = todo.pop(0)
            node = _walk(self.root, [*done, name])
            if node is None:
                return None, via
            if node.entry.kind is EntryKind.SYMLINK:
                hops += 1
                if hops > SYMLINK_HOPS:
                    return None, via
                via = via or b"/".join([*done, name])
                todo = link_target(done, node.entry.link) + todo
                done = []
                continue
            done.append(name)
        return b"/".join(done + todo), via

    def make_opaque(self, directory: bytes) -> None:
        if directory and not self._exists(directory):
            return
        if not directory:
            assert self.root.children is not None
            self.root.children.clear()
            return
        parts = directory.split(b"/")
        parent = self._parent(parts, create=False)
        if parent is None or parent.children is None:
            return
        node = parent.children[parts[-1]]
        if node.children is None:
            return
        emptied = Node(node.entry, node.layer, {})
        self.owned.add(id(emptied))
        parent.children[parts[-1]] = emptied

    def add(self, entry: FileEntry) -> None:
        """Runs once per entry of every layer: module constants, no enum lookups."""
        path = entry.path
        parent_path, _, name = path.rpartition(b"/")
        parent = self.dirs.get(parent_path)
        if parent is None:
            parent = self._parent(path.split(b"/"), create=True)
            if parent is None or parent.children is None:
                self.warnings.append(
                    f"Layer {self.layer_no}: {display_path(path)} is dropped: a parent is "
                    "not a directory."
                )
                return
            self.dirs[parent_path] = parent
        children = parent.children
        assert children is not None
        kind = entry.kind
        if kind is _HARDLINK and entry.digest is None:
            entry = self._resolve_hardlink(entry)
            kind = entry.kind
        existing = children.get(name)
        if kind is _DIR:
            kids = dict(existing.children) if existing is not None and existing.children else {}
            node = Node(entry, self.layer_no, kids)
            self.dirs[path] = node
            self.owned.add(id(node))  # only directories are ever copied on write
        else:
            node = Node(entry, self.layer_no, None)
            if existing is not None and existing.children is not None:
                self.dirs.clear()  # a directory became a file: cached descendants are gone
                self.dirs[b""] = self.root
        children[name] = node

    def _resolve_hardlink(self, entry: FileEntry) -> FileEntry:
        target = _walk(self.root, entry.link.split(b"/"))
        if target is None or target.children is not None:
            self.warnings.append(
                f"Layer {self.layer_no}: dangling hardlink {display_path(entry.path)} -> "
                f"{display_path(entry.link)}."
            )
            return entry
        return entry._replace(digest=target.entry.digest, size=target.entry.size
                              if entry.size == 0 else entry.size)


class LayerChanges(Protocol):
    """What applying a layer needs: a LayerIndex, or a layer still being edited (sandbox)."""

    @property
    def entries(self) -> Sequence[FileEntry]: ...
    @property
    def whiteouts(self) -> Sequence[bytes]: ...
    @property
    def opaque_dirs(self) -> Sequence[bytes]: ...


def apply_layer(lower: UnionTree, index: LayerChanges, layer_no: int
                ) -> tuple[UnionTree, list[str]]:
    """The tree after ``index`` is applied on ``lower`` (whiteouts and opacity first, as the
    spec orders them, so that what the layer itself adds survives)."""
    applier = _Applier(lower, layer_no)
    for directory in index.opaque_dirs:
        applier.make_opaque(directory)
    for path in index.whiteouts:
        applier.remove(path)
    for entry in index.entries:
        applier.add(entry)
    return UnionTree(applier.root, layer_no), applier.warnings


class _Levels:
    """The merged trees built so far over one sequence of layer indexes, shared by every
    stack over a prefix of it (the lower layers shown while an image loads, then the whole
    image), so a level is built once whichever stack asks first."""

    __slots__ = ("indexes", "lock", "plan_lock", "trees", "warnings")

    def __init__(self, indexes: Sequence[LayerIndex], trees: Sequence[UnionTree] = (),
                 warnings: Sequence[list[str]] = ()) -> None:
        self.lock = threading.Lock()
        """Held while trees are built (seconds for a big layer)."""
        self.plan_lock = threading.Lock()
        """Held only to extend ``indexes`` (never while building: the GUI thread takes it)."""
        self.indexes = list(indexes)
        self.trees = list(trees)
        self.warnings = list(warnings)
        """One list per built level."""


class UnionStack:
    """Memoised merged trees of one image, computed lazily bottom-up (thread-safe)."""

    def __init__(self, indexes: list[LayerIndex], *, share: UnionStack | None = None) -> None:
        """``share``: another stack of the same image (say, of its lower layers while the rest
        loads).  The trees of the layers both have (the same index objects, from the bottom)
        are built once for both."""
        self.indexes = indexes
        self._levels = _Levels(indexes) if share is None else share._adopt(indexes)

    def extends(self, other: UnionStack) -> bool:
        """Whether this stack builds on ``other``'s trees (all of them, not a copy of some):
        what is memoised per node of one then serves the other."""
        return self._levels is other._levels

    def _adopt(self, indexes: list[LayerIndex]) -> _Levels:
        """Levels for ``indexes``: this stack's own when they extend them, else a copy of the
        trees of the common bottom layers."""
        levels = self._levels
        with levels.plan_lock:  # ``indexes`` only grows, so a builder may read it meanwhile
            same = 0
            for mine, theirs in zip(levels.indexes, indexes, strict=False):
                if mine is not theirs:
                    break
                same += 1
            if same == min(len(levels.indexes), len(indexes)):
                levels.indexes += indexes[same:]
                return levels
            built = min(same, len(levels.trees))
            return _Levels(indexes, levels.trees[:built], levels.warnings[:built])

    def at(self, layer: int) -> UnionTree:
        """The merged filesystem after layers ``0..layer`` (``-1``: empty)."""
        if layer < 0:
            return EMPTY
        if layer >= len(self.indexes):
            raise IndexError(f"layer {layer} out of range (0-{len(self.indexes) - 1})")
        levels = self._levels
        if layer < len(levels.trees):  # built: no lock (the list only grows)
            return levels.trees[layer]
        with levels.lock, collector_paused():
            while len(levels.trees) <= layer:
                n = len(levels.trees)
                below = levels.trees[-1] if levels.trees else EMPTY
                tree, warnings = apply_layer(below, levels.indexes[n], n)
                levels.warnings.append(warnings)
                levels.trees.append(tree)
            return levels.trees[layer]

    @property
    def top(self) -> UnionTree:
        return self.at(len(self.indexes) - 1)

    @property
    def warnings(self) -> list[str]:
        """What applying the layers built so far found."""
        levels = self._levels
        return [w for found in levels.warnings[:len(self.indexes)] for w in found]
