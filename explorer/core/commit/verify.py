"""Re-open a written image with our own reader and check every digest (BAD-INPUT E5).

Runs on the finished temp file, before it is renamed into place (and while it is fsynced),
so a failure leaves nothing behind.  Checked: the archive opens strictly and holds exactly
one image with the expected config digest, tag and layer list; every layer blob has its
descriptor's size and hashes to its digest (hashed on two threads, largest first: the input's
blobs were copied by the kernel, so this is also where an input changed since it was opened
is caught); the new layer is indexed in full, which checks its diff_id and that it is a tar
every reader takes.  Copied layers need no second diff_id check: their bytes are those of the
input blobs whose diff_ids were verified when the image was opened.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from explorer.core.archive.source import Source
from explorer.core.digest import Digest
from explorer.core.errors import Cancelled, CommitError, ExplorerError
from explorer.core.fs.layer_reader import read_layer
from explorer.core.image.loader import Archive, familiar, open_archive
from explorer.core.image.model import Image
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress

CHUNK = 4 << 20
WORKERS = 2


@dataclass(frozen=True)
class Expected:
    """What the written archive must hold."""

    config_digest: Digest
    layer_digests: tuple[Digest, ...]
    layer_sizes: tuple[int, ...]
    new_layer: int | None
    """Index of the layer the commit made (indexed in full), None for an empty change."""
    tag: str | None


def _hash_blob(image: Image, source: Source, i: int, cancel: CancelToken,
               advance: Progress) -> Digest:
    layer = image.layers[i]
    h = hashlib.new(layer.digest.algorithm if layer.digest else "sha256")
    with source.open(layer.blob_name) as fh:
        while True:
            cancel.check()
            data = fh.read(CHUNK)
            if not data:
                break
            h.update(data)
            advance(len(data), 0)
    return Digest.from_hasher(h)


def verify_written(
    path: str,
    expected: Expected,
    *,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> None:
    """Raise CommitError unless ``path`` is the image ``expected`` describes."""
    try:
        with open_archive(path) as archive:
            _check(archive, expected, progress, cancel)
    except (CommitError, Cancelled):
        raise
    except ExplorerError as exc:
        raise CommitError(f"The written image did not pass verification: {exc.message}",
                          detail=exc.detail) from exc


def _check(archive: Archive, expected: Expected, progress: Progress,
           cancel: CancelToken) -> None:
    if len(archive.refs) != 1:
        raise CommitError(f"The written archive lists {len(archive.refs)} images, not 1.")
    image = archive.load(archive.refs[0])
    if image.id != expected.config_digest:
        raise CommitError(f"The written image has config {image.id}, not "
                          f"{expected.config_digest}.")
    if expected.tag and familiar(expected.tag) not in {familiar(t) for t in image.tags}:
        raise CommitError(f"The written image is not tagged {expected.tag}.")
    digests = [layer.digest for layer in image.layers]
    if tuple(digests) != expected.layer_digests:
        raise CommitError("The written image does not list the expected layer blobs.")
    sizes = tuple(archive.source.entry(layer.blob_name, what="layer").size
                  for layer in image.layers)
    if sizes != expected.layer_sizes:
        raise CommitError("A written layer blob does not have its expected size.")
    total = sum(sizes)
    done = 0
    lock = threading.Lock()

    def advance(n: int, _total: int) -> None:
        nonlocal done
        with lock:
            done += n
            now = min(done, total)
        progress(now, total)

    unique: dict[Digest, int] = {}
    for i, digest in enumerate(expected.layer_digests):
        if i != expected.new_layer:
            unique.setdefault(digest, i)
    order: Sequence[int] = sorted(unique.values(), key=lambda i: -sizes[i])
    linked = CancelToken(parent=cancel)  # stops the hashing threads when anything fails
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="verify") as pool:
        futures = {i: pool.submit(_hash_blob, image, archive.source, i, linked, advance)
                   for i in order}
        try:
            if expected.new_layer is not None:
                n = expected.new_layer
                index = read_layer(archive.source, image.layers[n], verify=True,
                                   cancel=linked)
                if index.diff_id != image.layers[n].diff_id:
                    raise CommitError("The new layer does not match its diff_id.")
                advance(sizes[n], 0)
            results = {i: future.result() for i, future in futures.items()}
        except BaseException:
            linked.cancel()
            raise
        for i, actual in results.items():
            if actual != expected.layer_digests[i]:
                raise CommitError(
                    f"Layer {i} was copied from the input but hashes to {actual}, not "
                    f"{expected.layer_digests[i]}: the input file changed since it was "
                    "opened. Open it again and commit again.")
