"""Layer indexes kept on disk, so re-opening an image that was already read is instant.

An index is reused only for the very same bytes: the key is the layer's digests *and* the
identity of the file that holds the blob (real path, size, modification time, inode).  If
the archive changed in any way since it was indexed (and verified), the key differs and the
layer is read again.  Entries are written atomically (temp file + rename), carry a sha256 of
their payload (a damaged file is ignored and removed), and the folder is size-capped (oldest
entries go first).  Several processes may share the folder.

Writing happens on a background thread, after the index is handed back, and the entries are
encoded in small batches: one ``json.dumps`` of a big layer holds the GIL for a tenth of a
second or more, which the window would show as a stall.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import threading
from collections.abc import Iterator

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

FORMAT = 2
BATCH = 1000
"""Entries encoded or decoded per JSON call (a few milliseconds with the GIL held)."""
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
        self._writes: queue.Queue[tuple[str, LayerIndex]] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()

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
        """Remember ``index`` in memory and, for a verified read, on disk (soon, on the
        writer thread: ``flush`` waits for it)."""
        super().put(index, verified=verified)
        key = _key(source, layer)
        if key is None or not verified or len(index.entries) > MAX_CACHED_ENTRIES \
                or os.path.exists(self._path(key)):
            return
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="index-cache",
                                                daemon=True)
                self._writer.start()
        self._writes.put((key, index))

    def flush(self) -> None:
        """Wait until every index handed to ``put_for`` is on disk (or given up on)."""
        self._writes.join()

    def _write_loop(self) -> None:
        while True:
            key, index = self._writes.get()
            try:
                self._write(key, index)
            except Exception:  # a cache entry is never worth a crash
                pass  # (and a dead writer would leave flush() waiting forever)
            finally:
                self._writes.task_done()

    def _write(self, key: str, index: LayerIndex) -> None:
        try:
            os.makedirs(self.folder, exist_ok=True)
            compressor = zstandard.ZstdCompressor(level=3).compressobj()
            payload = b"".join(compressor.compress(line) for line in _encode(index))
            payload += compressor.flush()
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
            lines = zstandard.ZstdDecompressor().decompressobj().decompress(payload)
            index = _decode(lines.split(b"\n"))
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


def _encode(ix: LayerIndex) -> Iterator[bytes]:
    """One JSON line of metadata, then one line per ``BATCH`` entries."""
    meta = {
        "v": FORMAT,
        "blob_digest": str(ix.blob_digest), "blob_size": ix.blob_size,
        "diff_id": str(ix.diff_id), "tar_size": ix.tar_size,
        "compression": ix.compression.value, "whiteout_sizes": ix.whiteout_sizes,
        "header_sizes": ix.header_sizes,
        "whiteouts": [_b(p) for p in ix.whiteouts],
        "opaque": [_b(p) for p in ix.opaque_dirs],
        "warnings": list(ix.warnings),
        "entries": len(ix.entries),
    }
    yield json.dumps(meta, separators=(",", ":")).encode() + b"\n"
    entries = ix.entries
    for start in range(0, len(entries), BATCH):
        batch = [[_b(e.path), int(e.kind), e.mode, e.uid, e.gid, e.size, e.mtime, _b(e.link),
                  e.digest.hex() if e.digest is not None else None,
                  [[_b(k), _b(v)] for k, v in e.xattrs], e.rdev[0], e.rdev[1],
                  e.data_offset] for e in entries[start:start + BATCH]]
        yield json.dumps(batch, separators=(",", ":")).encode() + b"\n"


def _decode(lines: list[bytes]) -> LayerIndex:
    doc = json.loads(lines[0])
    if doc["v"] != FORMAT:
        raise ValueError("another format")
    kinds = list(EntryKind)
    entries: list[FileEntry] = []
    for line in lines[1:]:
        if not line:
            continue
        entries += [
            FileEntry(_ub(p), kinds[k], mode, uid, gid, size, mtime, _ub(link),
                      bytes.fromhex(digest) if digest is not None else None,
                      tuple((_ub(a), _ub(b)) for a, b in xattrs) if xattrs else (),
                      (major, minor), False, offset)
            for p, k, mode, uid, gid, size, mtime, link, digest, xattrs, major, minor, offset
            in json.loads(line)]
    if len(entries) != doc["entries"]:
        raise ValueError("entries missing")
    return LayerIndex(
        entries=tuple(entries),
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
