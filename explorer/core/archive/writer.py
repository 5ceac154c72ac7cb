"""Deterministic, atomic output (BAD-INPUT.md rule 0.4 and E1).

Everything the app writes goes through :func:`atomic_output`: the bytes land in a temp file
next to the destination and only a complete, fsync'ed file is renamed over it, so a crash,
an error or a Cancel never leaves half an image behind, and an existing file stays intact.
:func:`compress` gives the same bytes for the same input every time (no names, no mtimes).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gzip
import io
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import zstandard

from explorer.core.archive.compression import Compression
from explorer.core.errors import CommitError

TEMP_PREFIX = ".layer-explorer-"
"""Temp files in the destination folder start with this (easy to spot and clean up)."""

_TEMP_NAME = re.compile(r"\.layer-explorer-(?:(\d+)-)?[A-Za-z0-9_]+\.tmp")
STALE_TEMP_SECONDS = 24 * 3600
"""A temp file whose writer's pid is unknown counts as stale after this long."""

GZIP_LEVEL = 6
ZSTD_LEVEL = 3

StrPath = str | os.PathLike[str]


def _same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` are one file (hardlinks and symlinks included)."""
    with contextlib.suppress(OSError):
        if a.exists() and b.exists():
            return a.samefile(b)
    return a.resolve() == b.resolve()


def check_not_input(dest: StrPath, inputs: Sequence[StrPath]) -> None:
    """Refuse an output that is one of the inputs or lies inside an input folder (E1).

    Why: replacing the file we are still reading from would destroy the user's original,
    and a layout folder must not receive files it does not own.
    Raises CommitError (the destination is one of the inputs).
    """
    dest_p = Path(dest)
    real_dest = dest_p.resolve()
    for inp in inputs:
        inp_p = Path(inp)
        if _same_file(dest_p, inp_p):
            raise CommitError(
                f"Refusing to write {dest_p}: it is the input file {inp_p}. Choose another "
                "name; the original is never modified."
            )
        real_inp = inp_p.resolve()
        if real_inp.is_dir() and real_dest.is_relative_to(real_inp):
            raise CommitError(
                f"Refusing to write {dest_p}: it is inside the input folder {inp_p}."
            )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


def remove_stale_temps(folder: StrPath) -> list[str]:
    """Delete temp files an interrupted write of ours left in ``folder``; return their names.

    A write killed outright (SIGKILL, power loss) cannot clean up after itself, so each new
    write first removes the ``.layer-explorer-<pid>-*.tmp`` files of processes that no longer
    exist (and pid-less ones older than ``STALE_TEMP_SECONDS``).  Only regular files owned by
    this user are touched; a running writer's temp file is left alone.  Never raises: a file
    that cannot be removed stays.
    """
    removed: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        match = _TEMP_NAME.fullmatch(name)
        if match is None:
            continue
        path = os.path.join(folder, name)
        with contextlib.suppress(OSError):
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
                continue
            pid = match.group(1)
            if pid is not None and (int(pid) == os.getpid() or _pid_alive(int(pid))):
                continue
            if pid is None and now - st.st_mtime < STALE_TEMP_SECONDS:
                continue
            os.unlink(path)
            removed.append(name)
    return removed


def temp_prefix() -> str:
    """The name start of this process's temp files: ``.layer-explorer-<pid>-``."""
    return f"{TEMP_PREFIX}{os.getpid()}-"


def _current_umask() -> int:
    """The process umask, read without changing it (os.umask would race other threads)."""
    status = Path("/proc/self/status")
    with contextlib.suppress(OSError, ValueError), status.open(encoding="ascii") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def _target_mode(dest: Path) -> int:
    """Keep an overwritten file's permissions; new files get 0666 minus the umask.

    Why: mkstemp creates 0600 files, which would silently make the image private.
    """
    with contextlib.suppress(OSError):
        return stat.S_IMODE(dest.stat().st_mode)
    return 0o666 & ~_current_umask()


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; some filesystems cannot, which is not an error."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_SYNC_FILE_RANGE_WRITE = 2


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing ``[offset, offset + length)`` to disk now.

    Linux ``sync_file_range(SYNC_FILE_RANGE_WRITE)``: no waiting and no durability promise
    (the fsync before the rename still gives that), but the disk works while the rest is
    copied and verified, so that fsync has less left to do.  A no-op where unavailable."""
    fn = _sync_file_range()
    if fn is not None and length > 0:
        fn(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def _fsync_and_verify(fd: int, tmp: Path, verify: Callable[[str], None] | None) -> None:
    """fsync ``fd``; with ``verify``, run it on the temp file meanwhile (the disk flush and
    the re-reading from the page cache overlap) and wait for both."""
    if verify is None:
        os.fsync(fd)
        return
    failure: list[OSError] = []

    def flush() -> None:
        try:
            os.fsync(fd)
        except OSError as exc:
            failure.append(exc)

    thread = threading.Thread(target=flush, name="fsync", daemon=True)
    thread.start()
    try:
        verify(str(tmp))
    finally:
        thread.join()
    if failure:
        raise failure[0]


@contextlib.contextmanager
def atomic_output(
    dest_path: StrPath,
    *,
    inputs: Sequence[StrPath] = (),
    expected_size: int = 0,
    verify: Callable[[str], None] | None = None,
) -> Iterator[BinaryIO]:
    """Yield a binary file whose content replaces ``dest_path`` only if the block succeeds.

    The temp file (``.layer-explorer-<pid>-*``) is created in the destination folder so the final
    ``os.replace`` is an atomic rename on one filesystem.  On any exception, including
    ``KeyboardInterrupt`` and ``Cancelled``, the temp file is deleted and ``dest_path`` is
    left as it was.  ``OSError`` (ENOSPC, EACCES, ...) becomes a ``CommitError``.
    ``expected_size`` > 0 checks free space before anything is written.  ``verify`` is called
    with the complete temp file's path (while it is fsynced) before the rename: raising there
    leaves nothing behind, like any other failure.  Stale temp files of killed earlier
    writes in that folder are removed first (:func:`remove_stale_temps`).

    Raises CommitError (input as output, a folder, no space, any OSError), and lets the
    block's own exceptions (Cancelled, ...) through after cleaning up.
    """
    dest = Path(dest_path).absolute()
    check_not_input(dest, inputs)
    if dest.is_dir():
        raise CommitError(f"Cannot write {dest}: it is a folder.")
    directory = dest.parent
    remove_stale_temps(directory)
    if expected_size > 0:
        try:
            free = shutil.disk_usage(directory).free
        except OSError as exc:
            raise CommitError(f"Cannot write to {directory}: {exc.strerror or exc}.") from exc
        if free < expected_size:
            raise CommitError(
                f"Not enough free space in {directory}: {expected_size} bytes are needed, "
                f"{free} are free."
            )
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(), suffix=".tmp", dir=directory)
    except OSError as exc:
        raise CommitError(f"Cannot write to {directory}: {exc.strerror or exc}.") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), _target_mode(dest))
            yield fh
            fh.flush()
            _fsync_and_verify(fh.fileno(), tmp, verify)
        tmp.replace(dest)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise CommitError(
                f"Writing {dest} failed: {exc.strerror or exc}. Nothing was written there.",
                detail=repr(exc),
            ) from exc
        raise
    _fsync_dir(directory)


def compress(data: bytes, kind: Compression) -> bytes:
    """Compress ``data`` reproducibly: the same input always gives the same bytes.

    Why: blob digests are content addresses, so a non-deterministic gzip header (mtime, file
    name) would make every save a "different" image.
    """
    if kind is Compression.NONE:
        return data
    if kind is Compression.GZIP:
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0,
                           compresslevel=GZIP_LEVEL) as gz:
            gz.write(data)
        return buf.getvalue()
    if kind is Compression.ZSTD:
        cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True)
        result: bytes = cctx.compress(data)
        return result
    raise ValueError(f"Layer Explorer does not write {kind.value} compression.")
