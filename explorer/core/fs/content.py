"""File contents hashed on demand: only the files a comparison needs.

Uncompressed layers are indexed from their tar headers alone (``plain_blob``); a file's
content hash matters only where the same path is a file in two layers (modified or re-added
unchanged?).  ``fill_digests`` hashes exactly those, reading each at its recorded offset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import xxhash

from explorer.core.archive.source import Source
from explorer.core.fs.entry import EntryKind, FileEntry
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.image.model import LayerInfo
from explorer.core.tasks import NEVER_CANCELLED, CancelToken

CHUNK = 1 << 20
_FILES = (EntryKind.FILE, EntryKind.HARDLINK)


def shared_file_paths(indexes: Iterable[LayerIndex]) -> set[bytes]:
    """Paths that are regular files (or hardlinks) in more than one distinct layer."""
    first_seen: dict[bytes, int] = {}
    shared: set[bytes] = set()
    done: set[int] = set()
    for index in indexes:
        if id(index) in done:
            continue
        done.add(id(index))
        for entry in index.entries:
            if entry.kind in _FILES and first_seen.setdefault(entry.path, id(index)) != id(index):
                shared.add(entry.path)
    return shared


def fill_digests(
    source: Source,
    layers: Sequence[LayerInfo],
    indexes: Sequence[LayerIndex],
    paths: set[bytes],
    *,
    cancel: CancelToken = NEVER_CANCELLED,
) -> list[LayerIndex]:
    """The same indexes, with content digests for the files at ``paths`` (and the files their
    hardlinks name).  Unchanged indexes are returned as they are; raises Cancelled, OSError."""
    filled: dict[int, LayerIndex] = {}
    out = []
    for layer, index in zip(layers, indexes, strict=True):
        if id(index) not in filled:
            filled[id(index)] = _fill(source, layer, index, paths, cancel)
        out.append(filled[id(index)])
    return out


def _fill(source: Source, layer: LayerInfo, index: LayerIndex, paths: set[bytes],
          cancel: CancelToken) -> LayerIndex:
    if not paths or not any(e.needs_digest for e in index.entries):
        return index  # a compressed layer: hashed while it was read
    by_path = {e.path: e for e in index.entries}
    want: set[bytes] = set()
    for path in paths:
        entry = by_path.get(path)
        if entry is None:
            continue
        if entry.kind is EntryKind.HARDLINK and entry.digest is None:
            entry = by_path.get(entry.link)
        if entry is not None and entry.needs_digest and entry.data_offset >= 0:
            want.add(entry.path)
    if not want:
        return index
    digests: dict[bytes, bytes] = {}
    with source.open(layer.blob_name) as window:
        for count, path in enumerate(sorted(want, key=lambda p: by_path[p].data_offset)):
            if count & 1023 == 0:
                cancel.check()
            entry = by_path[path]
            digests[path] = _hash_range(window, entry.data_offset, entry.size)
    return dataclasses.replace(index, entries=tuple(_with(e, digests) for e in index.entries))


def _with(entry: FileEntry, digests: dict[bytes, bytes]) -> FileEntry:
    if entry.kind is EntryKind.FILE:
        digest = digests.get(entry.path)
    elif entry.kind is EntryKind.HARDLINK and entry.digest is None:
        digest = digests.get(entry.link)
    else:
        return entry
    if digest is None:
        return entry
    # Positional construction: ``_replace`` costs 2.5 µs per entry, this under 1 µs.
    return FileEntry(entry.path, entry.kind, entry.mode, entry.uid, entry.gid, entry.size,
                     entry.mtime, entry.link, digest, entry.xattrs, entry.rdev, entry.implicit,
                     entry.data_offset)


def _hash_range(window: Any, offset: int, size: int) -> bytes:
    window.seek(offset)
    if size <= CHUNK:  # the usual small file: one read, one call
        data = window.read(size)
        if len(data) != size:
            raise OSError(f"the layer blob ends inside a file at byte {offset + len(data)}")
        return xxhash.xxh3_128_digest(data)
    h = xxhash.xxh3_128()
    left = size
    while left > 0:
        data = window.read(min(CHUNK, left))
        if not data:
            raise OSError(f"the layer blob ends inside a file at byte {offset + size - left}")
        h.update(data)
        left -= len(data)
    return h.digest()
