"""The container layer of the image shown in the window: edits, undo/redo, autosave.

Holds a core ``SandboxHistory`` (immutable values) and emits ``changed`` after every edit.
Adding files from disk hashes them first, in a job.  Every change is saved to a small JSON
in the user's data folder (keyed by the image id), never next to the image, so an edit
session survives closing the window.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, Signal

from explorer.core.errors import ExplorerError
from explorer.core.inspection import Inspection
from explorer.core.sandbox import (
    HostTree,
    Sandbox,
    SandboxHistory,
    load_sandbox,
    save_sandbox,
    snapshot_host,
)
from explorer.core.tasks import CancelToken, Progress
from explorer.qt.jobs import Job


def session_folder() -> str:
    """Where container layers are saved: the user's data folder, not the image's."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return os.path.join(base or os.path.expanduser("~/.local/share/layer-explorer"),
                        "sandboxes")


def session_file(inspection: Inspection, folder: str | None = None) -> str:
    image_id = str(inspection.image.id)
    name = hashlib.sha256(image_id.encode()).hexdigest()[:32] + ".json"
    return os.path.join(folder or session_folder(), name)


class SandboxSession(QObject):
    changed = Signal()
    failed = Signal(object)
    """An edit was refused or a host file could not be read (the exception)."""
    busy = Signal(str, int, int)
    """Adding files: what, done, total."""

    def __init__(self, inspection: Inspection, *, folder: str | None = None,
                 run_sync: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.inspection = inspection
        self.run_sync = run_sync
        self.path = session_file(inspection, folder)
        self.history = SandboxHistory(Sandbox.over(inspection))
        self.job: Job | None = None

    @property
    def sandbox(self) -> Sandbox:
        return self.history.current

    def saved_session(self) -> Sandbox | None:
        """A container layer saved earlier for this image (None if none or unusable)."""
        if not os.path.exists(self.path):
            return None
        try:
            saved = load_sandbox(self.path, self.inspection.merged(),
                                 image_id=str(self.inspection.image.id))
        except ExplorerError:
            return None
        return None if saved.is_empty else saved

    # ----------------------------------------------------------------- edits

    def apply(self, edit: Any, *args: Any) -> bool:
        """Run ``edit(sandbox, *args)`` (e.g. ``Sandbox.delete``); False when refused."""
        try:
            new = edit(self.sandbox, *args)
        except ExplorerError as exc:
            self.failed.emit(exc)
            return False
        self._set(self.history.push(new))
        return True

    def restore_session(self, saved: Sandbox) -> None:
        self._set(self.history.push(saved))

    def undo(self) -> None:
        self._set(self.history.undo())

    def redo(self) -> None:
        self._set(self.history.redo())

    def discard(self) -> None:
        """Forget every edit (after a commit, or when the user says so)."""
        self._set(SandboxHistory(Sandbox.over(self.inspection)))

    def add_from_disk(self, host_path: str, folder: bytes) -> None:
        """Copy a file or folder of this computer into ``folder`` of the image (like
        ``docker cp``); the files are read and hashed in a job first."""

        def work(progress: Progress, cancel: CancelToken) -> HostTree:
            return snapshot_host(host_path, progress=progress, cancel=cancel)

        job = Job(work, name="add", parent=self)
        self.job = job
        job.progress.connect(lambda d, t: self.busy.emit("Reading files to add", d, t))
        job.finished.connect(lambda tree: self.apply(Sandbox.add_into, tree, folder))
        job.failed.connect(self.failed.emit)
        job.done.connect(lambda: setattr(self, "job", None))
        job.launch(sync=self.run_sync)

    def _set(self, history: SandboxHistory) -> None:
        if history is self.history:
            return
        self.history = history
        self._save()
        self.changed.emit()

    def _save(self) -> None:
        try:
            if self.sandbox.is_empty:
                if os.path.exists(self.path):
                    os.unlink(self.path)
                return
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            save_sandbox(self.sandbox, self.path)
        except (OSError, ExplorerError) as exc:
            self.failed.emit(exc)
