"""dive's inefficient files (paths stored in more than one layer) as a lazy table.

A many-layer image has tens of thousands of them; making an item per cell up front held the
GUI thread for over a second.  Rows are handed to the view a batch at a time as it scrolls.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from explorer.core.analysis.efficiency import PathUse
from explorer.core.fs.entry import display_path
from explorer.core.humanize import dive_bytes

Index = QModelIndex | QPersistentModelIndex

BATCH = 500
"""Rows added per ``fetchMore`` (a screenful is a few dozen)."""

PathRole = Qt.ItemDataRole.UserRole + 1
"""The row's path as raw bytes, relative to the root (what the tree is asked to reveal)."""


class Column(enum.IntEnum):
    COUNT = 0
    SIZE = 1
    PATH = 2


HEADERS = ("Count", "Total space", "Path")
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class InefficientFilesModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._uses: Sequence[PathUse] = ()
        self._shown = 0

    def set_uses(self, uses: Sequence[PathUse]) -> None:
        """Show ``uses`` (largest first, dive's order); the first batch right away."""
        self.beginResetModel()
        self._uses = uses
        self._shown = min(len(uses), BATCH)
        self.endResetModel()

    @property
    def total(self) -> int:
        return len(self._uses)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._shown

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and self._shown < len(self._uses)

    def fetchMore(self, parent: Index) -> None:
        if parent.isValid():
            return
        more = min(BATCH, len(self._uses) - self._shown)
        if more <= 0:
            return
        self.beginInsertRows(QModelIndex(), self._shown, self._shown + more - 1)
        self._shown += more
        self.endInsertRows()

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(HEADERS):
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self._shown:
            return None
        use = self._uses[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == Column.COUNT:
                return str(use.count)
            if column == Column.SIZE:
                return dive_bytes(use.size)
            return display_path(use.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == Column.SIZE:
                return f"{use.size:,} bytes in {use.count} layers"
            if column == Column.PATH:
                return "/" + display_path(use.path.lstrip(b"/"))
        if role == Qt.ItemDataRole.TextAlignmentRole and column != Column.PATH:
            return int(_RIGHT)
        if role == PathRole:
            return use.path.lstrip(b"/")
        return None

    def path_at(self, row: int) -> bytes | None:
        return self._uses[row].path.lstrip(b"/") if 0 <= row < self._shown else None
