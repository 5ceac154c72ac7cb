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

from explorer.core.fs.entry import EntryKind
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.whiteout import PREFIX, whiteout_name

_DOUBLE = b".wh..wh."
_DOUBLE_SEP = b"/.wh..wh."

Node = tuple[bytes, int, bool, bool]
"""(tree path, size, is_dir, is_whiteout) of one node of a layer's dive tree."""


def layer_nodes(index: LayerIndex) -> list[Node]:
    """Every node of the layer's dive tree, in dive's child-first, by-name visiting order."""
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
    for path in list(nodes):
        parent = path.rpartition(b"/")[0]
        while parent and parent not in nodes:
            nodes[parent] = (0, False, False)
            parent = parent.rpartition(b"/")[0]
    order = sorted(nodes, key=_post_order_key)
    return [(p, *nodes[p]) for p in order]


def _post_order_key(path: bytes) -> bytes:
    """Child first, siblings by name, as bytes: "/" becomes the lowest byte and a path ends
    with a marker just above it (a name's own 0x01 bytes are escaped to stay above)."""
    return path.replace(b"\x01", b"\x01\x02").replace(b"/", b"\x00") + b"\x01\x01"


class FlatStack:
    """A stacked dive tree: path -> size, type and children, mutated layer by layer."""

    def __init__(self) -> None:
        self.size: dict[bytes, int] = {}
        self.is_dir: dict[bytes, bool] = {}
        self.kids: dict[bytes, set[bytes]] = {b"": set()}

    def copy(self) -> FlatStack:
        twin = FlatStack()
        twin.size = dict(self.size)
        twin.is_dir = dict(self.is_dir)
        twin.kids = {k: set(v) for k, v in self.kids.items()}
        return twin

    @classmethod
    def of_layer(cls, nodes: list[Node]) -> FlatStack:
        """The layer's own tree (what ``dive_tree`` builds)."""
        tree = cls()
        for path, size, is_dir, _whiteout in nodes:
            tree.add_path(path, size, is_dir)
        return tree

    def add_path(self, path: bytes, size: int, is_dir: bool) -> None:
        if path in self.size:  # the usual case when stacking: only the values change
            self.size[path] = size
            self.is_dir[path] = is_dir
            return
        parent = b""
        parts = path.split(b"/")
        last = len(parts) - 1
        for i, name in enumerate(parts):
            child = parent + b"/" + name if parent else name
            if child not in self.size:
                if name.startswith(_DOUBLE):
                    return  # dive drops AUFS names and everything below them
                self.size[child] = 0
                self.is_dir[child] = False
                self.kids.setdefault(parent, set()).add(name)
            if i == last:
                self.size[child] = size
                self.is_dir[child] = is_dir
            parent = child

    def remove(self, path: bytes) -> None:
        if path not in self.size:
            return
        parent, _, name = path.rpartition(b"/")
        self.kids.get(parent, set()).discard(name)
        stack = [path]
        while stack:
            p = stack.pop()
            self.size.pop(p, None)
            self.is_dir.pop(p, None)
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
        if not self.is_dir.get(path, False):
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
