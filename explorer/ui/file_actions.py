"""What the tree's context menu does with a file: extract it, copy its path or SHA-256."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPoint
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from explorer.core.errors import ExplorerError
from explorer.core.fs.diff import DiffKind, DiffNode
from explorer.core.fs.entry import EntryKind, display_path
from explorer.core.fs.extract import ExtractReport, extract
from explorer.core.fs.file_content import read_file
from explorer.core.humanize import dive_bytes
from explorer.core.sandbox import PathState
from explorer.core.tasks import CancelToken, Progress
from explorer.qt.jobs import Job

if TYPE_CHECKING:
    from explorer.ui.main_window import MainWindow

SHA_LIMIT = 512 * 1024 * 1024
"""Largest file hashed for "Copy SHA-256" (it is read into memory)."""


class FileActions(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.job: Job | None = None

    def tree_menu(self, pos: QPoint) -> None:
        window = self.window
        node = window.tree.model.node(window.tree.view.indexAt(pos))
        if node is None or window.inspection is None:
            return
        window.tree.view.setCurrentIndex(window.tree.view.indexAt(pos))
        menu = QMenu(window)
        edits = window.edits
        state = edits.state_of(node.path)
        if state is not None:
            menu.addAction(edits.delete_action)
            edits.delete_action.setEnabled(node.kind is not DiffKind.REMOVED)
            menu.addAction(edits.restore_action)
            edits.restore_action.setEnabled(state in (PathState.DELETED, PathState.ADDED,
                                                      PathState.REPLACED,
                                                      PathState.CONTAINS_CHANGES))
            menu.addAction(edits.mkdir_action)
            menu.addAction(edits.add_action)
            menu.addSeparator()
        on_sandbox = window.tree.on_sandbox
        extract = menu.addAction("Extract…", lambda: self.extract_paths([node.path]))
        extract.setEnabled(node.after is not None and not on_sandbox)
        if on_sandbox:
            extract.setToolTip("Extract from an image layer; the container layer is not "
                               "written yet.")
        menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(
            "/" + display_path(node.path)))
        digest = menu.addAction("Copy SHA-256 of the content", lambda: self.copy_sha256(node))
        digest.setEnabled(node.after is not None and not node.is_dir and not on_sandbox
                          and node.entry.kind in (EntryKind.FILE, EntryKind.HARDLINK))
        menu.popup(window.tree.view.viewport().mapToGlobal(pos))

    def extract_paths(self, paths: list[bytes], folder: str | None = None) -> None:
        """Copy paths as they are at the selected layer into a folder the user picks."""
        inspection = self.window.inspection
        if inspection is None:
            return
        folder = folder or QFileDialog.getExistingDirectory(self.window, "Extract into folder")
        if not folder:
            return
        layer = self.window.tree.layer

        def work(progress: Progress, cancel: CancelToken) -> ExtractReport:
            return extract(inspection, layer, paths, folder, progress=progress, cancel=cancel)

        self._side_job(work, "Extracting", self._extracted)

    def _extracted(self, report: ExtractReport) -> None:
        text = (f"Extracted {report.files} files, {report.dirs} folders and {report.symlinks} "
                f"links ({dive_bytes(report.bytes_written)}) into {report.dest_dir}.")
        if report.skipped:
            text += f" {report.skipped} entries were skipped (see details)."
        self.window.status_text.setText(text)
        self.window.last_extract = report
        box = QMessageBox(QMessageBox.Icon.Information, "Extracted", text, parent=self.window)
        box.setObjectName("extractBox")
        if report.warnings:
            box.setDetailedText("\n".join(report.warnings))
        self.window._message_box = box
        box.open()

    def copy_sha256(self, node: DiffNode) -> None:
        inspection = self.window.inspection
        if inspection is None:
            return
        layer = self.window.tree.layer

        def work(_progress: Progress, cancel: CancelToken) -> str:
            if node.entry.size > SHA_LIMIT:
                raise ExplorerError(f"The file is larger than {dive_bytes(SHA_LIMIT)}; extract "
                                    "it and hash the copy.")
            content = read_file(inspection, layer, node.path, limit=node.entry.size,
                                cancel=cancel)
            return hashlib.sha256(content.data).hexdigest()

        def done(digest: str) -> None:
            QGuiApplication.clipboard().setText(f"sha256:{digest}")
            self.window.status_text.setText(f"Copied sha256:{digest}")

        self._side_job(work, "Hashing", done)

    def _side_job(self, work: Any, what: str, then: Any) -> None:
        job = Job(work, name=what, parent=self)
        self.job = job
        job.progress.connect(lambda d, t: self.window._progress(what, d, t))
        job.finished.connect(then)
        job.failed.connect(lambda exc: self.window._failed(exc, ""))
        job.done.connect(self.window.progress.hide)
        job.done.connect(self.window.cancel_button.hide)
        self.window.progress.show()
        self.window.status_text.setText(f"{what}…")
        job.launch(sync=self.window.run_sync)
