"""A faithful model of dive 0.13.1's per-layer file trees (``dive/filetree``).

dive's efficiency figures depend on its quirks (implicit parents with a zero FileInfo,
whiteouts as literal leaves, opaque markers dropped, StackTreeRange stacking layer 0 twice),
so they are reproduced here on purpose, apart from our own union semantics.
"""

from __future__ import annotations

from collections.abc import Iterator

from explorer.core.fs.entry import EntryKind
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.whiteout import PREFIX, opaque_name, whiteout_name

_DOUBLE = b".wh..wh.."


class DNode:
    __slots__ = ("children", "is_dir", "name", "parent", "size")

    def __init__(self, name: bytes, parent: DNode | None, size: int = 0,
                 is_dir: bool = False) -> None:
        self.name = name
        self.parent = parent
        self.size = size
        self.is_dir = is_dir
        self.children: dict[bytes, DNode] = {}

    @property
    def is_whiteout(self) -> bool:
        return self.name.startswith(PREFIX)

    def path(self) -> bytes:
        names = []
        node: DNode | None = self
        while node is not None and node.parent is not None:
            names.append(node.name)
            node = node.parent
        names.reverse()
        if names and names[-1].startswith(PREFIX):
            names[-1] = names[-1][len(PREFIX):]
        return b"/" + b"/".join(names)

    def post_order(self) -> Iterator[DNode]:
        """dive's VisitDepthChildFirst: children by sorted name, then the node (root skipped)."""
        stack: list[tuple[DNode, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded or not node.children:
                if node.parent is not None:
                    yield node
                continue
            stack.append((node, True))
            for name in sorted(node.children, reverse=True):
                stack.append((node.children[name], False))

    def post_order_all(self) -> Iterator[DNode]:
        """Every descendant (not the node itself), as dive's sizer visits them."""
        for node in self.post_order():
            if node is not self:
                yield node

    def copy(self, parent: DNode | None = None) -> DNode:
        twin = DNode(self.name, parent, self.size, self.is_dir)
        stack = [(self, twin)]
        while stack:
            src, dst = stack.pop()
            for name, child in src.children.items():
                c = DNode(name, dst, child.size, child.is_dir)
                dst.children[name] = c
                stack.append((child, c))
        return twin


class DTree:
    def __init__(self) -> None:
        self.root = DNode(b"", None)

    def add_path(self, path: bytes, size: int, is_dir: bool) -> None:
        node = self.root
        parts = [p for p in path.strip(b"/").split(b"/") if p]
        for i, name in enumerate(parts):
            child = node.children.get(name)
            if child is None:
                if name.startswith(_DOUBLE):
                    return
                child = DNode(name, node)
                node.children[name] = child
            node = child
            if i == len(parts) - 1:
                node.size = size
                node.is_dir = is_dir

    def get(self, path: bytes) -> DNode | None:
        node = self.root
        for name in path.split(b"/"):
            if not name:
                continue
            child = node.children.get(name)
            if child is None:
                return None
            node = child
        return node

    def remove(self, path: bytes) -> None:
        node = self.get(path)
        if node is not None and node.parent is not None:
            del node.parent.children[node.name]

    def stack(self, upper: DTree) -> None:
        """dive's FileTree.Stack: every node of ``upper``, child-first, by name."""
        for node in upper.root.post_order():
            if node.is_whiteout:
                self.remove(node.path())
            else:
                self.add_path(node.path(), node.size, node.is_dir)

    def copy(self) -> DTree:
        twin = DTree()
        twin.root = self.root.copy()
        return twin


def dive_tree(index: LayerIndex) -> DTree:
    """The tree dive builds from one layer tar."""
    tree = DTree()
    for entry in index.entries:
        tree.add_path(entry.path, entry.size, entry.kind is EntryKind.DIR)
    for path in index.whiteouts:
        tree.add_path(whiteout_name(path), 0, False)
    for directory in index.opaque_dirs:
        tree.add_path(opaque_name(directory), 0, False)
    return tree
