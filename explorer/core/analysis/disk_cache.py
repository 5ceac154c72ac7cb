"""Layer indexes kept on disk, so re-opening an image that was already read is instant.

An index is reused only for the very same bytes: the key is the layer's digests *and* the
identity of the file that holds the blob (real path, size, modification time, inode).  If
the archive changed in any way since it was indexed (and verified), the key differs and the
layer is read again.  Entries are written atomically (temp file + rename), carry a sha256 of
their payload (a damaged file is ignored and removed), and the folder is size-capped (oldest
entries go first).  Several processes may share the folder.

Writing happens on a background thread, after the index is handed back.  Entries are stored
as ``marshal`` records of plain tuples (three times faster to load than JSON, which matters:
loading is most of a re-open), in batches so that no single call holds the GIL long enough
for the window to stall.  marshal is not meant for hostile data; a cache entry is trusted only
after its sha256 matches, and the folder is the user's own.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import queue
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from itertools import repeat
from typing import BinaryIO, TypeVar

import zstandard

from explorer.core.analysis.efficiency import Efficiency, PathUse
from explorer.core.analysis.index_cache import LayerIndexCache
from explorer.core.archive.compression import Compression
from explorer.core.archive.source import DirSource, Source, TarSource, cache_dir
from explorer.core.archive.writer import atomic_output
from explorer.core.digest import Digest
from explorer.core.errors import CommitError, ExplorerError
from explorer.core.fs.entry import EntryKind, FileEntry, entry_of_fields
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.image.model import LayerInfo

FORMAT = 4
"""The file layout and what the layer reader puts in an index: bump it whenever either
changes (``tests/core/test_disk_cache.py`` holds a digest of a known image's index to catch
a reader change that forgot to).  4: '/./a' is 'a'."""
ANALYSIS = 1
"""What dive's analysis computes from an index: bump it whenever the figures could change."""
_RUNTIME = f"marshal {marshal.version}, python {sys.version_info[0]}.{sys.version_info[1]}"
BATCH = 1000
"""Entries encoded or decoded per marshal call (about a millisecond with the GIL held)."""
_LENGTH = struct.Struct("<I")
_T = TypeVar("_T")
MAGIC = b"layer-explorer-index\n"
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
"""Size cap of the cache folder; the least recently used entries are removed first."""
MAX_CACHED_ENTRIES = 5_000_000
"""Bigger layers are not kept (a file of a few hundred MB).  A million entries load in about
3 s, against 25 s to read their layer again; each batch holds the GIL for a millisecond."""


def default_folder() -> str:
    return os.path.join(cache_dir(), "indexes")


class DiskIndexCache(LayerIndexCache):
    """``LayerIndexCache`` (in memory, shared between open images) backed by files: one per
    layer index (``.idx``) and one per image analysis (``.eff``)."""

    def __init__(self, folder: str | None = None, *,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        super().__init__()
        self.folder = folder or default_folder()
        self.max_bytes = max_bytes
        self.disk_hits = 0
        self._writes: queue.Queue[tuple[str, Callable[[], Iterator[bytes]]]] = queue.Queue()
        self._writer: threading.Thread | None = None

    def get(self, source: Source, layer: LayerInfo, *, verify: bool) -> LayerIndex | None:
        hit = super().get(source, layer, verify=verify)
        if hit is not None:
            return hit
        key = _key(source, layer)
        if key is None:
            return None
        loaded = self._load(self._path(key), _decode)
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
        if key is None or not verified or len(index.entries) > MAX_CACHED_ENTRIES:
            return
        self._queue(self._path(key), lambda: _encode(index))

    def efficiency(self, indexes: list[LayerIndex]) -> Efficiency | None:
        found = super().efficiency(indexes)
        if found is None:
            found = self._load(self._efficiency_path(indexes), _decode_efficiency)
            if found is not None:
                super().keep_efficiency(indexes, found)
        return found

    def keep_efficiency(self, indexes: list[LayerIndex], efficiency: Efficiency) -> None:
        super().keep_efficiency(indexes, efficiency)
        self._queue(self._efficiency_path(indexes), lambda: _encode_efficiency(efficiency))

    def flush(self) -> None:
        """Wait until everything handed to the cache is on disk (or given up on)."""
        self._writes.join()

    def _queue(self, path: str, records: Callable[[], Iterator[bytes]]) -> None:
        if os.path.exists(path):
            return
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="index-cache",
                                                daemon=True)
                self._writer.start()
        self._writes.put((path, records))

    def _write_loop(self) -> None:
        while True:
            path, records = self._writes.get()
            try:
                self._write(path, records())
            except Exception:  # a cache entry is never worth a crash
                pass  # (and a dead writer would leave flush() waiting forever)
            finally:
                self._writes.task_done()

    def _write(self, path: str, records: Iterator[bytes]) -> None:
        try:
            os.makedirs(self.folder, exist_ok=True)
            compressor = zstandard.ZstdCompressor(level=3).compressobj()
            payload = b"".join(compressor.compress(_LENGTH.pack(len(record)) + record)
                               for record in records)
            payload += compressor.flush()
            with atomic_output(path) as fh:
                fh.write(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n")
                fh.write(payload)
        except (OSError, CommitError):
            return  # a cache that cannot be written is only a slower start next time
        self._prune()

    def _path(self, key: str) -> str:
        return os.path.join(self.folder, key + ".idx")

    def _efficiency_path(self, indexes: list[LayerIndex]) -> str:
        parts = [str(FORMAT), str(ANALYSIS), _RUNTIME, "efficiency",
                 *(str(ix.diff_id) for ix in indexes)]
        key = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]
        return os.path.join(self.folder, key + ".eff")

    def _load(self, path: str, decode: Callable[[Iterator[bytes]], _T]) -> _T | None:
        """The decoded file at ``path``; None if there is none or it is damaged (then it is
        removed, and a good copy is written after the real work)."""
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
            value = decode(_records(payload))
        except (ValueError, KeyError, TypeError, IndexError, EOFError, struct.error,
                zstandard.ZstdError, ExplorerError):
            with contextlib.suppress(OSError):
                os.unlink(path)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last
        return value

    def _prune(self) -> None:
        try:
            names = [os.path.join(self.folder, n) for n in os.listdir(self.folder)
                     if n.endswith((".idx", ".eff"))]
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
    parts = [str(FORMAT), _RUNTIME, str(layer.digest or ""), str(layer.diff_id), layer.blob_name,
             str(entry.size), os.path.realpath(holder), str(st.st_size), str(st.st_mtime_ns),
             str(st.st_ino), str(st.st_dev)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]


def _records(payload: bytes) -> Iterator[bytes]:
    """The length-prefixed records of a compressed payload, decompressed one at a time (a
    million-entry layer is a hundred MB once decompressed: never all of it at once)."""
    reader = zstandard.ZstdDecompressor().stream_reader(payload)
    while True:
        head = _read_exact(reader, _LENGTH.size)
        if not head:
            return
        if len(head) != _LENGTH.size:
            raise ValueError("record cut short")
        (size,) = _LENGTH.unpack(head)
        record = _read_exact(reader, size)
        if len(record) != size:
            raise ValueError("record cut short")
        yield record


def _read_exact(reader: BinaryIO, size: int) -> bytes:
    """``size`` bytes, fewer only at the end of the stream."""
    parts: list[bytes] = []
    while size > 0:
        part = reader.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _encode(ix: LayerIndex) -> Iterator[bytes]:
    """One marshal record of metadata, then one per ``BATCH`` entries: a tuple of columns
    (one per FileEntry field but ``implicit``, which an index never sets)."""
    meta = {
        "v": FORMAT,
        "blob_digest": str(ix.blob_digest), "blob_size": ix.blob_size,
        "diff_id": str(ix.diff_id), "tar_size": ix.tar_size,
        "compression": ix.compression.value, "whiteout_sizes": ix.whiteout_sizes,
        "header_sizes": ix.header_sizes,
        "whiteouts": ix.whiteouts,
        "opaque": ix.opaque_dirs,
        "warnings": tuple(ix.warnings),
        "entries": len(ix.entries),
    }
    yield marshal.dumps(meta)
    entries = ix.entries
    for start in range(0, len(entries), BATCH):
        batch = entries[start:start + BATCH]
        yield marshal.dumps(tuple(
            tuple(column) for column in (
                (e.path for e in batch), (int(e.kind) for e in batch),
                (e.mode for e in batch), (e.uid for e in batch), (e.gid for e in batch),
                (e.size for e in batch), (e.mtime for e in batch), (e.link for e in batch),
                (e.digest for e in batch), (e.xattrs for e in batch),
                (e.rdev for e in batch), (e.data_offset for e in batch))))


def _decode(records: Iterator[bytes]) -> LayerIndex:
    doc = marshal.loads(next(records, b""))
    if not isinstance(doc, dict) or doc.get("v") != FORMAT:
        raise ValueError("another format")
    kind_of = list(EntryKind).__getitem__
    entries: list[FileEntry] = []
    for record in records:
        path, kind, mode, uid, gid, size, mtime, link, digest, xattrs, rdev, offset = \
            marshal.loads(record)
        entries += map(entry_of_fields, zip(path, map(kind_of, kind), mode, uid, gid, size,
                                            mtime, link, digest, xattrs, rdev, repeat(False),
                                            offset))
    if len(entries) != doc["entries"]:
        raise ValueError("entries missing")
    return LayerIndex(
        entries=tuple(entries),
        whiteouts=tuple(doc["whiteouts"]),
        opaque_dirs=tuple(doc["opaque"]),
        warnings=tuple(str(w) for w in doc["warnings"]),
        blob_digest=Digest.parse(doc["blob_digest"]),
        blob_size=int(doc["blob_size"]),
        diff_id=Digest.parse(doc["diff_id"]),
        tar_size=int(doc["tar_size"]),
        compression=Compression(doc["compression"]),
        whiteout_sizes=int(doc["whiteout_sizes"]),
        header_sizes=int(doc["header_sizes"]),
    )


def _encode_efficiency(eff: Efficiency) -> Iterator[bytes]:
    yield marshal.dumps((FORMAT, eff.score, eff.size, eff.user_size, eff.wasted,
                         eff.user_wasted_ratio, eff.reclaimable,
                         tuple((u.path, u.count, u.size, u.min_size) for u in eff.inefficient)))


def _decode_efficiency(records: Iterator[bytes]) -> Efficiency:
    (version, score, size, user_size, wasted, ratio, reclaimable, inefficient), = \
        [marshal.loads(record) for record in records]
    if version != FORMAT:
        raise ValueError("another format")
    return Efficiency(score=score, size=size, user_size=user_size, wasted=wasted,
                      user_wasted_ratio=ratio, reclaimable=reclaimable,
                      inefficient=tuple(PathUse(*use) for use in inefficient))
