"""The main window: start page, layer stack, diff tree, details, status and warnings."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
)
from PySide6.QtWidgets import (
    QDialog,
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

from explorer.core.fs.diff import DiffNode, DiffSummary
from explorer.core.fs.entry import display_path
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.sizes import count_changes
from explorer.core.fs.union import UnionStack
from explorer.core.humanize import dive_bytes
from explorer.core.image.model import Image, ImageRef
from explorer.core.inspection import Inspection
from explorer.core.sandbox import PathState
from explorer.core.tasks import CancelToken, Progress
from explorer.qt.jobs import Job
from explorer.qt.messages import Message, describe
from explorer.qt.resources import APP_ICON, icon
from explorer.qt.session import Session
from explorer.ui.details_panel import DetailsPanel
from explorer.ui.file_actions import FileActions
from explorer.ui.image_picker import ImagePicker
from explorer.ui.layer_panel import LayerPanel
from explorer.ui.preview_panel import PreviewPanel
from explorer.ui.sandbox_actions import SandboxActions
from explorer.ui.start_page import StartPage
from explorer.ui.tree_panel import Mode, TreePanel
from explorer.ui.window_menus import MenusMixin

ARCHIVE_FILTER = ("Image archives (*.tar *.tar.gz *.tgz *.tar.zst *.tzst *.oci);;"
                  "All files (*)")


class MainWindow(MenusMixin, QMainWindow):
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
                 demo_path: str | None = None, sandbox_folder: str | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowIcon(icon(APP_ICON))
        self.setWindowTitle("Layer Explorer")
        self.settings = settings or QSettings("LayerExplorer", "Layer Explorer")
        self.run_sync = run_sync
        self.demo_path = demo_path
        self.session: Session | None = None
        self.inspection: Inspection | None = None
        self.partial: Inspection | None = None
        """The bottom layers indexed so far, while the rest are still read."""
        self._ready: dict[int, LayerIndex] = {}
        self._partial_wanted = 0
        self._count_job: Job | None = None
        self.image: Image | None = None
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
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.layers)
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

    def open_path(self, path: str, selector: str | None = None) -> None:
        """Open an archive or layout folder; replaces the image shown now."""
        self.close_image()
        self.warnings.clear()
        self.warnings_dock.hide()
        session = Session(path, selector=selector, run_sync=self.run_sync, parent=self)
        self.session = session
        session.progress.connect(self._progress)
        session.choose.connect(self._choose_image)
        session.image_ready.connect(self._image_ready)
        session.layer_indexed.connect(self._layer_indexed)
        session.indexed.connect(self._indexed)
        session.failed.connect(lambda exc: self._failed(exc, path))
        session.finished.connect(self._finished)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.status_text.setText(f"Opening {path}…")
        self.setWindowTitle(f"{os.path.basename(path.rstrip('/'))} — Layer Explorer")
        session.start()

    def cancel_loading(self) -> None:
        if self.session is not None:
            self.session.cancel()

    def close_image(self) -> None:
        if self.session is not None:
            session = self.session
            self.session = None
            if session.busy:
                session.cancel()
            else:
                session.close()
        self.edits.detach()
        self.inspection = None
        self.partial = None
        self._ready = {}
        self._partial_wanted = 0
        self.image = None
        self.layers.set_image(None)
        self.tree.set_inspection(None)
        self.details.clear()
        self.pages.setCurrentWidget(self.start)
        self.status_text.setText("")
        self.setWindowTitle("Layer Explorer")

    def _choose_image(self, refs: list[ImageRef]) -> None:
        session = self.sender()
        picker = ImagePicker(refs, os.path.basename(self.session.path if self.session else ""),
                             self)
        picker.setObjectName("imagePicker")
        self._picker = picker

        def done(result: int) -> None:
            ref = picker.chosen()
            if session is not self.session:
                return
            if result == QDialog.DialogCode.Accepted and ref is not None:
                self.session.select(ref)
            else:
                self.session.cancel()

        picker.finished.connect(done)
        picker.open()

    def _progress(self, what: str, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(done * 1000 / total))
            self.progress.setFormat(f"{what} %p%")
        else:
            self.progress.setRange(0, 0)
        self.status_text.setText(f"{what}…")

    def _image_ready(self, image: Image) -> None:
        if self.sender() is not self.session:
            return
        self.image = image
        if self.session is not None:
            self.layers.model.set_source(self.session.path)
        self.layers.set_image(image)
        self.details.show_image(image, None)
        self.pages.setCurrentWidget(self.splitter)
        self.layers.select_layer(len(image.layers) - 1)
        self.image_shown.emit(image)

    def _layer_indexed(self, layer: int, index: LayerIndex) -> None:
        """Show the trees of the bottom layers as soon as all layers below them are read
        (their union trees are built in a job: a big layer takes seconds)."""
        session = self.session
        if self.sender() is not session or session is None or session.archive is None \
                or self.image is None or self.inspection is not None:
            return
        self._ready[layer] = index
        count = 0
        while count in self._ready:
            count += 1
        if count == 0 or count <= self._partial_wanted:
            return
        self._partial_wanted = count
        indexes = [self._ready[i] for i in range(count)]
        partial = Inspection(session.archive, self.image, indexes, UnionStack(indexes))

        def work(_progress: Progress, _cancel: CancelToken) -> Inspection:
            partial.stack.top  # noqa: B018 - the union trees, off the GUI thread
            return partial

        def ready(result: Inspection) -> None:
            if self.session is not session or self.inspection is not None:
                return
            if self.partial is not None and len(self.partial.indexes) >= len(result.indexes):
                return
            self.partial = result
            current = self.layers.current_layer()
            if current is not None and current < count and self.tree.inspection is None:
                self._show_layer(result, current)
                self.tree.set_inspection(result, current)

        job = Job(work, name="partial", parent=self)
        job.finished.connect(ready)
        if self.run_sync:
            job.run()
        else:
            job.start()

    def _indexed(self, inspection: Inspection) -> None:
        if self.sender() is not self.session:
            return
        self.inspection = inspection
        image = inspection.image
        self.layers.set_indexes(image, inspection.indexes)
        layer = self.layers.current_layer()
        self.tree.set_inspection(inspection, layer)
        self.details.show_image(image, inspection)
        if layer is not None:
            self._show_layer(inspection, layer)
        for text in inspection.warnings:
            self.warnings.addItem(text)
        self.warnings_dock.setVisible(bool(inspection.warnings))
        eff = inspection.efficiency
        self.status_text.setText(
            f"{dive_bytes(eff.size)} · {len(image.layers)} layers · efficiency "
            f"{eff.score * 100:.2f} % · wasted {dive_bytes(eff.wasted)} · reclaimable "
            f"{dive_bytes(eff.reclaimable)}")
        self._remember(inspection.archive.path)
        self.edits.attach(inspection)
        self.loaded.emit(inspection)

    def _failed(self, exc: BaseException, path: str) -> None:
        message = describe(exc, path=path)
        self.last_message = message
        if self.image is None and path:
            self.pages.setCurrentWidget(self.start)
            self.setWindowTitle("Layer Explorer")
        self.status_text.setText(message.title)
        box = QMessageBox(QMessageBox.Icon.Warning, message.title, message.text, parent=self)
        box.setObjectName("errorBox")
        box.setDetailedText(message.details)
        self._message_box = box
        box.open()
        self.load_failed.emit(exc)

    def _finished(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()
        session = self.sender()
        if isinstance(session, Session) and session.cancelled and session is self.session:
            self.close_image()
            self.status_text.setText("Cancelled.")
        self.idle.emit()

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
        if self.run_sync:
            job.run()
        else:
            job.start()

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
            self.open_path(paths[0])
            if len(paths) > 1:
                self.status_text.setText(f"Opened {paths[0]}; one image at a time for now "
                                         f"({len(paths) - 1} more dropped).")

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
        self.close_image()
        super().closeEvent(event)

