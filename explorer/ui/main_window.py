"""The main window: start page, layer stack, diff tree, details, status and warnings."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
)

from explorer.core.analysis.disk_cache import DiskIndexCache
from explorer.core.fs.diff import DiffNode, DiffSummary
from explorer.core.fs.entry import display_path
from explorer.core.fs.sizes import count_changes
from explorer.core.inspection import Inspection
from explorer.core.sandbox import PathState
from explorer.core.tasks import CancelToken, Progress
from explorer.qt.jobs import Job
from explorer.qt.messages import Message
from explorer.qt.mime import LayerRef
from explorer.qt.resources import APP_ICON, icon
from explorer.ui.compare_window import CompareWindow
from explorer.ui.details_panel import DetailsPanel
from explorer.ui.documents import ImageDoc
from explorer.ui.file_actions import FileActions
from explorer.ui.image_list import ImageList
from explorer.ui.layer_panel import LayerPanel
from explorer.ui.loading import LoadingMixin
from explorer.ui.preview_panel import PreviewPanel
from explorer.ui.sandbox_actions import SandboxActions
from explorer.ui.start_page import StartPage
from explorer.ui.tree_panel import Mode, TreePanel
from explorer.ui.window_menus import MenusMixin

ARCHIVE_FILTER = ("Image archives (*.tar *.tar.gz *.tgz *.tar.zst *.tzst *.oci);;"
                  "All files (*)")


class MainWindow(LoadingMixin, MenusMixin, QMainWindow):
    loaded = Signal(object)
    """Inspection: the image is fully indexed and shown."""
    image_shown = Signal(object)
    """Image: the layer stack is shown (trees still indexing)."""
    load_failed = Signal(object)
    sandbox_changed = Signal(object)
    """Sandbox: the container layer after an edit, undo or redo."""
    idle = Signal()
    """Loading stopped (success, failure or cancel)."""

    def __init__(self, *, settings: QSettings | None = None, run_sync: bool = False,
                 demo_path: str | None = None, sandbox_folder: str | None = None,
                 index_folder: str | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowIcon(icon(APP_ICON))
        self.setWindowTitle("Layer Explorer")
        self.settings = settings or QSettings("LayerExplorer", "Layer Explorer")
        self.run_sync = run_sync
        self.demo_path = demo_path
        self.docs: list[ImageDoc] = []
        """The open images, in the order of the Images list."""
        self.doc: ImageDoc | None = None
        """The image shown (None: the start page)."""
        self.index_cache = DiskIndexCache(index_folder)
        """Layers shared by the open images are read once, and an image read before is not
        read again while its file is unchanged (core.analysis.disk_cache)."""
        self.shared_bytes = 0
        """What the layers shared between the open images save on disk."""
        self._count_job: Job | None = None
        self.compare_window: CompareWindow | None = None
        self.last_message: Message | None = None
        self._message_box: QMessageBox | None = None
        self.setAcceptDrops(True)

        self.start = StartPage(self)
        self.layers = LayerPanel(self)
        self.tree = TreePanel(self)
        self.tree.run_sync = run_sync
        self.tree.model.run_sync = run_sync
        self.details = DetailsPanel(self)
        self.preview = PreviewPanel(self)
        self.preview.run_sync = run_sync
        self.right = QSplitter(Qt.Orientation.Vertical, self)
        self.right.setObjectName("rightSplitter")
        self.right.addWidget(self.details)
        self.right.addWidget(self.preview)
        self.right.setSizes([460, 400])
        self.image_list = ImageList(self._image_ref, self)
        self.image_list.setObjectName("imageList")
        self.image_list.image_dropped.connect(self._image_dropped)
        self.image_list.setToolTip("The open images: click one to show it")
        self.image_list.setMaximumHeight(120)
        self.image_list.currentRowChanged.connect(self._list_row_changed)
        self.image_list.hide()
        self.left = QSplitter(Qt.Orientation.Vertical, self)
        self.left.setObjectName("leftSplitter")
        self.left.addWidget(self.image_list)
        self.left.addWidget(self.layers)
        self.left.setStretchFactor(0, 0)
        self.left.setStretchFactor(1, 1)
        self.left.setSizes([70, 790])
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.left)
        self.splitter.addWidget(self.tree)
        self.splitter.addWidget(self.right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setStretchFactor(2, 3)
        self.splitter.setSizes([520, 540, 340])
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.start)
        self.pages.addWidget(self.splitter)
        self.setCentralWidget(self.pages)

        self.warnings = QListWidget(self)
        self.warnings.setObjectName("warningsList")
        self.warnings_dock = QDockWidget("Integrity warnings", self)
        self.warnings_dock.setObjectName("warningsDock")
        self.warnings_dock.setWidget(self.warnings)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.warnings_dock)
        self.warnings_dock.hide()

        self.status_text = QLabel(self)
        self.status_text.setObjectName("statusText")
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(240)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel_button = QPushButton(icon("cancel"), "Cancel", self)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.clicked.connect(self.cancel_loading)
        self.cancel_button.hide()
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)

        self.start.open_file.connect(self.choose_file)
        self.start.open_folder.connect(self.choose_folder)
        self.start.open_demo.connect(self.open_demo)
        self.start.open_recent.connect(self.open_path)
        self.layers.layer_selected.connect(self._layer_selected)
        self.layers.layer_dropped.connect(self.compare_dropped)
        self.tree.selected.connect(self._file_selected)
        self.details.reveal.connect(self.reveal_path)
        self.preview.go_to.connect(self.go_to_path)
        self.tree.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.files = FileActions(self)
        self.edits = SandboxActions(self, folder=sandbox_folder)
        self.tree.view.customContextMenuRequested.connect(self.files.tree_menu)
        self._build_menus()
        self._build_edit_menu()
        self._refresh_recent()
        if not self.settings.value("geometry"):
            self.resize(1400, 860)
        self._restore_state()

    # ----------------------------------------------------------------- opening

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image archive", "", ARCHIVE_FILTER)
        if path:
            self.open_path(path)

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open OCI layout folder")
        if path:
            self.open_path(path)

    def open_demo(self) -> None:
        from explorer.core.demo import default_demo_path

        self.open_path(self.demo_path or default_demo_path())

    def _progress(self, what: str, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(done * 1000 / total))
            self.progress.setFormat(f"{what} %p%")
        else:
            self.progress.setRange(0, 0)
        self.status_text.setText(f"{what}…")

    # ----------------------------------------------------------------- selection

    def _show_layer(self, inspection: Inspection, layer: int) -> None:
        """Layer facts now; its change counts from a job (a big layer takes a while)."""
        image = inspection.image
        self.details.show_layer(inspection, image, layer)

        def work(_progress: Progress, cancel: CancelToken) -> DiffSummary:
            return count_changes(inspection.merged(layer - 1), inspection.merged(layer),
                                 cancel=cancel)

        if self._count_job is not None:
            self._count_job.cancel()
        job = Job(work, name="count", parent=self)
        self._count_job = job

        def done(summary: DiffSummary) -> None:
            if job is self._count_job and self.layers.current_layer() == layer:
                self.details.show_layer(inspection, image, layer, summary)

        job.finished.connect(done)
        job.launch(sync=self.run_sync)

    def _layer_selected(self, layer: int) -> None:
        if self.image is None:
            return
        if self.inspection is not None and layer == len(self.inspection.indexes):
            self.details.layer_view.setHtml("<h3>Container layer (writable)</h3><p>Your edits "
                                            "on top of the image; commit them to write a new "
                                            "image. The image itself is never changed.</p>")
            self.tree.set_layer(layer)
            return
        if self.inspection is not None:
            self._show_layer(self.inspection, layer)
            self.tree.set_layer(layer)
            return
        partial = self.partial
        if partial is not None and layer < len(partial.indexes):
            self._show_layer(partial, layer)
            self.tree.set_inspection(partial, layer)
        else:
            self.details.show_layer(None, self.image, layer)
            self.tree.set_inspection(None)
            self.tree.summary.setText(f"Layer {layer} and the layers below it are being read…")

    def _file_selected(self, node: DiffNode | None) -> None:
        inspection = self.inspection
        if inspection is None:
            return
        self.details.show_file(inspection, node)
        if node is not None:
            self.details.tabs.setCurrentIndex(2)
        layer = self.tree.layer
        if self.tree.on_sandbox and node is not None:
            layer = len(inspection.indexes) - 1
            if self.edits.state_of(node.path) in (PathState.ADDED, PathState.REPLACED):
                self.preview.show_added(node)
                return
        self.preview.show_node(inspection, layer, node)

    def go_to_path(self, path: bytes) -> None:
        """Select ``path`` in the current tree (a symlink's target), if it is shown there."""
        if not self.tree.select_path(path):
            self.status_text.setText(f"/{display_path(path)} is not in this tree "
                                     "(try the merged view).")

    def open_compare(self) -> CompareWindow:
        """The comparison window, with the current image at the selected layer as A."""
        window = CompareWindow(run_sync=self.run_sync, parent=self)
        window.setWindowFlag(Qt.WindowType.Window)
        window.reveal.connect(self.reveal_path)
        self.compare_window = window
        if self.inspection is not None:
            layer = self.layers.current_layer()
            if layer is not None and layer >= len(self.inspection.indexes):
                layer = None  # the container layer is not written yet: its image's top
            window.set_side("A", self.inspection, layer)
        window.show()
        return window

    def _image_ref(self, row: int) -> LayerRef | None:
        doc = self.docs[row] if 0 <= row < len(self.docs) else None
        if doc is None or doc.image is None:
            return None
        return LayerRef(doc.path, doc.image.ref.index, None, doc.title)

    def _image_dropped(self, ref: LayerRef, row: int) -> None:
        """An image (or layer) dropped on an image of the list: compare it with that image."""
        if 0 <= row < len(self.docs) and self.docs[row] is not self.doc:
            self._switch(self.docs[row])
        doc = self.doc
        if doc is not None and doc.inspection is not None:
            self.compare_dropped(ref, len(doc.inspection.indexes) - 1)

    def compare_dropped(self, ref: LayerRef, target_layer: int) -> CompareWindow:
        """A layer (or image) dropped on a layer of the current image: A = what was dragged,
        B = the layer it was dropped on."""
        window = self.open_compare()
        source = next((d for d in self.docs if d.path == ref.path and d.image is not None
                       and d.image.ref.index == ref.image and d.inspection is not None), None)
        if source is not None and source.inspection is not None:
            window.set_side("A", source.inspection, ref.layer)
        else:
            window.load("A", ref)
        if self.inspection is not None:
            window.set_side("B", self.inspection, target_layer)
        return window

    def compare_with(self, original: Inspection | None, path: str) -> CompareWindow:
        """Compare an image (A) with an archive file (B), e.g. a commit with its source."""
        window = self.open_compare()
        if original is not None:
            window.set_side("A", original, None)
        window.load("B", path)
        return window

    def reveal_path(self, path: bytes) -> None:
        """Show ``path`` in the merged tree of the top layer."""
        if self.inspection is None:
            return
        self.layers.select_layer(len(self.inspection.indexes) - 1)
        self.tree.filter_edit.clear()
        self.tree.set_mode(Mode.MERGED)
        self.tree.refresh()
        self.tree.select_path(path)

    # ----------------------------------------------------------------- drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and all(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls: list[QUrl] = event.mimeData().urls()
        paths = [u.toLocalFile() for u in urls if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            for path in paths:  # each dropped archive or folder becomes an open image
                self.open_path(path)

    # ----------------------------------------------------------------- state

    def _restore_state(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry:
            self.restoreGeometry(geometry)
        splitter = self.settings.value("splitter")
        if splitter:
            self.splitter.restoreState(splitter)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("splitter", self.splitter.saveState())
        self.close_all()
        super().closeEvent(event)

