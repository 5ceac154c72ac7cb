"""The layer stack: a docker-history-like table with the image's size and layer count."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelection, QMimeData, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.core.fs.layer_index import LayerIndex
from explorer.core.humanize import dive_bytes
from explorer.core.image.model import Image
from explorer.qt.mime import LayerRef
from explorer.qt.models.layer_table import Column, LayerRole, LayerTableModel


class LayerPanel(QWidget):
    layer_selected = Signal(int)
    layer_dropped = Signal(object, int)
    """A dragged layer (LayerRef) was dropped on this stack's layer (number): compare them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LayerTableModel(self)
        self.view = QTableView(self)
        self.view.setObjectName("layerTable")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        self.view.setWordWrap(False)
        self.view.setShowGrid(False)
        self.view.setDragEnabled(True)  # drag a layer onto another layer, or a compare slot
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.view.setAcceptDrops(True)
        self.view.viewport().setAcceptDrops(True)
        self.view.viewport().installEventFilter(self)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(Column.COMMAND, QHeaderView.ResizeMode.Stretch)
        for col in (Column.INDEX, Column.SIZE, Column.CREATED, Column.DIGEST):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)

        self.title = QLabel("No image", self)
        self.title.setObjectName("layerTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.order = QToolButton(self)
        self.order.setObjectName("orderButton")
        self.order.setCheckable(True)
        self.order.setChecked(True)
        self.order.setText("Top layer first")
        self.order.setToolTip("Show the newest layer at the top, as docker history does; "
                              "untick for base layer first")
        self.order.toggled.connect(self._order_toggled)

        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.order)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.view, 1)
        self.shared_note = QLabel(self)
        self.shared_note.setObjectName("sharedNote")
        self.shared_note.setWordWrap(True)
        self.shared_note.hide()
        layout.addWidget(self.shared_note)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            drag = event
            assert isinstance(drag, QDragMoveEvent)
            if LayerRef.decode(drag.mimeData()) is not None:
                drag.acceptProposedAction()
                return True
        if event.type() == QEvent.Type.Drop:
            drop = event
            assert isinstance(drop, QDropEvent)
            if self.drop_layer(drop.mimeData(), drop.position().toPoint()):
                drop.acceptProposedAction()
                return True
        return False

    def drop_layer(self, mime: QMimeData, pos: QPoint) -> bool:
        """A layer row dropped on one of ours: ask for the comparison of the two."""
        ref = LayerRef.decode(mime)
        index = self.view.indexAt(pos)
        target = self.model.data(index, LayerRole) if index.isValid() else None
        if ref is None or target is None or target >= self.model.sandbox_layer:
            return False
        self.layer_dropped.emit(ref, int(target))
        return True

    def set_image(self, image: Image | None) -> None:
        self.model.set_image(image)
        if image is None:
            self.title.setText("No image")
            return
        stored = sum(layer.compressed_size for layer in image.layers)
        self.title.setText(f"{image.ref.name} · {len(image.layers)} layers · "
                           f"{dive_bytes(stored)} stored")

    def set_indexes(self, image: Image, indexes: list[LayerIndex]) -> None:
        self.model.set_indexes(indexes)
        size = sum(ix.size for ix in indexes)
        self.title.setText(f"{image.ref.name} · {len(image.layers)} layers · "
                           f"{dive_bytes(size)}")

    def select_layer(self, layer: int) -> None:
        row = self.model.row_of_layer(layer)
        if row >= 0:
            self.view.selectRow(row)
            self.view.scrollTo(self.model.index(row, 0))

    def current_layer(self) -> int | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        value = self.model.data(rows[0], LayerRole)
        return int(value) if value is not None else None

    def _selection_changed(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        layer = self.current_layer()
        if layer is not None:
            self.layer_selected.emit(layer)

    def _order_toggled(self, top_down: bool) -> None:
        layer = self.current_layer()
        self.model.set_top_down(top_down)
        if layer is not None:
            self.select_layer(layer)
