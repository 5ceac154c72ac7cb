"""Editing the container layer from the window: delete, restore, add, new folder, undo/redo.

The image's layers are read-only; every edit lands in the writable container layer shown
above them (the layer stack's top row), exactly as a running container would see it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QUrl
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QInputDialog, QMessageBox

from explorer.core.fs.diff import DiffKind, DiffNode
from explorer.core.fs.entry import display_path
from explorer.core.humanize import dive_bytes
from explorer.core.sandbox import PathState, Sandbox
from explorer.qt.models.layer_table import SandboxInfo
from explorer.qt.sandbox_session import SandboxSession
from explorer.ui.commit_wizard import CommitWizard
from explorer.ui.tree_panel import Mode

if TYPE_CHECKING:
    from explorer.ui.documents import ImageDoc
    from explorer.ui.main_window import MainWindow


class SandboxActions(QObject):
    def __init__(self, window: MainWindow, *, folder: str | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.folder = folder
        self.session: SandboxSession | None = None
        self.delete_action = self._action("&Delete", self.delete_selected,
                                          QKeySequence.StandardKey.Delete)
        self.restore_action = self._action("&Restore", self.restore_selected)
        self.undo_action = self._action("&Undo", self.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = self._action("&Redo", self.redo, "Ctrl+Shift+Z")
        self.mkdir_action = self._action("New &folder…", self.new_folder)
        self.add_action = self._action("&Add files…", self.add_files)
        self.commit_action = self._action("&Commit…", self.open_wizard, "Ctrl+K")
        self.wizard: CommitWizard | None = None
        self._sync_actions()
        view = window.tree.view
        view.setAcceptDrops(True)
        view.viewport().setAcceptDrops(True)
        view.viewport().installEventFilter(self)

    def _action(self, text: str, slot: object, shortcut: object = None) -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))  # type: ignore[call-overload]
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    # ----------------------------------------------------------------- life cycle

    def attach(self, doc: ImageDoc, *, offer_saved: bool = True) -> None:
        """Give a freshly read image its own container layer (a saved one is offered
        back), and show it if the image is the current one."""
        if doc.sandbox is None and doc.inspection is not None:
            session = SandboxSession(doc.inspection, folder=self.folder,
                                     run_sync=self.window.run_sync, parent=self)
            doc.sandbox = session
            session.changed.connect(lambda s=session: self._changed() if s is self.session
                                    else None)
            session.failed.connect(lambda exc: self.window._failed(exc, ""))
            session.busy.connect(self.window._progress)
            if doc is self.window.doc:
                self.use(doc)
            saved = session.saved_session() if offer_saved else None
            if saved is not None:
                self._offer(session, saved)
        elif doc is self.window.doc:
            self.use(doc)

    def use(self, doc: ImageDoc) -> None:
        """Edits now go to ``doc``'s container layer."""
        self.session = doc.sandbox
        if self.session is None:
            self.detach()
            return
        self._changed()

    def detach(self) -> None:
        self.session = None
        self.window.layers.model.set_sandbox(None)
        self.window.tree.sandbox = None
        self._sync_actions()

    def _offer(self, session: SandboxSession, saved: Sandbox) -> None:
        count = len(saved.changes())
        box = QMessageBox(QMessageBox.Icon.Question, "Restore your edits?",
                          f"You left {count} change{'s' if count != 1 else ''} in the container "
                          "layer of this image. Restore them?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard,
                          self.window)
        box.setObjectName("restoreBox")

        def answered(button: int) -> None:
            if button == QMessageBox.StandardButton.Yes:
                session.restore_session(saved)
            else:
                session.discard()

        box.finished.connect(answered)
        self.window._message_box = box
        box.open()

    # ----------------------------------------------------------------- edits

    def _selected(self) -> DiffNode | None:
        return self.window.tree.model.node(self.window.tree.view.currentIndex())

    def delete_selected(self) -> None:
        node = self._selected()
        if self.session is None or node is None or node.kind is DiffKind.REMOVED:
            return
        if self.session.apply(Sandbox.delete, node.path):
            self.show_container_layer(node.path)

    def restore_selected(self) -> None:
        node = self._selected()
        if self.session is not None and node is not None:
            self.session.apply(Sandbox.restore, node.path)

    def undo(self) -> None:
        if self.session is not None:
            self.session.undo()

    def redo(self) -> None:
        if self.session is not None:
            self.session.redo()

    def _target_folder(self) -> bytes:
        node = self._selected()
        if node is None:
            return b""
        if node.is_dir and node.kind is not DiffKind.REMOVED:
            return node.path
        return node.path.rpartition(b"/")[0]

    def new_folder(self, name: str | None = None) -> None:
        if self.session is None:
            return
        folder = self._target_folder()
        if name is None:
            name, ok = QInputDialog.getText(self.window, "New folder",
                                            f"New folder in /{display_path(folder)}:")
            if not ok or not name:
                return
        path = (folder + b"/" if folder else b"") + os.fsencode(name)
        if self.session.apply(Sandbox.mkdir, path):
            self.show_container_layer(path)

    def add_files(self, paths: list[str] | None = None, folder: bytes | None = None) -> None:
        """Copy files or folders of this computer into the image (like ``docker cp``)."""
        if self.session is None:
            return
        if paths is None:
            from PySide6.QtWidgets import QFileDialog

            paths, _ = QFileDialog.getOpenFileNames(self.window, "Add files to the image")
        target = self._target_folder() if folder is None else folder
        for path in paths:
            self.session.add_from_disk(path, target)
        if paths:
            self.show_container_layer()

    def show_container_layer(self, path: bytes | None = None) -> None:
        """Select the container layer so the edit is in view (deleted entries struck)."""
        window = self.window
        if window.inspection is None:
            return
        if not window.tree.on_sandbox:
            window.tree.set_mode(Mode.MERGED)
            window.layers.select_layer(len(window.inspection.indexes))
            if path is not None:
                window.tree.select_path(path)

    def open_wizard(self) -> CommitWizard | None:
        """Commit the container layer as a new image (Ctrl+K)."""
        window = self.window
        if self.session is None or window.inspection is None:
            return None
        wizard = CommitWizard(window.inspection, self.session.sandbox,
                              run_sync=window.run_sync, parent=window)
        wizard.open_requested.connect(lambda path: path and window.open_path(path))
        original = window.inspection
        wizard.compare_requested.connect(
            lambda path: window.compare_with(original, path))
        wizard.committed.connect(lambda result: window.status_text.setText(
            f"Committed {', '.join(result.tags) or result.image_id} to {result.path}"))
        self.wizard = wizard
        wizard.open()
        return wizard

    # ----------------------------------------------------------------- state

    def _changed(self) -> None:
        session = self.session
        if session is None:
            return
        sandbox = session.sandbox
        summary = sandbox.summary()
        changes = len(sandbox.changes())
        window = self.window
        window.layers.model.set_sandbox(SandboxInfo(changes, summary.bytes_added,
                                                    summary.bytes_removed))
        if window.tree.on_sandbox:
            window.tree.keep_view(lambda: window.tree.set_sandbox(sandbox))
        else:
            window.tree.sandbox = sandbox
        if changes:
            window.status_text.setText(
                f"Container layer: {changes} change{'s' if changes != 1 else ''} · "
                f"+{dive_bytes(summary.bytes_added)} / −{dive_bytes(summary.bytes_removed)}"
                " · commit with Ctrl+K")
        self._sync_actions()
        window.sandbox_changed.emit(sandbox)

    def _sync_actions(self) -> None:
        history = self.session.history if self.session is not None else None
        self.undo_action.setEnabled(bool(history and history.can_undo))
        self.redo_action.setEnabled(bool(history and history.can_redo))
        self.undo_action.setText(f"&Undo {history.undo_text}" if history and history.can_undo
                                 else "&Undo")
        self.redo_action.setText(f"&Redo {history.redo_text}" if history and history.can_redo
                                 else "&Redo")
        for action in (self.delete_action, self.restore_action, self.mkdir_action,
                       self.add_action, self.commit_action):
            action.setEnabled(self.session is not None)

    def state_of(self, path: bytes) -> PathState | None:
        return self.session.sandbox.state(path) if self.session is not None else None

    # ----------------------------------------------------------------- drops on the tree

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.session is None:
            return False
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            drag = event  # type: ignore[assignment]
            assert isinstance(drag, QDragEnterEvent)
            if drag.mimeData().hasUrls() and all(u.isLocalFile()
                                                 for u in drag.mimeData().urls()):
                drag.acceptProposedAction()
                return True
        if event.type() == QEvent.Type.Drop:
            drop = event  # type: ignore[assignment]
            assert isinstance(drop, QDropEvent)
            self.drop_files(drop.mimeData().urls(), drop.position().toPoint())
            drop.acceptProposedAction()
            return True
        return False

    def drop_files(self, urls: list[QUrl], pos: object) -> None:
        """Files dropped on a folder of the tree go into that folder (on a file: beside it)."""
        index = self.window.tree.view.indexAt(pos)  # type: ignore[arg-type]
        node = self.window.tree.model.node(index)
        if node is None:
            folder = b""
        elif node.is_dir and node.kind is not DiffKind.REMOVED:
            folder = node.path
        else:
            folder = node.path.rpartition(b"/")[0]
        self.add_files([u.toLocalFile() for u in urls if u.isLocalFile()], folder)
