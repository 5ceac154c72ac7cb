"""The layer stack as a table, like ``docker history`` with the facts dive shows.

Layers are rows; ``empty_layer`` history entries (ENV, CMD, ...) sit dimmed between the layers
they were recorded between.  Sizes are the blob size until the layer is indexed, then dive's
layer size.  Top-down (as ``docker history`` prints) or bottom-up.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QFont

from explorer.core.fs.layer_index import LayerIndex
from explorer.core.humanize import dive_bytes
from explorer.core.image.base_image import base_layer_count
from explorer.core.image.model import HistoryEntry, Image, LayerInfo
from explorer.qt.mime import LAYER_MIME, LayerRef
from explorer.qt.style import dimmed

Index = QModelIndex | QPersistentModelIndex


class Column(enum.IntEnum):
    INDEX = 0
    SIZE = 1
    COMMAND = 2
    CREATED = 3
    DIGEST = 4


HEADERS = ("#", "Size", "Command", "Created", "Diff ID")

LayerRole = Qt.ItemDataRole.UserRole + 1
"""The layer number of a row (None for an empty history entry)."""


@dataclass(frozen=True)
class Row:
    layer: LayerInfo | None
    history: HistoryEntry | None
    sandbox: bool = False
    """The writable container layer above the image (selectable, like a layer)."""

    @property
    def is_layer(self) -> bool:
        return self.layer is not None or self.sandbox


@dataclass(frozen=True)
class SandboxInfo:
    changes: int
    bytes_added: int
    bytes_removed: int


def one_line(command: str) -> str:
    text = " ".join(command.split())
    for prefix in ("/bin/sh -c #(nop) ", "/bin/sh -c "):
        if text.startswith(prefix):
            return text[len(prefix):] if "#(nop)" in prefix else "RUN " + text[len(prefix):]
    return text


def _delta(info: SandboxInfo) -> str:
    """What the container layer adds and removes, in one short cell."""
    if not info.changes:
        return "0 B"
    parts = []
    if info.bytes_added or not info.bytes_removed:
        parts.append(f"+{dive_bytes(info.bytes_added)}")
    if info.bytes_removed:
        parts.append(f"−{dive_bytes(info.bytes_removed)}")
    return " ".join(parts)


class LayerTableModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._image: Image | None = None
        self._indexes: list[LayerIndex] | None = None
        self._rows: list[Row] = []
        self._top_down = True
        self._base = 0
        self._sandbox: SandboxInfo | None = None
        self._source = ""
        self._shared: dict[int, str] = {}

    def set_shared(self, labels: dict[int, str]) -> None:
        """Layers other open images share (layer number -> "shared with web:1.0")."""
        self._shared = dict(labels)
        if self._rows:
            self.dataChanged.emit(self.index(0, Column.INDEX),
                                  self.index(len(self._rows) - 1, Column.INDEX))

    def shared_label(self, layer: int) -> str:
        return self._shared.get(layer, "")

    def set_source(self, path: str) -> None:
        """The archive the image came from (named in drag payloads)."""
        self._source = path

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData | None:  # type: ignore[override]
        """A dragged layer row: which archive, image and layer (for a comparison drop)."""
        for index in indexes:
            row = self.row(index.row())
            if row is not None and row.layer is not None and self._image is not None:
                label = f"{self._image.ref.name} · layer {row.layer.index}"
                return LayerRef(self._source, self._image.ref.index, row.layer.index,
                                label).encode()
        return None

    def set_image(self, image: Image | None) -> None:
        self.beginResetModel()
        self._image = image
        self._indexes = None
        self._base = base_layer_count(image) if image is not None else 0
        self._rows = self._build()
        self.endResetModel()

    def set_indexes(self, indexes: list[LayerIndex] | None) -> None:
        """Layer sizes become dive's once the layers are indexed."""
        self._indexes = indexes
        if self._rows:
            self.dataChanged.emit(self.index(0, Column.SIZE),
                                  self.index(len(self._rows) - 1, Column.SIZE))

    @property
    def top_down(self) -> bool:
        return self._top_down

    def set_top_down(self, value: bool) -> None:
        if value != self._top_down:
            self.beginResetModel()
            self._top_down = value
            self._rows = self._build()
            self.endResetModel()

    def set_sandbox(self, info: SandboxInfo | None) -> None:
        """Show (or update, or hide) the container layer row above the image's layers."""
        had = self._sandbox is not None
        if had != (info is not None):  # insert or remove one row: selections survive
            where = 0 if self._top_down else len(self._rows) - (1 if had else 0)
            if info is not None:
                self.beginInsertRows(QModelIndex(), where, where)
                self._sandbox = info
                self._rows = self._build()
                self.endInsertRows()
            else:
                self.beginRemoveRows(QModelIndex(), where, where)
                self._sandbox = None
                self._rows = self._build()
                self.endRemoveRows()
            return
        self._sandbox = info
        if info is not None and self._rows:
            row = self.row_of_layer(self.sandbox_layer)
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))

    @property
    def sandbox_layer(self) -> int:
        """The layer number the container layer row stands for (one above the top)."""
        return len(self._image.layers) if self._image is not None else 0

    def _build(self) -> list[Row]:
        if self._image is None:
            return []
        rows: list[Row] = []
        for layer in self._image.layers:  # bottom-up, as recorded
            rows += [Row(None, h) for h in layer.empty_before]
            rows.append(Row(layer, layer.history))
        rows += [Row(None, h) for h in self._image.trailing_empty]
        if self._sandbox is not None:
            rows.append(Row(None, None, sandbox=True))
        if self._top_down:
            rows.reverse()
        return rows

    def is_base(self, layer: int) -> bool:
        """From the base image (or, when the history can't tell, the bottom layer)."""
        return layer < self._base if self._base else layer == 0

    def row_of_layer(self, layer: int) -> int:
        for i, row in enumerate(self._rows):
            if row.layer is not None and row.layer.index == layer:
                return i
            if row.sandbox and layer == self.sandbox_layer:
                return i
        return -1

    def row(self, row: int) -> Row | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    # ----------------------------------------------------------------- Qt

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        row = self._rows[index.row()]
        if row.layer is not None:
            return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsDragEnabled)
        if row.sandbox:
            return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return Qt.ItemFlag.ItemIsEnabled

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = Column(index.column())
        if row.sandbox:
            return self._sandbox_data(column, role)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.ForegroundRole and not row.is_layer:
            return dimmed()
        if role == Qt.ItemDataRole.FontRole and not row.is_layer:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (Column.SIZE, Column.INDEX):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == LayerRole:
            return row.layer.index if row.layer is not None else None
        return None

    def _sandbox_data(self, column: Column, role: int) -> Any:
        info = self._sandbox
        assert info is not None
        if role == LayerRole:
            return self.sandbox_layer
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.DisplayRole:
            return {
                Column.INDEX: "rw",
                Column.SIZE: _delta(info),
                Column.COMMAND: ("container layer (writable)" + (
                    f" · {info.changes} change{'s' if info.changes != 1 else ''}"
                    if info.changes else " · no changes")),
                Column.CREATED: "",
                Column.DIGEST: "",
            }[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"Your edits on top of the image: {info.changes} changes, "
                    f"+{info.bytes_added:,} / −{info.bytes_removed:,} bytes. Commit them "
                    "(Ctrl+K) to write a new image; the image itself is never changed.")
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (Column.SIZE, Column.INDEX):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _size(self, layer: LayerInfo) -> tuple[str, str]:
        if self._indexes is not None:
            ix = self._indexes[layer.index]
            return dive_bytes(ix.size), f"{ix.size:,} bytes in the layer's files"
        return (dive_bytes(layer.compressed_size) + "*",
                f"{layer.compressed_size:,} bytes stored (not indexed yet)")

    def _display(self, row: Row, column: Column) -> str:
        layer = row.layer
        if column is Column.INDEX:
            if layer is None:
                return ""
            text = f"{layer.index} (base)" if self.is_base(layer.index) else str(layer.index)
            return f"{text} ⇄" if layer.index in self._shared else text
        if column is Column.SIZE:
            return self._size(layer)[0] if layer is not None else "empty"
        if column is Column.COMMAND:
            if layer is not None:
                return one_line(layer.command)
            return one_line(row.history.created_by) if row.history else ""
        if column is Column.CREATED:
            created = row.history.created if row.history else ""
            return created[:19].replace("T", " ")
        if layer is None:
            return ""
        return layer.diff_id.short

    def _tooltip(self, row: Row, column: Column) -> str:
        layer = row.layer
        if column is Column.SIZE and layer is not None:
            return self._size(layer)[1]
        if column is Column.DIGEST and layer is not None:
            return f"diff_id {layer.diff_id}\nblob {layer.digest or 'unknown'}"
        if column is Column.INDEX and layer is not None and layer.index in self._shared:
            return f"⇄ {self._shared[layer.index]}: stored once on disk for both images."
        if column is Column.INDEX and layer is not None and self.is_base(layer.index):
            if self._base:
                return (f"From the base image: its history ends with a CMD/ENTRYPOINT below "
                        f"layer {self._base}; layers {self._base}+ are this image's own.")
            return "The base layer: the root filesystem the image starts from."
        command = layer.command if layer else (row.history.created_by if row.history else "")
        return command
