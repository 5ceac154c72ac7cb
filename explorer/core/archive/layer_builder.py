"""Build layer tars that every engine reads the same way (FORMATS.md §3.3, BAD-INPUT.md E3).

Why a builder and not ``TarFile.add``: the output must be byte-for-byte reproducible (the
diff_id is its sha256) and must never be a bad input for someone else.  So: PAX headers with
integer mtimes and no global header, uid/gid as given with empty uname/gname (no host user
leaks), one entry per path, entries sorted, names checked (no absolute path, no ``..``, no
``.wh.`` file names, no whiteout of a path the same layer adds).  The archive ends with the
two zero blocks and nothing else, like Go's ``archive/tar``, so an empty layer is the
well-known 1024-byte empty tar.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from explorer.core.errors import CommitError
from explorer.core.fs import whiteout
from explorer.core.tasks import NEVER_CANCELLED, CancelToken

BLOCK = tarfile.BLOCKSIZE
END_OF_ARCHIVE = b"\0" * (2 * BLOCK)
WHITEOUT_MODE = 0o644
CHUNK = 1 << 20
XATTR_PREFIX = "SCHILY.xattr."

PathLike = bytes | str
Xattrs = Sequence[tuple[bytes, bytes]]
Opener = Callable[[], BinaryIO]
"""Opens a fresh stream of a member's content (read from its start, closed by the caller)."""


def _as_bytes(path: PathLike) -> bytes:
    return path.encode("utf-8") if isinstance(path, str) else bytes(path)


def _as_tar_str(path: bytes) -> str:
    """tarfile wants str; surrogateescape round-trips names that are not UTF-8."""
    return path.decode("utf-8", "surrogateescape")


def check_layer_path(path: PathLike, *, what: str = "path") -> bytes:
    """Return ``path`` as bytes if it is a clean relative layer path, else raise ValueError.

    Clean means: not empty, not absolute, no empty, ``.`` or ``..`` component, no NUL.
    Why strict (rather than normalising): a writer that silently rewrote names could put a
    file somewhere the user did not ask for.
    """
    raw = _as_bytes(path)
    shown = raw.decode("utf-8", "backslashreplace")
    if not raw:
        raise ValueError(f"Empty {what}.")
    if b"\0" in raw:
        raise ValueError(f"{what} {shown!r} contains a NUL byte.")
    if raw.startswith(b"/"):
        raise ValueError(f"{what} {shown!r} is absolute; layer paths are relative to the root.")
    for part in raw.split(b"/"):
        if part == b"..":
            raise ValueError(f"{what} {shown!r} contains '..'.")
        if part in (b"", b"."):
            raise ValueError(f"{what} {shown!r} is not normalised (empty or '.' component).")
    return raw


def write_member(fh: BinaryIO, info: tarfile.TarInfo, data: bytes = b"") -> int:
    """Write one tar member (header, data, padding) as PAX; returns the bytes written."""
    header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    fh.write(header)
    written = len(header)
    if data:
        fh.write(data)
        pad = -len(data) % BLOCK
        fh.write(b"\0" * pad)
        written += len(data) + pad
    return written


def write_streamed_member(fh: BinaryIO, info: tarfile.TarInfo, opener: Opener, *,
                          cancel: CancelToken = NEVER_CANCELLED) -> int:
    """Write one regular-file member whose ``info.size`` bytes come from ``opener``, copied
    in bounded chunks; raises CommitError when the stream ends early."""
    header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    fh.write(header)
    remaining = info.size
    with opener() as src:
        while remaining > 0:
            cancel.check()
            chunk = src.read(min(CHUNK, remaining))
            if not chunk:
                raise CommitError(
                    f"{info.name!r} ended {remaining} bytes early while it was written into "
                    "the layer: it changed after it was chosen."
                )
            fh.write(chunk)
            remaining -= len(chunk)
    pad = -info.size % BLOCK
    fh.write(b"\0" * pad)
    return len(header) + info.size + pad


def _xattr_records(xattrs: Xattrs) -> dict[str, str]:
    """PAX ``SCHILY.xattr.<name>`` records (what Go's archive/tar and libarchive read)."""
    records = {}
    for name, value in xattrs:
        try:
            key = XATTR_PREFIX + name.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"The xattr name {name!r} is not UTF-8; PAX cannot record it.")\
                from None
        if not name or "=" in key or "\0" in key:
            raise ValueError(f"Invalid xattr name {name!r}.")
        records[key] = value.decode("utf-8", "surrogateescape")
    return records


def make_info(
    name: bytes,
    kind: bytes,
    *,
    mode: int,
    uid: int = 0,
    gid: int = 0,
    mtime: int = 0,
    size: int = 0,
    linkname: bytes = b"",
    xattrs: Xattrs = (),
) -> tarfile.TarInfo:
    """A TarInfo with only the fields we mean: integer mtime, empty uname/gname, xattrs as
    sorted PAX records."""
    for value, label in ((uid, "uid"), (gid, "gid"), (mtime, "mtime"), (mode, "mode")):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{label} must be a non-negative integer, not {value!r}.")
    info = tarfile.TarInfo(_as_tar_str(name))
    info.type = kind
    info.mode = mode & 0o7777
    info.uid = uid
    info.gid = gid
    info.uname = ""
    info.gname = ""
    info.mtime = int(mtime)
    info.size = size
    info.linkname = _as_tar_str(linkname)
    if xattrs:
        info.pax_headers = _xattr_records(sorted(xattrs))
    return info


@dataclass(frozen=True, slots=True)
class _Member:
    path: bytes
    info: tarfile.TarInfo
    data: bytes
    marker: whiteout.Marker
    link: bytes = b""
    opener: Opener | None = None


def _sort_key(path: bytes) -> tuple[bytes, ...]:
    """Component-wise byte order, with an opaque marker first among its directory's children.

    Why: a directory's header then precedes everything inside it, and containerd's applier
    (which clears only children "not yet unpacked in this layer") sees ``.wh..wh..opq``
    before any new child, even one named ``-x`` that sorts before ``.`` in plain byte order.
    """
    return tuple(b"" if part == whiteout.OPAQUE else part for part in path.split(b"/"))


class LayerTarBuilder:
    """Collect the entries of one layer, then write them as a deterministic tar."""

    def __init__(self) -> None:
        self._members: dict[bytes, _Member] = {}

    def __len__(self) -> int:
        return len(self._members)

    def _add(self, path: bytes, info: tarfile.TarInfo, data: bytes = b"",
             marker: whiteout.Marker = whiteout.Marker.NONE, link: bytes = b"", *,
             opener: Opener | None = None) -> None:
        if path in self._members:
            raise ValueError(
                f"Duplicate layer path {path.decode('utf-8', 'backslashreplace')!r}: a layer "
                "holds each path once."
            )
        self._members[path] = _Member(path, info, data, marker, link, opener)

    def _plain(self, path: PathLike) -> bytes:
        raw = check_layer_path(path)
        if any(part.startswith(whiteout.PREFIX) for part in raw.split(b"/")):
            raise ValueError(
                f"{raw.decode('utf-8', 'backslashreplace')!r} uses a '.wh.' name, which is "
                "reserved for whiteouts; use add_whiteout/add_opaque."
            )
        return raw

    def add_dir(self, path: PathLike, *, mode: int = 0o755, uid: int = 0, gid: int = 0,
                mtime: int = 0, xattrs: Xattrs = ()) -> None:
        p = self._plain(path)
        self._add(p, make_info(p, tarfile.DIRTYPE, mode=mode, uid=uid, gid=gid, mtime=mtime,
                               xattrs=xattrs))

    def add_file(self, path: PathLike, data: bytes, *, mode: int = 0o644, uid: int = 0,
                 gid: int = 0, mtime: int = 0, xattrs: Xattrs = ()) -> None:
        p = self._plain(path)
        info = make_info(p, tarfile.REGTYPE, mode=mode, uid=uid, gid=gid, mtime=mtime,
                         size=len(data), xattrs=xattrs)
        self._add(p, info, bytes(data))

    def add_file_from(self, path: PathLike, size: int, opener: Opener, *, mode: int = 0o644,
                      uid: int = 0, gid: int = 0, mtime: int = 0, xattrs: Xattrs = ()) -> None:
        """A regular file of ``size`` bytes streamed from ``opener`` when the layer is
        written (never held in memory); the stream must give at least ``size`` bytes."""
        p = self._plain(path)
        if not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be a non-negative integer, not {size!r}.")
        info = make_info(p, tarfile.REGTYPE, mode=mode, uid=uid, gid=gid, mtime=mtime,
                         size=size, xattrs=xattrs)
        self._add(p, info, opener=opener)

    def add_symlink(self, path: PathLike, target: PathLike, *, uid: int = 0, gid: int = 0,
                    mtime: int = 0, mode: int = 0o777, xattrs: Xattrs = ()) -> None:
        """``target`` is stored as given (relative or absolute), as ``ln -s`` would."""
        p = self._plain(path)
        link = _as_bytes(target)
        if not link or b"\0" in link:
            raise ValueError(f"Symlink {p!r} needs a non-empty target without NUL bytes.")
        self._add(p, make_info(p, tarfile.SYMTYPE, mode=mode, uid=uid, gid=gid, mtime=mtime,
                               linkname=link, xattrs=xattrs))

    def add_hardlink(self, path: PathLike, target: PathLike, *, mode: int = 0o644, uid: int = 0,
                     gid: int = 0, mtime: int = 0) -> None:
        """``target`` is a path in the image (not relative to ``path``), added to this layer."""
        p = self._plain(path)
        link = check_layer_path(target, what="hardlink target")
        self._add(p, make_info(p, tarfile.LNKTYPE, mode=mode, uid=uid, gid=gid, mtime=mtime,
                               linkname=link), link=link)

    def add_fifo(self, path: PathLike, *, mode: int = 0o644, uid: int = 0, gid: int = 0,
                 mtime: int = 0) -> None:
        p = self._plain(path)
        self._add(p, make_info(p, tarfile.FIFOTYPE, mode=mode, uid=uid, gid=gid, mtime=mtime))

    def add_whiteout(self, path: PathLike, *, mtime: int = 0) -> None:
        """Delete ``path`` (file or whole directory) from the layers below."""
        p = self._plain(path)
        name = whiteout.whiteout_name(p)
        marker, _target = whiteout.classify(name)  # refuses .wh. / .wh.. / .wh...
        self._add(name, make_info(name, tarfile.REGTYPE, mode=WHITEOUT_MODE, mtime=mtime),
                  marker=marker)

    def add_opaque(self, directory: PathLike, *, mtime: int = 0) -> None:
        """Hide everything the layers below have in ``directory`` (b"" / "" is the root)."""
        d = b"" if directory in (b"", "") else self._plain(directory)
        name = whiteout.opaque_name(d)
        self._add(name, make_info(name, tarfile.REGTYPE, mode=WHITEOUT_MODE, mtime=mtime),
                  marker=whiteout.Marker.OPAQUE)

    def _ordered(self) -> list[_Member]:
        members = sorted(self._members.values(), key=lambda m: _sort_key(m.path))
        self._check(members)
        return members

    def _check(self, members: list[_Member]) -> None:
        """Refuse layers that engines would apply differently (FORMATS.md §3.2, §3.4)."""
        added: set[bytes] = set()
        for m in members:
            if m.marker is whiteout.Marker.NONE:
                parts = m.path.split(b"/")
                added.update(b"/".join(parts[:i]) for i in range(1, len(parts) + 1))
        position = {m.path: i for i, m in enumerate(members)}
        for i, m in enumerate(members):
            if m.marker is whiteout.Marker.WHITEOUT:
                _kind, target = whiteout.classify(m.path)
                if target in added:
                    raise ValueError(
                        f"The layer both adds and whites out "
                        f"{target.decode('utf-8', 'backslashreplace')!r}; the spec keeps the "
                        "file but containerd deletes it, so this is refused."
                    )
            elif m.info.type == tarfile.LNKTYPE:
                link = m.link
                target_member = self._members.get(link)
                if target_member is None or target_member.info.type != tarfile.REGTYPE \
                        or target_member.marker is not whiteout.Marker.NONE:
                    raise ValueError(
                        f"Hardlink {m.path!r} must point to a regular file of the same layer, "
                        f"not {link!r}."
                    )
                if position[link] > i:
                    raise ValueError(
                        f"Hardlink {m.path!r} sorts before its target {link!r}; readers need "
                        "the target first. Swap the two names."
                    )

    def write_to(self, fh: BinaryIO, *, cancel: CancelToken = NEVER_CANCELLED) -> int:
        """Write the layer tar to ``fh``; returns its size in bytes."""
        written = 0
        for m in self._ordered():
            cancel.check()
            if m.opener is not None:
                written += write_streamed_member(fh, m.info, m.opener, cancel=cancel)
            else:
                written += write_member(fh, m.info, m.data)
        fh.write(END_OF_ARCHIVE)
        return written + len(END_OF_ARCHIVE)

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.write_to(buf)
        return buf.getvalue()
