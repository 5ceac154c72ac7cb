"""The bytes of one file as it stands in a given layer, read from the layer blob on demand.

Nothing is extracted to disk: an uncompressed layer records where each file's content starts
(``FileEntry.data_offset``), so a preview is one bounded ``pread``; a compressed layer is
streamed through the same decompressors as indexing (``BlobStream``) and libarchive's tar
reader until the file comes by.  Hardlinks are resolved to the regular file whose bytes they
share, exactly as the union applies them.  What is read is checked against what indexing saw
(tar header, size, content digest) so a blob changed underneath us is reported, not shown.
"""

from __future__ import annotations

import ctypes
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import xxhash

from explorer.core.archive.compression import SNIFF_BYTES, sniff
from explorer.core.errors import Cancelled, ExplorerError
from explorer.core.fs import libarchive_ffi as la
from explorer.core.fs.blob_stream import BlobStream
from explorer.core.fs.entry import EntryKind, FileEntry, display_path
from explorer.core.fs.layer_paths import normalize_layer_path
from explorer.core.inspection import Inspection
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress

CHUNK = 1 << 20
BLOCK = 512

ContentKind = Literal["text", "image", "binary"]


class FileNotInLayer(ExplorerError):
    """The path does not exist in the merged filesystem at that layer."""


class NotARegularFile(ExplorerError):
    """The path is a directory, symlink, device, FIFO or socket, or a dangling hardlink."""

    def __init__(self, message: str, *, kind: EntryKind, link: bytes = b"") -> None:
        super().__init__(message)
        self.kind = kind
        self.link = link


class BlobChanged(ExplorerError):
    """A layer blob no longer holds what was indexed (the input changed since it was opened)."""


@dataclass(frozen=True)
class FileContent:
    """A window ``[offset, offset + len(data))`` of a file's ``size`` bytes."""

    path: bytes
    layer: int
    """The merged view that was asked for."""
    data: bytes
    offset: int
    size: int
    source_layer: int
    """The layer whose blob holds the bytes (the layer that last wrote the file)."""
    source_path: bytes
    """The regular file read: ``path``, or the file a hardlink names."""

    @property
    def end(self) -> int:
        return self.offset + len(self.data)

    @property
    def truncated(self) -> bool:
        """True when bytes follow the window ("load more" reads from ``end``)."""
        return self.end < self.size


@dataclass(frozen=True)
class ContentSource:
    """Where a file's bytes live: a regular-file entry of one layer's tar."""

    layer: int
    entry: FileEntry


class LinkResolver:
    """Resolves union entries to the layer entry holding their bytes.

    A hardlink names an earlier entry of its own layer or, failing that, a file of the merged
    filesystem below (after the layer's own whiteouts): the rule ``union._Applier`` follows,
    so the bytes shown are those of the file the tree shows.  Per-layer maps are built once
    per resolver, so an extraction with many hardlinks stays linear.
    """

    def __init__(self, inspection: Inspection) -> None:
        self._ins = inspection
        self._positions: dict[int, dict[bytes, int]] = {}
        self._removed: dict[int, tuple[frozenset[bytes], frozenset[bytes]]] = {}

    def source(self, layer: int, entry: FileEntry) -> ContentSource:
        """Raises NotARegularFile for anything but a (resolvable) regular file or hardlink."""
        hops = 0
        limit = self._ins.archive.limits.link_hops
        start = entry
        while entry.kind is EntryKind.HARDLINK:
            hops += 1
            if hops > limit:
                raise NotARegularFile(
                    f"{display_path(start.path)} is a chain of more than {limit} hardlinks "
                    "(link_hops).", kind=EntryKind.HARDLINK, link=start.link)
            layer, entry = self._target(layer, entry, start)
        if entry.kind is not EntryKind.FILE:
            what = "a hardlink to " if start is not entry else ""
            raise NotARegularFile(
                f"{display_path(start.path)} is {what}{_KIND_WORDS[entry.kind]}, not a regular "
                "file.", kind=entry.kind, link=entry.link)
        return ContentSource(layer, entry)

    def _target(self, layer: int, link: FileEntry, start: FileEntry) -> tuple[int, FileEntry]:
        index = self._ins.indexes[layer]
        positions = self._positions.get(layer)
        if positions is None:
            positions = {e.path: i for i, e in enumerate(index.entries)}
            self._positions[layer] = positions
        here = positions.get(link.path, len(index.entries))
        there = positions.get(link.link)
        if there is not None and there < here and index.entries[there].kind is not EntryKind.DIR:
            return layer, index.entries[there]
        if not self._hidden(layer, link.link):
            node = self._ins.stack.at(layer - 1).get(link.link)
            if node is not None and not node.is_dir:
                return node.layer, node.entry
        raise NotARegularFile(
            f"{display_path(start.path)} is a dangling hardlink to {display_path(link.link)}.",
            kind=EntryKind.HARDLINK, link=link.link)

    def _hidden(self, layer: int, path: bytes) -> bool:
        """Whether ``layer`` whites out ``path`` (or a parent) or makes a parent opaque."""
        removed = self._removed.get(layer)
        if removed is None:
            index = self._ins.indexes[layer]
            removed = (frozenset(index.whiteouts), frozenset(index.opaque_dirs))
            self._removed[layer] = removed
        whiteouts, opaque = removed
        parts = path.split(b"/")
        prefixes = [b"/".join(parts[:i]) for i in range(len(parts) + 1)]
        return (any(p in whiteouts for p in prefixes[1:])
                or any(p in opaque for p in prefixes[:-1]))


_KIND_WORDS = {
    EntryKind.FILE: "a regular file", EntryKind.DIR: "a directory",
    EntryKind.SYMLINK: "a symbolic link", EntryKind.HARDLINK: "a hardlink",
    EntryKind.CHAR: "a character device", EntryKind.BLOCK: "a block device",
    EntryKind.FIFO: "a FIFO", EntryKind.SOCKET: "a socket",
}


def clean_image_path(path: bytes) -> bytes:
    """``/usr/lib/`` -> ``usr/lib``: a path of the image (its root is ``/``), never ``..``.

    Raises FileNotInLayer.
    """
    clean = normalize_layer_path(path.strip(b"/"))
    if clean is None or b"\0" in path:
        raise FileNotInLayer(f"{display_path(path)} is not a path inside the image.")
    return clean


def read_file(
    inspection: Inspection,
    layer_index: int,
    path: bytes,
    *,
    limit: int,
    offset: int = 0,
    cancel: CancelToken = NEVER_CANCELLED,
) -> FileContent:
    """Up to ``limit`` bytes from ``offset`` of the file ``path`` in the merged view at
    ``layer_index`` (negative counts from the top).  Raises FileNotInLayer, NotARegularFile,
    BlobChanged, Cancelled; IndexError for a layer that does not exist."""
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset must not be negative")
    tree = inspection.merged(layer_index)
    clean = clean_image_path(path)
    if not clean:
        raise NotARegularFile("The root is a directory.", kind=EntryKind.DIR)
    node = tree.get(clean)
    if node is None:
        raise FileNotInLayer(f"{display_path(clean)} does not exist at layer {tree.top}.")
    src = LinkResolver(inspection).source(node.layer, node.entry)
    entry = src.entry
    start = min(offset, entry.size)
    want = min(limit, entry.size - start)
    if want == 0:
        data = b""
    elif entry.data_offset >= 0:
        data = _read_direct(inspection, src, start, want)
    else:
        data = _read_streamed(inspection, src, start, want, cancel)
    return FileContent(clean, tree.top, data, start, entry.size, src.layer, entry.path)


def _read_direct(ins: Inspection, src: ContentSource, start: int, want: int) -> bytes:
    """One bounded read at the recorded offset of an uncompressed layer."""
    what = _layer_what(ins, src.layer)
    entry = src.entry
    try:
        with ins.archive.source.open(ins.image.layers[src.layer].blob_name) as window:
            check_tar_header(window, entry, ins.indexes[src.layer].blob_size, what)
            window.seek(entry.data_offset + start)
            data = _read_exactly(window, want)
    except OSError as exc:
        raise BlobChanged(f"{what} can no longer be read: {_said(exc)}.") from exc
    except ExplorerError as exc:
        if isinstance(exc, BlobChanged):
            raise
        raise BlobChanged(f"{what} can no longer be read: {_said(exc)}.") from exc
    if len(data) != want:
        raise BlobChanged(f"{what} ends inside {display_path(entry.path)}: it changed since "
                          "it was opened.")
    if want == entry.size and entry.digest is not None \
            and xxhash.xxh3_128_digest(data) != entry.digest:
        raise BlobChanged(f"{display_path(entry.path)} in {what} no longer has the content "
                          "that was indexed: the input changed since it was opened.")
    return data


def _read_exactly(window: Any, n: int) -> bytes:
    parts = []
    while n > 0:
        part: bytes = window.read(min(n, CHUNK))
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def check_tar_header(window: Any, entry: FileEntry, blob_size: int, what: str) -> None:
    """The 512-byte tar header before ``entry.data_offset`` must still be a valid header of a
    regular file, and the blob must still have its indexed size; else BlobChanged.

    Raises BlobChanged."""
    size = window.seek(0, io.SEEK_END)
    off = entry.data_offset
    ok = size == blob_size and off >= BLOCK and off + entry.size <= size
    if ok:
        window.seek(off - BLOCK)
        block = _read_exactly(window, BLOCK)
        try:
            stored = int(block[148:156].strip(b"\0 ") or b"-1", 8)
        except ValueError:
            stored = -1
        rest = block[:148] + block[156:]
        sums = (sum(rest) + 8 * 0x20, sum(b - 256 if b > 127 else b for b in rest) + 8 * 0x20)
        ok = len(block) == BLOCK and stored in sums and block[156:157] in (b"0", b"\0", b"7")
    if not ok:
        raise BlobChanged(f"{what} changed since it was opened: {display_path(entry.path)} is "
                          "no longer where it was indexed. Open the image again.")


def _read_streamed(ins: Inspection, src: ContentSource, start: int, want: int,
                   cancel: CancelToken) -> bytes:
    """Stream the layer until the file comes by; keep ``[start, start + want)`` of it."""
    entry = src.entry
    with LayerStream(ins, src.layer, cancel=cancel) as tar:
        while (header := tar.next_file()) is not None:
            path, size = header
            if path != entry.path or size != entry.size:
                continue
            h = xxhash.xxh3_128()
            kept = bytearray()
            pos = 0
            for chunk in tar.chunks():
                h.update(chunk)
                lo, hi = max(start - pos, 0), min(start + want - pos, len(chunk))
                if lo < hi:
                    kept += chunk[lo:hi]
                pos += len(chunk)
            # A layer may record a path twice (the last one counts): match on content.
            if entry.digest is None or h.digest() == entry.digest:
                return bytes(kept)
        raise tar.missing([entry.path])


_IFMT = 0o170000
_IFREG = 0o100000
_NOT_FILES = frozenset({0o040000, 0o120000, 0o020000, 0o060000, 0o010000, 0o140000})


class LayerStream:
    """One pass over the regular files of a layer blob (any compression) and their bytes.

    ``next_file()`` gives ``(path, size)`` of the next regular file (paths normalised as the
    index normalises them); ``chunks()`` its content, as views valid until the next chunk.
    Read errors mean the blob changed since it was indexed (BlobChanged); Cancelled passes.
    """

    def __init__(self, inspection: Inspection, layer: int, *, progress: Progress = no_progress,
                 cancel: CancelToken = NEVER_CANCELLED) -> None:
        info = inspection.image.layers[layer]
        self.what = _layer_what(inspection, layer)
        self._cancel = cancel
        self._p: int | None = None
        self._entry: int | None = None
        self._stream: BlobStream | None = None
        try:
            self._window: Any = inspection.archive.source.open(info.blob_name)
        except (OSError, ExplorerError) as exc:
            raise BlobChanged(f"{self.what} can no longer be opened: {_said(exc)}.") from exc
        try:
            size = self._window.seek(0, io.SEEK_END)
            self._window.seek(0)
            compression = sniff(self._window.read(SNIFF_BYTES))
            self._window.seek(0)
            self._stream = BlobStream(
                self._window, size=size, compression=compression,
                algorithm=info.digest.algorithm if info.digest else "sha256", what=self.what,
                progress=progress, cancel=cancel)
            self._cb = la.READ_CALLBACK(self._stream.read)
            self._p = la.read_new()
            la.support_filter["none"](self._p)
            la.support_format_tar(self._p)
            if la.read_open(self._p, None, la.NO_OPEN, self._cb, la.NO_CLOSE) < la.ARCHIVE_WARN:
                raise self._failure()
            self._entry = la.entry_new()
            self._buf = ctypes.create_string_buffer(CHUNK)
            self._view = memoryview(self._buf).cast("B")
        except BaseException:
            self.close()
            raise
        self._count = 0

    def next_file(self) -> tuple[bytes, int] | None:
        """The next regular file's path and size; None at the end of the layer."""
        e = self._entry
        while True:
            rc = la.read_next_header2(self._p, e)
            if rc == la.ARCHIVE_EOF:
                return None
            if rc < la.ARCHIVE_WARN:
                raise self._failure()
            self._count += 1
            if self._count & 255 == 0:
                self._cancel.check()
            ftype = la.entry_mode(e) & _IFMT
            if ftype in _NOT_FILES or (ftype in (_IFREG, 0) and la.entry_hardlink(e)):
                continue
            path = normalize_layer_path(la.entry_pathname(e) or la.entry_pathname_utf8(e) or b"")
            if path:
                return path, max(la.entry_size(e), 0)

    def chunks(self) -> Iterator[memoryview]:
        """The current file's bytes (each view is overwritten by the next one)."""
        addr = ctypes.addressof(self._buf)
        while True:
            n = la.read_data(self._p, addr, CHUNK)
            if n == 0:
                return
            if n < 0:
                raise self._failure()
            self._cancel.check()
            yield self._view[:n]

    def missing(self, paths: list[bytes]) -> BlobChanged:
        """The error for files the index listed but this pass did not find."""
        shown = ", ".join(display_path(p) for p in paths[:3])
        more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
        return BlobChanged(f"{self.what} changed since it was opened: {shown}{more} no longer "
                           "has the indexed content. Open the image again.")

    def _failure(self) -> BaseException:
        error = self._stream.error if self._stream is not None else None
        if isinstance(error, Cancelled):
            return error
        if self._cancel.cancelled:
            return Cancelled()
        text = _said(error) if error is not None else la.error_text(self._p)
        return BlobChanged(f"{self.what} can no longer be read as it was when opened: {text}. "
                           "Open the image again.")

    def close(self) -> None:
        if self._stream is not None:
            self._stream.abort()
            self._stream = None
        if self._entry is not None:
            la.entry_free(self._entry)
            self._entry = None
        if self._p is not None:
            la.read_free(self._p)
            self._p = None
        self._window.close()

    def __enter__(self) -> LayerStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _layer_what(ins: Inspection, layer: int) -> str:
    return f"Layer {layer} ({ins.image.layers[layer].blob_name})"


def _said(exc: BaseException) -> str:
    """An error's text without its final period, to quote inside a sentence."""
    return (getattr(exc, "strerror", None) or str(exc)).rstrip(".")


# --------------------------------------------------------------------------- classification

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
_BMP_DIB_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
_MARKUP = (b".svg", b".svgz", b".html", b".htm", b".xhtml", b".xml", b".pdf")
_CONTROLS = bytes(b for b in range(0x20) if b not in b"\t\n\r\f\b\x1b") + b"\x7f"
_HIGH = bytes(range(0x80, 0x100))


def sniff_kind(data: bytes, name: bytes = b"") -> ContentKind:
    """How a preview should show ``data`` (the start of the file called ``name``).

    Images are recognised by magic bytes only (PNG, JPEG, GIF, BMP, WebP): SVG and HTML are
    shown as text, never rendered (BAD-INPUT D2), whatever their bytes claim."""
    if not name.lower().endswith(_MARKUP) and _is_image(data):
        return "image"
    return "text" if _is_text(data) else "binary"


def _is_image(d: bytes) -> bool:
    if d.startswith(_IMAGE_MAGIC):
        return True
    if len(d) >= 12 and d[:4] == b"RIFF" and d[8:12] == b"WEBP":
        return True
    return (len(d) >= 26 and d[:2] == b"BM" and d[6:10] == b"\0\0\0\0"
            and int.from_bytes(d[14:18], "little") in _BMP_DIB_SIZES)


def _utf8_prefix(d: bytes) -> str | None:
    """``d`` decoded, tolerating a character cut by the end of the window; None if invalid."""
    try:
        return d.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.end == len(d) and exc.start >= len(d) - 3 and "end of data" in exc.reason:
            return d[: exc.start].decode("utf-8")
        return None


def _is_text(d: bytes) -> bool:
    if b"\0" in d:
        return False
    controls = len(d) - len(d.translate(None, _CONTROLS))
    if controls * 100 > len(d):
        return False
    if _utf8_prefix(d) is not None:
        return True
    high = len(d) - len(d.translate(None, _HIGH))
    return high * 10 <= len(d) * 3  # Latin-1 prose: a few accented letters, not noise


def decode_text(data: bytes) -> str:
    """Text for a preview: UTF-8 when valid (a cut last character dropped), else Latin-1."""
    text = _utf8_prefix(data)
    return text if text is not None else data.decode("latin-1")
