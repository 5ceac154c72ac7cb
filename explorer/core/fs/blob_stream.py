"""Read a layer blob once: hash it, decompress it, hand plain tar chunks to the parser.

The work is split over threads so one big layer keeps both cores busy: a producer reads the
blob with ``pread``, hashes it (blob digest) and decompresses it (ISA-L for gzip, libarchive
for zstd, bzip2 and xz; all release the GIL); a hasher computes the diff_id of the plain
stream; the caller's thread parses the tar.  For an uncompressed blob the blob digest is the
diff_id, so the producer's hash serves both.  Chunks are handed over through bounded
channels, so memory stays at a few MiB whatever the layer size.
"""

from __future__ import annotations

import ctypes
import gzip
import hashlib
import io
import threading
import zlib
from dataclasses import dataclass
from typing import Any, Protocol

from isal import igzip, isal_zlib

from explorer.core.archive.compression import Compression
from explorer.core.digest import Digest
from explorer.core.errors import Cancelled, ExplorerError, FormatError, TruncatedError
from explorer.core.fs import libarchive_ffi as la
from explorer.core.fs.channel import Aborted, Channel
from explorer.core.tasks import CancelToken, Progress

CHUNK = 1 << 20
DEPTH = 8

Chunk = tuple[bytearray, int]


@dataclass(frozen=True)
class StreamDigests:
    """What streaming a blob measured: its digest and size, and those of its plain tar."""

    blob_digest: Digest
    blob_size: int
    diff_id: Digest
    plain_size: int


class _Readable(Protocol):
    def readinto(self, buffer: bytearray, /) -> int | None: ...


class _HashingReader(io.RawIOBase):
    """The blob as a file object that hashes, counts progress and honours cancel."""

    def __init__(self, window: Any, hasher: hashlib._Hash, progress: Progress,
                 cancel: CancelToken, total: int) -> None:
        super().__init__()
        self._window = window
        self.hasher = hasher
        self._progress = progress
        self._cancel = cancel
        self._total = total
        self.done = 0

    def readable(self) -> bool:
        return True

    def _count(self, data: memoryview | bytes) -> None:
        self.hasher.update(data)
        self.done += len(data)
        self._progress(self.done, self._total)

    def readinto(self, buffer: Any) -> int:
        self._cancel.check()
        n: int = self._window.readinto(buffer)
        if n:
            self._count(memoryview(buffer)[:n])
        return n

    def read(self, size: int = -1) -> bytes:
        self._cancel.check()
        data: bytes = self._window.read(size if size is not None and size >= 0 else CHUNK)
        if data:
            self._count(data)
        return data


class _LibarchiveRaw:
    """zstd/bzip2/xz through libarchive's "raw" format: bounded output, truncation caught."""

    def __init__(self, source: _HashingReader, compression: Compression) -> None:
        self._source = source
        self._buf = ctypes.create_string_buffer(CHUNK)
        self._view = memoryview(self._buf).cast("B")
        self.error: BaseException | None = None
        self._cb = la.READ_CALLBACK(self._read)
        self.p = la.read_new()
        la.support_filter[compression.value](self.p)
        la.support_format_raw(self.p)
        if la.read_open(self.p, None, la.NO_OPEN, self._cb, la.NO_CLOSE) < la.ARCHIVE_WARN:
            raise self._failure()
        hdr = la.entry_new()
        try:
            if la.read_next_header2(self.p, hdr) < la.ARCHIVE_WARN:
                raise self._failure()
        finally:
            la.entry_free(hdr)

    def _read(self, _a: int, _c: int, out: ctypes._Pointer[ctypes.c_void_p]) -> int:
        try:
            n = self._source.readinto(self._view)
            out[0] = ctypes.addressof(self._buf)
            return n
        except BaseException as exc:  # ctypes would swallow it: re-raised by _failure
            self.error = exc
            return -1

    def _failure(self) -> BaseException:
        if self.error is not None:
            return self.error
        return _Corrupt(la.error_text(self.p))

    def readinto(self, buffer: bytearray) -> int:
        n: int = la.read_data(self.p, (ctypes.c_char * len(buffer)).from_buffer(buffer),
                              len(buffer))
        if n < 0:
            raise self._failure()
        return n

    def free(self) -> None:
        if self.p:
            la.read_free(self.p)
            self.p = None


class _Corrupt(Exception):
    """A decompressor's complaint, turned into a named error by ``BlobStream._translate``."""


class BlobStream:
    """One blob being read: start it, pull plain chunks with ``read``, then ``finish``."""

    def __init__(self, window: Any, *, size: int, compression: Compression, algorithm: str,
                 what: str, progress: Progress, cancel: CancelToken) -> None:
        self.what = what
        self.compression = compression
        self._source = _HashingReader(window, hashlib.new(algorithm), progress, cancel, size)
        self._plain_hash: hashlib._Hash | None = None
        self._plain_size = 0
        self._error: BaseException | None = None
        self._to_parser: Channel[Chunk] = Channel(DEPTH)
        self._outputs = [self._to_parser]
        self._threads = [threading.Thread(target=self._produce, name="blob-read", daemon=True)]
        self._raw: _LibarchiveRaw | None = None
        if compression is not Compression.NONE or algorithm != "sha256":
            self._plain_hash = hashlib.sha256()
            self._to_hasher: Channel[Chunk] = Channel(DEPTH)
            self._outputs.append(self._to_hasher)
            self._threads.append(
                threading.Thread(target=self._hash_plain, name="blob-hash", daemon=True))
        self._current: Any = None
        self._recent: list[tuple[int, bytearray, int]] = []
        """The last two chunks given to the parser with their offsets, for ``peek``."""
        self.parsed = 0
        self.blob_digest_after_error: Digest | None = None
        for t in self._threads:
            t.start()

    # ----------------------------------------------------------------- producer side

    def _open_plain(self) -> _Readable:
        if self.compression is Compression.NONE:
            return self._source
        if self.compression is Compression.GZIP:
            return igzip.IGzipFile(fileobj=self._source, mode="rb")  # type: ignore[no-untyped-call]
        self._raw = _LibarchiveRaw(self._source, self.compression)
        return self._raw

    def _produce(self) -> None:
        try:
            plain = self._open_plain()
            while True:
                buf = bytearray(CHUNK)
                n = plain.readinto(buf)
                if not n:
                    break
                for out in self._outputs:
                    out.put((buf, n))
        except Aborted:
            return
        except BaseException as exc:
            self._error = self._translate(exc)
            for out in self._outputs:
                out.abort()
            if isinstance(exc, gzip.BadGzipFile) and "CRC" in str(exc):
                self._hash_rest()
            return
        finally:
            if self._raw is not None:
                self._raw.free()
        for out in self._outputs:
            out.close()

    def _hash_rest(self) -> None:
        """After a CRC failure, finish the blob digest: when the blob differs from its digest,
        "altered" is the better report than "corrupt" (data that inflates but fails its CRC)."""
        if isinstance(self._error, Cancelled):
            return
        try:
            while self._source.read(CHUNK):
                pass
        except Exception:  # an unreadable rest leaves the first error as the report
            return
        self.blob_digest_after_error = Digest.from_hasher(self._source.hasher)

    def _hash_plain(self) -> None:
        assert self._plain_hash is not None
        try:
            while (item := self._to_hasher.get()) is not None:
                buf, n = item
                self._plain_hash.update(memoryview(buf)[:n])
                self._plain_size += n
        except Aborted:
            return

    def _translate(self, exc: BaseException) -> BaseException:
        kind = self.compression.value
        if isinstance(exc, ExplorerError | Cancelled):
            return exc
        if isinstance(exc, EOFError):
            return TruncatedError(f"{self.what} is truncated: its {kind} data ends early ({exc}).")
        if isinstance(exc, _Corrupt):
            text = str(exc)
            if "runcat" in text or "premature" in text.lower():
                return TruncatedError(f"{self.what} is truncated: its {kind} data ends early "
                                      f"({text}).")
            return FormatError(f"{self.what} has corrupt {kind} data: {text}.")
        if isinstance(exc, gzip.BadGzipFile | zlib.error | isal_zlib.error | OSError):
            return FormatError(f"{self.what} has corrupt {kind} data: {exc}.")
        return FormatError(f"Cannot read {self.what}: {exc}.")

    # ----------------------------------------------------------------- parser side

    def read(self, _a: int, _c: int, out: ctypes._Pointer[ctypes.c_void_p]) -> int:
        """libarchive read callback: the next plain chunk (0 at the end, -1 on failure)."""
        try:
            item = self._to_parser.get()
        except Aborted:
            return -1
        if item is None:
            return 0
        buf, n = item
        self._current = (ctypes.c_char * n).from_buffer(buf)
        out[0] = ctypes.addressof(self._current)
        self._recent = [*self._recent[-1:], (self.parsed, buf, n)]
        self.parsed += n
        return n

    def peek(self, start: int, end: int) -> bytes | None:
        """Plain-stream bytes ``start:end`` if the parser had them in its last two chunks
        (extension headers, A7); None when they are gone already."""
        out = bytearray()
        for offset, buf, n in self._recent:
            lo, hi = max(start, offset), min(end, offset + n)
            if lo < hi:
                if start + len(out) != lo:  # a hole: the earlier bytes are gone
                    return None
                out += buf[lo - offset:hi - offset]
        return bytes(out) if len(out) == end - start else None

    @property
    def error(self) -> BaseException | None:
        return self._error

    def drain(self) -> None:
        """Consume what follows the tar's end marker: the digests cover the whole stream."""
        try:
            while self._to_parser.get() is not None:
                pass
        except Aborted:
            pass

    def finish(self) -> StreamDigests:
        """Wait for the threads; raises the producer's error if it failed."""
        for t in self._threads:
            t.join()
        if self._error is not None:
            raise self._error
        blob = Digest.from_hasher(self._source.hasher)
        if self._plain_hash is None:  # plain sha256 blob: the blob digest is the diff_id
            return StreamDigests(blob, self._source.done, blob, self._source.done)
        return StreamDigests(blob, self._source.done, Digest.from_hasher(self._plain_hash),
                             self._plain_size)

    def abort(self) -> None:
        """Stop the threads after a parser failure (safe to call more than once)."""
        for out in self._outputs:
            out.abort()
        for t in self._threads:
            t.join()
