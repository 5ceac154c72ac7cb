"""Compression detected from magic bytes, never from names or media types."""

from __future__ import annotations

import enum
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from explorer.core.errors import FormatError

if TYPE_CHECKING:
    import zstandard


class Compression(enum.Enum):
    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"
    BZIP2 = "bzip2"
    XZ = "xz"


SNIFF_BYTES = 6


def sniff(head: bytes) -> Compression:
    """Classify a stream by its first bytes (moby/go-archive compression_detect.go)."""
    if head.startswith(b"\x1f\x8b\x08"):
        return Compression.GZIP
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return Compression.ZSTD
    if len(head) >= 4 and head[1:4] == b"\x2a\x4d\x18" and 0x50 <= head[0] <= 0x5F:
        return Compression.ZSTD  # skippable frame first
    if head.startswith(b"BZh"):
        return Compression.BZIP2
    if head.startswith(b"\xfd7zXZ\x00"):
        return Compression.XZ
    return Compression.NONE


class Decompressor:
    """Incremental decompressor: feed compressed chunks, get plain chunks.

    Handles multi-member gzip (estargz, pigz) and multi-frame zstd; trailing NUL padding
    after the last gzip member is accepted (umoci 0.4.7 notes such generators).
    """

    def __init__(self, kind: Compression) -> None:
        self.kind = kind
        self._feed: Callable[[bytes], bytes]
        self._gz: zlib._Decompress | None = None
        self._gz_trailing_zeros = False
        if kind is Compression.GZIP:
            self._gz = zlib.decompressobj(16 + zlib.MAX_WBITS)
            self._feed = self._feed_gzip
        elif kind is Compression.ZSTD:
            import zstandard  # only here: it costs 5 ms to import (it imports platform)

            self._zctx = zstandard.ZstdDecompressor()
            self._zs: zstandard.ZstdDecompressionObj | None = self._zctx.decompressobj()
            self._feed = self._feed_zstd
        elif kind is Compression.NONE:
            self._feed = bytes
        elif kind is Compression.BZIP2:
            import bz2

            self._bz = bz2.BZ2Decompressor()
            self._feed = self._bz.decompress
        else:
            import lzma

            self._xz = lzma.LZMADecompressor()
            self._feed = self._xz.decompress

    def feed(self, data: bytes) -> bytes:
        try:
            return self._feed(data)
        except Exception as exc:  # zlib.error, zstandard.ZstdError, lzma.LZMAError, OSError, ...
            raise FormatError(f"Corrupt {self.kind.value} data: {exc}.") from exc

    def _feed_gzip(self, data: bytes) -> bytes:
        out: list[bytes] = []
        while data:
            if self._gz is None:
                if self._gz_trailing_zeros or not data.strip(b"\0"):
                    self._gz_trailing_zeros = True
                    if data.strip(b"\0"):
                        raise FormatError("Corrupt gzip data: garbage after the gzip stream.")
                    return b"".join(out)
                self._gz = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out.append(self._gz.decompress(data))
            if self._gz.eof:
                data = self._gz.unused_data
                self._gz = None
            else:
                data = b""
        return b"".join(out)

    def _feed_zstd(self, data: bytes) -> bytes:
        out = []
        while data:
            if self._zs is None:
                self._zs = self._zctx.decompressobj()
            out.append(self._zs.decompress(data))
            if self._zs.eof:
                data = self._zs.unused_data
                self._zs = None
            else:
                data = b""
        return b"".join(out)

    def finish(self) -> None:
        """Raise when the stream ended in the middle of compressed data."""
        if self.kind is Compression.GZIP and self._gz is not None:
            raise FormatError("Corrupt gzip data: the stream ends early (truncated).")
        if self.kind is Compression.ZSTD and self._zs is not None:
            raise FormatError("Corrupt zstd data: the stream ends early (truncated).")
        if self.kind is Compression.BZIP2 and not self._bz.eof:
            raise FormatError("Corrupt bzip2 data: the stream ends early (truncated).")
        if self.kind is Compression.XZ and not self._xz.eof:
            raise FormatError("Corrupt xz data: the stream ends early (truncated).")


def copy_decompressed(
    src: BinaryIO,
    dst: BinaryIO,
    kind: Compression,
    *,
    chunk: int = 1 << 20,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Stream-decompress ``src`` into ``dst``; returns plain bytes written."""
    dec = Decompressor(kind)
    written = 0
    while True:
        block = src.read(chunk)
        if not block:
            break
        plain = dec.feed(block)
        if plain:
            dst.write(plain)
            written += len(plain)
        if on_chunk is not None:
            on_chunk(len(block))
    dec.finish()
    return written
