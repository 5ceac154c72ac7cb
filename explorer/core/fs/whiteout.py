"""The only module that knows how whiteouts are spelled (OCI image-spec layer.md).

``.wh.<name>`` deletes ``<name>`` from lower layers; ``<dir>/.wh..wh..opq`` hides everything
lower layers had in ``<dir>``.  Neither is a file.  Other ``.wh..wh.`` names are AUFS metadata.
"""

from __future__ import annotations

import enum

from explorer.core.errors import FormatError

PREFIX = b".wh."
OPAQUE = b".wh..wh..opq"
META_PREFIX = b".wh..wh."


class Marker(enum.Enum):
    NONE = "none"
    WHITEOUT = "whiteout"
    OPAQUE = "opaque"
    META = "meta"


def classify(path: bytes) -> tuple[Marker, bytes]:
    """Return what a layer path means, and the path it acts on.

    ``(NONE, path)`` for ordinary entries, ``(WHITEOUT, deleted_path)``,
    ``(OPAQUE, directory)`` (``b""`` is the root), ``(META, path)`` for names to ignore.
    Raises FormatError for whiteouts the spec calls invalid (``.wh.``, ``.wh..``, ``.wh...``).
    """
    parent, _, base = path.rpartition(b"/")
    if not base.startswith(PREFIX):
        return Marker.NONE, path
    if base == OPAQUE:
        return Marker.OPAQUE, parent
    if base.startswith(META_PREFIX):
        return Marker.META, path
    target = base[len(PREFIX):]
    if target in (b"", b".", b".."):
        raise FormatError(
            f"Invalid whiteout {path.decode('utf-8', 'backslashreplace')!r}: it names no file "
            "(or the directory itself); the layer is refused."
        )
    return Marker.WHITEOUT, (parent + b"/" + target if parent else target)


def has_whiteout_component(path: bytes) -> bool:
    """A ``.wh.`` name used as a directory (illegal, but engines create it as a real dir)."""
    return any(part.startswith(PREFIX) for part in path.split(b"/")[:-1])


def whiteout_name(path: bytes) -> bytes:
    """The tar name that deletes ``path`` (used by the commit writer)."""
    parent, _, base = path.rpartition(b"/")
    return (parent + b"/" if parent else b"") + PREFIX + base


def opaque_name(directory: bytes) -> bytes:
    return (directory + b"/" if directory else b"") + OPAQUE
