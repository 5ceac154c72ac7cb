"""Layer indexes shared between the images a session opens.

Images built from the same base carry the same layers; reading and hashing a layer costs as
much as its bytes, so a second image reuses what the first one indexed instead of reading
it again (as ``docker load`` skips layers it already has).  An index is reused only when
its bytes are provably the same blob: same diff_id and the same stored blob (same blob
digest, or a same-size uncompressed blob, whose digest *is* the diff_id), so every
``data_offset`` in it stays valid for the new archive.  The reused copy is not read again:
its digests were verified when the first copy was read.

The cache also keeps each image's efficiency analysis, keyed by its layers' diff_ids: the
analysis depends on nothing but the layers' contents, which the diff_ids name.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from explorer.core.analysis.efficiency import Efficiency
from explorer.core.archive.compression import SNIFF_BYTES, Compression, sniff
from explorer.core.archive.source import Source
from explorer.core.errors import ExplorerError
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.image.model import LayerInfo

MEMORY_ANALYSES = 64
"""Analyses kept in memory (an inefficient-files list can be a hundred thousand paths)."""


@dataclass(frozen=True)
class _Cached:
    """An index and whether its digests were verified when it was read."""

    index: LayerIndex
    verified: bool


class LayerIndexCache:
    """Thread-safe map diff_id -> the most complete LayerIndex read so far."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_diff_id: dict[str, _Cached] = {}
        self.hits = 0
        """How many layers were served from the cache (for tests and the status bar)."""
        self._efficiency: dict[tuple[str, ...], Efficiency] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_diff_id)

    def get(self, source: Source, layer: LayerInfo, *, verify: bool) -> LayerIndex | None:
        """The cached index of ``layer`` when its blob in ``source`` is the one indexed.

        With ``verify``, only indexes whose digests were verified are reused."""
        with self._lock:
            cached = self._by_diff_id.get(str(layer.diff_id))
        if cached is None or (verify and not cached.verified):
            return None
        if not _same_blob(source, layer, cached.index):
            return None
        with self._lock:
            self.hits += 1
        return cached.index

    def put(self, index: LayerIndex, *, verified: bool) -> None:
        """Remember ``index``; a version with more content digests replaces an older one."""
        key = str(index.diff_id)
        with self._lock:
            old = self._by_diff_id.get(key)
            if old is not None and old.index is index and (old.verified or not verified):
                return  # handed back what it served (counting digests is a pass over it)
            if old is None or (verified and not old.verified) or (
                verified == old.verified and _digests(index) > _digests(old.index)
            ):
                self._by_diff_id[key] = _Cached(index, verified)

    def put_for(self, source: Source, layer: LayerInfo, index: LayerIndex, *,
                verified: bool) -> None:
        """``put``, told where the blob came from (a disk-backed cache keys on it)."""
        del source, layer
        self.put(index, verified=verified)

    def efficiency(self, indexes: list[LayerIndex]) -> Efficiency | None:
        """The analysis of an image with these (verified) layers, if one was kept."""
        with self._lock:
            return self._efficiency.get(_chain(indexes))

    def keep_efficiency(self, indexes: list[LayerIndex], efficiency: Efficiency) -> None:
        """Remember the analysis of verified layers (an unverified layer's content may not be
        what its diff_id names, so its analysis must not be kept under that name)."""
        with self._lock:
            if len(self._efficiency) >= MEMORY_ANALYSES:
                del self._efficiency[next(iter(self._efficiency))]  # the oldest
            self._efficiency[_chain(indexes)] = efficiency

    def forget(self, diff_id: str) -> None:
        with self._lock:
            self._by_diff_id.pop(diff_id, None)

    def clear(self) -> None:
        with self._lock:
            self._by_diff_id.clear()
            self._efficiency.clear()


def _chain(indexes: list[LayerIndex]) -> tuple[str, ...]:
    return tuple(str(ix.diff_id) for ix in indexes)


def _digests(index: LayerIndex) -> int:
    return sum(1 for e in index.entries if e.digest is not None)


def _same_blob(source: Source, layer: LayerInfo, index: LayerIndex) -> bool:
    if index.diff_id != layer.diff_id:
        return False
    try:
        entry = source.entry(layer.blob_name, what=f"layer {layer.index} blob")
    except (ExplorerError, OSError):
        return False  # a missing blob: the real read reports it
    if entry.size != index.blob_size:
        return False
    if layer.digest is not None:
        return layer.digest == index.blob_digest
    # Legacy saves name no blob digest: reuse only a plain tar (its digest is the diff_id).
    if index.compression is not Compression.NONE:
        return False
    try:
        with source.open(entry.name) as window:
            return sniff(window.read(SNIFF_BYTES)) is Compression.NONE
    except OSError:
        return False
