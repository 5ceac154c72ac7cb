"""The diff tree of the selected layer: mode, filter, hide toggles, sort, expand/collapse."""

from __future__ import annotations

import enum
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from explorer.core.errors import ExplorerError
from explorer.core.fs.diff import DiffKind, DiffNode, LayerContext, diff_trees
from explorer.core.fs.tree_filter import compile_filter, flat_paths, visible_paths
from explorer.core.inspection import Inspection
from explorer.core.sandbox import Sandbox
from explorer.core.tasks import CancelToken, Progress
from explorer.qt.jobs import Job
from explorer.qt.models.diff_tree import (
    COLUMN_SAMPLES,
    HEADERS,
    Column,
    DiffTreeModel,
    SortOrder,
    width,
)
from explorer.qt.style import LETTERS, kind_color

FILTER_DELAY_MS = 250
COLUMN_PADDING = 24
"""Pixels around a column's widest text (cell margins and the sort arrow)."""
NAME_WIDTH = 300
AUTO_EXPAND = 400
"""Change trees with at most this many rows open fully expanded."""


class Mode(enum.Enum):
    LAYER = "layer"
    AGGREGATED = "aggregated"
    MERGED = "merged"


MODE_TEXT = {
    Mode.LAYER: "Changes in this layer",
    Mode.AGGREGATED: "Aggregated changes (layers 1..N vs base)",
    Mode.MERGED: "Merged filesystem at this layer",
}
DEFAULT_HIDDEN = {
    Mode.LAYER: frozenset({DiffKind.UNCHANGED}),
    Mode.AGGREGATED: frozenset({DiffKind.UNCHANGED}),
    Mode.MERGED: frozenset({DiffKind.REMOVED}),
}


def diff_for(inspection: Inspection, layer: int, mode: Mode) -> DiffNode:
    """The tree a mode shows; every mode is a diff, so the change column always means
    something (merged view: changes made by this layer, removed entries hidden)."""
    if mode is Mode.AGGREGATED:
        return inspection.aggregated_changes(layer)
    if mode is Mode.LAYER:
        return inspection.layer_changes(layer)
    index = inspection.indexes[layer]
    context = LayerContext(frozenset(index.whiteouts), frozenset(index.opaque_dirs))
    return diff_trees(inspection.merged(layer - 1) if layer > 0 else inspection.merged(-1),
                      inspection.merged(layer), context=context)


def _small(root: DiffNode, hidden: frozenset[DiffKind], limit: int) -> bool:
    """Whether the rows shown (hidden kinds skipped) number at most ``limit``; a directory
    wider than that answers no before its rows are built."""
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if width(node) > limit:
            return False
        for child in node.children:
            if child.kind in hidden:
                continue
            count += 1
            if count > limit:
                return False
            if child.is_dir:
                stack.append(child)
    return True


SANDBOX_HIDDEN = {
    Mode.LAYER: frozenset({DiffKind.UNCHANGED}),
    Mode.AGGREGATED: frozenset({DiffKind.UNCHANGED}),
    Mode.MERGED: frozenset(),  # deleted entries stay visible, struck through
}


def sandbox_diff(inspection: Inspection, sandbox: Sandbox, mode: Mode) -> DiffNode:
    """The container layer's tree: its pending changes against the image (layer and merged
    modes; merged shows unchanged entries too), or everything against the base layer."""
    if mode is Mode.AGGREGATED:
        return diff_trees(inspection.merged(0), sandbox.merged())
    return sandbox.diff()


class TreePanel(QWidget):
    selected = Signal(object)
    """The DiffNode under the cursor (or None)."""
    filtering = Signal(bool)
    """A filter job is running (True) or done (False)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inspection: Inspection | None = None
        self.layer = 0
        self.mode = Mode.LAYER
        self._hidden_image: dict[Mode, frozenset[DiffKind]] = dict(DEFAULT_HIDDEN)
        self._hidden_sandbox: dict[Mode, frozenset[DiffKind]] = dict(SANDBOX_HIDDEN)
        self.sandbox: Sandbox | None = None
        """The container layer: shown as the layer one above the image's top."""
        self.sort = SortOrder.NAME
        self._root: DiffNode | None = None
        self._root_key: tuple[object, object, object] | None = None
        self._filter_job: Job | None = None
        self.run_sync = False

        self.model = DiffTreeModel(self)
        self.view = QTreeView(self)
        self.view.setObjectName("diffTree")
        self.view.setModel(self.model)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSortingEnabled(False)
        header = self.view.header()
        header.setStretchLastSection(False)
        # The name column keeps its width (deep paths scroll sideways, never vanish).
        header.setSectionResizeMode(Column.NAME, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(Column.NAME, NAME_WIDTH)
        # Widths from the widest text each column can show, not from the rows: measuring
        # rows ("resize to contents") asks the model for every cell of up to 1000 rows after
        # each expand (200 k calls into Python, 3.7 s, to open a folder of 1148 entries).
        metrics = self.view.fontMetrics()
        for col, sample in COLUMN_SAMPLES.items():
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            text = max(metrics.horizontalAdvance(sample),
                       metrics.horizontalAdvance(HEADERS[col]))
            header.resizeSection(col, text + COLUMN_PADDING)
        self.view.selectionModel().currentChanged.connect(self._current_changed)

        self.mode_box = QComboBox(self)
        self.mode_box.setObjectName("modeBox")
        for mode in Mode:
            self.mode_box.addItem(MODE_TEXT[mode], mode)
        self.mode_box.currentIndexChanged.connect(
            lambda i: self.set_mode(self.mode_box.itemData(i)))

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("filterEdit")
        self.filter_edit.setPlaceholderText("Filter paths: text, glob (/etc/*.conf) or /regex/")
        self.filter_edit.setClearButtonEnabled(True)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.refresh)
        self.filter_edit.textChanged.connect(lambda _t: self._filter_timer.start())
        self._listing_job: Job | None = None
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)
        self.filter_error = QLabel(self)
        self.filter_error.setObjectName("filterError")
        self.filter_error.hide()

        self.kind_buttons: dict[DiffKind, QToolButton] = {}
        toggles = QHBoxLayout()
        toggles.setSpacing(2)
        for kind in (DiffKind.ADDED, DiffKind.MODIFIED, DiffKind.REMOVED, DiffKind.UNCHANGED):
            button = QToolButton(self)
            button.setCheckable(True)
            button.setText(f"{LETTERS[kind]} {kind.value.capitalize()}")
            button.setToolTip(f"Show {kind.value} entries")
            color = kind_color(kind)
            if color is not None:
                button.setStyleSheet(f"QToolButton {{ color: {color.name()}; }}")
            button.toggled.connect(self._kind_toggled)
            self.kind_buttons[kind] = button
            toggles.addWidget(button)

        self.sort_button = QToolButton(self)
        self.sort_button.setObjectName("sortButton")
        self.sort_button.setCheckable(True)
        self.sort_button.setText("Largest first")
        self.sort_button.setToolTip("Sort by size, largest first (otherwise by name)")
        self.sort_button.toggled.connect(self._sort_toggled)
        expand = QToolButton(self)
        expand.setText("Expand all")
        expand.clicked.connect(self.expand_all)
        collapse = QToolButton(self)
        collapse.setText("Collapse all")
        collapse.clicked.connect(self.view.collapseAll)

        self.summary = QLabel(self)
        self.summary.setObjectName("treeSummary")

        top = QHBoxLayout()
        top.addWidget(self.mode_box)
        top.addWidget(self.filter_edit, 1)
        bar = QHBoxLayout()
        bar.addLayout(toggles)
        bar.addStretch(1)
        bar.addWidget(self.sort_button)
        bar.addWidget(expand)
        bar.addWidget(collapse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.filter_error)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.summary)

        find = QAction("Filter", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self.focus_filter)
        self.addAction(find)
        self._sync_buttons()

    # ----------------------------------------------------------------- state

    @property
    def on_sandbox(self) -> bool:
        """Whether the container layer (not an image layer) is shown."""
        return (self.sandbox is not None and self.inspection is not None
                and self.layer == len(self.inspection.indexes))

    @property
    def hidden(self) -> dict[Mode, frozenset[DiffKind]]:
        return self._hidden_sandbox if self.on_sandbox else self._hidden_image

    def set_sandbox(self, sandbox: Sandbox | None) -> None:
        self.sandbox = sandbox
        if self.on_sandbox or sandbox is None:
            self.refresh()

    def set_inspection(self, inspection: Inspection | None, layer: int | None = None) -> None:
        self.inspection = inspection
        if inspection is not None:
            self.layer = len(inspection.indexes) - 1 if layer is None else layer
        self.refresh()

    def set_layer(self, layer: int) -> None:
        if layer != self.layer:
            self.layer = layer
            self.refresh()

    def set_mode(self, mode: Mode) -> None:
        if mode is self.mode:
            return
        self.mode = mode
        self.mode_box.setCurrentIndex(list(Mode).index(mode))
        self._sync_buttons()
        self.refresh()

    def _sync_buttons(self) -> None:
        for kind, button in self.kind_buttons.items():
            button.blockSignals(True)
            button.setChecked(kind not in self.hidden[self.mode])
            button.blockSignals(False)

    def _kind_toggled(self, _checked: bool) -> None:
        self.hidden[self.mode] = frozenset(
            k for k, b in self.kind_buttons.items() if not b.isChecked())
        self.refresh()

    def _sort_toggled(self, checked: bool) -> None:
        self.sort = SortOrder.SIZE if checked else SortOrder.NAME
        self.refresh()

    def focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is self.filter_edit:
            self.prepare_filter()

    def prepare_filter(self) -> None:
        """List the tree's paths in a job as soon as the user heads for the filter box, so
        the first filter on a big tree need not wait for it (a million entries: seconds)."""
        root = self._root
        if root is None or self.on_sandbox or self._listing_job is not None:
            return

        def work(_progress: Progress, cancel: CancelToken) -> None:
            flat_paths(root, cancel=cancel).joined()  # and what a glob searches

        job = Job(work, name="listing", parent=self)
        self._listing_job = job
        job.done.connect(lambda j=job: self._listing_done(j))
        job.launch(sync=self.run_sync)

    def _listing_done(self, job: Job) -> None:
        if job is self._listing_job:
            self._listing_job = None

    def _cancel_listing(self) -> None:
        if self._listing_job is not None:
            self._listing_job.cancel()
            self._listing_job = None

    def expand_all(self) -> None:
        """Expand what is loaded, level by level (a huge tree would take long otherwise)."""
        self.view.expandToDepth(3)

    # ----------------------------------------------------------------- content

    def refresh(self) -> None:
        """Rebuild the tree for the current layer, mode, filter, toggles and sort."""
        if self._filter_job is not None:
            self._filter_job.cancel()
            self._filter_job = None
        if self.inspection is None:
            self._root = None
            self.model.set_tree(None)
            self.summary.setText("")
            return
        self._sync_buttons()
        if self.on_sandbox:
            assert self.sandbox is not None
            self._root = sandbox_diff(self.inspection, self.sandbox, self.mode)
            self._root_key = None
        else:
            key = (self.inspection, self.layer, self.mode)
            last = self._root_key
            if (self._root is None or last is None or last[0] is not key[0]
                    or last[1:] != key[1:]):
                # Kept while only the filter or the toggles change: the filter's path
                # listing of a big tree is made once per tree (tree_filter.flat_paths).
                self._root = diff_for(self.inspection, self.layer, self.mode)
                self._root_key = key
                self._cancel_listing()
        hidden = self.hidden[self.mode]
        try:
            matcher = compile_filter(self.filter_edit.text())
        except ExplorerError as exc:
            self.filter_error.setText(str(exc))
            self.filter_error.show()
            return
        self.filter_error.hide()
        if matcher is None:
            self._show(self._root, None)
            return
        root = self._root

        def work(_progress: Progress, cancel: CancelToken) -> set[bytes] | None:
            return visible_paths(root, matcher, hidden, cancel=cancel)

        job = Job(work, name="filter", parent=self)
        self._filter_job = job
        job.finished.connect(lambda paths, j=job: self._filtered(j, root, paths))
        job.done.connect(lambda: self.filtering.emit(False))
        self.filtering.emit(True)
        job.launch(sync=self.run_sync)

    def _filtered(self, job: Job, root: DiffNode, paths: set[bytes] | None) -> None:
        if job is not self._filter_job:
            return  # a newer refresh replaced it
        self._filter_job = None
        self._show(root, paths)
        if paths is not None and len(paths) < 2000:
            self.view.expandAll()

    def _show(self, root: DiffNode, visible: set[bytes] | None) -> None:
        sizer = self.inspection.dir_sizes.size if self.inspection is not None else None
        self.model.set_tree(root, hidden=self.hidden[self.mode], visible=visible, sort=self.sort,
                            sizer=sizer)
        if self.mode is not Mode.MERGED and _small(root, self.hidden[self.mode], AUTO_EXPAND):
            self.view.expandAll()  # a layer's few changes are read at a glance, as in dive
        shown = "everything" if visible is None else f"{len(visible):,} matching paths"
        where = "Container layer (writable)" if self.on_sandbox else f"Layer {self.layer}"
        self.summary.setText(f"{where} · {MODE_TEXT[self.mode].lower()} · {shown}")

    def expanded_paths(self, limit: int = 500) -> list[bytes]:
        """The expanded directories, parents first (to reopen them after a rebuild)."""
        out: list[bytes] = []
        stack = [QModelIndex()]
        while stack and len(out) < limit:
            parent = stack.pop()
            for row in range(self.model.rowCount(parent)):
                index = self.model.index(row, 0, parent)
                if self.view.isExpanded(index):
                    node = self.model.node(index)
                    if node is not None:
                        out.append(node.path)
                        stack.append(index)
        return sorted(out, key=lambda p: p.count(b"/"))

    def keep_view(self, rebuild: Callable[[], None]) -> None:
        """Rebuild the tree but keep what the user had open and selected (after an edit)."""
        expanded = self.expanded_paths()
        current = self.model.node(self.view.currentIndex())
        rebuild()
        for path in expanded:
            index = self.model.index_of(path)
            if index.isValid():
                self.view.expand(index)
        if current is not None:
            self.select_path(current.path)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.selected.emit(self.model.node(current))

    def select_path(self, path: bytes) -> bool:
        index = self.model.index_of(path)
        if not index.isValid():
            return False
        self.view.scrollTo(index)
        self.view.setCurrentIndex(index)
        return True
