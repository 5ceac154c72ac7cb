"""Progress reporting and cooperative cancellation for long core operations."""

from __future__ import annotations

import threading
from collections.abc import Callable

from explorer.core.errors import Cancelled

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called from the working thread; ``total`` 0 means unknown."""


def no_progress(done: int, total: int) -> None:
    """A progress callback that ignores reports."""


class CancelToken:
    """Set from any thread; checked by the worker at natural boundaries."""

    __slots__ = ("_event", "_parent")

    def __init__(self, parent: CancelToken | None = None) -> None:
        self._event = threading.Event()
        self._parent = parent

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once this token, or the token it was derived from, is cancelled."""
        return self._event.is_set() or (self._parent is not None and self._parent.cancelled)

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled()


NEVER_CANCELLED = CancelToken()
