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

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


NEVER_CANCELLED = CancelToken()
