"""What the window shows with no image: how to open one, recent files, the demo."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class StartPage(QWidget):
    open_file = Signal()
    open_folder = Signal()
    open_demo = Signal()
    open_recent = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("<h1>Layer Explorer</h1>"
                       "<p>See a container image as what it is: a stack of read-only layers "
                       "joined into one filesystem.</p>"
                       "<p>Drop an image archive here or press <b>Ctrl+O</b>. Archives written "
                       "by <code>docker save</code>, <code>podman save</code>, skopeo and "
                       "buildkit open, as do OCI layout folders.</p>", self)
        title.setWordWrap(True)
        title.setTextFormat(Qt.TextFormat.RichText)
        buttons = QHBoxLayout()
        for text, signal, name in (("Open archive…", self.open_file, "openButton"),
                                   ("Open OCI layout folder…", self.open_folder, "folderButton"),
                                   ("Open demo image", self.open_demo, "demoButton")):
            button = QPushButton(text, self)
            button.setObjectName(name)
            button.clicked.connect(signal.emit)
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.recent = QListWidget(self)
        self.recent.setObjectName("recentList")
        self.recent.itemActivated.connect(lambda item: self.open_recent.emit(item.data(
            Qt.ItemDataRole.UserRole)))
        self.recent_label = QLabel("<b>Recent</b>", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 32, 48, 32)
        layout.addWidget(title)
        layout.addLayout(buttons)
        layout.addSpacing(16)
        layout.addWidget(self.recent_label)
        layout.addWidget(self.recent, 1)
        self._filler = layout.addStretch(1)

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for path in paths:
            item = QListWidgetItem(f"{os.path.basename(path.rstrip('/')) or path}    {path}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            self.recent.addItem(item)
        self.recent_label.setVisible(bool(paths))
        self.recent.setVisible(bool(paths))
        layout = self.layout()
        assert layout is not None
        layout.setStretch(layout.count() - 1, 0 if paths else 1)
