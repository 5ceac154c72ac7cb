"""Paths inside the image, as the sandbox accepts them from people and session files."""

from __future__ import annotations

from explorer.core.errors import SandboxError, UnsafePath
from explorer.core.fs import whiteout
from explorer.core.fs.entry import display_path
from explorer.core.limits import DEFAULT_LIMITS

NAME_MAX = 255

PathLike = bytes | str


def shown(path: bytes) -> str:
    """``usr/lib`` -> ``/usr/lib``: how a path of the image is written to people."""
    return "/" + display_path(path)


def image_path(path: PathLike, *, allow_root: bool = False) -> bytes:
    """``/usr//lib/`` -> ``usr/lib`` (the image root is ``b""``), or raise.

    Lenient about spelling (leading, doubled and trailing slashes, ``.``), strict about
    meaning: no ``..`` component at all (a sandbox path never climbs, even when it would
    stay inside), no NUL, no ``.wh.`` names (they are how layers spell deletions), no
    component longer than 255 bytes or path longer than PATH_MAX.
    """
    raw = path.encode("utf-8", "surrogateescape") if isinstance(path, str) else bytes(path)
    if b"\0" in raw:
        raise UnsafePath(f"The path {display_path(raw)!r} contains a NUL byte.")
    parts = [part for part in raw.split(b"/") if part not in (b"", b".")]
    clean = b"/".join(parts)
    if b".." in parts:
        raise UnsafePath(f"The path {display_path(raw)!r} contains '..': paths in the image are "
                         "written from its root, without climbing.")
    for part in parts:
        if part.startswith(whiteout.PREFIX):
            raise UnsafePath(f"{shown(clean)}: names starting with '.wh.' are reserved for "
                             "whiteouts (how layers record deletions) and cannot be used.")
        if len(part) > NAME_MAX:
            raise UnsafePath(f"{shown(clean)}: a name is longer than {NAME_MAX} bytes.")
    if len(clean) > DEFAULT_LIMITS.path_bytes:
        raise UnsafePath(f"{shown(clean)[:80]}...: the path is longer than "
                         f"{DEFAULT_LIMITS.path_bytes} bytes (path_bytes).")
    if not clean and not allow_root:
        raise SandboxError("The root folder of the image cannot be changed itself; choose a "
                           "path inside it.")
    return clean


def parent_of(path: bytes) -> bytes:
    return path.rpartition(b"/")[0]


def ancestors(path: bytes) -> list[bytes]:
    """Proper ancestors, top-down, without the root: ``a/b/c`` -> ``[a, a/b]``."""
    parts = path.split(b"/")
    return [b"/".join(parts[:i]) for i in range(1, len(parts))]


def is_under(path: bytes, top: bytes) -> bool:
    """``path`` is ``top`` or below it."""
    return path == top or path.startswith(top + b"/")
