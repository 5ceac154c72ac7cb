"""One opened image with its layers indexed: what the CLI and the GUI both work from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from explorer.core.analysis.efficiency import Efficiency, analyze_efficiency
from explorer.core.analysis.indexing import index_layers, quick_gil_handoff
from explorer.core.collector import collector_paused
from explorer.core.fs.diff import DiffKind, DiffNode, LayerContext, diff_trees
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.layer_reader import DeferredCheck
from explorer.core.fs.sizes import DirSizes
from explorer.core.fs.union import UnionStack, UnionTree
from explorer.core.image.loader import Archive, open_archive
from explorer.core.image.model import Image
from explorer.core.limits import DEFAULT_LIMITS, Limits
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress

if TYPE_CHECKING:
    from explorer.core.analysis.index_cache import LayerIndexCache


@dataclass
class Inspection:
    """An image with its layers indexed; merged trees, changes and the analysis are
    computed when first asked for and kept while the image is open."""

    archive: Archive
    image: Image
    indexes: list[LayerIndex]
    stack: UnionStack
    _efficiency: Efficiency | None = field(default=None, repr=False)
    dir_sizes: DirSizes = field(default_factory=DirSizes, repr=False)
    """dive's directory sizes, memoised on the union nodes for as long as the image is open."""
    analysis_cache: LayerIndexCache | None = field(default=None, repr=False)
    """Where the efficiency analysis is kept between opens; only for verified layers."""

    @property
    def efficiency(self) -> Efficiency:
        """Computed once, with the cyclic collector paused: the analysis makes a few hundred
        thousand small containers on a big image, and with the image's millions of objects
        alive the collector's passes took a third of its time."""
        if self._efficiency is None:
            cache = self.analysis_cache
            found = cache.efficiency(self.indexes) if cache is not None else None
            if found is None:
                top = self.stack.top  # (built with the collector paused too)
                with collector_paused():
                    found = analyze_efficiency(self.indexes, top)
                if cache is not None:
                    cache.keep_efficiency(self.indexes, found)
            self._efficiency = found
        return self._efficiency

    @property
    def warnings(self) -> list[str]:
        """Everything noticed, the union's own findings included (so it builds the top)."""
        self.stack.top  # noqa: B018 - applying the layers is what finds some of them
        seen: dict[str, None] = {}
        for w in [*self.archive.warnings, *self.image.warnings,
                  *(w for ix in self.indexes for w in ix.warnings), *self.stack.warnings]:
            seen.setdefault(w, None)
        return list(seen)

    def merged(self, layer: int | None = None) -> UnionTree:
        return self.stack.at(self._layer(layer))

    def layer_changes(self, layer: int) -> DiffNode:
        """Changes layer ``layer`` makes to everything below it (dive's layer mode)."""
        i = self._layer(layer)
        ix = self.indexes[i]
        context = LayerContext(frozenset(ix.whiteouts), frozenset(ix.opaque_dirs))
        return diff_trees(self.stack.at(i - 1), self.stack.at(i), context=context)

    def aggregated_changes(self, layer: int) -> DiffNode:
        """Layers 1..layer against the base layer (dive's aggregated mode)."""
        i = self._layer(layer)
        return diff_trees(self.stack.at(0) if i > 0 else self.stack.at(-1), self.stack.at(i))

    def path_history(self, path: bytes) -> list[tuple[int, DiffKind]]:
        """Every layer that added, changed, rewrote unchanged or removed ``path`` (bottom-up)."""
        out = []
        below = self.stack.at(-1).get(path)
        for i in range(len(self.indexes)):
            here = self.stack.at(i).get(path)
            if here is not below:
                if below is None:
                    out.append((i, DiffKind.ADDED))
                elif here is None:
                    out.append((i, DiffKind.REMOVED))
                elif not here.entry.same_content(below.entry):
                    out.append((i, DiffKind.MODIFIED))
                elif here.layer == i:
                    out.append((i, DiffKind.UNCHANGED))  # written again, same content
            below = here
        return out

    def _layer(self, layer: int | None) -> int:
        n = len(self.indexes)
        if layer is None:
            return n - 1
        if layer < 0:
            layer += n
        if not 0 <= layer < n:
            raise IndexError(f"Layer {layer} does not exist: the image has {n} layers (0-{n - 1}).")
        return layer

    def close(self) -> None:
        self.archive.close()

    def __enter__(self) -> Inspection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def inspect_path(
    path: str,
    selector: str | None = None,
    *,
    verify: bool = True,
    limits: Limits = DEFAULT_LIMITS,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    cache: LayerIndexCache | None = None,
) -> Inspection:
    """Open ``path``, pick an image, index its layers (raises ExplorerError subclasses).

    ``cache`` shares layer indexes between images opened one after the other."""
    archive = open_archive(path, limits=limits, progress=progress, cancel=cancel)
    checks: list[DeferredCheck] = []
    try:
        image = archive.load(archive.select(selector))
        indexes = index_layers(archive, image, verify=verify, progress=progress, cancel=cancel,
                               cache=cache, deferred=checks)
        inspection = Inspection(archive, image, indexes, UnionStack(indexes))
        if any(check.pending for check in checks):
            # The sha256 of a big uncompressed layer is still running on its own thread:
            # use the wait for the analysis nearly every caller wants next (with quick GIL
            # hand-offs, or the hashing thread waits 5 ms for the GIL after every chunk).
            with quick_gil_handoff():
                inspection.efficiency  # noqa: B018
        while checks:
            checks.pop(0).check()
        if verify and cache is not None:  # only now: every digest has been checked
            inspection.analysis_cache = cache
            if inspection._efficiency is not None:
                cache.keep_efficiency(indexes, inspection._efficiency)
    except BaseException:
        for check in checks:
            check.abort()
        archive.close()
        raise
    return inspection
