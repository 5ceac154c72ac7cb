"""Stream one layer blob into a LayerIndex, verifying its digests on the way.

The blob is read once.  Compressed blobs go through a libarchive "raw" reader (gzip, zstd,
bzip2, xz recognised by their bytes, not the media type); the plain tar stream is hashed for the
diff_id and fed to a second libarchive reader pinned to the tar format.  Both run in C with the
GIL released, so layers index in parallel.  Nothing touches the disk.
"""

from __future__ import annotations

import ctypes
import hashlib
import posixpath
from dataclasses import dataclass, field
from typing import Any

import xxhash

from explorer.core.archive.compression import SNIFF_BYTES, Compression, sniff
from explorer.core.archive.source import Source
from explorer.core.digest import Digest
from explorer.core.errors import (
    DigestMismatch,
    ExplorerError,
    FormatError,
    LimitExceeded,
    TruncatedError,
)
from explorer.core.fs import libarchive_ffi as la
from explorer.core.fs import whiteout
from explorer.core.fs.entry import EntryKind, FileEntry
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.image.model import LayerInfo
from explorer.core.limits import DEFAULT_LIMITS, Limits
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress

CHUNK = 1 << 20
MAX_LISTED = 5

def _buffer() -> ctypes.Array[ctypes.c_char]:
    return ctypes.create_string_buffer(CHUNK)


_KINDS = {
    0o100000: EntryKind.FILE,
    0o040000: EntryKind.DIR,
    0o120000: EntryKind.SYMLINK,
    0o020000: EntryKind.CHAR,
    0o060000: EntryKind.BLOCK,
    0o010000: EntryKind.FIFO,
    0o140000: EntryKind.SOCKET,
}


def normalize_layer_path(raw: bytes) -> bytes | None:
    """``./a//b/`` -> ``a/b``; ``b""`` for the root; None when it would leave the root."""
    p = raw
    while p.startswith(b"./"):
        p = p[2:]
    p = p.lstrip(b"/")
    if b"//" in p or b"/./" in p or b".." in p or p.endswith((b"/", b"/.")) or p == b".":
        p = posixpath.normpath(b"/" + p).lstrip(b"/")
        if p == b".":
            p = b""
        parts = raw.split(b"/")
        if b".." in parts:
            # Reject rather than clamp: '../x' is hostile however an engine reads it (C1).
            depth = 0
            for part in parts:
                if part == b"..":
                    depth -= 1
                    if depth < 0:
                        return None
                elif part not in (b"", b"."):
                    depth += 1
    return p


@dataclass
class _Feed:
    """The Python end of libarchive's read callbacks: hash, count, cancel, remember errors."""

    window: Any
    blob_hash: hashlib._Hash
    progress: Progress
    cancel: CancelToken
    total: int
    buf: ctypes.Array[ctypes.c_char] = field(default_factory=_buffer)
    done: int = 0
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.view = memoryview(self.buf).cast("B")
        self.addr = ctypes.addressof(self.buf)

    def read_raw(self, _a: int, _c: int, out: ctypes._Pointer[ctypes.c_void_p]) -> int:
        try:
            self.cancel.check()
            n: int = self.window.readinto(self.view)
            if n:
                self.blob_hash.update(self.view[:n])
                self.done += n
                self.progress(self.done, self.total)
            out[0] = self.addr
            return n
        except BaseException as exc:  # re-raised by the caller; ctypes would swallow it
            self.error = exc
            return -1


@dataclass
class _Plain:
    """Feeds the tar reader from the decompressing raw reader, hashing the plain stream."""

    raw_archive: int
    diff_hash: hashlib._Hash
    buf: ctypes.Array[ctypes.c_char] = field(default_factory=_buffer)
    size: int = 0
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.view = memoryview(self.buf).cast("B")
        self.addr = ctypes.addressof(self.buf)

    def read(self, _a: int, _c: int, out: ctypes._Pointer[ctypes.c_void_p]) -> int:
        n: int = la.read_data(self.raw_archive, self.addr, CHUNK)
        if n < 0:
            self.error = _Decompression(la.error_text(self.raw_archive))
            return -1
        if n:
            self.diff_hash.update(self.view[:n])
            self.size += n
        out[0] = self.addr
        return n


class _Archive:
    """A libarchive read handle that is always freed."""

    def __init__(self, formats: tuple[str, ...], filters: tuple[str, ...]) -> None:
        self.p = la.read_new()
        for f in filters:
            la.support_filter[f](self.p)
        for fmt in formats:
            {"tar": la.support_format_tar, "raw": la.support_format_raw}[fmt](self.p)
        self._callbacks: list[object] = []

    def open(self, read: Any) -> int:
        cb = la.READ_CALLBACK(read)
        self._callbacks.append(cb)
        rc: int = la.read_open(self.p, None, _NO_OPEN, cb, _NO_CLOSE)
        return rc

    def free(self) -> None:
        if self.p:
            la.read_free(self.p)
            self.p = None


_NO_OPEN = ctypes.cast(ctypes.c_void_p(), la.OPEN_CALLBACK)
_NO_CLOSE = ctypes.cast(ctypes.c_void_p(), la.CLOSE_CALLBACK)


def read_layer(
    source: Source,
    layer: LayerInfo,
    *,
    verify: bool = True,
    limits: Limits = DEFAULT_LIMITS,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> LayerIndex:
    """Index one layer; raises DigestMismatch, FormatError, TruncatedError, Cancelled."""
    entry = source.entry(layer.blob_name, what=f"layer {layer.index} blob")
    with source.open(entry.name) as window:
        head = window.read(SNIFF_BYTES)
        window.seek(0)
        compression = sniff(head)
        algorithm = layer.digest.algorithm if layer.digest else "sha256"
        feed = _Feed(window, hashlib.new(algorithm), progress, cancel, entry.size)
        return _Reader(layer, feed, compression, limits, cancel).run(verify)


class _Reader:
    def __init__(self, layer: LayerInfo, feed: _Feed, compression: Compression,
                 limits: Limits, cancel: CancelToken) -> None:
        self.layer = layer
        self.feed = feed
        self.compression = compression
        self.limits = limits
        self.cancel = cancel
        self.warnings: list[str] = []
        self.by_path: dict[bytes, FileEntry] = {}
        self.shadowed: list[bytes] = []
        self.whiteouts: list[bytes] = []
        self.opaque: list[bytes] = []
        self.whiteout_sizes = 0
        self.header_sizes = 0
        self.content = ctypes.create_string_buffer(CHUNK)
        self.content_view = memoryview(self.content).cast("B")

    def _fail(self, archive: _Archive, plain: _Plain | None) -> ExplorerError:
        what = f"Layer {self.layer.index} ({self.layer.blob_name})"
        for err in (self.feed.error, plain.error if plain else None):
            if isinstance(err, _Decompression):
                text = str(err)
                if "runcat" in text or "premature" in text.lower():
                    return TruncatedError(f"{what} is truncated: its {self.compression.value} "
                                          f"data ends early ({text}).")
                return FormatError(f"{what} has corrupt {self.compression.value} data: {text}.")
            if isinstance(err, ExplorerError):
                return err
            if err is not None:
                return FormatError(f"Cannot read {what}: {err}.")
        text = la.error_text(archive.p)
        if "runcated" in text or "premature" in text.lower() or "Damaged" in text:
            return TruncatedError(f"{what} is truncated or damaged: {text}.")
        return FormatError(f"{what} is not a readable tar: {text}.")

    def run(self, verify: bool) -> LayerIndex:
        raw_archive: _Archive | None = None
        plain: _Plain | None = None
        tar = _Archive(("tar",), ("none",))
        diff_hash = self.feed.blob_hash
        try:
            if self.compression is not Compression.NONE:
                raw_archive = _Archive(("raw",), (self.compression.value,))
                if raw_archive.open(self.feed.read_raw) < la.ARCHIVE_WARN:
                    raise self._fail(raw_archive, None)
                hdr = la.entry_new()
                try:
                    if la.read_next_header2(raw_archive.p, hdr) < la.ARCHIVE_WARN:
                        raise self._fail(raw_archive, None)
                finally:
                    la.entry_free(hdr)
                diff_hash = hashlib.sha256()
                plain = _Plain(raw_archive.p, diff_hash)
                if tar.open(plain.read) < la.ARCHIVE_WARN:
                    raise self._fail(tar, plain)
            elif tar.open(self.feed.read_raw) < la.ARCHIVE_WARN:
                raise self._fail(tar, None)
            self._entries(tar, plain)
            tar_size = self._drain(tar, raw_archive, plain)
        finally:
            tar.free()
            if raw_archive is not None:
                raw_archive.free()
        blob_digest = Digest.from_hasher(self.feed.blob_hash)
        diff_id = Digest.from_hasher(diff_hash) if plain else Digest(
            "sha256", blob_digest.encoded if blob_digest.algorithm == "sha256"
            else hashlib.sha256().hexdigest())
        if verify:
            self._verify(blob_digest, diff_id)
        self._finish_warnings()
        return LayerIndex(
            entries=tuple(self.by_path.values()),
            whiteouts=tuple(self.whiteouts),
            opaque_dirs=tuple(self.opaque),
            warnings=tuple(self.warnings),
            blob_digest=blob_digest,
            blob_size=self.feed.done,
            diff_id=diff_id,
            tar_size=tar_size,
            compression=self.compression,
            whiteout_sizes=self.whiteout_sizes,
            header_sizes=self.header_sizes,
        )

    def _verify(self, blob_digest: Digest, diff_id: Digest) -> None:
        what = f"layer {self.layer.index} ({self.layer.blob_name})"
        if self.layer.digest is not None and blob_digest != self.layer.digest:
            raise DigestMismatch(
                f"The blob of {what} does not match its digest: expected {self.layer.digest}, "
                f"got {blob_digest}.",
                expected=str(self.layer.digest), actual=str(blob_digest), what=what,
            )
        if diff_id != self.layer.diff_id:
            raise DigestMismatch(
                f"The content of {what} does not match the config's diff_id: expected "
                f"{self.layer.diff_id}, got {diff_id}.",
                expected=str(self.layer.diff_id), actual=str(diff_id), what=what,
            )

    def _drain(self, tar: _Archive, raw_archive: _Archive | None, plain: _Plain | None) -> int:
        """Hash what follows the tar's end marker: the digests cover the whole stream."""
        if plain is not None and raw_archive is not None:
            while True:
                n = plain.read(0, 0, ctypes.pointer(ctypes.c_void_p()))
                if n < 0:
                    raise self._fail(tar, plain)
                if n == 0:
                    break
            return plain.size
        while True:
            n = self.feed.read_raw(0, 0, ctypes.pointer(ctypes.c_void_p()))
            if n < 0:
                raise self._fail(tar, None)
            if n == 0:
                break
        return self.feed.done

    def _entries(self, tar: _Archive, plain: _Plain | None) -> None:
        entry_p = la.entry_new()
        try:
            count = 0
            while True:
                rc = la.read_next_header2(tar.p, entry_p)
                if rc == la.ARCHIVE_EOF:
                    return
                if rc == la.ARCHIVE_WARN:
                    self.warnings.append(f"Layer {self.layer.index}: {la.error_text(tar.p)}")
                elif rc < la.ARCHIVE_WARN:
                    raise self._fail(tar, plain)
                count += 1
                if count > self.limits.entries_per_layer:
                    raise LimitExceeded(
                        f"Layer {self.layer.index} has more than "
                        f"{self.limits.entries_per_layer} entries (entries_per_layer).",
                        limit_name="entries_per_layer", limit=self.limits.entries_per_layer,
                    )
                if count & 1023 == 0:
                    self.cancel.check()
                self._entry(tar, entry_p, plain)
        finally:
            la.entry_free(entry_p)

    def _content_digest(self, tar: _Archive, plain: _Plain | None) -> bytes:
        h = xxhash.xxh3_128()
        addr = ctypes.addressof(self.content)
        view = self.content_view
        while True:
            n = la.read_data(tar.p, addr, CHUNK)
            if n == 0:
                return h.digest()
            if n < 0:
                raise self._fail(tar, plain)
            h.update(view[:n])

    def _entry(self, tar: _Archive, p: int, plain: _Plain | None) -> None:
        raw_path = la.entry_pathname(p)
        if raw_path is None:
            raw_path = la.entry_pathname_utf8(p) or b""
        path = normalize_layer_path(raw_path)
        shown = raw_path.decode("utf-8", "backslashreplace")
        if path is None:
            self.warnings.append(f"Layer {self.layer.index}: skipped {shown!r}: it leaves the "
                                 "root with '..'.")
            return
        if len(path) > self.limits.path_bytes:
            self.warnings.append(f"Layer {self.layer.index}: path longer than "
                                 f"{self.limits.path_bytes} bytes: {shown[:80]!r}...")
        size = la.entry_size(p)
        if path:
            self.header_sizes += max(size, 0)
        try:
            marker, target = whiteout.classify(path)
        except FormatError as exc:
            raise FormatError(
                f"Layer {self.layer.index} ({self.layer.blob_name}) is refused: {exc.message}"
            ) from exc
        if marker is whiteout.Marker.WHITEOUT:
            ftype = la.entry_filetype(p)
            if size > 0 or ftype != 0o100000:
                self.warnings.append(f"Layer {self.layer.index}: whiteout {shown!r} is not an "
                                     "empty regular file.")
            self.whiteout_sizes += max(size, 0)
            self.whiteouts.append(target)
            return
        if marker is whiteout.Marker.OPAQUE:
            self.opaque.append(target)
            return
        if marker is whiteout.Marker.META:
            self.warnings.append(f"Layer {self.layer.index}: ignored AUFS metadata {shown!r}.")
            return
        if whiteout.has_whiteout_component(path):
            self.warnings.append(f"Layer {self.layer.index}: {shown!r} uses a '.wh.' name as a "
                                 "directory.")
        hardlink = la.entry_hardlink(p)
        ftype = la.entry_filetype(p)
        kind = EntryKind.HARDLINK if hardlink else _KINDS.get(ftype, EntryKind.FILE)
        if path == b"":
            if kind is not EntryKind.DIR:
                self.warnings.append(f"Layer {self.layer.index}: skipped a non-directory entry "
                                     "for the root itself.")
            return
        link = b""
        digest = None
        if kind is EntryKind.SYMLINK:
            link = la.entry_symlink(p) or b""
        elif kind is EntryKind.HARDLINK:
            link = normalize_layer_path(hardlink or b"") or b""
            target_entry = self.by_path.get(link)
            if target_entry is None:
                self.warnings.append(f"Layer {self.layer.index}: hardlink {shown!r} points to "
                                     f"{link.decode('utf-8', 'backslashreplace')!r}, not an "
                                     "earlier entry of this layer.")
            elif target_entry.kind is EntryKind.DIR:
                self.warnings.append(f"Layer {self.layer.index}: hardlink {shown!r} points to a "
                                     "directory (invalid).")
            else:
                digest = target_entry.digest
        elif kind is EntryKind.FILE and size > 0:
            if la.entry_sparse_count(p) > 0:
                self.warnings.append(f"Layer {self.layer.index}: {shown!r} is a sparse file.")
            digest = self._content_digest(tar, plain)
        elif kind is EntryKind.FILE:
            digest = _EMPTY
        rdev = (0, 0)
        if kind in (EntryKind.CHAR, EntryKind.BLOCK):
            rdev = (la.entry_rdevmajor(p), la.entry_rdevminor(p))
        fe = FileEntry(
            path=path,
            kind=kind,
            mode=la.entry_perm(p) & 0o7777,
            uid=la.entry_uid(p),
            gid=la.entry_gid(p),
            size=max(size, 0),
            mtime=la.entry_mtime(p),
            link=link,
            digest=digest,
            xattrs=la.xattrs(p),
            rdev=rdev,
        )
        if path in self.by_path:
            self.shadowed.append(path)
            del self.by_path[path]
        self.by_path[path] = fe

    def _finish_warnings(self) -> None:
        i = self.layer.index
        if self.shadowed:
            names = ", ".join(repr(p.decode("utf-8", "backslashreplace"))
                              for p in self.shadowed[:MAX_LISTED])
            self.warnings.append(
                f"Layer {i} records {len(self.shadowed)} path(s) more than once (the last one "
                f"is used): {names}"
            )
        same = [w for w in self.whiteouts if w in self.by_path]
        if same:
            names = ", ".join(repr(p.decode("utf-8", "backslashreplace"))
                              for p in same[:MAX_LISTED])
            self.warnings.append(
                f"Layer {i} both adds and whites out {len(same)} path(s); per the OCI spec the "
                f"added file survives (containerd would delete it): {names}"
            )


class _Decompression(Exception):
    """libarchive's complaint about compressed data, turned into a named error by _fail."""


_EMPTY = xxhash.xxh3_128(b"").digest()
