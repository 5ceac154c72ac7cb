"""Content digests for the files a comparison of two (possibly different) images needs.

Within one image, indexing hashes every path that is a file in more than one layer, and
shared union nodes settle the rest.  Two images share no nodes, and their uncompressed
layers were never hashed, so ``FileEntry.same_content`` would fall back to size and mtime.
Here the files present as regular files on both sides with equal sizes get their digests
(sizes that differ already say "modified"), the two trees are path-copied with those entries,
and the originals stay untouched (the GUI keeps showing the image's own trees).  Files whose
bytes are provably the same (the same tar entry of layers with the same diff_id) are not read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from explorer.core.errors import ExplorerError
from explorer.core.fs.content import fill_digests
from explorer.core.fs.entry import EntryKind, FileEntry
from explorer.core.fs.file_content import ContentSource, LinkResolver
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.union import Node, UnionTree
from explorer.core.inspection import Inspection
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress

_FILES = (EntryKind.FILE, EntryKind.HARDLINK)


@dataclass
class DigestMemo:
    """Digests hashed by earlier comparisons, per layer index object and path, so comparing
    again (swap A/B, another layer of the same images) reads nothing twice."""

    _by_index: dict[int, tuple[LayerIndex, dict[bytes, bytes]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, index: LayerIndex, path: bytes) -> bytes | None:
        with self._lock:
            hit = self._by_index.get(id(index))
            return hit[1].get(path) if hit is not None else None

    def put(self, index: LayerIndex, digests: dict[bytes, bytes]) -> None:
        with self._lock:
            _, known = self._by_index.setdefault(id(index), (index, {}))
            known.update(digests)


@dataclass
class _Side:
    inspection: Inspection
    resolver: LinkResolver
    updates: dict[bytes, FileEntry] = field(default_factory=dict)
    """path in the compared tree -> the entry to give it (digest and resolved size)."""
    wanted: dict[int, dict[bytes, list[bytes]]] = field(default_factory=dict)
    """layer -> source path to hash -> tree paths waiting for it."""

    def update(self, path: bytes, node: Node, *, size: int | None = None,
               digest: bytes | None = None) -> None:
        entry = self.updates.get(path, node.entry)
        changes: dict[str, object] = {}
        if size is not None and size != entry.size:
            changes["size"] = size
        if digest is not None and entry.digest is None:
            changes["digest"] = digest
        if changes:
            self.updates[path] = entry._replace(**changes)  # type: ignore[arg-type]


def fill_for_comparison(
    a: Inspection, tree_a: UnionTree, b: Inspection, tree_b: UnionTree, *,
    memo: DigestMemo | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> tuple[UnionTree, UnionTree]:
    """``tree_a`` and ``tree_b`` with digests on every file both have with equal sizes.

    Hardlinks present on both sides also get the size of the file they share bytes with:
    a plain layer's merged tree resolves it, a compressed layer's keeps the tar header's 0,
    and the same image in two formats must compare equal.
    Raises Cancelled, OSError (a blob that cannot be read)."""
    side_a = _Side(a, LinkResolver(a))
    side_b = _Side(b, LinkResolver(b))
    for path, na, nb in _candidates(tree_a, tree_b, cancel):
        src_a, src_b = _source(side_a, na), _source(side_b, nb)
        if src_a is None or src_b is None:
            continue
        if na.entry.kind is EntryKind.HARDLINK:
            side_a.update(path, na, size=src_a.entry.size, digest=src_a.entry.digest)
        if nb.entry.kind is EntryKind.HARDLINK:
            side_b.update(path, nb, size=src_b.entry.size, digest=src_b.entry.digest)
        if src_a.entry.size != src_b.entry.size or src_a.entry.size == 0:
            continue  # modified whatever the bytes (or both empty)
        if _provably_same(a, src_a, b, src_b):
            continue
        _want(side_a, path, na, src_a, memo)
        _want(side_b, path, nb, src_b, memo)
    total = sum(
        sum(len(p) for p in side.wanted.values()) for side in (side_a, side_b)
    )
    done = 0
    for side, tree in ((side_a, tree_a), (side_b, tree_b)):
        for layer, paths in side.wanted.items():
            digests = _hash(side.inspection, layer, set(paths), cancel)
            if memo is not None:
                memo.put(side.inspection.indexes[layer], digests)
            for source_path, tree_paths in paths.items():
                digest = digests.get(source_path)
                if digest is not None:
                    for p in tree_paths:
                        node = tree.get(p)
                        assert node is not None
                        side.update(p, node, digest=digest)
            done += len(paths)
            progress(done, total)
    return _patched(tree_a, side_a.updates), _patched(tree_b, side_b.updates)


def _candidates(ta: UnionTree, tb: UnionTree, cancel: CancelToken
                ) -> list[tuple[bytes, Node, Node]]:
    """Paths that are regular files (or hardlinks) on both sides where a side has no digest
    yet or is a hardlink (subtrees shared by both trees skipped)."""
    out = []
    stack: list[tuple[bytes, Node, Node]] = [(b"", ta.root, tb.root)]
    steps = 0
    while stack:
        path, na, nb = stack.pop()
        steps += 1
        if steps & 1023 == 0:
            cancel.check()
        kids_a, kids_b = na.children or {}, nb.children or {}
        for name in kids_a.keys() & kids_b.keys():
            x, y = kids_a[name], kids_b[name]
            if x is y:
                continue
            child = path + b"/" + name if path else name
            if x.children is not None and y.children is not None:
                stack.append((child, x, y))
            elif (x.children is None and y.children is None
                  and x.entry.kind in _FILES and y.entry.kind in _FILES
                  and (x.entry.digest is None or y.entry.digest is None
                       or EntryKind.HARDLINK in (x.entry.kind, y.entry.kind))):
                out.append((child, x, y))
    return out


def _source(side: _Side, node: Node) -> ContentSource | None:
    if node.entry.kind is EntryKind.FILE:
        return ContentSource(node.layer, node.entry)
    try:
        return side.resolver.source(node.layer, node.entry)
    except ExplorerError:
        return None  # a dangling hardlink: nothing to hash


def _provably_same(a: Inspection, src_a: ContentSource, b: Inspection,
                   src_b: ContentSource) -> bool:
    if src_a.entry.digest is not None or src_b.entry.digest is not None:
        return False
    return (src_a.entry == src_b.entry
            and a.image.layers[src_a.layer].diff_id == b.image.layers[src_b.layer].diff_id)


def _want(side: _Side, path: bytes, node: Node, src: ContentSource,
          memo: DigestMemo | None) -> None:
    if node.entry.digest is not None:
        return
    if src.entry.digest is not None:
        side.update(path, node, digest=src.entry.digest)
        return
    if memo is not None:
        known = memo.get(side.inspection.indexes[src.layer], src.entry.path)
        if known is not None:
            side.update(path, node, digest=known)
            return
    if src.entry.data_offset < 0:
        return  # never happens for indexed layers: compressed ones are hashed when read
    side.wanted.setdefault(src.layer, {}).setdefault(src.entry.path, []).append(path)


def _hash(ins: Inspection, layer: int, paths: set[bytes], cancel: CancelToken
          ) -> dict[bytes, bytes]:
    index = ins.indexes[layer]
    [filled] = fill_digests(ins.archive.source, [ins.image.layers[layer]], [index], paths,
                            cancel=cancel)
    return {e.path: e.digest for e in filled.entries
            if e.path in paths and e.digest is not None}


def _patched(tree: UnionTree, updates: dict[bytes, FileEntry]) -> UnionTree:
    """A copy of ``tree`` with the entries at ``updates`` replaced (path copying: everything
    else stays shared with ``tree``)."""
    if not updates:
        return tree
    owned: set[int] = set()

    def own(node: Node) -> Node:
        if id(node) in owned:
            return node
        copy = Node(node.entry, node.layer, dict(node.children) if node.children is not None
                    else None)
        owned.add(id(copy))
        return copy

    root = own(tree.root)
    for path, entry in updates.items():
        cur = root
        parts = path.split(b"/")
        for part in parts[:-1]:
            assert cur.children is not None
            child = own(cur.children[part])
            cur.children[part] = child
            cur = child
        assert cur.children is not None
        leaf = cur.children[parts[-1]]
        cur.children[parts[-1]] = Node(entry, leaf.layer, None)
    return UnionTree(root, tree.top)
