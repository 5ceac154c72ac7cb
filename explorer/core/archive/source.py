"""Where an image's files come from: an outer tar (indexed once) or an OCI layout folder.

Both answer the same questions by *normalised relative name*: is it there, how big, read it
(capped), open a bounded stream of it.  Names are resolved only inside the source: symlinks in
the outer tar are followed a bounded number of hops and must stay inside the archive.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from explorer.core.archive.compression import SNIFF_BYTES, Compression, copy_decompressed, sniff
from explorer.core.archive.tarindex import Member, MemberKind, TarIndex, index_tar
from explorer.core.archive.window import FileWindow
from explorer.core.errors import (
    FormatError,
    LimitExceeded,
    MissingBlobError,
    UnsafePath,
)
from explorer.core.limits import DEFAULT_LIMITS, Limits
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress


def check_relative_name(name: str, *, what: str) -> str:
    """Validate a path taken from a manifest (B1): relative, no ``..``, NUL or backslash.

    Raises UnsafePath.
    """
    if not isinstance(name, str) or not name:
        raise UnsafePath(f"Empty or missing path for {what}.")
    if "\0" in name or "\\" in name:
        raise UnsafePath(f"Unsafe path {name!r} for {what}: NUL or backslash.")
    if name.startswith("/"):
        raise UnsafePath(f"Unsafe path {name!r} for {what}: absolute paths are not allowed.")
    norm = posixpath.normpath(name)
    if norm == ".." or norm.startswith("../") or "/../" in f"/{name}/":
        raise UnsafePath(f"Unsafe path {name!r} for {what}: it leaves the archive.")
    while norm.startswith("./"):
        norm = norm[2:]
    return norm


@dataclass(frozen=True, slots=True)
class Entry:
    """A regular file of the source, after link resolution."""

    name: str
    size: int


class Source(Protocol):
    """Read-only access to the files of an image archive or layout folder."""

    path: str
    description: str
    warnings: list[str]

    def names(self) -> Iterator[str]: ...
    def kind(self, name: str) -> MemberKind | None: ...
    def entry(self, name: str, *, what: str) -> Entry: ...
    def open(self, name: str) -> BinaryIO: ...
    def close(self) -> None: ...


def read_capped(source: Source, name: str, cap: int, *, what: str, limit_name: str) -> bytes:
    """Read a whole (small) file, refusing more than ``cap`` bytes before reading any.

    Raises LimitExceeded, MissingBlobError, UnsafePath, FormatError.
    """
    entry = source.entry(name, what=what)
    if entry.size > cap:
        raise LimitExceeded(
            f"The {what} ({name}) is {entry.size} bytes, above the {cap} byte limit "
            f"({limit_name}).",
            limit_name=limit_name,
            limit=cap,
        )
    with source.open(entry.name) as fh:
        return fh.read(cap + 1)


@dataclass
class TarSource:
    """Files of an outer tar, read through pread windows (no shared file position)."""

    path: str
    index: TarIndex
    description: str = "tar archive"
    compression: Compression = Compression.NONE
    temp_copy: str | None = None
    warnings: list[str] = field(default_factory=list)
    limits: Limits = DEFAULT_LIMITS

    def __post_init__(self) -> None:
        self._fd = os.open(self.index.path, os.O_RDONLY)
        self.warnings.extend(self.index.warnings)

    def names(self) -> Iterator[str]:
        return iter(self.index.last)

    def kind(self, name: str) -> MemberKind | None:
        m = self.index.last.get(name)
        return m.kind if m else None

    def member(self, name: str) -> Member | None:
        return self.index.last.get(name)

    def _lookup(self, name: str, *, what: str) -> Member | None:
        """The one member called ``name``; two copies are refused (BAD-INPUT A6): Docker
        reads the last, containers/image the first, so no answer would be the right one."""
        m = self.index.last.get(name)
        if m is not None and self.index.first[name] is not m:
            raise FormatError(
                f"The archive holds the {what} {name!r} twice; Docker, containerd and podman "
                "would read different copies, so it is refused."
            )
        return m

    def _resolve(self, name: str, *, what: str) -> Member:
        m = self._lookup(name, what=what)
        hops = 0
        seen = {name}
        while m is not None and m.kind in (MemberKind.SYMLINK, MemberKind.HARDLINK):
            hops += 1
            if hops > self.limits.outer_link_hops:
                raise LimitExceeded(
                    f"The {what} {name!r} is a chain of more than "
                    f"{self.limits.outer_link_hops} links (outer_link_hops).",
                    limit_name="outer_link_hops", limit=self.limits.outer_link_hops,
                )
            if m.kind is MemberKind.SYMLINK:
                if m.link.startswith("/"):
                    raise UnsafePath(f"The {what} {name!r} is a link to an absolute path.")
                target = posixpath.normpath(posixpath.join(posixpath.dirname(m.name), m.link))
            else:
                target = posixpath.normpath(m.link)
            if target == ".." or target.startswith("../") or target.startswith("/"):
                raise UnsafePath(f"The {what} {name!r} links outside the archive ({m.link}).")
            while target.startswith("./"):
                target = target[2:]
            if target in seen:
                raise FormatError(f"The {what} {name!r} is a link loop.")
            seen.add(target)
            m = self._lookup(target, what=what)
            if m is None:
                raise MissingBlobError(
                    f"The {what} {name!r} links to {target!r}, which is not in the archive."
                )
        if m is None:
            raise MissingBlobError(f"The {what} {name!r} is not in the archive.")
        if m.kind is not MemberKind.FILE:
            raise FormatError(f"The {what} {name!r} is not a regular file in the archive.")
        return m

    def entry(self, name: str, *, what: str) -> Entry:
        m = self._resolve(name, what=what)
        return Entry(m.name, m.size)

    def open(self, name: str) -> BinaryIO:
        m = self._resolve(name, what="file")
        return FileWindow(self._fd, m.offset, m.size)  # type: ignore[return-value]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self.temp_copy:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temp_copy)
            self.temp_copy = None


@dataclass
class DirSource:
    """Files of an OCI layout folder; nothing outside ``path`` is ever opened."""

    path: str
    description: str = "OCI layout folder"
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._root = os.path.realpath(self.path)

    def _real(self, name: str, *, what: str) -> str:
        name = check_relative_name(name, what=what)
        full = os.path.realpath(os.path.join(self._root, name))
        if full != self._root and not full.startswith(self._root + os.sep):
            raise UnsafePath(f"The {what} {name!r} resolves outside the layout folder.")
        return full

    def names(self) -> Iterator[str]:
        for dirpath, _dirs, files in os.walk(self._root):
            rel = os.path.relpath(dirpath, self._root)
            for f in files:
                yield f if rel == "." else f"{rel}/{f}".replace(os.sep, "/")

    def kind(self, name: str) -> MemberKind | None:
        try:
            st = os.stat(self._real(name, what="file"))
        except (OSError, UnsafePath):
            return None
        if stat.S_ISREG(st.st_mode):
            return MemberKind.FILE
        if stat.S_ISDIR(st.st_mode):
            return MemberKind.DIR
        return MemberKind.OTHER

    def entry(self, name: str, *, what: str) -> Entry:
        full = self._real(name, what=what)
        try:
            st = os.stat(full)
        except FileNotFoundError:
            raise MissingBlobError(f"The {what} {name!r} is not in the layout folder.") from None
        if not stat.S_ISREG(st.st_mode):
            raise FormatError(f"The {what} {name!r} is not a regular file.")
        return Entry(name, st.st_size)

    def open(self, name: str) -> BinaryIO:
        return open(self._real(name, what="file"), "rb")

    def close(self) -> None:
        pass


def cache_dir() -> str:
    """The user's cache folder for Layer Explorer (created on demand)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "layer-explorer")
    os.makedirs(path, exist_ok=True)
    return path


def open_source(
    path: str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> TarSource | DirSource:
    """Open a file or folder read-only; a compressed outer tar is decompressed to the cache.

    Raises FormatError, TruncatedError, LimitExceeded, NotAnImageError, Cancelled, OSError.
    """
    if os.path.isdir(path):
        return DirSource(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise FormatError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    kind = sniff(head)
    if kind is Compression.NONE:
        progress(0, 0)
        return TarSource(path, index_tar(path, limits=limits, cancel=cancel))
    total = os.path.getsize(path)
    import tempfile  # only for compressed archives: 7 ms to import (shutil, random, ...)

    fd, tmp = tempfile.mkstemp(prefix="outer-", suffix=".tar", dir=cache_dir())
    done = 0

    def on_chunk(n: int) -> None:
        nonlocal done
        done += n
        progress(done, total)
        cancel.check()

    try:
        with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
            copy_decompressed(src, dst, kind, on_chunk=on_chunk)
        index = index_tar(tmp, limits=limits, cancel=cancel)
    except BaseException:
        os.unlink(tmp)
        raise
    src_obj = TarSource(
        path, index, description=f"{kind.value}-compressed tar", compression=kind, temp_copy=tmp
    )
    return src_obj


__all__ = ["DirSource", "Source", "TarSource", "check_relative_name", "open_source", "read_capped"]
