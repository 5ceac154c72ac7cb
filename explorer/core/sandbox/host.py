"""Files and folders of the user's computer that the sandbox adds to the image.

Choice (documented, tested): **snapshot at add time, read again at commit time.**  Adding
walks the chosen file or folder once, records each entry's type, mode, size, mtime and
symlink target and hashes each regular file's content (xxh3-128, the hash the merged tree
uses); nothing is copied.  Commit reads the bytes again and refuses (CommitError, no output)
when a file no longer has the recorded size or hash, so the new layer holds exactly what the
pending-changes view showed, and a session file stays small.

Host symlinks are never followed: the chosen item and everything below it is opened with
``O_NOFOLLOW`` relative to a descriptor of its parent folder (``*at`` calls), so a link,
even one swapped in after the snapshot, is added as a symlink or refused, never read
through.  Only regular files, folders and symlinks can be added; hardlinked host files
become independent copies.  Names starting with ``.wh.`` are refused (whiteout spelling).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import xxhash

from explorer.core.archive.writer import StrPath
from explorer.core.errors import CommitError, SandboxError
from explorer.core.fs import whiteout
from explorer.core.fs.entry import EntryKind, display_path
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress

CHUNK = 1 << 20
MAX_ENTRIES = 1_000_000
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True, slots=True)
class HostFile:
    """Where a regular file's bytes are read at commit time, and what they were when added."""

    root: bytes
    """Absolute folder that held the chosen item (its own links resolved: the user chose it)."""
    rel: bytes
    """Path below ``root``; every component is opened without following links."""
    size: int
    digest: bytes
    """xxh3-128 of the content when it was added."""

    @property
    def host_path(self) -> str:
        return os.fsdecode(os.path.join(self.root, self.rel))


@dataclass(frozen=True, slots=True)
class HostItem:
    """One entry of a snapshot; ``rel`` starts with the chosen item's own name."""

    rel: bytes
    kind: EntryKind
    """FILE, DIR or SYMLINK."""
    mode: int
    size: int
    mtime: int
    link: bytes = b""
    file: HostFile | None = None


@dataclass(frozen=True)
class HostTree:
    """A snapshot of one chosen file, folder or symlink: the item first, then below it."""

    source: str
    items: tuple[HostItem, ...]

    @property
    def name(self) -> bytes:
        return self.items[0].rel

    @property
    def kind(self) -> EntryKind:
        return self.items[0].kind

    @property
    def total_bytes(self) -> int:
        return sum(i.size for i in self.items if i.kind is EntryKind.FILE)


def _host_error(path: str, exc: OSError) -> SandboxError:
    if exc.errno == errno.ELOOP:
        return SandboxError(f"{path} changed into a symbolic link while it was read; links "
                            "inside what you add are never followed.")
    return SandboxError(f"Cannot read {path}: {exc.strerror or exc}.")


def _kind(mode: int, shown: str) -> EntryKind:
    if stat.S_ISREG(mode):
        return EntryKind.FILE
    if stat.S_ISDIR(mode):
        return EntryKind.DIR
    if stat.S_ISLNK(mode):
        return EntryKind.SYMLINK
    what = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device")
    raise SandboxError(f"{shown} is {what}; only files, folders and symbolic links can be "
                       "added to an image.")


@contextlib.contextmanager
def _open_dir(root_fd: int, parts: list[bytes]) -> Iterator[int]:
    """A descriptor of ``root/parts...``, each component opened without following links."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            nxt = os.open(part, _DIR, dir_fd=fd)
            os.close(fd)
            fd = nxt
        yield fd
    finally:
        os.close(fd)


def _hash(fd: int, size: int, shown: str, cancel: CancelToken, advance: Progress) -> bytes:
    h = xxhash.xxh3_128()
    left = size
    while left > 0:
        cancel.check()
        data = os.read(fd, min(CHUNK, left))
        if not data:
            break
        h.update(data)
        left -= len(data)
        advance(len(data), 0)
    if left or os.read(fd, 1):
        raise SandboxError(f"{shown} changed size while it was read; try again when it is "
                           "complete.")
    return h.digest()


def snapshot_host(
    path: StrPath,
    *,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    max_entries: int = MAX_ENTRIES,
) -> HostTree:
    """Record a file, folder (recursively) or symlink of this computer for ``Sandbox.add``.

    Slow for big folders (every file is hashed): run it in a job.  Raises SandboxError
    (unreadable, unsupported type, ``.wh.`` name, too many entries) or Cancelled.
    """
    absolute = os.path.abspath(os.fsencode(path))
    name = os.path.basename(absolute)
    if not name or name in (b".", b".."):
        raise SandboxError(f"Choose a file or folder to add, not {os.fsdecode(absolute)}.")
    root = os.path.realpath(os.path.dirname(absolute))
    shown_root = os.fsdecode(absolute)
    try:
        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise _host_error(shown_root, exc) from exc
    try:
        listed = _walk(root_fd, name, shown_root, cancel, max_entries)
        total = sum(size for _rel, st_mode, size, _m, _l in listed if stat.S_ISREG(st_mode))
        done = 0

        def advance(n: int, _total: int) -> None:
            nonlocal done
            done += n
            progress(done, total)

        items = []
        for rel, st_mode, size, mtime, link in listed:
            kind = _kind(st_mode, os.fsdecode(os.path.join(root, rel)))
            file = None
            if kind is EntryKind.FILE:
                file = HostFile(root, rel, size, _hash_file(root_fd, rel, size, root,
                                                            cancel=cancel, advance=advance))
            items.append(HostItem(rel, kind, stat.S_IMODE(st_mode), size if file else 0,
                                  mtime, link, file))
    finally:
        os.close(root_fd)
    progress(total, total)
    return HostTree(shown_root, tuple(items))


def _walk(root_fd: int, name: bytes, shown_root: str, cancel: CancelToken,
          max_entries: int) -> list[tuple[bytes, int, int, int, bytes]]:
    """(rel, st_mode, size, mtime, link) of the item and everything below it, sorted."""
    out: list[tuple[bytes, int, int, int, bytes]] = []
    stack = [name]
    while stack:
        cancel.check()
        rel = stack.pop()
        parent, _, base = rel.rpartition(b"/")
        if base.startswith(whiteout.PREFIX):
            raise SandboxError(f"{display_path(rel)} starts with '.wh.', which layers reserve "
                               "for deletions; rename it before adding it.")
        shown = shown_root + os.fsdecode(rel[len(name):])
        try:
            with _open_dir(root_fd, parent.split(b"/") if parent else []) as fd:
                st = os.stat(base, dir_fd=fd, follow_symlinks=False)
                link = os.readlink(base, dir_fd=fd) if stat.S_ISLNK(st.st_mode) else b""
                children = []
                if stat.S_ISDIR(st.st_mode):
                    with _open_dir(fd, [base]) as dfd:
                        children = os.listdir(dfd)
        except OSError as exc:
            raise _host_error(shown, exc) from exc
        _kind(st.st_mode, shown)
        out.append((rel, st.st_mode, st.st_size, int(st.st_mtime), bytes(link)))
        if len(out) > max_entries:
            raise SandboxError(f"{shown_root} holds more than {max_entries} entries; add a "
                               "smaller folder.")
        stack.extend(rel + b"/" + os.fsencode(c) for c in sorted(children, reverse=True))
    return out


def _hash_file(root_fd: int, rel: bytes, size: int, root: bytes, *, cancel: CancelToken,
               advance: Progress) -> bytes:
    shown = os.fsdecode(os.path.join(root, rel))
    try:
        fd = _open_file(root_fd, rel)
    except OSError as exc:
        raise _host_error(shown, exc) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != size:
            raise SandboxError(f"{shown} changed while it was read; try again.")
        return _hash(fd, size, shown, cancel, advance)
    finally:
        os.close(fd)


def _open_file(root_fd: int, rel: bytes) -> int:
    parent, _, base = rel.rpartition(b"/")
    with _open_dir(root_fd, parent.split(b"/") if parent else []) as fd:
        return os.open(base, _FILE, dir_fd=fd)


class _VerifiedReader:
    """Reads a host file for the new layer, checking it is still what was added."""

    def __init__(self, fd: int, file: HostFile, cancel: CancelToken) -> None:
        self._fd = fd
        self._file = file
        self._left = file.size
        self._hash = xxhash.xxh3_128()
        self._cancel = cancel

    def read(self, n: int = -1) -> bytes:
        self._cancel.check()
        want = self._left if n < 0 else min(n, self._left)
        if want <= 0:
            return b""
        data = os.read(self._fd, want)
        self._hash.update(data)
        self._left -= len(data)
        if data and self._left == 0 and self._hash.digest() != self._file.digest:
            raise CommitError(f"{self._file.host_path} changed since it was added to the "
                              "container layer (its content differs); add it again.")
        return data

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> _VerifiedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_host_file(file: HostFile, cancel: CancelToken = NEVER_CANCELLED) -> BinaryIO:
    """Open a file recorded by :func:`snapshot_host` for reading its bytes into a layer.

    Raises CommitError when it is gone, became something else, or has another size; a
    changed content is noticed when its last byte is read."""
    shown = file.host_path
    try:
        root_fd = os.open(file.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fd = _open_file(root_fd, file.rel)
        finally:
            os.close(root_fd)
    except OSError as exc:
        reason = ("it is now a symbolic link (never followed)" if exc.errno == errno.ELOOP
                  else exc.strerror or str(exc))
        raise CommitError(f"{shown} can no longer be read: {reason}.") from exc
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size != file.size:
        os.close(fd)
        raise CommitError(f"{shown} changed since it was added to the container layer (it "
                          f"was {file.size} bytes); add it again.")
    return _VerifiedReader(fd, file, cancel)  # type: ignore[return-value]
