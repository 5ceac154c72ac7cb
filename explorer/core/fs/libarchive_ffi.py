"""Direct ctypes bindings to the libarchive calls the layer reader needs.

We bind our own prototypes (not libarchive-c's) so warnings are returned to us (not logged)
and so we can read xattrs and raw byte paths, which libarchive-c does not expose.  The
library is the one libarchive-c would load (see ``_library``).
"""

from __future__ import annotations

import ctypes
import functools
import os
import struct
from collections.abc import Callable
from ctypes import POINTER, c_char_p, c_int, c_int64, c_longlong, c_size_t, c_ssize_t, c_uint
from ctypes import c_void_p as _p
from typing import Any

SONAME = "libarchive.so.13"
"""libarchive's soname since 3.0, what ``ctypes.util.find_library("archive")`` answers on
Linux."""


def _library() -> str:
    """The library libarchive-c would load: ``LIBARCHIVE`` when set, else (on Linux) the
    loader's ``libarchive.so.13``, else libarchive-c's own search.  Importing libarchive-c
    just for this cost 25 ms at start-up: it binds its ~150 functions and runs
    ``ldconfig -p`` in a subprocess to be told the soname."""
    path = os.environ.get("LIBARCHIVE")
    if path:
        return path
    try:
        ctypes.CDLL(SONAME)
    except OSError:
        from libarchive import ffi  # other systems: libarchive-c's search

        return str(ffi.libarchive_path)
    return SONAME


libarchive_path = _library()
lib = ctypes.CDLL(libarchive_path)
_quick = ctypes.PyDLL(libarchive_path)
"""The same library for calls that only read a struct field: these keep the GIL, because
releasing and re-taking it costs more than the call, and with a hashing thread waiting for
the GIL every release turns into a thread switch."""

ARCHIVE_EOF = 1
ARCHIVE_OK = 0
ARCHIVE_RETRY = -10
ARCHIVE_WARN = -20
ARCHIVE_FAILED = -25
ARCHIVE_FATAL = -30

READ_CALLBACK = ctypes.CFUNCTYPE(c_ssize_t, _p, _p, POINTER(_p))
OPEN_CALLBACK = ctypes.CFUNCTYPE(c_int, _p, _p)
CLOSE_CALLBACK = ctypes.CFUNCTYPE(c_int, _p, _p)
SKIP_CALLBACK = ctypes.CFUNCTYPE(c_int64, _p, _p, c_int64)

# Null callbacks: libarchive treats a NULL open/close/skip as "nothing to do".
NO_OPEN = ctypes.cast(ctypes.c_void_p(), OPEN_CALLBACK)
NO_CLOSE = ctypes.cast(ctypes.c_void_p(), CLOSE_CALLBACK)
NO_SKIP = ctypes.cast(ctypes.c_void_p(), SKIP_CALLBACK)


def _bind(name: str, argtypes: list[Any], restype: Any, *, quick: bool = False) -> Any:
    f = getattr(_quick if quick else lib, "archive_" + name)
    f.argtypes = argtypes
    f.restype = restype
    return f


read_new = _bind("read_new", [], _p)
read_free = _bind("read_free", [_p], c_int)
read_open = _bind("read_open", [_p, _p, OPEN_CALLBACK, READ_CALLBACK, CLOSE_CALLBACK], c_int)
read_open2 = _bind(
    "read_open2", [_p, _p, OPEN_CALLBACK, READ_CALLBACK, SKIP_CALLBACK, CLOSE_CALLBACK], c_int
)
filter_bytes = _bind("filter_bytes", [_p, c_int], c_int64, quick=True)
read_header_position = _bind("read_header_position", [_p], c_int64, quick=True)
read_next_header2 = _bind("read_next_header2", [_p, _p], c_int, quick=True)
read_data = _bind("read_data", [_p, _p, c_size_t], c_ssize_t)
read_data_skip = _bind("read_data_skip", [_p], c_int)
error_string = _bind("error_string", [_p], c_char_p)
support_format_tar = _bind("read_support_format_tar", [_p], c_int)
support_format_raw = _bind("read_support_format_raw", [_p], c_int)
support_filter = {
    name: _bind(f"read_support_filter_{name}", [_p], c_int)
    for name in ("none", "gzip", "zstd", "bzip2", "xz")
}
filter_code = _bind("filter_code", [_p, c_int], c_int)
filter_count = _bind("filter_count", [_p], c_int)

entry_new = _bind("entry_new", [], _p)
entry_free = _bind("entry_free", [_p], None)
entry_pathname = _bind("entry_pathname", [_p], c_char_p, quick=True)
entry_pathname_utf8 = _bind("entry_pathname_utf8", [_p], c_char_p, quick=True)
entry_filetype = _bind("entry_filetype", [_p], c_uint, quick=True)
entry_perm = _bind("entry_perm", [_p], c_uint, quick=True)
entry_mode = _bind("entry_mode", [_p], c_uint, quick=True)
entry_uid = _bind("entry_uid", [_p], c_int64, quick=True)
entry_gid = _bind("entry_gid", [_p], c_int64, quick=True)
entry_size = _bind("entry_size", [_p], c_int64, quick=True)
entry_mtime = _bind("entry_mtime", [_p], c_int64, quick=True)
entry_symlink = _bind("entry_symlink", [_p], c_char_p, quick=True)
entry_hardlink = _bind("entry_hardlink", [_p], c_char_p, quick=True)
entry_rdevmajor = _bind("entry_rdevmajor", [_p], c_uint, quick=True)
entry_rdevminor = _bind("entry_rdevminor", [_p], c_uint, quick=True)
entry_xattr_count = _bind("entry_xattr_count", [_p], c_int, quick=True)
entry_xattr_reset = _bind("entry_xattr_reset", [_p], c_int, quick=True)
entry_xattr_next = _bind(
    "entry_xattr_next", [_p, POINTER(c_char_p), POINTER(_p), POINTER(c_size_t)], c_int
)
entry_sparse_count = _bind("entry_sparse_count", [_p], c_int, quick=True)
entry_set_mtime = _bind("entry_set_mtime", [_p, c_int64, ctypes.c_long], None)
entry_set_uid = _bind("entry_set_uid", [_p, c_int64], None)
entry_set_gid = _bind("entry_set_gid", [_p, c_int64], None)
entry_set_size = _bind("entry_set_size", [_p, c_int64], None)

__all__ = ["c_longlong"]


class _EntryHead(ctypes.Structure):
    """The start of libarchive's private ``struct archive_entry`` (archive_entry_private.h,
    as in 3.5 and 3.6): fields the getters return as stored.  Private, so it is checked
    at import (``_memory_layout_is_ours``) before it is used."""

    _fields_ = [("archive", _p), ("stat", _p), ("stat_valid", c_int),
                ("atime", c_int64), ("atime_nsec", c_uint), ("ctime", c_int64),
                ("ctime_nsec", c_uint), ("mtime", c_int64), ("mtime_nsec", c_uint),
                ("birthtime", c_int64), ("birthtime_nsec", c_uint), ("gid", c_int64),
                ("ino", c_int64), ("nlink", c_uint), ("size", c_int64), ("uid", c_int64)]


_NUMBERS = ("mtime", "gid", "size", "uid")
Numbers = Callable[[], tuple[int, ...]]
"""Reads ``(mtime, gid, size, uid)`` of the entry it was made for, as the getters return them."""
_OFFSETS = [getattr(_EntryHead, name).offset for name in _NUMBERS]
_NUMBERS_LAYOUT = struct.Struct("=" + "".join(
    f"{offset - end}xq" for offset, end in zip(_OFFSETS, [0] + [o + 8 for o in _OFFSETS[:-1]],
                                              strict=True)))


def _numbers_from_getters(entry_p: int) -> Numbers:
    """The public getters: one ctypes call (0.4 µs) each."""

    def numbers() -> tuple[int, ...]:
        return (entry_mtime(entry_p), entry_gid(entry_p), entry_size(entry_p),
                entry_uid(entry_p))

    return numbers


def _numbers_from_memory(entry_p: int) -> Numbers:
    """One ``struct.unpack_from`` over the entry's own memory (0.3 µs for all four): an
    archive reads every header into the same entry, so the fields stay where they are.
    Only for as long as the entry is not freed."""
    head = (ctypes.c_char * ctypes.sizeof(_EntryHead)).from_address(entry_p)
    return functools.partial(_NUMBERS_LAYOUT.unpack_from, memoryview(head))


def _memory_layout_is_ours() -> bool:
    """Whether this libarchive keeps the fields where ``_EntryHead`` says: checked on a
    scratch entry with distinct 64-bit values, so another layout falls back to the getters."""
    want = (0x0123_4567_89AB, 0x0234_5678_9ABC, 0x0345_6789_ABCD, 0x0456_789A_BCDE)
    entry_p = entry_new()
    try:
        entry_set_mtime(entry_p, want[0], 0)
        entry_set_gid(entry_p, want[1])
        entry_set_size(entry_p, want[2])
        entry_set_uid(entry_p, want[3])
        return (_numbers_from_getters(entry_p)() == want
                and _numbers_from_memory(entry_p)() == want)
    finally:
        entry_free(entry_p)


numbers_reader: Callable[[int], Numbers] = (
    _numbers_from_memory if _memory_layout_is_ours() else _numbers_from_getters)
"""``numbers_reader(entry_p)()`` -> ``(mtime, gid, size, uid)``, the fastest way that is right."""


def error_text(archive_p: int | None) -> str:
    msg = error_string(archive_p)
    return msg.decode("utf-8", "replace") if msg else "unknown libarchive error"


def xattrs(entry_p: int) -> tuple[tuple[bytes, bytes], ...]:
    count = entry_xattr_reset(entry_p)
    if count <= 0:
        return ()
    name = c_char_p()
    value = _p()
    size = c_size_t()
    out = []
    while entry_xattr_next(entry_p, ctypes.byref(name), ctypes.byref(value),
                           ctypes.byref(size)) == ARCHIVE_OK:
        data = ctypes.string_at(value.value, size.value) if value.value else b""
        out.append((name.value or b"", data))
    return tuple(sorted(out))
