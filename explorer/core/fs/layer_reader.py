"""Index one layer blob into a LayerIndex, verifying its digests on the way.

``blob_stream`` reads, hashes and decompresses the blob on helper threads; this module parses
the plain tar stream with libarchive (pinned to the tar format, so raw byte names, xattrs and
warnings are kept) and turns each header into a FileEntry.  Nothing touches the disk.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import xxhash

from explorer.core.archive.compression import SNIFF_BYTES, Compression, sniff
from explorer.core.archive.source import Source
from explorer.core.archive.tar_extensions import BLOCK, check_extension_headers
from explorer.core.digest import Digest
from explorer.core.errors import DigestMismatch, FormatError, LimitExceeded, TruncatedError
from explorer.core.fs import libarchive_ffi as la
from explorer.core.fs import whiteout
from explorer.core.fs.blob_stream import BlobStream, StreamDigests
from explorer.core.fs.entry import EntryKind, FileEntry, entry_of_fields
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.layer_paths import has_wh, needs_normalizing, normalize_layer_path
from explorer.core.fs.plain_blob import PlainBlob
from explorer.core.image.model import LayerInfo
from explorer.core.limits import DEFAULT_LIMITS, Limits
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress

CHUNK = 1 << 20
MAX_LISTED = 5

_KINDS = {
    0o100000: EntryKind.FILE,
    0o040000: EntryKind.DIR,
    0o120000: EntryKind.SYMLINK,
    0o020000: EntryKind.CHAR,
    0o060000: EntryKind.BLOCK,
    0o010000: EntryKind.FIFO,
    0o140000: EntryKind.SOCKET,
}
_IFMT = 0o170000
_IFREG = 0o100000
_FILE, _DIR, _SYMLINK = EntryKind.FILE, EntryKind.DIR, EntryKind.SYMLINK
_HARDLINK, _CHAR, _BLOCK = EntryKind.HARDLINK, EntryKind.CHAR, EntryKind.BLOCK
_NO_RDEV = (0, 0)


class _Archive:
    """A libarchive tar read handle that is always freed."""

    def __init__(self) -> None:
        self.p = la.read_new()
        la.support_filter["none"](self.p)
        la.support_format_tar(self.p)
        self._callbacks: list[object] = []

    def open(self, read: Any, skip: Any = None) -> int:
        cb = la.READ_CALLBACK(read)
        skip_cb = la.SKIP_CALLBACK(skip) if skip is not None else la.NO_SKIP
        self._callbacks += [cb, skip_cb]
        rc: int = la.read_open2(self.p, None, la.NO_OPEN, cb, skip_cb, la.NO_CLOSE)
        return rc

    def free(self) -> None:
        if self.p:
            la.read_free(self.p)
            self.p = None


def read_layer(
    source: Source,
    layer: LayerInfo,
    *,
    verify: bool = True,
    limits: Limits = DEFAULT_LIMITS,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    deferred: list[DeferredCheck] | None = None,
) -> LayerIndex:
    """Index one layer; raises DigestMismatch, FormatError, TruncatedError, Cancelled.

    With a ``deferred`` list, an uncompressed layer is handed back as soon as its headers
    are parsed, with the digests the image claims; its hashing thread goes on, and the
    ``DeferredCheck`` appended to the list raises DigestMismatch later if the bytes differ.
    The caller must ``check`` (or ``abort``) every one before trusting the result."""
    entry = source.entry(layer.blob_name, what=f"layer {layer.index} blob")
    what = f"Layer {layer.index} ({layer.blob_name})"
    algorithm = layer.digest.algorithm if layer.digest else "sha256"
    with source.open(entry.name) as window:
        compression = sniff(window.read(SNIFF_BYTES))
        if compression is not Compression.NONE:
            window.seek(0)
            stream = BlobStream(window, size=entry.size, compression=compression,
                                algorithm=algorithm, what=what, progress=progress,
                                cancel=cancel)
            return _Reader(layer, stream, limits, cancel).run(verify)
    # An uncompressed blob is its tar, so its digest is the diff_id.  The index carries the
    # digests the image claims; with verify, the hash (now or deferred) must confirm them.
    claimed = StreamDigests(layer.digest or layer.diff_id, entry.size, layer.diff_id,
                            entry.size)
    plain = PlainBlob(lambda: source.open(entry.name), size=entry.size, algorithm=algorithm,
                      what=what, progress=progress, cancel=cancel,
                      claimed=None if verify else claimed)
    with _PLAIN_PARSER:  # the parse only: the hash goes on without holding it
        index = _Reader(layer, plain, limits, cancel).run(False, claimed=claimed)
    if not verify:
        return index
    check = DeferredCheck(layer, plain)
    if deferred is not None:
        deferred.append(check)
    else:
        check.check()  # the claimed digests in ``index`` are now the verified ones
    return index


_PLAIN_PARSER = threading.Lock()
"""One uncompressed layer is parsed at a time.  Its parse is all Python (no decompressor to
run beside it), so two at once only fight over the GIL: 10.3 s instead of 8.5 s for a
31-layer image.  Its hashing thread starts before the wait and goes on after it, and
compressed layers (whose decompression runs on threads of their own) are not held back."""


class DeferredCheck:
    """The digest check of a layer whose index was handed back before its hash was done."""

    def __init__(self, layer: LayerInfo, blob: PlainBlob) -> None:
        self.layer = layer
        self._blob = blob

    @property
    def pending(self) -> bool:
        return self._blob.hashing

    def check(self) -> None:
        """Wait for the hash; raises DigestMismatch, FormatError (unreadable), Cancelled."""
        digests = self._blob.finish()
        check_digests(self.layer, digests.blob_digest, digests.diff_id)

    def abort(self) -> None:
        self._blob.abort()


class _Reader:
    def __init__(self, layer: LayerInfo, stream: BlobStream | PlainBlob, limits: Limits,
                 cancel: CancelToken) -> None:
        self.layer = layer
        self.stream = stream
        self.lazy_content = isinstance(stream, PlainBlob)
        self.limits = limits
        self.short_path = min(limits.name_bytes, limits.path_bytes)
        """Paths up to this long can break neither length limit."""
        self.cancel = cancel
        self.warnings: list[str] = []
        self.by_path: dict[bytes, FileEntry] = {}
        self.shadowed: list[bytes] = []
        self.ints: dict[int, int] = {}
        """Modes and mtimes seen: most entries share a handful, and an int above 256 is an
        object of its own (32 bytes) each time it is made."""
        self.whiteouts: list[bytes] = []
        self.opaque: list[bytes] = []
        self.whiteout_sizes = 0
        self.header_sizes = 0
        self.content = ctypes.create_string_buffer(CHUNK)
        self.content_view = memoryview(self.content).cast("B")
        self.content_addr = ctypes.addressof(self.content)

    def _fail(self, archive: _Archive) -> BaseException:
        if self.stream.error is not None:
            return self.stream.error
        what = self.stream.what
        text = la.error_text(archive.p)
        if "runcated" in text or "premature" in text.lower() or "Damaged" in text:
            return TruncatedError(f"{what} is truncated or damaged: {text}.")
        return FormatError(f"{what} is not a readable tar: {text}.")

    def run(self, verify: bool, *, claimed: StreamDigests | None = None) -> LayerIndex:
        """Parse the layer.  With ``claimed`` digests (an uncompressed blob) only the parser's
        own reading is finished here: the index carries them, and a hashing thread, if any,
        goes on for the caller to check."""
        tar = _Archive()
        try:
            skip = self.stream.skip if isinstance(self.stream, PlainBlob) else None
            if tar.open(self.stream.read, skip) < la.ARCHIVE_WARN:
                raise self._fail(tar)
            self._entries(tar)
            self.stream.drain()
            if claimed is not None and isinstance(self.stream, PlainBlob):
                self.stream.parser_done()
                digests = claimed
            else:
                digests = self.stream.finish()
        except BaseException as exc:
            self.stream.abort()
            after = self.stream.blob_digest_after_error
            if verify and after is not None and isinstance(exc, FormatError):
                check_blob_digest(self.layer, after)  # altered bytes: not "corrupt gzip"
            raise
        finally:
            tar.free()
        if verify:
            check_digests(self.layer, digests.blob_digest, digests.diff_id)
        self._check_ratio(digests.blob_size, digests.plain_size)
        self._finish_warnings()
        return LayerIndex(
            entries=tuple(self.by_path.values()),
            whiteouts=tuple(self.whiteouts),
            opaque_dirs=tuple(self.opaque),
            warnings=tuple(self.warnings),
            blob_digest=digests.blob_digest,
            blob_size=digests.blob_size,
            diff_id=digests.diff_id,
            tar_size=digests.plain_size,
            compression=self.stream.compression,
            whiteout_sizes=self.whiteout_sizes,
            header_sizes=self.header_sizes,
        )

    def _check_ratio(self, stored: int, plain: int) -> None:
        """A layer that inflates far beyond what real layers do is worth a look (C12): the
        read itself streams, so nothing is allocated from the size."""
        limit = self.limits.decompression_ratio
        if (self.stream.compression is not Compression.NONE and stored > 0
                and plain >= self.limits.ratio_min_bytes and plain > stored * limit):
            self.warnings.append(
                f"Layer {self.layer.index} decompresses {plain // stored}:1 ({plain:,} bytes "
                f"from {stored:,}), above {limit}:1 (decompression_ratio): a possible "
                "decompression bomb.")

    def _entries(self, tar: _Archive) -> None:
        entry_p = la.entry_new()
        numbers = la.numbers_reader(entry_p)  # (mtime, gid, size, uid) of each header
        next_header = la.read_next_header2
        limit = self.limits.entries_per_layer
        try:
            count = 0
            while True:
                rc = next_header(tar.p, entry_p)
                if rc == la.ARCHIVE_EOF:
                    return
                if rc == la.ARCHIVE_WARN:
                    self.warnings.append(f"Layer {self.layer.index}: {la.error_text(tar.p)}")
                elif rc < la.ARCHIVE_WARN:
                    raise self._fail(tar)
                count += 1
                if count > limit:
                    raise LimitExceeded(
                        f"Layer {self.layer.index} has more than {limit} entries "
                        "(entries_per_layer).",
                        limit_name="entries_per_layer", limit=limit,
                    )
                if count & 1023 == 0:
                    self.cancel.check()
                self._entry(tar, entry_p, numbers)
        finally:
            la.entry_free(entry_p)

    def _content_digest(self, tar: _Archive, size: int) -> bytes:
        addr = self.content_addr
        view = self.content_view
        n = la.read_data(tar.p, addr, CHUNK)
        if n == size:  # the whole file in one read: the usual case
            return xxhash.xxh3_128_digest(view[:n])
        h = xxhash.xxh3_128()
        while n > 0:
            h.update(view[:n])
            n = la.read_data(tar.p, addr, CHUNK)
        if n < 0:
            raise self._fail(tar)
        return h.digest()

    def _entry(self, tar: _Archive, p: int, numbers: la.Numbers) -> None:
        """The per-entry hot path (runs ~20 k times a second per core): module constants
        instead of enum lookups, and the rare checks behind one cheap test each."""
        raw_path = la.entry_pathname(p)
        if raw_path is None:
            raw_path = la.entry_pathname_utf8(p) or b""
        pos = la.filter_bytes(tar.p, -1)  # where this entry's data starts
        mtime, gid, size, uid = numbers()
        size = max(size, 0)
        start = la.read_header_position(tar.p)  # where its first header block starts
        if pos - start > BLOCK:  # more than its own header: extension headers
            self._check_extensions(raw_path, start, pos)
        path: bytes | None = raw_path[2:] if raw_path[:2] == b"./" else raw_path
        if needs_normalizing(path):  # type: ignore[arg-type]
            path = normalize_layer_path(raw_path)
            if path is None:
                self.warnings.append(f"Layer {self.layer.index}: skipped {_shown(raw_path)!r}: "
                                     "it leaves the root with '..'.")
                return
        assert path is not None
        if len(path) > self.short_path:
            self._check_length(path, raw_path)
        if path:
            self.header_sizes += size
        if has_wh(path) and self._marker(p, path, raw_path, size):
            return
        mode = la.entry_mode(p)
        ftype = mode & _IFMT
        if ftype in (_IFREG, 0):
            hardlink = la.entry_hardlink(p)
            kind = _HARDLINK if hardlink else _FILE
        else:
            hardlink = None
            kind = _KINDS.get(ftype, _FILE)
        if not path:
            if kind is not _DIR:
                self.warnings.append(f"Layer {self.layer.index}: skipped a non-directory entry "
                                     "for the root itself.")
            return
        link = b""
        digest = None
        offset = -1
        rdev = _NO_RDEV
        if kind is _FILE:
            if size == 0:
                digest = _EMPTY
            elif la.entry_sparse_count(p) > 0:
                self.warnings.append(f"Layer {self.layer.index}: {_shown(raw_path)!r} is a "
                                     "sparse file.")
                digest = self._content_digest(tar, size)
            elif self.lazy_content:
                offset = pos
            else:
                digest = self._content_digest(tar, size)
        elif kind is _SYMLINK:
            link = la.entry_symlink(p) or b""
        elif kind is _HARDLINK:
            link, digest = self._hardlink(hardlink or b"", raw_path)
        elif kind is _CHAR or kind is _BLOCK:
            rdev = (la.entry_rdevmajor(p), la.entry_rdevminor(p))
        xattrs = la.xattrs(p) if la.entry_xattr_count(p) else ()
        ints = self.ints  # one int object per distinct value: 64 bytes less per entry
        perm = mode & 0o7777
        perm = ints.setdefault(perm, perm)
        fe = entry_of_fields((path, kind, perm, uid, gid, size, ints.setdefault(mtime, mtime),
                              link, digest, xattrs, rdev, False, offset))
        by_path = self.by_path
        if path in by_path:
            self.shadowed.append(path)
            del by_path[path]
        by_path[path] = fe

    def _check_extensions(self, raw_path: bytes, start: int, end: int) -> None:
        """The entry had extension headers: look at them raw (A7).  Skipped when they are
        larger than the limit (libarchive judged those) or already out of reach."""
        if end - start > self.limits.tar_ext_header + 2 * BLOCK:
            return
        raw = self.stream.peek(start, end)
        if raw is None:
            return
        for problem in check_extension_headers(raw):
            self.warnings.append(f"Layer {self.layer.index}: {_shown(raw_path)!r}: {problem}.")

    def _check_length(self, path: bytes, raw_path: bytes) -> None:
        limits = self.limits
        if len(path) > limits.path_bytes:
            self.warnings.append(f"Layer {self.layer.index}: path longer than "
                                 f"{limits.path_bytes} bytes (path_bytes): "
                                 f"{_shown(raw_path)[:80]!r}...")
        elif max(map(len, path.split(b"/"))) > limits.name_bytes:
            self.warnings.append(f"Layer {self.layer.index}: a name in "
                                 f"{_shown(raw_path)[:80]!r} is longer than "
                                 f"{limits.name_bytes} bytes (name_bytes).")

    def _marker(self, p: int, path: bytes, raw_path: bytes, size: int) -> bool:
        """Handle whiteout, opaque and AUFS names; True when the entry is not a file."""
        try:
            marker, target = whiteout.classify(path)
        except FormatError as exc:
            raise FormatError(f"{self.stream.what} is refused: {exc.message}") from exc
        i = self.layer.index
        if marker is whiteout.Marker.WHITEOUT:
            if size > 0 or la.entry_filetype(p) != _IFREG:
                self.warnings.append(f"Layer {i}: whiteout {_shown(raw_path)!r} is not an empty "
                                     "regular file.")
            self.whiteout_sizes += size
            self.whiteouts.append(target)
            return True
        if marker is whiteout.Marker.OPAQUE:
            self.opaque.append(target)
            return True
        if marker is whiteout.Marker.META:
            self.warnings.append(f"Layer {i}: ignored AUFS metadata {_shown(raw_path)!r}.")
            return True
        if whiteout.has_whiteout_component(path):
            self.warnings.append(f"Layer {i}: {_shown(raw_path)!r} uses a '.wh.' name as a "
                                 "directory.")
        return False

    def _hardlink(self, hardlink: bytes, raw_path: bytes) -> tuple[bytes, bytes | None]:
        link = normalize_layer_path(hardlink) or b""
        target = self.by_path.get(link)
        i = self.layer.index
        if target is None:
            self.warnings.append(f"Layer {i}: hardlink {_shown(raw_path)!r} points to "
                                 f"{_shown(link)!r}, not an earlier entry of this layer.")
            return link, None
        if target.kind is EntryKind.DIR:
            self.warnings.append(f"Layer {i}: hardlink {_shown(raw_path)!r} points to a "
                                 "directory (invalid).")
            return link, None
        return link, target.digest

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


def _shown(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


_EMPTY = xxhash.xxh3_128(b"").digest()


def check_digests(layer: LayerInfo, blob_digest: Digest, diff_id: Digest) -> None:
    """Raises DigestMismatch naming the layer and both digests."""
    check_blob_digest(layer, blob_digest)
    if diff_id != layer.diff_id:
        what = f"layer {layer.index} ({layer.blob_name})"
        raise DigestMismatch(
            f"The content of {what} does not match the config's diff_id: expected "
            f"{layer.diff_id}, got {diff_id}.",
            expected=str(layer.diff_id), actual=str(diff_id), what=what,
        )


def check_blob_digest(layer: LayerInfo, blob_digest: Digest) -> None:
    if layer.digest is not None and blob_digest != layer.digest:
        what = f"layer {layer.index} ({layer.blob_name})"
        raise DigestMismatch(
            f"The blob of {what} does not match its digest: expected {layer.digest}, "
            f"got {blob_digest}.",
            expected=str(layer.digest), actual=str(blob_digest), what=what,
        )
