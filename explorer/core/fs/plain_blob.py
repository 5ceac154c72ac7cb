"""An uncompressed layer blob: parse its headers and hash it, side by side.

Uncompressed layers (docker-archive, most ``docker save`` output) need no decompression, so
the parser seeks over file contents and reads only tar headers, while a separate thread reads
the blob once for its digest (also the diff_id).  File contents are hashed later, only for the
files some comparison needs (``fs.content``); each entry keeps its data offset for that.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import os
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from explorer.core.archive.compression import Compression
from explorer.core.digest import Digest
from explorer.core.errors import Cancelled, ExplorerError, FormatError
from explorer.core.fs.blob_stream import StreamDigests
from explorer.core.tasks import CancelToken, Progress

HASH_CHUNK = 8 << 20
"""Bytes read and hashed per step.  Each step takes the GIL back twice, and the parser holds
it meanwhile: 8 MiB instead of 4 made the large image's 'ci' 5 % faster (1.06 s against
1.12 s, interleaved) for 4 MB more peak memory."""
_HASHERS = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))
"""Blobs hashed at once.  Deferred verification lets parsing run ahead of hashing, and
without a cap a 40-layer image had 19 hashing threads, each with its own buffer."""
PARSE_CHUNK = 64 << 10


class PlainBlob:
    """Same interface as ``BlobStream`` for the parser, plus a skip callback."""

    compression = Compression.NONE
    lazy_content = True
    blob_digest_after_error: Digest | None = None

    def __init__(self, opener: Callable[[], BinaryIO], *, size: int, algorithm: str,
                 what: str, progress: Progress, cancel: CancelToken,
                 claimed: StreamDigests | None = None) -> None:
        """``claimed``: digests to trust without hashing (the user opted out of verifying),
        so only the tar headers are read."""
        self.what = what
        self._size = size
        self._algorithm = algorithm
        self._progress = progress
        self._cancel = cancel
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._digests: StreamDigests | None = claimed
        self._opener = opener
        self._window: Any = opener()
        self._peek_window: Any = None
        self._hash_window: Any = None if claimed else opener()
        self._buf = ctypes.create_string_buffer(PARSE_CHUNK)
        self._view = memoryview(self._buf).cast("B")
        self._thread: threading.Thread | None = None
        if claimed is None:
            self._thread = threading.Thread(target=self._hash, name="blob-hash", daemon=True)
            self._thread.start()

    # ----------------------------------------------------------------- hashing thread

    def _hash(self) -> None:
        try:
            while not _HASHERS.acquire(timeout=0.05):  # wait for a turn, still cancellable
                self._cancel.check()
                if self._stop.is_set():
                    return
        except Cancelled as exc:
            self._error = exc
            return
        try:
            self._hash_all()
        finally:
            _HASHERS.release()

    def _hash_all(self) -> None:
        try:
            blob = hashlib.new(self._algorithm)
            plain = None if self._algorithm == "sha256" else hashlib.sha256()
            buf = bytearray(HASH_CHUNK)
            view = memoryview(buf)
            done = 0
            while not self._stop.is_set():
                self._cancel.check()
                n = self._hash_window.readinto(buf)
                if not n:
                    break
                blob.update(view[:n])
                if plain is not None:
                    plain.update(view[:n])
                done += n
                self._progress(done, self._size)
            digest = Digest.from_hasher(blob)
            self._digests = StreamDigests(
                digest, done, digest if plain is None else Digest.from_hasher(plain), done)
        except (ExplorerError, Cancelled) as exc:
            self._error = exc
        except OSError as exc:
            self._error = FormatError(f"Cannot read {self.what}: {exc}.")

    # ----------------------------------------------------------------- parser side

    def read(self, _a: int, _c: int, out: ctypes._Pointer[ctypes.c_void_p]) -> int:
        """libarchive read callback."""
        try:
            n: int = self._window.readinto(self._view)
            if self._thread is None:  # nobody else reports progress
                self._cancel.check()
                self._progress(self._window.tell(), self._size)
        except OSError:
            return -1
        except Cancelled as exc:
            self._error = exc
            return -1
        out[0] = ctypes.addressof(self._buf)
        return n

    def skip(self, _a: int, _c: int, request: int) -> int:
        """libarchive skip callback: seek over file contents instead of reading them."""
        try:
            before: int = self._window.tell()
            return int(self._window.seek(request, io.SEEK_CUR)) - before
        except OSError:
            return 0

    def peek(self, start: int, end: int) -> bytes | None:
        """Bytes ``start:end`` of the blob, already parsed (extension headers, A7)."""
        try:
            if self._peek_window is None:
                self._peek_window = self._opener()
            self._peek_window.seek(start)
            data: bytes = self._peek_window.read(end - start)
        except OSError:
            return None
        return data if len(data) == end - start else None

    @property
    def error(self) -> BaseException | None:
        return self._error

    def drain(self) -> None:
        """Nothing to do: the hashing thread reads the whole blob by itself."""

    @property
    def hashing(self) -> bool:
        """The hashing thread is still reading the blob."""
        return self._thread is not None and self._thread.is_alive()

    def parser_done(self) -> None:
        """The parser is done: release its windows, let the hashing thread go on."""
        for w in (self._window, self._peek_window):
            if w is not None:
                w.close()

    def finish(self) -> StreamDigests:
        if self._thread is not None:
            self._thread.join()
        self._close()
        if self._error is not None:
            raise self._error
        assert self._digests is not None
        return self._digests

    def abort(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._close()

    def _close(self) -> None:
        for w in (self._window, self._hash_window, self._peek_window):
            close = getattr(w, "close", None) if w is not None else None
            if close is not None:
                close()
