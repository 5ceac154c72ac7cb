"""Compare any layer or image with any other: drop them on the two slots.

A slot takes a layer row dragged from the layer stack, an archive file dropped from the
desktop, or an image given by the program (the commit wizard's "Compare with original").
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from explorer.core.compare import (
    Comparison,
    Endpoint,
    ImageComparison,
    TextDiff,
    compare_images,
    compare_trees,
    text_diff,
)
from explorer.core.errors import ExplorerError
from explorer.core.fs.diff import DiffKind, DiffNode
from explorer.core.fs.entry import display_path
from explorer.core.fs.tree_filter import compile_filter, visible_paths
from explorer.core.humanize import dive_bytes
from explorer.core.inspection import Inspection
from explorer.core.tasks import CancelToken, Progress
from explorer.qt.jobs import Job
from explorer.qt.messages import describe
from explorer.qt.mime import LayerRef
from explorer.qt.models.diff_tree import DiffTreeModel, SortOrder
from explorer.qt.session import Session


class CompareSlot(QFrame):
    """One side (A or B): what is loaded there, and a drop target for another."""

    dropped = Signal(object)
    """A LayerRef, or a str path of an archive dropped from the desktop."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"slot{name}")
        self.name = name
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumHeight(48)
        self.label = QLabel(f"{name}: drop a layer or an image archive here", self)
        self.label.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.addWidget(self.label)

    def show_text(self, text: str) -> None:
        self.label.setText(f"<b>{self.name}</b>: {html.escape(text)}")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if LayerRef.decode(mime) is not None or (mime.hasUrls() and mime.urls()[0].isLocalFile()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.accept_mime(event.mimeData())
        event.acceptProposedAction()

    def accept_mime(self, mime: Any) -> None:
        ref = LayerRef.decode(mime)
        if ref is not None:
            self.dropped.emit(ref)
        elif mime.hasUrls() and mime.urls()[0].isLocalFile():
            self.dropped.emit(mime.urls()[0].toLocalFile())


class CompareWindow(QMainWindow):
    compared = Signal(object)
    """Comparison, once both sides are loaded and compared."""
    reveal = Signal(bytes)
    """Show this path in the main window's tree."""

    def __init__(self, *, run_sync: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareWindow")
        self.setWindowTitle("Compare — Layer Explorer")
        self.run_sync = run_sync
        self.sides: dict[str, tuple[Inspection, int | None] | None] = {"A": None, "B": None}
        self.sessions: list[Session] = []
        self.comparison: Comparison | None = None
        self.images: ImageComparison | None = None
        self.job: Job | None = None
        self.slots = {k: CompareSlot(k, self) for k in "AB"}
        for key, slot in self.slots.items():
            slot.dropped.connect(lambda what, k=key: self.load(k, what))
        swap = QPushButton("Swap A ⇄ B", self)
        swap.setObjectName("swapButton")
        swap.clicked.connect(self.swap)
        self.only_layers = QCheckBox("Only the two layers' own contents", self)
        self.only_layers.setObjectName("onlyLayers")
        self.only_layers.toggled.connect(lambda _c: self.run())
        self.show_unchanged = QCheckBox("Show unchanged", self)
        self.show_unchanged.toggled.connect(lambda _c: self._show_tree())
        self.kind_boxes: dict[DiffKind, QCheckBox] = {}
        for kind in (DiffKind.ADDED, DiffKind.MODIFIED, DiffKind.REMOVED):
            box = QCheckBox(kind.value.capitalize(), self)
            box.setChecked(True)
            box.toggled.connect(lambda _c: self._show_tree())
            self.kind_boxes[kind] = box
        self.largest = QCheckBox("Largest first", self)
        self.largest.toggled.connect(lambda _c: self._show_tree())
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("compareFilter")
        self.filter_edit.setPlaceholderText("Filter paths: text, glob or /regex/")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.returnPressed.connect(self._show_tree)
        self.filter_edit.textChanged.connect(lambda t: self._show_tree() if not t else None)
        self.summary = QLabel("Drop two layers or images to compare them.", self)
        self.summary.setObjectName("compareSummary")
        self.summary.setWordWrap(True)
        self.model = DiffTreeModel(self)
        self.model.run_sync = run_sync
        self.tree = QTreeView(self)
        self.tree.setObjectName("compareTree")
        self.tree.setModel(self.model)
        self.tree.setColumnWidth(0, 300)
        self.tree.selectionModel().currentChanged.connect(lambda cur, _prev: self._selected(
            self.model.node(cur)))
        self.details = QLabel(self)
        self.details.setObjectName("changeDetails")
        self.details.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("textDiff")
        self.text.setPlaceholderText("Select a modified file to see its text diff (binaries: "
                                     "sizes and hashes).")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        reveal = QPushButton("Show in the main window", self)
        reveal.clicked.connect(self._reveal)
        self.image_view = QTextBrowser(self)
        self.image_view.setObjectName("imageDifferences")

        files = QWidget(self)
        right = QVBoxLayout()
        right.addWidget(self.details)
        right.addWidget(self.text, 1)
        right.addWidget(reveal)
        right_box = QWidget(self)
        right_box.setLayout(right)
        split = QSplitter(Qt.Orientation.Horizontal, files)
        split.addWidget(self.tree)
        split.addWidget(right_box)
        split.setSizes([620, 460])
        files_layout = QVBoxLayout(files)
        files_layout.setContentsMargins(0, 0, 0, 0)
        files_layout.addWidget(split)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(files, "Files")
        self.tabs.addTab(self.image_view, "Image (config, history, layers)")
        slots = QHBoxLayout()
        slots.addWidget(self.slots["A"], 1)
        slots.addWidget(swap)
        slots.addWidget(self.slots["B"], 1)
        options = QHBoxLayout()
        options.addWidget(self.only_layers)
        for box in self.kind_boxes.values():
            options.addWidget(box)
        options.addWidget(self.show_unchanged)
        options.addWidget(self.largest)
        options.addWidget(self.filter_edit, 1)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.addLayout(slots)
        layout.addLayout(options)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.resize(1200, 780)

    # ----------------------------------------------------------------- sides

    def set_side(self, key: str, inspection: Inspection, layer: int | None = None) -> None:
        """Put an opened image (at ``layer``; None: its top) on side A or B."""
        self.sides[key] = (inspection, layer)
        where = "top layer" if layer is None else f"layer {layer}"
        self.slots[key].show_text(f"{inspection.image.ref.name} · {where} · "
                                  f"{inspection.archive.path}")
        self.run()

    def load(self, key: str, what: LayerRef | str) -> None:
        """Open a dropped layer's archive (or a dropped archive file) for side ``key``."""
        path = what.path if isinstance(what, LayerRef) else what
        selector = str(what.image) if isinstance(what, LayerRef) else None
        layer = what.layer if isinstance(what, LayerRef) else None
        self.slots[key].show_text(f"opening {path}…")
        session = Session(path, selector=selector, run_sync=self.run_sync, parent=self)
        self.sessions.append(session)
        session.indexed.connect(lambda ins: self.set_side(key, ins, layer))
        session.failed.connect(lambda exc: self.slots[key].show_text(describe(exc).text))
        session.choose.connect(lambda refs: session.select(refs[0]))
        session.start()

    def swap(self) -> None:
        self.sides["A"], self.sides["B"] = self.sides["B"], self.sides["A"]
        for key in "AB":
            side = self.sides[key]
            if side is not None:
                ins, layer = side
                where = "top layer" if layer is None else f"layer {layer}"
                self.slots[key].show_text(f"{ins.image.ref.name} · {where} · "
                                          f"{ins.archive.path}")
        if self.comparison is not None:
            self._compared((self.comparison.swapped(), None))
            self.run_images()

    # ----------------------------------------------------------------- comparing

    def run(self) -> None:
        a, b = self.sides["A"], self.sides["B"]
        if a is None or b is None:
            return
        only = self.only_layers.isChecked()
        end_a, end_b = Endpoint(a[0], a[1], only), Endpoint(b[0], b[1], only)

        def work(progress: Progress, cancel: CancelToken) -> tuple[Comparison, ImageComparison]:
            comparison = compare_trees(end_a, end_b, progress=progress, cancel=cancel)
            comparison.summary(cancel)
            return comparison, compare_images(end_a.inspection, end_b.inspection)

        self.summary.setText("Comparing…")
        self._start(work, self._compared)

    def run_images(self) -> None:
        if self.comparison is not None:
            self.images = compare_images(self.comparison.a.inspection,
                                         self.comparison.b.inspection)
            self.image_view.setHtml(image_html(self.images))

    def _start(self, work: Any, then: Any) -> None:
        if self.job is not None:
            self.job.cancel()
        job = Job(work, name="compare", parent=self)
        self.job = job
        job.finished.connect(then)
        job.failed.connect(lambda exc: self.summary.setText(describe(exc).text))
        job.launch(sync=self.run_sync)

    def _compared(self, result: tuple[Comparison, ImageComparison | None]) -> None:
        comparison, images = result
        self.comparison = comparison
        s = comparison.summary()
        if comparison.equal:
            self.summary.setText(f"{comparison.a.label} and {comparison.b.label} are the same.")
        else:
            self.summary.setText(
                f"{comparison.a.label} → {comparison.b.label}: {s.added:,} added · "
                f"{s.modified:,} modified · {s.removed:,} removed · "
                f"+{dive_bytes(s.bytes_added)} / −{dive_bytes(s.bytes_removed)}")
        if images is not None:
            self.images = images
            self.image_view.setHtml(image_html(images))
        self._show_tree()
        self.compared.emit(comparison)

    def _show_tree(self) -> None:
        comparison = self.comparison
        if comparison is None:
            return
        hidden = {k for k, box in self.kind_boxes.items() if not box.isChecked()}
        if not self.show_unchanged.isChecked():
            hidden.add(DiffKind.UNCHANGED)

        def size(node: DiffNode) -> int:
            before, after = comparison.sizes(node)
            return (after if after is not None else before) or 0

        try:
            matcher = compile_filter(self.filter_edit.text())
        except ExplorerError as exc:
            self.summary.setText(str(exc))
            return
        visible = visible_paths(comparison.root, matcher, frozenset(hidden))
        self.model.set_tree(comparison.root, hidden=frozenset(hidden), visible=visible,
                            sort=SortOrder.SIZE if self.largest.isChecked() else SortOrder.NAME,
                            sizer=size)
        if self.model.rowCount() < 50:
            self.tree.expandToDepth(3)

    def _selected(self, node: DiffNode | None) -> None:
        comparison = self.comparison
        if node is None or comparison is None:
            return
        before, after = comparison.sizes(node)
        words = comparison.changes(node).words
        parts = [f"<b>/{html.escape(display_path(node.path))}</b>: {node.kind.value}"]
        if words:
            parts.append("changed: " + ", ".join(words))
        parts.append(f"size {dive_bytes(before or 0) if before is not None else '—'} → "
                     f"{dive_bytes(after or 0) if after is not None else '—'}")
        self.details.setText(" · ".join(parts))
        self.text.clear()
        if node.is_dir or node.kind is DiffKind.UNCHANGED:
            return
        path = node.path

        def work(_progress: Progress, cancel: CancelToken) -> TextDiff:
            return text_diff(comparison, path, cancel=cancel)

        self._start(work, self._text_ready)

    def _text_ready(self, diff: TextDiff) -> None:
        if diff.kind == "text":
            self.text.setPlainText("\n".join(diff.unified) or "(no difference in the text)")
        else:
            a = f"{diff.a.size} bytes, {diff.a.digest or '?'}" if diff.a.exists else "absent"
            b = f"{diff.b.size} bytes, {diff.b.digest or '?'}" if diff.b.exists else "absent"
            self.text.setPlainText(f"{diff.message}\nA: {a}\nB: {b}")

    def _reveal(self) -> None:
        node = self.model.node(self.tree.currentIndex())
        if node is not None:
            self.reveal.emit(node.path)


def image_html(images: ImageComparison) -> str:
    """Config, history and per-layer differences of the two images, as one page."""
    out = [f"<h3>Shared layers</h3><p>{images.shared.layers} layer(s) from the base up are "
           f"the same (same chain id): storing them once saves "
           f"{dive_bytes(images.shared.compressed_bytes)} on disk.</p>"]
    if images.same_config:
        out.append("<p>Same config (same image ID).</p>")
    out.append("<h3>Config</h3>")
    if images.config:
        rows = "".join(f"<tr><td>{html.escape(c.key)}</td><td>{c.kind}</td>"
                       f"<td><code>{html.escape(c.before or '')}</code></td>"
                       f"<td><code>{html.escape(c.after or '')}</code></td></tr>"
                       for c in images.config)
        out.append(f"<table cellpadding=3><tr><th>Field</th><th></th><th>A</th><th>B</th>"
                   f"</tr>{rows}</table>")
    else:
        out.append("<p>No differences.</p>")
    out.append("<h3>History</h3><table cellpadding=2>")
    for row in images.history:
        a = html.escape(row.a.created_by[:90]) if row.a else ""
        b = html.escape(row.b.created_by[:90]) if row.b else ""
        out.append(f"<tr><td>{row.kind}</td><td><code>{a}</code></td><td><code>{b}</code>"
                   "</td></tr>")
    out.append("</table><h3>Layers</h3><table cellpadding=2><tr><th>#</th><th>A</th>"
               "<th>B</th><th></th></tr>")
    for layer in images.layers:
        a = dive_bytes(layer.a.size) if layer.a else "—"
        b = dive_bytes(layer.b.size) if layer.b else "—"
        out.append(f"<tr><td>{layer.index}</td><td>{a}</td><td>{b}</td>"
                   f"<td>{'shared' if layer.shared else ''}</td></tr>")
    out.append("</table>")
    return "".join(out)
