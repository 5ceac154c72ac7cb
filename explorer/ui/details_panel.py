"""Facts about the image, the selected layer and the selected file."""

from __future__ import annotations

import datetime
import html

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from explorer.core.fs.diff import DiffKind, DiffNode, DiffSummary
from explorer.core.fs.entry import EntryKind, display_path
from explorer.core.humanize import dive_bytes
from explorer.core.image.model import Image
from explorer.core.inspection import Inspection
from explorer.qt.models.inefficient_files import InefficientFilesModel

KIND_WORDS = {DiffKind.ADDED: "added", DiffKind.MODIFIED: "changed",
              DiffKind.REMOVED: "removed", DiffKind.UNCHANGED: "written again, same content"}


def _row(name: str, value: str) -> str:
    return (f"<tr><td style='padding-right:12px; color:gray'>{html.escape(name)}</td>"
            f"<td>{value}</td></tr>")


def _text(value: object) -> str:
    return html.escape(str(value)) if value not in (None, "", ()) else "<i>none</i>"


def _list(values: tuple[str, ...] | list[str] | None) -> str:
    if not values:
        return "<i>none</i>"
    return "<br>".join(f"<code>{html.escape(v)}</code>" for v in values)


def _table(rows: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(_row(n, v) for n, v in rows) + "</table>"


def image_html(image: Image, inspection: Inspection | None) -> str:
    c = image.config
    rows = [
        ("Tags", _list(list(image.tags)) if image.tags else "<i>untagged</i>"),
        ("Image ID", f"<code>{image.id}</code>"),
        ("Format", _text(image.format)),
        ("Created", _text(c.created)),
        ("Author", _text(c.author)),
        ("Platform", _text(c.platform)),
        ("Entrypoint", _list(c.entrypoint)),
        ("Cmd", _list(c.cmd)),
        ("Workdir", _text(c.workdir)),
        ("User", _text(c.user)),
        ("Env", _list(c.env)),
        ("Labels", _list([f"{k}={v}" for k, v in c.labels])),
        ("Exposed ports", _list(c.exposed_ports)),
        ("Volumes", _list(c.volumes)),
    ]
    if inspection is not None:
        eff = inspection.efficiency
        rows[3:3] = [
            ("Total size", f"{dive_bytes(eff.size)} <span style='color:gray'>"
                           f"({eff.size:,} bytes)</span>"),
            ("Efficiency", f"{eff.score * 100:.4f} %"),
            ("Wasted", f"{dive_bytes(eff.wasted)} (every copy of files stored more than once, "
                       "as dive counts)"),
            ("Reclaimable", f"{dive_bytes(eff.reclaimable)} (bytes no final file uses: what "
                            "squashing would save)"),
        ]
    return "<h3>Image</h3>" + _table(rows)


def layer_html(inspection: Inspection | None, image: Image, layer: int,
               summary: DiffSummary | None = None) -> str:
    info = image.layers[layer]
    rows = [
        ("Layer", f"{layer} of {len(image.layers)}" + (" (base)" if layer == 0 else "")),
        ("Command", f"<code>{html.escape(info.command)}</code>"),
        ("Created", _text(info.history.created if info.history else "")),
        ("Diff ID", f"<code>{info.diff_id}</code>"),
        ("Blob digest", f"<code>{info.digest or 'learnt while reading'}</code>"),
        ("Chain ID", f"<code>{info.chain_id}</code>"),
        ("Media type", _text(info.media_type)),
        ("Stored size", f"{dive_bytes(info.compressed_size)} ({info.compressed_size:,} bytes)"),
    ]
    if inspection is not None:
        ix = inspection.indexes[layer]
        rows += [
            ("Size (dive)", f"{dive_bytes(ix.size)} ({ix.size:,} bytes)"),
            ("Tar size", f"{dive_bytes(ix.tar_size)}, {ix.compression.value}"),
            ("Entries", f"{len(ix.entries):,} · {len(ix.whiteouts)} whiteouts · "
                        f"{len(ix.opaque_dirs)} opaque directories"),
        ]
        s = summary
        if s is None:
            rows.append(("Changes", "<i>counting…</i>"))
        else:
            rows += [
                ("Changes", f"{s.added:,} added · {s.modified:,} modified · "
                            f"{s.removed:,} removed"),
                ("Bytes", f"+{dive_bytes(s.bytes_added)} / −{dive_bytes(s.bytes_removed)}"),
            ]
    return "<h3>Layer</h3>" + _table(rows)


def file_html(inspection: Inspection, node: DiffNode) -> str:
    e = node.entry
    size = inspection.dir_sizes.size(node)
    when = datetime.datetime.fromtimestamp(e.mtime, tz=datetime.UTC).strftime(
        "%Y-%m-%d %H:%M:%S UTC")
    rows = [
        ("Path", f"<code>/{html.escape(display_path(node.path))}</code>"),
        ("Type", _text(e.kind.name.lower())),
        ("Mode", f"<code>{e.mode_string}</code> ({e.mode:04o})"),
        ("Owner", f"{e.uid}:{e.gid}"),
        ("Size", f"{dive_bytes(size)} ({size:,} bytes"
                 + (", its contents)" if node.is_dir else ")")),
        ("Modified", "" if e.implicit else when),
    ]
    if e.kind in (EntryKind.SYMLINK, EntryKind.HARDLINK):
        rows.append(("Link target", f"<code>{html.escape(display_path(e.link))}</code>"))
    if e.xattrs:
        rows.append(("xattrs", _list([f"{display_path(k)} ({len(v)} bytes)"
                                      for k, v in e.xattrs])))
    if e.digest is not None:
        rows.append(("Content hash", f"<code>xxh3-128:{e.digest.hex()}</code>"))
    history = inspection.path_history(node.path)
    lines = [f"layer {i}: {KIND_WORDS[k]}" for i, k in history]
    rows.append(("History", _list(lines)))
    if node.kind is DiffKind.REMOVED:
        rows.append(("Removed", _text(node.cause.value)))
    return "<h3>File</h3>" + _table(rows)


class DetailsPanel(QWidget):
    reveal = Signal(bytes)
    """A path to show in the tree (an inefficient file was clicked)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tabs = QTabWidget(self)
        self.image_view = QTextBrowser(self)
        self.image_view.setObjectName("imageDetails")
        self.layer_view = QTextBrowser(self)
        self.layer_view.setObjectName("layerDetails")
        self.file_view = QTextBrowser(self)
        self.file_view.setObjectName("fileDetails")
        self.inefficient_model = InefficientFilesModel(self)
        self.inefficient = QTableView(self)
        self.inefficient.setObjectName("inefficientTable")
        self.inefficient.setModel(self.inefficient_model)
        self.inefficient.verticalHeader().hide()
        self.inefficient.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.inefficient.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.inefficient.setWordWrap(False)
        self.inefficient.setShowGrid(False)
        self.inefficient.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # keep the file name
        metrics = self.inefficient.fontMetrics()
        self.inefficient.verticalHeader().setDefaultSectionSize(metrics.height() + 6)
        header = self.inefficient.horizontalHeader()
        # Fixed widths from the widest text: sizing to contents would read every row.
        for column, widest in ((0, "Count"), (1, "Total space")):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(column, metrics.horizontalAdvance(widest) + 24)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.inefficient.activated.connect(self._inefficient_clicked)
        self.inefficient.clicked.connect(self._inefficient_clicked)

        image_tab = QWidget(self)
        box = QVBoxLayout(image_tab)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.image_view, 3)
        self.inefficient_label = QLabel(self)
        box.addWidget(self.inefficient_label)
        box.addWidget(self.inefficient, 2)
        self.tabs.addTab(image_tab, "Image")
        self.tabs.addTab(self.layer_view, "Layer")
        self.tabs.addTab(self.file_view, "File")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.clear()

    def clear(self) -> None:
        self.image_view.setHtml("<p><i>No image open.</i></p>")
        self.layer_view.setHtml("<p><i>Select a layer.</i></p>")
        self.file_view.setHtml("<p><i>Select a file in the tree.</i></p>")
        self.inefficient_model.set_uses(())
        self._label_inefficient(0)

    def _label_inefficient(self, count: int) -> None:
        self.inefficient_label.setText(
            f"Inefficient files (stored in more than one layer): {count:,}")

    def show_image(self, image: Image, inspection: Inspection | None) -> None:
        self.image_view.setHtml(image_html(image, inspection))
        uses = inspection.efficiency.inefficient if inspection is not None else ()
        self.inefficient_model.set_uses(uses)
        self._label_inefficient(len(uses))

    def show_layer(self, inspection: Inspection | None, image: Image, layer: int,
                   summary: DiffSummary | None = None) -> None:
        self.layer_view.setHtml(layer_html(inspection, image, layer, summary))

    def show_file(self, inspection: Inspection, node: DiffNode | None) -> None:
        if node is None:
            self.file_view.setHtml("<p><i>Select a file in the tree.</i></p>")
            return
        self.file_view.setHtml(file_html(inspection, node))

    def _inefficient_clicked(self, index: QModelIndex) -> None:
        path = self.inefficient_model.path_at(index.row())
        if path is not None:
            self.reveal.emit(path)
