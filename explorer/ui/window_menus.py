"""The window's menus, toolbar, help boxes and recent-files list (a mixin of MainWindow)."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QToolBar

from explorer import __version__
from explorer.qt.resources import icon
from explorer.ui.tree_panel import Mode

MAX_RECENT = 10
SHORTCUTS = [
    ("Ctrl+O", "Open an image archive"), ("Ctrl+Shift+O", "Open an OCI layout folder"),
    ("Ctrl+W", "Close the image"), ("Ctrl+Q", "Quit"), ("Ctrl+F", "Filter the tree"),
    ("Ctrl+1 / Ctrl+2 / Ctrl+3", "Tree mode: layer changes / aggregated / merged"),
    ("Ctrl+T", "Toggle the layer order"), ("Delete", "Delete in the container layer"),
    ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo an edit"), ("Ctrl+K", "Commit the container layer"),
    ("Ctrl+D", "Compare: drop layers or images on the two slots"),
    ("F1", "This list"),
]


class MenusMixin:
    """Needs the MainWindow attributes it names (tree, layers, settings, start, ...)."""

    def _action(self, text: str, slot: object, shortcut: QKeySequence | str | None = None,
                name: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        if name:
            action.setObjectName(name)
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_file = self._action("&Open…", self.choose_file, QKeySequence.StandardKey.Open,
                                 "actionOpen")
        open_file.setIcon(icon("open"))
        open_folder = self._action("Open OCI layout &folder…", self.choose_folder,
                                   "Ctrl+Shift+O")
        open_folder.setIcon(icon("folder"))
        demo = self._action("Open &demo image", self.open_demo)
        demo.setIcon(icon("demo"))
        file_menu.addAction(open_file)
        file_menu.addAction(open_folder)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addAction(demo)
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (open_file, open_folder, demo):
            toolbar.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self._action("&Close image", self.close_image, "Ctrl+W"))
        file_menu.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))
        compare = self._action("&Compare…", self.open_compare, "Ctrl+D", "actionCompare")
        file_menu.insertAction(file_menu.actions()[4], compare)
        view = self.menuBar().addMenu("&View")
        for i, mode in enumerate(Mode, start=1):
            view.addAction(self._action(f"Tree: {mode.value}",
                                        lambda _c=False, m=mode: self.tree.set_mode(m),
                                        f"Ctrl+{i}"))
        view.addAction(self._action("&Filter…", self.tree.focus_filter))
        view.addAction(self._action("Toggle layer &order",
                                    self.layers.order.toggle, "Ctrl+T"))
        view.addAction(self.warnings_dock.toggleViewAction())
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("&Keyboard shortcuts", self.show_shortcuts, "F1"))
        help_menu.addAction(self._action("&About Layer Explorer", self.show_about))

    def _build_edit_menu(self) -> None:
        """Edits of the container layer, and the commit (after ``self.edits`` exists)."""
        edits = self.edits
        menu = self.menuBar().addMenu("&Edit")
        for action in (edits.undo_action, edits.redo_action, None, edits.delete_action,
                       edits.restore_action, edits.mkdir_action, edits.add_action, None,
                       edits.commit_action):
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        edits.commit_action.setIcon(icon("demo"))
        toolbar = self.findChild(QToolBar, "mainToolbar")
        if toolbar is not None:
            toolbar.addSeparator()
            toolbar.addAction(edits.commit_action)
        self.menuBar().insertMenu(self.menuBar().actions()[1], menu)

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>{t}</td></tr>" for k, t in SHORTCUTS)
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts",
                          f"<table cellpadding=4>{rows}</table>", parent=self)
        box.setObjectName("shortcutsBox")
        box.open()

    def show_about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "About Layer Explorer",
                          f"<b>Layer Explorer {__version__}</b><p>See, edit and compare "
                          "container image tarballs as the layer stack they are.</p>",
                          parent=self)
        box.setObjectName("aboutBox")
        box.open()


    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        paths = [value] if isinstance(value, str) else list(value or [])
        return [p for p in paths if os.path.exists(p)]

    def _remember(self, path: str) -> None:
        paths = [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", [path, *paths][:MAX_RECENT])
        self._refresh_recent()

    def clear_recent(self) -> None:
        self.settings.setValue("recent", [])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        paths = self.recent_files()
        self.start.set_recent(paths)
        self.recent_menu.clear()
        for path in paths:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        self.recent_menu.addSeparator()
        self.recent_menu.addAction("Clear recent files", self.clear_recent)
