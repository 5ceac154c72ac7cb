"""Which layers the open images share, for the layer stacks' "shared with" labels.

Works from the images' configs alone (chain ids and blob sizes), so the labels can show as
soon as an image's config is read, before its layers are indexed.  Saved bytes count stored
blobs: N images sharing a layer store it once instead of N times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from explorer.core.compare.images import shared_prefix
from explorer.core.image.model import Image


@dataclass(frozen=True)
class SharedRun:
    """Layers ``0..layers-1`` of one image are the same as another open image's."""

    other: int
    """Position of the other image in the list given to ``shared_layers``."""
    other_name: str
    layers: int
    bytes: int
    """Blob bytes of those layers (this image's copy)."""

    @property
    def label(self) -> str:
        """``shared with web:1.0, layers 0-3`` (``layer 0`` for one)."""
        span = "layer 0" if self.layers == 1 else f"layers 0-{self.layers - 1}"
        return f"shared with {self.other_name}, {span}"


@dataclass(frozen=True)
class ImageSharing:
    name: str
    runs: tuple[SharedRun, ...]
    """One per other image sharing at least the base layer, longest first."""

    def shared_at(self, layer: int) -> tuple[SharedRun, ...]:
        """The runs covering ``layer`` (0-based from the base)."""
        return tuple(r for r in self.runs if layer < r.layers)

    def layer_label(self, layer: int) -> str:
        """``shared with web:1.0, db:2`` for a layer row; empty when not shared."""
        names = [r.other_name for r in self.shared_at(layer)]
        return f"shared with {', '.join(names)}" if names else ""

    @property
    def label(self) -> str:
        """One line for the image: its longest runs, e.g. ``shared with web:1.0, layers 0-3;
        shared with db:2, layer 0``."""
        return "; ".join(r.label for r in self.runs)


@dataclass(frozen=True)
class SharingReport:
    images: tuple[ImageSharing, ...]
    saved_bytes: int
    """Blob bytes not stored again: the size of every later copy of a layer (same chain id)
    in the order the images were given."""


def shared_layers(images: Sequence[tuple[str, Image]]) -> SharingReport:
    """Sharing among ``(name, image)`` pairs (the names are shown in the labels)."""
    out = []
    for i, (name, image) in enumerate(images):
        runs = []
        for j, (other_name, other) in enumerate(images):
            if i == j:
                continue
            n = shared_prefix(image.layers, other.layers)
            if n:
                runs.append(SharedRun(j, other_name, n,
                                      sum(layer.compressed_size for layer in image.layers[:n])))
        runs.sort(key=lambda r: (-r.layers, r.other))
        out.append(ImageSharing(name, tuple(runs)))
    seen: dict[str, int] = {}
    saved = 0
    for _name, image in images:
        for layer in image.layers:
            key = str(layer.chain_id)
            if key in seen:
                saved += layer.compressed_size
            seen[key] = seen.get(key, 0) + 1
    return SharingReport(tuple(out), saved)
