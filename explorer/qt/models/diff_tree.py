"""The file tree of one layer (or of a layer range) as a lazy Qt item model.

Rows come from a core ``DiffNode`` tree.  Children are built when a directory is first
expanded (``fetchMore``), in batches so a directory with 100 k entries does not stall the
view; hidden change kinds, the path filter and the sort order are applied at that moment.
The model holds no parsing and no I/O: everything it shows is already in the diff nodes.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QFont

from explorer.core.collector import collector_paused
from explorer.core.fs.diff import DiffKind, DiffNode, RemovalCause
from explorer.core.fs.entry import EntryKind, display_path
from explorer.core.humanize import dive_bytes
from explorer.core.tasks import CancelToken, Progress
from explorer.qt.jobs import Job
from explorer.qt.style import kind_brush

Index = QModelIndex | QPersistentModelIndex

BATCH = 500
"""Rows inserted per fetchMore: Qt asks again while canFetchMore stays true.  The view lays
out every row inserted (an ``index`` and a ``hasChildren`` call into Python each), so the
first batch of a 100 k folder paints in 0.2 s with 500 rows and 0.35 s with 2000; a screen
shows fifty."""
BIG_DIRECTORY = 5000
"""A directory with more entries than this gets its rows computed in a job."""
_ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
"""Made once: Qt asks every row, and or-ing two flags in Python costs 4 µs each time."""


class Column(enum.IntEnum):
    NAME = 0
    SIZE = 1
    MODE = 2
    OWNER = 3
    MTIME = 4
    LAYER = 5
    CHANGE = 6


HEADERS = {
    Column.NAME: "Name", Column.SIZE: "Size", Column.MODE: "Mode", Column.OWNER: "Owner",
    Column.MTIME: "Modified", Column.LAYER: "Layer", Column.CHANGE: "Change",
}

COLUMN_SAMPLES = {
    Column.SIZE: "999.9 MB", Column.MODE: "drwxrwxrwt", Column.OWNER: "1000:1000",
    Column.MTIME: "2026-11-29 23:59", Column.LAYER: "999", Column.CHANGE: "Removed (opaque)",
}
"""The widest text each fixed column shows, which sets its width (the name column stretches)."""

CHANGE_TEXT = {
    DiffKind.ADDED: "Added", DiffKind.MODIFIED: "Modified", DiffKind.REMOVED: "Removed",
    DiffKind.UNCHANGED: "",
}
CAUSE_TEXT = {
    RemovalCause.WHITEOUT: "removed by a whiteout",
    RemovalCause.OPAQUE: "hidden by an opaque directory",
    RemovalCause.REPLACED: "replaced by a non-directory",
    RemovalCause.NONE: "",
}


class SortOrder(enum.Enum):
    NAME = "name"
    SIZE = "size"
    """Largest first, as dive users look for what takes the space."""


class _Item:
    __slots__ = ("children", "loading", "node", "parent", "pending", "row")

    def __init__(self, node: DiffNode, parent: _Item | None, row: int) -> None:
        self.node = node
        self.parent = parent
        self.row = row
        self.children: list[_Item] = []
        self.pending: list[DiffNode] | None = None
        """Children not inserted yet (None: not computed yet)."""
        self.loading = False
        """A job is computing the children of this (big) directory."""


def width(node: DiffNode) -> int:
    """How many entries a directory row may have (both sides counted), without building them."""
    width = 0
    for side in (node.lower, node.upper):
        if side is not None and side.children:
            width += len(side.children)
    return width


class DiffTreeModel(QAbstractItemModel):
    directory_loaded = Signal(bytes)
    """A big directory's rows were computed in a job and inserted."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._root: _Item | None = None
        self._hidden: frozenset[DiffKind] = frozenset()
        self._visible: set[bytes] | None = None
        self._sort = SortOrder.NAME
        self._sizes: dict[int, int] = {}
        self._sizer: Callable[[DiffNode], int] | None = None
        self._generation = 0
        self.run_sync = False
        self.jobs: list[Job] = []

    # ----------------------------------------------------------------- configuration

    def set_tree(self, root: DiffNode | None, *, hidden: frozenset[DiffKind] = frozenset(),
                 visible: set[bytes] | None = None, sort: SortOrder = SortOrder.NAME,
                 sizer: Callable[[DiffNode], int] | None = None) -> None:
        """Show ``root``'s children; ``visible`` (a filter's result) limits the paths shown.
        ``sizer`` gives a row's size cheaply (``Inspection.dir_sizes.size``); without it a
        directory's size walks its diff subtree."""
        self.beginResetModel()
        self._generation += 1
        for job in self.jobs:
            job.cancel()
        self.jobs = []
        self._root = _Item(root, None, 0) if root is not None else None
        self._hidden = hidden
        self._visible = visible
        self._sort = sort
        self._sizes = {}
        self._sizer = sizer
        root_item = self._root
        if root_item is not None and sort is SortOrder.NAME:
            self._prepare(root_item)
            self._insert_batch(root_item, QModelIndex(), signal=False)
        self.endResetModel()
        if root_item is not None and sort is SortOrder.SIZE:
            self._prepare_in_job(root_item)  # sizes walk the whole tree

    @property
    def root_node(self) -> DiffNode | None:
        return self._root.node if self._root is not None else None

    def node(self, index: Index) -> DiffNode | None:
        item = self._item(index)
        return item.node if item is not None and item is not self._root else None

    # ----------------------------------------------------------------- structure

    def _item(self, index: Index) -> _Item | None:
        if not index.isValid():
            return self._root
        item: _Item = index.internalPointer()
        return item

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:
        if column < 0 or column >= len(Column) or row < 0:
            return QModelIndex()
        item = self._item(parent)
        if item is None or (parent.isValid() and parent.column() != 0):
            return QModelIndex()
        if row >= len(item.children):
            return QModelIndex()
        return self.createIndex(row, column, item.children[row])

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        item: _Item = index.internalPointer()
        parent = item.parent
        if parent is None or parent is self._root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        item = self._item(parent)
        return 0 if item is None else len(item.children)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return len(Column)

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:
        item = self._item(parent)
        if item is None or (parent.isValid() and parent.column() != 0):
            return False
        if item is self._root:
            return True
        if not item.node.is_dir:
            return False
        if item.pending is None:
            return True  # not looked at yet: show the expander, fetchMore decides
        return bool(item.children or item.pending)

    def canFetchMore(self, parent: Index) -> bool:
        item = self._item(parent)
        if item is None or (parent.isValid() and parent.column() != 0):
            return False
        if item is not self._root and not item.node.is_dir:
            return False
        if item.loading:
            return False
        return item.pending is None or bool(item.pending)

    def fetchMore(self, parent: Index) -> None:
        item = self._item(parent)
        if item is None or item.loading:
            return
        if item.pending is None:
            if item is not self._root and width(item.node) > BIG_DIRECTORY:
                self._prepare_in_job(item)
                return
            self._prepare(item)
        self._insert_batch(item, QModelIndex(parent) if parent.isValid() else QModelIndex(),
                           signal=True)

    def _children_of(self, node: DiffNode) -> list[DiffNode]:
        # Kinds are tested in a tuple (by identity, no Python-level Enum hash) and the
        # visible set only when there is one: a big folder has 100 k children.
        hidden, visible = tuple(self._hidden), self._visible
        if visible is None:
            kids = [c for c in node.children if c.kind not in hidden] if hidden \
                else list(node.children)
        else:
            kids = [c for c in node.children if c.kind not in hidden and c.path in visible]
        if self._sort is SortOrder.SIZE:
            kids.sort(key=lambda c: (-self.size_of(c), c.name))
        return kids

    def _prepare(self, item: _Item) -> None:
        item.pending = self._children_of(item.node)

    def _prepare_in_job(self, item: _Item) -> None:
        """Build a big directory's rows off the GUI thread; rows appear when they are ready."""
        generation = self._generation
        item.loading = True

        def work(_progress: Progress, _cancel: CancelToken) -> list[DiffNode]:
            with collector_paused():  # 100 k new diff nodes: a third faster without it
                return self._children_of(item.node)

        def ready(kids: list[DiffNode]) -> None:
            item.loading = False
            if generation != self._generation or item.pending is not None:
                return  # the tree was replaced meanwhile, or index_of filled it
            item.pending = kids
            parent = QModelIndex() if item is self._root else self.createIndex(item.row, 0, item)
            self._insert_batch(item, parent, signal=True)
            self.directory_loaded.emit(item.node.path)

        job = Job(work, name="directory", parent=self)
        self.jobs.append(job)
        job.finished.connect(ready)
        job.done.connect(lambda: self.jobs.remove(job) if job in self.jobs else None)
        job.launch(sync=self.run_sync)

    def _insert_batch(self, item: _Item, parent: QModelIndex, *, signal: bool) -> None:
        assert item.pending is not None
        batch, item.pending = item.pending[:BATCH], item.pending[BATCH:]
        if not batch:
            return
        first = len(item.children)
        if signal:
            self.beginInsertRows(parent, first, first + len(batch) - 1)
        item.children.extend(_Item(n, item, first + i) for i, n in enumerate(batch))
        if signal:
            self.endInsertRows()

    def size_of(self, node: DiffNode) -> int:
        """dive's size of an entry (directories: their content), computed once."""
        key = id(node)
        size = self._sizes.get(key)
        if size is None:
            size = self._sizes[key] = self._sizer(node) if self._sizer else node.size()
        return size

    # ----------------------------------------------------------------- data

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _ROW_FLAGS

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node: DiffNode = index.internalPointer().node
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(node, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(node, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            brush: QBrush | None = kind_brush(node.kind)
            return brush
        if (role == Qt.ItemDataRole.FontRole and node.kind is DiffKind.REMOVED
                and column is Column.NAME):
            font = QFont()
            font.setStrikeOut(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column is Column.SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.AccessibleTextRole and column is Column.NAME:
            change = CHANGE_TEXT[node.kind] or "unchanged"
            return f"{display_path(node.name)}, {change}"
        return None

    def _display(self, node: DiffNode, column: Column) -> str:
        entry = node.entry
        if column is Column.NAME:
            name = display_path(node.name)
            if entry.kind is EntryKind.SYMLINK:
                return f"{name} → {display_path(entry.link)}"
            if entry.kind is EntryKind.HARDLINK:
                return f"{name} ⇒ {display_path(entry.link)} (hardlink)"
            return name
        if column is Column.SIZE:
            return dive_bytes(self.size_of(node))
        if column is Column.MODE:
            return entry.mode_string
        if column is Column.OWNER:
            return f"{entry.uid}:{entry.gid}"
        if column is Column.MTIME:
            if entry.implicit:
                return ""
            when = datetime.datetime.fromtimestamp(entry.mtime, tz=datetime.UTC)
            return when.strftime("%Y-%m-%d %H:%M")
        if column is Column.LAYER:
            return "" if node.layer < 0 else str(node.layer)
        text = CHANGE_TEXT[node.kind]
        if node.kind is DiffKind.REMOVED and node.cause is RemovalCause.OPAQUE:
            return "Removed (opaque)"
        return text

    def _tooltip(self, node: DiffNode, column: Column) -> str:
        if column is Column.SIZE:
            return f"{self.size_of(node):,} bytes"
        lines = ["/" + display_path(node.path)]
        cause = CAUSE_TEXT[node.cause] if node.kind is DiffKind.REMOVED else ""
        if cause:
            lines.append(cause)
        return "\n".join(lines)

    def index_of(self, path: bytes) -> QModelIndex:
        """Fetch down to ``path`` and return its index (invalid when not shown)."""
        parent = QModelIndex()
        if self._root is None or not path:
            return parent
        item = self._root
        for name in path.split(b"/"):
            while True:
                found = next((c for c in item.children if c.node.name == name), None)
                if found is not None or item.pending == []:
                    break
                if item.pending is None:
                    self._prepare(item)  # asked for a path: build it now, even a big one
                self._insert_batch(item, parent, signal=True)
            if found is None:
                return QModelIndex()
            parent = self.createIndex(found.row, 0, found)
            item = found
        return parent
