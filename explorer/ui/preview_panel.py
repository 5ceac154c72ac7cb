"""Preview of the selected file at the selected layer: text, hex, or image.

Content comes from the layer blob through a job (``core.fs.file_content``), never from an
extracted copy.  Text is capped with "Load more"; images decode under an allocation limit;
SVG and HTML are shown as text, never rendered.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QImageReader,
    QPixmap,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.core.fs.diff import DiffNode
from explorer.core.fs.entry import EntryKind, display_path, link_target
from explorer.core.fs.file_content import FileContent, decode_text, read_file, sniff_kind
from explorer.core.humanize import dive_bytes
from explorer.core.inspection import Inspection
from explorer.core.tasks import CancelToken, Progress
from explorer.qt.jobs import Job
from explorer.qt.messages import describe
from explorer.qt.style import is_dark

TEXT_STEP = 256 * 1024
"""Bytes of text shown at first, and added by each "Load more"."""
HEX_LIMIT = 64 * 1024
"""Bytes of a binary file shown as hex (a dump is for a first look).

The largest image decoded and the most text held come from the image's ``preview_bytes``
limit."""
IMAGE_ALLOCATION_MB = 256
"""Qt's decoder refuses images that would need more memory than this (pixel bombs)."""


class _Highlighter(QSyntaxHighlighter):
    """Light-weight highlighting that suits the files images hold: shell, config, JSON,
    YAML, XML, Python; strings, numbers, comments, keys and tags."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        dark = is_dark()

        def fmt(light: str, darkc: str, *, bold: bool = False) -> QTextCharFormat:
            f = QTextCharFormat()
            f.setForeground(QColor(darkc if dark else light))
            if bold:
                f.setFontWeight(QFont.Weight.Bold)
            return f

        self.rules = [
            (re.compile(r"^\s*[\w.\-]+\s*(?==|:\s)"), fmt("#0b5cad", "#7cb7ff")),
            (re.compile(r"</?[\w:.\-]+|/?>"), fmt("#0b5cad", "#7cb7ff")),
            (re.compile(r"\b(if|then|else|fi|for|in|do|done|case|esac|while|function|def|"
                        r"class|return|import|from|export|local|true|false|null|None|True|"
                        r"False)\b"), fmt("#8a2be2", "#d19bff", bold=True)),
            (re.compile(r"\b\d+(\.\d+)?\b"), fmt("#a15c00", "#ffb74d")),
            (re.compile(r"\"[^\"\n]*\"|'[^'\n]*'"), fmt("#1b7a2f", "#7fd18b")),
            (re.compile(r"(^|\s)(#|//|;).*$|<!--.*?-->"), fmt("#6a6a6a", "#9a9a9a")),
        ]

    def highlightBlock(self, text: str) -> None:
        for rx, f in self.rules:
            for m in rx.finditer(text):
                self.setFormat(m.start(), m.end() - m.start(), f)


def hex_dump(data: bytes, offset: int = 0) -> str:
    lines = []
    for i in range(0, len(data), 16):
        row = data[i:i + 16]
        hexes = " ".join(f"{b:02x}" for b in row)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{offset + i:08x}  {hexes:<47}  {text}")
    return "\n".join(lines)


class PreviewPanel(QWidget):
    go_to = Signal(bytes)
    """A symlink's target to select in the tree."""
    shown = Signal(str)
    """What the preview shows now: "text", "binary", "image", "message"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_sync = False
        self.inspection: Inspection | None = None
        self.layer = 0
        self.node: DiffNode | None = None
        self.content: FileContent | None = None
        self.job: Job | None = None

        self.title = QLabel(self)
        self.title.setObjectName("previewTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.more = QPushButton("Load more", self)
        self.more.setObjectName("loadMore")
        self.more.clicked.connect(self.load_more)
        self.more.hide()
        self.follow = QPushButton("Go to target", self)
        self.follow.setObjectName("goToTarget")
        self.follow.clicked.connect(self._follow)
        self.follow.hide()

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("previewText")
        self.text.setReadOnly(True)
        self.text.setFont(mono)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.highlighter = _Highlighter(self.text.document())
        self.hex = QPlainTextEdit(self)
        self.hex.setObjectName("previewHex")
        self.hex.setReadOnly(True)
        self.hex.setFont(mono)
        self.hex.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.image = QLabel(self)
        self.image.setObjectName("previewImage")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea(self)
        scroll.setWidget(self.image)
        scroll.setWidgetResizable(True)
        self.message = QLabel(self)
        self.message.setObjectName("previewMessage")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget(self)
        for w in (self.message, self.text, self.hex, scroll):
            self.stack.addWidget(w)
        self._scroll = scroll

        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.follow)
        head.addWidget(self.more)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.stack, 1)
        self._say("Select a file to preview it.")

    # ----------------------------------------------------------------- showing

    def _say(self, text: str, *, final: bool = True) -> None:
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)
        self.more.hide()
        if final:  # "Reading…" is not an outcome
            self.shown.emit("message")

    def show_node(self, inspection: Inspection, layer: int, node: DiffNode | None) -> None:
        if self.job is not None:
            self.job.cancel()
            self.job = None
        self.inspection, self.layer, self.node, self.content = inspection, layer, node, None
        self.follow.hide()
        if node is None:
            self.title.setText("")
            self._say("Select a file to preview it.")
            return
        entry = node.entry
        self.title.setText("/" + display_path(node.path))
        if node.after is None:
            self._say("Removed here: nothing to preview at this layer.")
            return
        if entry.kind is EntryKind.SYMLINK:
            self.follow.show()
            self._say(f"Symbolic link → {display_path(entry.link)}")
            return
        if entry.kind is EntryKind.DIR:
            self._say(f"Directory · {dive_bytes(node.size())} in its files.")
            return
        if entry.kind not in (EntryKind.FILE, EntryKind.HARDLINK):
            self._say(f"{entry.kind.name.lower()} device or special file: no content.")
            return
        if entry.size == 0:
            self._say("Empty file.")
            return
        self._read(0, min(TEXT_STEP, self._cap()))

    def show_added(self, node: DiffNode) -> None:
        """A file the container layer adds: it comes from this computer at commit time."""
        if self.job is not None:
            self.job.cancel()
            self.job = None
        self.node, self.content = None, None
        self.follow.hide()
        self.title.setText("/" + display_path(node.path))
        self._say(f"Added in the container layer ({dive_bytes(node.entry.size)}); it is "
                  "written into the new layer when you commit.")

    def _read(self, offset: int, limit: int) -> None:
        inspection, layer, node = self.inspection, self.layer, self.node
        assert inspection is not None and node is not None
        path = node.path

        def work(_progress: Progress, cancel: CancelToken) -> FileContent:
            return read_file(inspection, layer, path, limit=limit, offset=offset, cancel=cancel)

        job = Job(work, name="preview", parent=self)
        self.job = job
        job.finished.connect(lambda content, j=job: self._arrived(j, content))
        job.failed.connect(lambda exc, j=job: self._failed(j, exc))
        if offset == 0:
            self._say("Reading…", final=False)
        job.launch(sync=self.run_sync)

    def _failed(self, job: Job, exc: BaseException) -> None:
        if job is self.job:
            self.job = None
            self._say(describe(exc).text)

    def _arrived(self, job: Job, content: FileContent) -> None:
        if job is not self.job or self.node is None:
            return
        self.job = None
        first = self.content is None
        if first:
            kind = sniff_kind(content.data[:8192], self.node.name)
            if kind == "image":
                self._show_image(content)
                return
            if kind == "binary":
                self.content = content
                self.hex.setPlainText(hex_dump(content.data[:HEX_LIMIT]))
                self.stack.setCurrentWidget(self.hex)
                self.more.hide()
                self.shown.emit("binary")
                return
            self.content = content
            self.text.setPlainText(decode_text(content.data))
        else:
            assert self.content is not None
            merged = self.content.data + content.data
            self.content = content.__class__(
                content.path, content.layer, merged, self.content.offset, content.size,
                content.source_layer, content.source_path)
            self.text.setPlainText(decode_text(merged))
        self.stack.setCurrentWidget(self.text)
        self.more.setVisible(self.content.truncated)
        left = dive_bytes(self.content.size - self.content.end)
        at_cap = self.content.end >= self._cap()
        self.more.setEnabled(not at_cap)
        # Short text: the button shares a narrow row with the file's path.
        self.more.setText("Preview limit reached" if at_cap else f"Load more ({left} left)")
        self.more.setToolTip(f"{left} not shown: the preview holds at most "
                             f"{dive_bytes(self._cap())} of a file (preview_bytes). Extract the "
                             "file to read it all." if at_cap else "")
        self.shown.emit("text")

    def load_more(self) -> None:
        if self.content is not None and self.content.truncated:
            step = min(TEXT_STEP, self._cap() - self.content.end)
            if step > 0:
                self._read(self.content.end, step)

    def _cap(self) -> int:
        """The most of one file the preview holds (the image's ``preview_bytes`` limit)."""
        return self.inspection.archive.limits.preview_bytes if self.inspection else 0

    def _show_image(self, first: FileContent) -> None:
        cap = self._cap()
        if first.size > cap:
            self._say(f"Image of {dive_bytes(first.size)}: larger than the preview limit "
                      f"({dive_bytes(cap)}, preview_bytes); extract it to view it.")
            return
        if first.truncated:
            self._read_whole_image()
            return
        buffer = QBuffer(self)
        buffer.setData(QByteArray(first.data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        reader = QImageReader(buffer)
        reader.setAllocationLimit(IMAGE_ALLOCATION_MB)
        image = reader.read()
        if image.isNull():
            self._say(f"Cannot show this image: {reader.errorString()}.")
            return
        self.content = first
        self.image.setPixmap(QPixmap.fromImage(image))
        self.stack.setCurrentWidget(self._scroll)
        self.more.hide()
        self.shown.emit("image")

    def _read_whole_image(self) -> None:
        node = self.node
        assert node is not None
        self._read(0, node.entry.size)

    def _follow(self) -> None:
        if self.node is None:
            return
        parent = self.node.path.split(b"/")[:-1]
        self.go_to.emit(b"/".join(link_target(parent, self.node.entry.link)))
