"""Choose one image of an archive that holds several (podman save -m, multi-platform)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from explorer.core.humanize import dive_bytes
from explorer.core.image.model import ImageRef


class ImagePicker(QDialog):
    def __init__(self, refs: list[ImageRef], archive: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose an image")
        self.refs = refs
        self.table = QTableWidget(len(refs), 4, self)
        self.table.setObjectName("imageTable")
        self.table.setHorizontalHeaderLabels(["Image", "Platform", "Layers", "Stored size"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for row, ref in enumerate(refs):
            name = ", ".join(ref.tags) if ref.tags else ref.name
            cells = [name, str(ref.platform) if ref.platform else "", str(ref.layer_count),
                     dive_bytes(sum(ref.layer_sizes))]
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.selectRow(0)
        self.table.doubleClicked.connect(lambda _i: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                   | QDialogButtonBox.StandardButton.Cancel, parent=self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{archive} holds {len(refs)} images. Which one?", self))
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(640, 320)

    def chosen(self) -> ImageRef | None:
        rows = self.table.selectionModel().selectedRows()
        return self.refs[rows[0].row()] if rows else None
