"""Index all layers of an image, in parallel, with one progress total and one cancel."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from explorer.core.collector import collector_paused
from explorer.core.fs.content import fill_digests, shared_file_paths
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.layer_reader import DeferredCheck, read_layer
from explorer.core.image.loader import Archive
from explorer.core.image.model import Image
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress

if TYPE_CHECKING:
    from explorer.core.analysis.index_cache import LayerIndexCache

DEFAULT_WORKERS = 2
SWITCH_INTERVAL = 0.0002
"""Seconds between forced GIL hand-overs while layers are read (Python's default is 5 ms).

The hashing and decompressing threads drop the GIL for every chunk and must get it back
before the next one; with the default interval a thread busy parsing tar headers makes them
wait up to 5 ms each time, which more than doubled the wall time of a big plain layer."""

_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.005


@contextlib.contextmanager
def quick_gil_handoff() -> Iterator[None]:
    """Lower ``sys.setswitchinterval`` and pause the cyclic garbage collector while any
    indexing runs (nesting and threads safe).

    Indexing allocates millions of acyclic objects; each full collection walks all of them
    with every thread stopped, which froze the GUI for up to a second on a 1M-entry image
    (see ``collector``)."""
    global _switch_users, _switch_saved  # noqa: PLW0603 - process-wide
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, SWITCH_INTERVAL))
        _switch_users += 1
    try:
        with collector_paused():
            yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


def index_layers(
    archive: Archive,
    image: Image,
    *,
    workers: int = DEFAULT_WORKERS,
    verify: bool = True,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    on_layer: Callable[[int, LayerIndex], None] | None = None,
    cache: LayerIndexCache | None = None,
    deferred: list[DeferredCheck] | None = None,
) -> list[LayerIndex]:
    """Read every layer once; raises the first error (DigestMismatch, FormatError, Cancelled).

    Layers with the same diff_id are read once.  Largest layers start first so two workers
    finish together.  Files that are in more than one layer get content digests (uncompressed
    layers hash them only then).  ``on_layer(i, index)`` is called (from a worker thread) as
    soon as layer ``i`` is read, so a caller can show the lower layers before the upper ones
    are done; those early indexes may still lack the content digests that the final list has.
    With a ``cache``, layers another image already indexed (same diff_id and blob) are not
    read again, and the final indexes are added to it.  With a ``deferred`` list (and no
    cache), uncompressed layers are returned before their sha256 is done: the checks are
    appended to the list, and the caller must run them (see ``layer_reader.read_layer``).
    """
    sizes = {layer.index: layer.compressed_size for layer in image.layers}
    total = sum(sizes.values())
    done = dict.fromkeys(sizes, 0)
    lock = threading.Lock()

    def report(index: int, n: int, _total: int) -> None:
        with lock:
            done[index] = n
            current = sum(done.values())
        progress(current, total)

    unique: dict[str, int] = {}
    for layer in image.layers:
        unique.setdefault(str(layer.diff_id), layer.index)
    results: dict[int, LayerIndex] = {}
    # A cache keeps only verified indexes, so with one nothing is deferred.
    mine: list[DeferredCheck] | None = [] if deferred is not None and cache is None else None
    # Decoding cached layers, reading the others and filling digests all make entries by
    # the hundred thousand: one pause and quick hand-offs over all of it.
    with quick_gil_handoff():
        if cache is not None:
            for i in unique.values():
                hit = cache.get(archive.source, image.layers[i], verify=verify)
                if hit is not None:
                    results[i] = hit
                    report(i, sizes[i], total)
                    if on_layer is not None:
                        _announce(image, i, hit, on_layer)
        order = sorted((i for i in unique.values() if i not in results),
                       key=lambda i: -sizes[i])
        try:
            filled = _read(archive, image, order, results, unique=unique, mine=mine,
                           workers=workers,
                           verify=verify, cancel=cancel, report=report, on_layer=on_layer)
        except BaseException:
            for check in mine or ():
                check.abort()
            raise
    if deferred is not None and mine:
        deferred += mine
    if cache is not None:
        for layer, index in zip(image.layers, filled, strict=True):
            if unique[str(layer.diff_id)] == layer.index:  # once per distinct layer
                cache.put_for(archive.source, layer, index, verified=verify)
    return filled


def _read(archive: Archive, image: Image, order: list[int], results: dict[int, LayerIndex],
          *, unique: dict[str, int], mine: list[DeferredCheck] | None, workers: int,
          verify: bool, cancel: CancelToken, report: Callable[[int, int, int], None],
          on_layer: Callable[[int, LayerIndex], None] | None) -> list[LayerIndex]:
    """Read the layers not in ``results`` on worker threads, then fill content digests
    (inside the caller's ``quick_gil_handoff``)."""
    linked = CancelToken(parent=cancel)  # cancelled by the user, or by a failing sibling
    todo = iter(order)  # largest first
    lock = threading.Lock()
    failures: dict[int, BaseException] = {}

    def job(i: int) -> LayerIndex:
        index = read_layer(archive.source, image.layers[i], verify=verify,
                           limits=archive.limits,
                           progress=lambda n, t: report(i, n, t), cancel=linked,
                           deferred=mine)
        if on_layer is not None:
            _announce(image, i, index, on_layer)
        return index

    def worker() -> None:
        """Plain threads, not concurrent.futures: its import (with logging) cost 16 ms of
        every start-up."""
        while True:
            with lock:
                i = next(todo, None)
                if i is None or failures:
                    return
            try:
                results[i] = job(i)
            except BaseException as exc:
                with lock:
                    if not failures:  # the first failure; the siblings' Cancelled follow it
                        failures[i] = exc
                linked.cancel()

    threads = [threading.Thread(target=worker, name=f"layer_{n}", daemon=True)
               for n in range(min(max(1, workers), len(order)))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:  # KeyboardInterrupt while waiting: stop the workers too
        linked.cancel()
        for thread in threads:
            thread.join()
        raise
    if failures:
        raise next(iter(failures.values()))
    indexes = [results[unique[str(layer.diff_id)]] for layer in image.layers]
    return fill_digests(archive.source, image.layers, indexes, shared_file_paths(indexes),
                        cancel=cancel)


def _announce(image: Image, i: int, index: LayerIndex,
              on_layer: Callable[[int, LayerIndex], None]) -> None:
    """``on_layer`` for layer ``i`` and every other layer with the same diff_id."""
    for layer in image.layers:
        if str(layer.diff_id) == str(image.layers[i].diff_id):
            on_layer(layer.index, index)
