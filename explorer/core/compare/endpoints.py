"""One side of a comparison: an image at a layer, merged or on its own."""

from __future__ import annotations

from dataclasses import dataclass

from explorer.core.fs.union import EMPTY, UnionTree, apply_layer
from explorer.core.inspection import Inspection


@dataclass(frozen=True, eq=False)
class Endpoint:
    """The filesystem at ``layer`` of an opened image (``None``: the top layer).

    By default the merged view (everything layers ``0..layer`` leave visible, what a
    container started from that layer sees); with ``only_layer`` just what that one layer's
    tar holds, so two layers' own contents can be compared (whiteouts and opaque markers are
    then compared apart, see ``compare.trees.MarkerChanges``)."""

    inspection: Inspection
    layer: int | None = None
    only_layer: bool = False

    @property
    def index(self) -> int:
        """The layer number, counted from 0 at the base (raises IndexError when absent)."""
        return self.inspection._layer(self.layer)

    @property
    def layer_count(self) -> int:
        return len(self.inspection.indexes)

    @property
    def name(self) -> str:
        """The image's first tag, or its index in the archive."""
        return self.inspection.image.ref.name

    @property
    def label(self) -> str:
        """``web:1.0 @ layer 3/6`` (``layer 3 only`` with ``only_layer``)."""
        where = f"layer {self.index} only" if self.only_layer else \
            f"layer {self.index}/{self.layer_count - 1}"
        return f"{self.name} @ {where}"

    def tree(self) -> UnionTree:
        """The tree this side shows (the layer's own entries with ``only_layer``)."""
        i = self.index
        if not self.only_layer:
            return self.inspection.merged(i)
        tree, _warnings = apply_layer(EMPTY, self.inspection.indexes[i], i)
        return tree

    def same_view(self, other: Endpoint) -> bool:
        """Whether both sides show the very same tree (a layer compared with itself)."""
        return (self.inspection is other.inspection and self.index == other.index
                and self.only_layer == other.only_layer)
