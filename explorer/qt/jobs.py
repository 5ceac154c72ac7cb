"""Long work off the GUI thread: a core call with progress, cancel and one typed outcome.

A ``Job`` wraps a function ``fn(progress, cancel) -> result`` from the core.  ``start()``
runs it on the global thread pool; ``run()`` runs it right here, so tests are deterministic.
Signals are delivered in the thread that owns the job (the GUI thread), so slots may touch
models and widgets.  Workers never do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from explorer.core.errors import Cancelled
from explorer.core.tasks import CancelToken

Work = Callable[[Callable[[int, int], None], CancelToken], Any]

PROGRESS_INTERVAL = 0.05
"""Seconds between progress signals: a worker may report thousands of times a second."""


class Job(QObject):
    progress = Signal(int, int)
    """done, total (bytes or items); total 0 means unknown."""
    finished = Signal(object)
    failed = Signal(object)
    """The exception (an ExplorerError for anything the core foresaw)."""
    cancelled = Signal()
    done = Signal()
    """Emitted last, whatever the outcome."""

    def __init__(self, fn: Work, *, name: str = "", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.name = name
        self.token = CancelToken()
        self._last = 0.0
        self.running = False

    def cancel(self) -> None:
        self.token.cancel()

    def _report(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL or (total and done >= total):
            self._last = now
            self.progress.emit(done, total)

    def run(self) -> None:
        """Run in the calling thread and emit the outcome."""
        self.running = True
        try:
            result = self.fn(self._report, self.token)
        except Cancelled:
            self.running = False
            self.cancelled.emit()
        except Exception as exc:  # every failure becomes a message, never a traceback
            self.running = False
            self.failed.emit(exc)
        else:
            self.running = False
            self.finished.emit(result)
        self.done.emit()

    def launch(self, *, sync: bool) -> None:
        """``run`` right here when ``sync`` (tests and headless screenshots drive the window
        step by step), else ``start`` on a worker thread."""
        if sync:
            self.run()
        else:
            self.start()

    def start(self, pool: QThreadPool | None = None) -> None:
        """Run on a worker thread; the signals arrive queued in this object's thread."""
        self.running = True
        (pool or QThreadPool.globalInstance()).start(_Runner(self))


class _Runner(QRunnable):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
        self.setAutoDelete(True)

    def run(self) -> None:
        self.job.run()
