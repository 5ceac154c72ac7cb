"""dive's stacked file trees (``StackTreeRange``) as flat dictionaries.

``dive_tree.DTree`` models dive's trees node by node and is the readable reference; this is
the same semantics at a fraction of the cost (no node objects, no path rebuilding), because
efficiency needs the stacked tree of every layer below a whiteout, and re-stacking node
objects made many-layer images slow (as it makes dive itself slow).

Semantics kept from dive (see ``dive_tree``): a layer's tree holds its entries, the implicit
parents they need (size 0, not a directory), whiteout names as leaves, and the parents of an
opaque marker (the marker itself is dropped, as is anything below an AUFS ``.wh..wh.`` name);
stacking visits the upper tree child-first in name order, removing a whiteout's target with
everything below it and (re)setting every other node's size and type, implicit ones too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from explorer.core.fs.entry import EntryKind
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.whiteout import PREFIX, whiteout_name

_DOUBLE = b".wh..wh."
_DIR = EntryKind.DIR
_DOUBLE_SEP = b"/.wh..wh."

Node = tuple[bytes, int, bool, bool]
"""(tree path, size, is_dir, is_whiteout) of one node of a layer's dive tree."""


def layer_nodes(index: LayerIndex) -> list[Node]:
    """Every node of the layer's dive tree, in dive's child-first, by-name visiting order."""
    nodes = _node_map(index)
    for path in list(nodes):
        parent = path.rpartition(b"/")[0]
        while parent and parent not in nodes:
            nodes[parent] = (0, False, False)
            parent = parent.rpartition(b"/")[0]
    order = sorted(nodes, key=_post_order_key)
    return [(p, *nodes[p]) for p in order]


def _node_map(index: LayerIndex) -> dict[bytes, tuple[int, bool, bool]]:
    """The layer's named nodes, path -> (size, is_dir, is_whiteout), without implicit parents."""
    nodes: dict[bytes, tuple[int, bool, bool]] = {}
    for entry in index.entries:
        cut = (b"/" + entry.path).find(_DOUBLE_SEP)
        if cut < 0:
            nodes[entry.path] = (entry.size, entry.kind is EntryKind.DIR, False)
        elif cut > 0:
            nodes.setdefault(entry.path[:cut - 1], (0, False, False))
    for path in index.whiteouts:
        nodes.setdefault(whiteout_name(path), (0, False, True))
    for directory in index.opaque_dirs:
        if directory:
            nodes.setdefault(directory, (0, False, False))
    return nodes


@dataclass(frozen=True)
class LayerTree:
    """One layer's dive tree as flat maps, for a layer whose visiting order does not matter.

    dive visits a layer child-first by name, and that order decides the outcome only when a
    whiteout of the layer meets a path the same layer holds (or at an AUFS ``.wh..wh.`` name,
    which dive drops).  Without such a meeting the layer may be stacked in bulk and its leaves
    counted in any order, which spares sorting every layer's paths."""

    sizes: dict[bytes, int]
    """Every node that is not a whiteout (implicit parents too) -> its size."""
    dirs: set[bytes]
    """The nodes of ``sizes`` that dive takes for directories."""
    whiteouts: dict[bytes, bytes]
    """Whiteout node (``a/.wh.b``) -> the path it deletes (``a/b``); all are leaves."""
    leaves: list[bytes]
    """The nodes of ``sizes`` that are leaves, in no particular order."""


def layer_tree(index: LayerIndex) -> LayerTree | None:
    """The layer's dive tree (the nodes ``layer_nodes`` lists, unordered), or None when the
    order matters (see ``LayerTree``): then only dive's ordered walk gives its answers."""
    entries = index.entries
    sizes = {e.path: e.size for e in entries}
    if len(sizes) < len(entries):
        return None  # a path twice (an index holds each once): left to the ordered walk
    dirs = {e.path for e in entries if e.kind is _DIR}
    whiteouts: dict[bytes, bytes] = {}
    for path in index.whiteouts:
        parent, _, name = path.rpartition(b"/")
        if parent:
            node, target = parent + b"/" + PREFIX + name, parent + b"/" + name
        else:
            node, target = PREFIX + name, name
        if node not in sizes:  # as whiteout_name(path), and back as dive reads it
            whiteouts[node] = target
    for directory in index.opaque_dirs:
        if directory and directory not in sizes and directory not in whiteouts:
            sizes[directory] = 0
    parents = {p.rpartition(b"/")[0] for p in sizes}
    parents.update(p.rpartition(b"/")[0] for p in whiteouts)
    missing = parents - sizes.keys()
    while missing:
        missing.discard(b"")
        sizes.update(dict.fromkeys(missing, 0))
        above = {p.rpartition(b"/")[0] for p in missing}
        parents |= above
        missing = above - sizes.keys()
    if (b"" in sizes
            or _DOUBLE in b"\0".join(sizes) or _DOUBLE in b"\0".join(whiteouts)  # AUFS names
            or not parents.isdisjoint(whiteouts)  # a whiteout with something below it
            or not sizes.keys().isdisjoint(whiteouts.values())):  # deleting its own layer's
        return None
    return LayerTree(sizes, dirs, whiteouts, [p for p in sizes if p not in parents])


def _post_order_key(path: bytes) -> bytes:
    """Child first, siblings by name, as bytes: "/" becomes the lowest byte and a path ends
    with a marker just above it (a name's own 0x01 bytes are escaped to stay above)."""
    return path.replace(b"\x01", b"\x01\x02").replace(b"/", b"\x00") + b"\x01\x01"


class FlatStack:
    """A stacked dive tree: path -> size, type and children, mutated layer by layer."""

    def __init__(self) -> None:
        self.size: dict[bytes, int] = {}
        self.dirs: set[bytes] = set()
        """The paths dive takes for directories."""
        self.kids: dict[bytes, set[bytes]] = {b"": set()}

    def copy(self) -> FlatStack:
        twin = FlatStack()
        twin.size = dict(self.size)
        twin.dirs = set(self.dirs)
        twin.kids = {k: set(v) for k, v in self.kids.items()}
        return twin

    @classmethod
    def of_layer(cls, nodes: list[Node]) -> FlatStack:
        """The layer's own tree (what ``dive_tree`` builds)."""
        tree = cls()
        for path, size, is_dir, _whiteout in nodes:
            tree.add_path(path, size, is_dir)
        return tree

    @classmethod
    def of_layer_tree(cls, layer: LayerTree) -> FlatStack:
        """``of_layer`` in bulk: the whiteouts stay as literal (empty) nodes."""
        tree = cls()
        tree.merge({**layer.sizes, **dict.fromkeys(layer.whiteouts, 0)}, layer.dirs, ())
        return tree

    def stack_layer_tree(self, layer: LayerTree) -> None:
        """``stack`` in bulk."""
        self.merge(layer.sizes, layer.dirs, layer.whiteouts.values())

    def merge(self, sizes: dict[bytes, int], dirs: set[bytes], deleted: Iterable[bytes]) -> None:
        """Remove ``deleted``, then add or reset the nodes of ``sizes`` (``dirs`` the
        directories among them).  The nodes must hold their parents, nothing below a deleted
        path and no AUFS name: then the order of these steps is immaterial."""
        for path in deleted:
            self.remove(path)
        size = self.size
        fresh = [p for p in sizes if p not in size]
        size.update(sizes)
        self.dirs.difference_update(sizes)
        self.dirs.update(dirs)
        kids = self.kids
        for path in fresh:
            parent, _, name = path.rpartition(b"/")
            siblings = kids.get(parent)
            if siblings is None:
                kids[parent] = {name}
            else:
                siblings.add(name)

    def add_path(self, path: bytes, size: int, is_dir: bool) -> None:
        if path not in self.size:
            parent = b""
            for name in path.split(b"/"):
                child = parent + b"/" + name if parent else name
                if child not in self.size:
                    if name.startswith(_DOUBLE):
                        return  # dive drops AUFS names and everything below them
                    self.size[child] = 0  # not a directory, until set below
                    self.kids.setdefault(parent, set()).add(name)
                parent = child
            path = parent  # as the walk spells it (a leading "/" is lost)
        self.size[path] = size
        if is_dir:
            self.dirs.add(path)
        else:
            self.dirs.discard(path)

    def remove(self, path: bytes) -> None:
        size = self.size
        if path not in size:
            return
        parent, _, name = path.rpartition(b"/")
        siblings = self.kids.get(parent)
        if siblings is not None:
            siblings.discard(name)
        del size[path]
        self.dirs.discard(path)
        below = self.kids.pop(path, None)
        if not below:
            return  # the usual case: a file
        stack = [path + b"/" + child for child in below]
        while stack:
            p = stack.pop()
            size.pop(p, None)
            self.dirs.discard(p)
            for child in self.kids.pop(p, ()):
                stack.append(p + b"/" + child)

    def stack(self, nodes: list[Node]) -> None:
        """dive's FileTree.Stack with an upper layer's nodes."""
        for path, size, is_dir, is_whiteout in nodes:
            if is_whiteout:
                parent, _, name = path.rpartition(b"/")
                target = name[len(PREFIX):]
                self.remove(parent + b"/" + target if parent else target)
            else:
                self.add_path(path, size, is_dir)

    def has(self, path: bytes) -> bool:
        return path in self.size

    def whiteout_size(self, path: bytes) -> int:
        """What dive counts for deleting ``path``: a directory's own size plus everything
        below it (files and directories alike); a file's whiteout counts 0."""
        if path not in self.dirs:
            return 0
        total = self.size[path]
        stack = [path]
        while stack:
            p = stack.pop()
            for child in self.kids.get(p, ()):
                c = p + b"/" + child
                total += self.size[c]
                stack.append(c)
        return total
