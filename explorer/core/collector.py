"""Pausing Python's cyclic garbage collector while big acyclic structures are built.

Indexing a layer, applying it to the union and dive's analysis allocate millions of objects
that never form cycles.  Each of them counts toward the collector's thresholds, so a build
triggers collections that walk everything allocated so far: close to half the time of
building a 290k-entry union.  Reference counting still frees all of it; the collector runs
again once nobody builds.

Everything allocated during a pause sits in the youngest generation, so the first
collection after it walks all of it, holding the GIL (a 0.2-0.8 s stall of the window after
a million-entry layer).  Where what was built is known to live long (an opened image, a
tree's listing), the caller asks for it to be frozen instead (``gc.freeze``, constant time):
later collections skip it, and reference counting still frees it.  The catch is that
``gc.freeze`` takes the whole heap, so a cycle some other thread dropped meanwhile is never
collected; hence only at those few points, not at every pause.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_users = 0
_was_enabled = True
_freeze = False


@contextlib.contextmanager
def collector_paused(*, freeze: bool = False) -> Iterator[None]:
    """The cyclic collector is off while any thread is inside (nesting and threads safe).

    ``freeze``: what is built inside lives long; freeze the heap when the last user leaves,
    before the collector resumes (see the module's note)."""
    global _users, _was_enabled, _freeze  # noqa: PLW0603 - the collector is process-wide
    with _lock:
        if _users == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _freeze = _freeze or freeze
            _users -= 1
            if _users == 0:
                if _freeze and _was_enabled:
                    gc.freeze()
                _freeze = False
                if _was_enabled:
                    gc.enable()
