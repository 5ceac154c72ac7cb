"""One opened archive in the GUI: open -> (choose an image) -> image ready -> indexed.

Each step is a job; the window listens to the signals.  The layer stack can be shown as soon
as ``image_ready`` arrives (config and manifest only); trees wait for ``indexed``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from explorer.core.analysis.index_cache import LayerIndexCache
from explorer.core.analysis.indexing import index_layers, quick_gil_handoff
from explorer.core.collector import collector_paused
from explorer.core.errors import ExplorerError
from explorer.core.fs.sizes import DirSizes
from explorer.core.fs.union import UnionStack
from explorer.core.image.loader import Archive, open_archive
from explorer.core.image.model import Image, ImageRef
from explorer.core.inspection import Inspection
from explorer.core.limits import DEFAULT_LIMITS, Limits
from explorer.core.tasks import CancelToken, Progress
from explorer.qt.jobs import Job


class Session(QObject):
    choose = Signal(list)
    """The archive holds several images: list[ImageRef]; answer with ``select``."""
    image_ready = Signal(object)
    """Image (config and layers described, nothing indexed yet)."""
    layer_indexed = Signal(int, object)
    """One layer is read (layer number, LayerIndex); emitted before ``indexed``."""
    indexed = Signal(object)
    """Inspection (every layer read and verified, union and efficiency computed)."""
    failed = Signal(object)
    progress = Signal(str, int, int)
    """What is happening, done, total."""
    finished = Signal()
    """Loading stopped: indexed, failed or cancelled."""

    def __init__(self, path: str, *, selector: str | None = None, verify: bool = True,
                 run_sync: bool = False, cache: LayerIndexCache | None = None,
                 limits: Limits = DEFAULT_LIMITS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.limits = limits
        self.selector = selector
        self.verify = verify
        self.cache = cache
        """Layers other open images already read are not read again (same blob)."""
        self.run_sync = run_sync
        self.archive: Archive | None = None
        self.image: Image | None = None
        self.inspection: Inspection | None = None
        self.union: UnionStack | None = None
        """The merged trees of the lower layers a window shows while the rest is read: the
        final stack shares them instead of building them again."""
        self.dir_sizes = DirSizes()
        """Directory sizes of those trees, shared the same way (memoised per union node)."""
        self.job: Job | None = None
        self.cancelled = False
        self._stop = False
        """Cancel was asked: no further step starts, even if the current one completes."""

    # ----------------------------------------------------------------- steps

    def start(self) -> None:
        def work(progress: Progress, cancel: CancelToken) -> Archive:
            return open_archive(self.path, limits=self.limits, progress=progress,
                                cancel=cancel)

        self._run(work, "Opening", self._opened)

    def _opened(self, archive: Archive) -> None:
        self.archive = archive
        if self.selector is None and len(archive.refs) > 1:
            self.choose.emit(list(archive.refs))
            return
        try:
            ref = archive.select(self.selector)
        except ExplorerError as exc:
            self._fail(exc)
            return
        self.select(ref)

    def select(self, ref: ImageRef) -> None:
        archive = self.archive
        assert archive is not None

        def work(_progress: Progress, _cancel: CancelToken) -> Image:
            return archive.load(ref)

        self._run(work, "Reading the image config", self._loaded)

    def _loaded(self, image: Image) -> None:
        self.image = image
        self.image_ready.emit(image)
        archive = self.archive
        assert archive is not None

        def work(progress: Progress, cancel: CancelToken) -> Inspection:
            # One collector pause over the whole load (the partial views' builds nest in
            # it), and what an image holds lives long: frozen when the pause ends, so later
            # collections skip it instead of walking it on any thread, the GUI's included.
            with collector_paused(freeze=True), quick_gil_handoff():
                indexes = index_layers(archive, image, verify=self.verify, progress=progress,
                                       cancel=cancel, on_layer=self.layer_indexed.emit,
                                       cache=self.cache)
                stack = UnionStack(indexes, share=self.union)
                shared = self.union is not None and stack.extends(self.union)
                inspection = Inspection(archive, image, indexes, stack,
                                        dir_sizes=self.dir_sizes if shared else DirSizes(),
                                        analysis_cache=self.cache if self.verify else None)
                inspection.stack.top  # noqa: B018 - the union trees, off the GUI thread
                inspection.efficiency  # noqa: B018 - and the analysis
                inspection.dir_sizes.file_bytes(inspection.stack.top.root, cancel)
            return inspection

        self._run(work, "Indexing layers", self._indexed)

    def _indexed(self, inspection: Inspection) -> None:
        self.union = None  # the partial views' trees: kept only through the inspection now
        self.dir_sizes = DirSizes()
        if self._stop:
            self._on_cancelled()
            return
        self.inspection = inspection
        self.job = None
        self.indexed.emit(inspection)
        self.finished.emit()

    # ----------------------------------------------------------------- plumbing

    def _run(self, work: Any, what: str, then: Any) -> None:
        if self._stop:
            self._on_cancelled()
            return
        job = Job(work, name=what, parent=self)
        self.job = job
        # Worker threads' progress arrives queued; once the job is over it is stale.
        job.progress.connect(lambda d, t: self.progress.emit(what, d, t) if self.job is job
                             else None)
        job.finished.connect(then)
        job.failed.connect(self._fail)
        job.cancelled.connect(self._on_cancelled)
        self.progress.emit(what, 0, 0)
        job.launch(sync=self.run_sync)

    def _fail(self, exc: BaseException) -> None:
        self.job = None
        self.failed.emit(exc)
        self.close()
        self.finished.emit()

    def _on_cancelled(self) -> None:
        if self.cancelled:
            return
        self.job = None
        self.cancelled = True
        self.close()
        self.finished.emit()

    def cancel(self) -> None:
        self._stop = True
        if self.job is not None:
            self.job.cancel()
        elif self.archive is not None and self.inspection is None:
            self._on_cancelled()  # waiting for the user to choose an image

    @property
    def busy(self) -> bool:
        return self.job is not None

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()
