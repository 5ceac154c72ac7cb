"""The open images, as a list that can be dragged from and dropped onto (to compare)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QMimeData, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from explorer.qt.mime import LAYER_MIME, LayerRef


class ImageList(QListWidget):
    image_dropped = Signal(object, int)
    """A dragged image or layer (LayerRef) was dropped on the image in this row."""

    def __init__(self, refs: Callable[[int], LayerRef | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._refs = refs
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]

    def mimeData(self, items: Sequence[QListWidgetItem]) -> QMimeData:  # type: ignore[override]
        """A whole image (its top layer) as a drag payload."""
        ref = self._refs(self.row(items[0])) if items else None
        return ref.encode() if ref is not None else QMimeData()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if LayerRef.decode(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if LayerRef.decode(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_on_row(event.mimeData(), self.indexAt(event.position().toPoint()).row())
        event.acceptProposedAction()

    def drop_on_row(self, mime: QMimeData, row: int) -> bool:
        ref = LayerRef.decode(mime)
        if ref is None or row < 0:
            return False
        self.image_dropped.emit(ref, row)
        return True
