"""A bounded hand-over of byte chunks between the threads that read one layer.

``queue.Queue`` cannot be interrupted from the other side; here either end can ``abort`` and
the other wakes at once, so a failing tar parser never leaves a producer blocked on a full
queue (and a failing producer never leaves a parser waiting for data).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Aborted(Exception):
    """The other end gave up; whoever aborted holds the real reason."""


class Channel(Generic[T]):
    def __init__(self, capacity: int) -> None:
        self._items: deque[T] = deque()
        self._capacity = capacity
        self._cond = threading.Condition()
        self._closed = False
        self._aborted = False

    def put(self, item: T) -> None:
        with self._cond:
            while len(self._items) >= self._capacity and not self._aborted:
                self._cond.wait()
            if self._aborted:
                raise Aborted
            self._items.append(item)
            self._cond.notify_all()

    def close(self) -> None:
        """No more items: ``get`` returns None once the queue is empty."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def get(self) -> T | None:
        with self._cond:
            while not self._items and not self._closed and not self._aborted:
                self._cond.wait()
            if self._aborted:
                raise Aborted
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def abort(self) -> None:
        with self._cond:
            self._aborted = True
            self._items.clear()
            self._cond.notify_all()
