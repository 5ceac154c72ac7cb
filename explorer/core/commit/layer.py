"""The sandbox written as a layer blob: a deterministic tar, compressed as asked, hashed.

Entries come from ``Sandbox.layer()``: added entries (files streamed from the host and
checked against their snapshot), one whiteout per deleted path, opaque markers for folders
made again, and the image's folder headers above each change copied exactly (mode, owner,
mtime, xattrs; none where no layer recorded the folder).  ``LayerTarBuilder`` sorts and
checks the names and writes PAX headers with integer mtimes.  Added entries' mtimes are
clamped to the commit timestamp (as SOURCE_DATE_EPOCH asks of reproducible builds), so the
same edits at the same timestamp give the same bytes.

The blob is written once, to an unnamed temp file in the destination folder (``O_TMPFILE``:
it vanishes on close or crash), while sha256 runs over the plain tar (diff_id) and over the
stored bytes (digest); gzip has no name and mtime 0, zstd one frame, level 3.
"""

from __future__ import annotations

import gzip
import hashlib
import tempfile
from dataclasses import dataclass
from functools import partial
from typing import Any, BinaryIO

import zstandard

from explorer.core.archive.compression import Compression
from explorer.core.archive.image_writer import BlobSource, layer_media_type
from explorer.core.archive.layer_builder import LayerTarBuilder
from explorer.core.archive.window import FileWindow
from explorer.core.archive.writer import GZIP_LEVEL, ZSTD_LEVEL
from explorer.core.digest import Digest
from explorer.core.errors import CommitError
from explorer.core.fs.entry import EntryKind
from explorer.core.sandbox.host import open_host_file
from explorer.core.sandbox.model import Sandbox
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress

WRITABLE = (Compression.NONE, Compression.GZIP, Compression.ZSTD)


class _Hashing:
    """A write-only stream that hashes and counts what passes to ``sink``."""

    def __init__(self, sink: Any, on_write: Progress | None = None) -> None:
        self.sink = sink
        self.hash = hashlib.sha256()
        self.size = 0
        self.on_write = on_write

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        self.sink.write(data)
        if self.on_write is not None:
            self.on_write(self.size, 0)
        return len(data)

    def flush(self) -> None:
        pass


@dataclass
class NewLayer:
    """The written layer blob (in a temp file until ``close``)."""

    diff_id: Digest
    digest: Digest
    size: int
    """Stored (possibly compressed) bytes."""
    tar_size: int
    compression: Compression
    file: BinaryIO

    @property
    def media_type(self) -> str:
        return layer_media_type(self.compression)

    def source(self) -> BlobSource:
        fd = self.file.fileno()
        return BlobSource(self.digest, self.size, self.media_type, self.diff_id,
                          lambda: FileWindow(fd, 0, self.size))  # type: ignore[arg-type,return-value]

    def close(self) -> None:
        self.file.close()


def fill_builder(sandbox: Sandbox, *, mtime: int, cancel: CancelToken) -> LayerTarBuilder:
    """The layer's entries in a builder (host files are opened only when written)."""
    layer = sandbox.layer()
    builder = LayerTarBuilder()
    try:
        for e in layer.entries:
            own = e.path in sandbox.added
            when = min(e.mtime, mtime) if own else e.mtime
            if e.kind is EntryKind.DIR:
                builder.add_dir(e.path, mode=e.mode, uid=e.uid, gid=e.gid, mtime=when,
                                xattrs=e.xattrs)
            elif e.kind is EntryKind.SYMLINK:
                builder.add_symlink(e.path, e.link, mode=e.mode, uid=e.uid, gid=e.gid,
                                    mtime=when, xattrs=e.xattrs)
            elif e.kind is EntryKind.FILE and e.path in layer.sources:
                src = layer.sources[e.path]
                builder.add_file_from(e.path, src.size, partial(open_host_file, src, cancel),
                                      mode=e.mode, uid=e.uid, gid=e.gid, mtime=when,
                                      xattrs=e.xattrs)
            else:
                raise CommitError(f"Cannot write {e.path!r} ({e.kind.name.lower()}) into a "
                                  "new layer.")
        for path in layer.whiteouts:
            builder.add_whiteout(path, mtime=mtime)
        for path in layer.opaque_dirs:
            builder.add_opaque(path, mtime=mtime)
    except ValueError as exc:
        raise CommitError(f"The new layer cannot be written: {exc}") from exc
    return builder


def build_layer(
    sandbox: Sandbox,
    *,
    compression: Compression = Compression.NONE,
    mtime: int,
    folder: str,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> NewLayer:
    """Write the sandbox's layer to an unnamed temp file in ``folder``; ``mtime`` is the
    commit timestamp (added entries are clamped to it, markers get it).

    Raises CommitError, Cancelled."""
    if compression not in WRITABLE:
        raise CommitError(f"Layer Explorer writes layers plain, gzip or zstd, not "
                          f"{compression.value}.")
    builder = fill_builder(sandbox, mtime=mtime, cancel=cancel)
    try:
        spool = tempfile.TemporaryFile(dir=folder)
    except OSError as exc:
        raise CommitError(f"Cannot write to {folder}: {exc.strerror or exc}.") from exc
    try:
        stored = _Hashing(spool)
        compressor: Any = None
        if compression is Compression.GZIP:
            compressor = gzip.GzipFile(filename="", mode="wb", fileobj=stored,
                                       mtime=0, compresslevel=GZIP_LEVEL)
        elif compression is Compression.ZSTD:
            cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True)
            compressor = cctx.stream_writer(stored, closefd=False)  # type: ignore[arg-type]
        plain = _Hashing(compressor or stored, progress)
        builder.write_to(plain, cancel=cancel)  # type: ignore[arg-type]
        if compressor is not None:
            compressor.close()
        spool.flush()
        if spool.tell() != stored.size:
            raise CommitError("The new layer was not written completely.")
    except OSError as exc:
        spool.close()
        raise CommitError(f"Writing the new layer failed: {exc.strerror or exc}.") from exc
    except BaseException:
        spool.close()
        raise
    return NewLayer(Digest.from_hasher(plain.hash), Digest.from_hasher(stored.hash),
                    stored.size, plain.size, compression, spool)
