"""Layer indexes kept on disk, so re-opening an image that was already read is instant.

An index is reused only for the very same bytes: the key is the layer's digests *and* the
identity of the file that holds the blob (real path, size, modification time, inode).  If
the archive changed in any way since it was indexed (and verified), the key differs and the
layer is read again.  Entries are written atomically (temp file + rename), carry a sha256 of
their payload (a damaged file is ignored and removed), and the folder is size-capped (oldest
entries go first).  Several processes may share the folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from typing import Any

import zstandard

from explorer.core.analysis.index_cache import LayerIndexCache
from explorer.core.archive.compression import Compression
from explorer.core.archive.source import DirSource, Source, TarSource, cache_dir
from explorer.core.archive.writer import atomic_output
from explorer.core.digest import Digest
from explorer.core.errors import CommitError, ExplorerError
from explorer.core.fs.entry import EntryKind, FileEntry
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.image.model import LayerInfo

FORMAT = 1
MAGIC = b"layer-explorer-index\n"
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
"""Size cap of the cache folder; the least recently used entries are removed first."""
MAX_CACHED_ENTRIES = 200_000
"""Bigger layers are not kept: encoding and decoding a million entries holds the GIL for
seconds (the window would stall) and is barely faster than reading the layer again."""


def default_folder() -> str:
    return os.path.join(cache_dir(), "indexes")


class DiskIndexCache(LayerIndexCache):
    """``LayerIndexCache`` (in memory, shared between open images) backed by files."""

    def __init__(self, folder: str | None = None, *,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        super().__init__()
        self.folder = folder or default_folder()
        self.max_bytes = max_bytes
        self.disk_hits = 0

    def get(self, source: Source, layer: LayerInfo, *, verify: bool) -> LayerIndex | None:
        hit = super().get(source, layer, verify=verify)
        if hit is not None:
            return hit
        key = _key(source, layer)
        if key is None:
            return None
        loaded = self._load(key)
        if loaded is None or loaded.diff_id != layer.diff_id:
            return None
        self.disk_hits += 1
        super().put(loaded, verified=True)
        return loaded

    def put_for(self, source: Source, layer: LayerInfo, index: LayerIndex, *,
                verified: bool) -> None:
        """Remember ``index`` in memory and, for a verified read, on disk."""
        super().put(index, verified=verified)
        key = _key(source, layer)
        if key is None or not verified or len(index.entries) > MAX_CACHED_ENTRIES \
                or os.path.exists(self._path(key)):
            return
        try:
            os.makedirs(self.folder, exist_ok=True)
            payload = zstandard.ZstdCompressor(level=3).compress(
                json.dumps(_to_doc(index), separators=(",", ":")).encode())
            with atomic_output(self._path(key)) as fh:
                fh.write(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n")
                fh.write(payload)
        except (OSError, CommitError):
            return  # a cache that cannot be written is only a slower start next time
        self._prune()

    def _path(self, key: str) -> str:
        return os.path.join(self.folder, key + ".idx")

    def _load(self, key: str) -> LayerIndex | None:
        path = self._path(key)
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError:
            return None
        try:
            head, _, rest = raw.partition(b"\n")
            digest, _, payload = rest.partition(b"\n")
            if head + b"\n" != MAGIC or hashlib.sha256(payload).hexdigest().encode() != digest:
                raise ValueError("damaged")
            doc = json.loads(zstandard.ZstdDecompressor().decompress(payload))
            index = _from_doc(doc)
        except (ValueError, KeyError, TypeError, zstandard.ZstdError, ExplorerError):
            with contextlib.suppress(OSError):
                os.unlink(path)  # damaged: read the layer again, and write a good copy
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last
        return index

    def _prune(self) -> None:
        try:
            names = [os.path.join(self.folder, n) for n in os.listdir(self.folder)
                     if n.endswith(".idx")]
            stats = sorted(((os.stat(p).st_mtime, os.stat(p).st_size, p) for p in names),
                           reverse=True)
        except OSError:
            return
        total = 0
        for _mtime, size, path in stats:
            total += size
            if total > self.max_bytes:
                with contextlib.suppress(OSError):
                    os.unlink(path)


def _key(source: Source, layer: LayerInfo) -> str | None:
    """The blob's identity: digests plus the holding file's path, size, mtime and inode."""
    try:
        entry = source.entry(layer.blob_name, what=f"layer {layer.index} blob")
        if isinstance(source, TarSource):
            holder = source.path
        elif isinstance(source, DirSource):
            holder = os.path.join(source.path, entry.name)
        else:
            return None
        st = os.stat(holder)
    except (OSError, ExplorerError):
        return None
    parts = [str(FORMAT), str(layer.digest or ""), str(layer.diff_id), layer.blob_name,
             str(entry.size), os.path.realpath(holder), str(st.st_size), str(st.st_mtime_ns),
             str(st.st_ino), str(st.st_dev)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]


def _b(data: bytes) -> str:
    return data.decode("latin-1")


def _ub(text: str) -> bytes:
    return text.encode("latin-1")


def _to_doc(ix: LayerIndex) -> dict[str, Any]:
    return {
        "v": FORMAT,
        "blob_digest": str(ix.blob_digest), "blob_size": ix.blob_size,
        "diff_id": str(ix.diff_id), "tar_size": ix.tar_size,
        "compression": ix.compression.value, "whiteout_sizes": ix.whiteout_sizes,
        "header_sizes": ix.header_sizes,
        "whiteouts": [_b(p) for p in ix.whiteouts],
        "opaque": [_b(p) for p in ix.opaque_dirs],
        "warnings": list(ix.warnings),
        "entries": [[_b(e.path), int(e.kind), e.mode, e.uid, e.gid, e.size, e.mtime, _b(e.link),
                     e.digest.hex() if e.digest is not None else None,
                     [[_b(k), _b(v)] for k, v in e.xattrs], e.rdev[0], e.rdev[1],
                     e.data_offset] for e in ix.entries],
    }


def _from_doc(doc: dict[str, Any]) -> LayerIndex:
    if doc["v"] != FORMAT:
        raise ValueError("another format")
    entries = tuple(
        FileEntry(_ub(p), EntryKind(k), mode, uid, gid, size, mtime, _ub(link),
                  bytes.fromhex(digest) if digest is not None else None,
                  tuple((_ub(a), _ub(b)) for a, b in xattrs), (major, minor), False, offset)
        for p, k, mode, uid, gid, size, mtime, link, digest, xattrs, major, minor, offset
        in doc["entries"])
    return LayerIndex(
        entries=entries,
        whiteouts=tuple(_ub(p) for p in doc["whiteouts"]),
        opaque_dirs=tuple(_ub(p) for p in doc["opaque"]),
        warnings=tuple(str(w) for w in doc["warnings"]),
        blob_digest=Digest.parse(doc["blob_digest"]),
        blob_size=int(doc["blob_size"]),
        diff_id=Digest.parse(doc["diff_id"]),
        tar_size=int(doc["tar_size"]),
        compression=Compression(doc["compression"]),
        whiteout_sizes=int(doc["whiteout_sizes"]),
        header_sizes=int(doc["header_sizes"]),
    )
