"""Pausing Python's cyclic garbage collector while big acyclic structures are built.

Indexing a layer, applying it to the union and dive's analysis allocate millions of objects
that never form cycles.  Each of them counts toward the collector's thresholds, so a build
triggers collections that walk everything allocated so far: close to half the time of
building a 290k-entry union.  Reference counting still frees all of it; the collector runs
again once nobody builds.

What was built meanwhile is frozen (``gc.freeze``, a constant-time move) before the collector
resumes: it would otherwise all sit in the youngest generation, and the first collection
after the pause walked it whole, holding the GIL (a 0.2-0.5 s stall of the window after a
million-entry layer came from the cache).  Frozen objects are still freed by reference
counting; only a cycle made inside a pause would wait for the process to end, and what is
built here has none.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_users = 0
_was_enabled = True


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector is off while any thread is inside (nesting and threads safe)."""
    global _users, _was_enabled  # noqa: PLW0603 - the collector is process-wide
    with _lock:
        if _users == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _was_enabled:
                gc.freeze()
                gc.enable()
