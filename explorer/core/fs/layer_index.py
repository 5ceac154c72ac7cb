"""What one layer holds, as read from its tar: entries, whiteouts, opaque directories."""

from __future__ import annotations

from dataclasses import dataclass

from explorer.core.archive.compression import Compression
from explorer.core.digest import Digest
from explorer.core.fs.entry import FileEntry


@dataclass(frozen=True)
class LayerIndex:
    """The exact contents of one layer tar (whiteouts interpreted, never listed as files)."""

    entries: tuple[FileEntry, ...]
    """Real entries in tar order, one per path (the last of duplicates)."""
    whiteouts: tuple[bytes, ...]
    """Paths this layer deletes from the layers below."""
    opaque_dirs: tuple[bytes, ...]
    """Directories whose lower contents this layer hides (``b""`` is the root)."""
    warnings: tuple[str, ...]
    blob_digest: Digest
    blob_size: int
    diff_id: Digest
    tar_size: int
    compression: Compression
    whiteout_sizes: int = 0
    """Sum of the (normally zero) data sizes of whiteout files."""
    header_sizes: int = 0
    """Sum of the size fields of every tar header, duplicates and markers included.

    This is the layer size dive reports (and ``docker history`` approximates)."""

    @property
    def size(self) -> int:
        """The layer's size as dive and our tables report it."""
        return self.header_sizes

    @property
    def file_count(self) -> int:
        return len(self.entries)
