"""Deferred verification: uncompressed layers are analysed while their sha256 finishes.

``index_layers(deferred=...)`` hands back an uncompressed layer's index as soon as its
headers are parsed; the hash goes on, and the check it leaves raises DigestMismatch if the
bytes differ.  ``inspect_path`` runs the analysis meanwhile and the checks before returning,
so a caller never sees an unverified image.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from explorer.core.analysis.index_cache import LayerIndexCache
from explorer.core.analysis.indexing import index_layers
from explorer.core.errors import DigestMismatch
from explorer.core.fs.layer_reader import DeferredCheck
from explorer.core.image.loader import open_archive
from explorer.core.inspection import inspect_path
from tests.core.factories import DockerArchive, OciArchive
from tests.core.test_bad_input import BASE, TOP


def _tampered(tmp_path: Path) -> tuple[Path, str]:
    """Layer 1's config diff_id is wrong: parsing succeeds, only the hash can tell."""
    archive = DockerArchive([BASE, TOP])
    expected = "sha256:" + "ab" * 32
    archive.config["rootfs"]["diff_ids"][1] = expected
    return archive.write(tmp_path / "tampered.tar"), expected


def _no_hash_threads_left() -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not [t for t in threading.enumerate() if t.name == "blob-hash"]:
            return True
        time.sleep(0.01)
    return False


def test_uncompressed_layers_leave_a_check_that_passes(tmp_path: Path) -> None:
    path = DockerArchive([BASE, TOP]).write(tmp_path / "img.tar")
    checks: list[DeferredCheck] = []
    with open_archive(str(path)) as archive:
        image = archive.load()
        deferred = index_layers(archive, image, deferred=checks)
        assert sorted(c.layer.index for c in checks) == [0, 1]
        for check in checks:
            check.check()
        assert deferred == index_layers(archive, image)  # the same indexes, digests included
    assert _no_hash_threads_left()


def test_a_mismatch_surfaces_at_the_check(tmp_path: Path) -> None:
    path, expected = _tampered(tmp_path)
    checks: list[DeferredCheck] = []
    with open_archive(str(path)) as archive:
        indexes = index_layers(archive, archive.load(), deferred=checks)
        assert indexes[1].diff_id == archive.load().layers[1].diff_id  # as claimed, for now
        [bad] = [c for c in checks if c.layer.index == 1]
        with pytest.raises(DigestMismatch, match="layer 1") as info:
            bad.check()
        assert info.value.expected == expected
        for check in checks:
            check.abort()
    assert _no_hash_threads_left()


def test_inspect_path_never_returns_an_unverified_image(tmp_path: Path) -> None:
    path, _ = _tampered(tmp_path)
    with pytest.raises(DigestMismatch, match="diff_id"):
        inspect_path(str(path))
    assert _no_hash_threads_left()
    with inspect_path(str(path), verify=False) as ins:  # the user opted out
        assert ins.merged().get(b"usr/app.txt") is not None


def test_compressed_layers_and_cached_reads_are_never_deferred(tmp_path: Path) -> None:
    gz = OciArchive([BASE, TOP], compression="gzip").write(tmp_path / "gz.tar")
    plain = DockerArchive([BASE, TOP]).write(tmp_path / "plain.tar")
    for path, cache in ((gz, None), (plain, LayerIndexCache())):
        checks: list[DeferredCheck] = []
        with open_archive(str(path)) as archive:
            index_layers(archive, archive.load(), deferred=checks, cache=cache)
        assert checks == []


def test_a_failing_layer_aborts_the_checks_already_made(tmp_path: Path) -> None:
    archive = DockerArchive([BASE, TOP])
    archive.layer_blobs[1] = archive.layer_blobs[1][:700]  # layer 1 is cut: a parse error
    path = archive.write(tmp_path / "cut.tar")
    checks: list[DeferredCheck] = []
    with open_archive(str(path)) as opened, pytest.raises(Exception, match="ayer 1"):
        index_layers(opened, opened.load(), deferred=checks, workers=1)
    assert checks == []
    assert _no_hash_threads_left()


def test_hashing_threads_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing runs ahead of hashing; at most ``_HASHERS`` blobs are hashed at once."""
    from explorer.core.fs import plain_blob

    class Counting(threading.BoundedSemaphore):
        def __init__(self, value: int) -> None:
            super().__init__(value)
            self.now = self.most = 0
            self.lock = threading.Lock()

        def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
            got = super().acquire(blocking, timeout)
            if got:
                with self.lock:
                    self.now += 1
                    self.most = max(self.most, self.now)
            return got

        def release(self, n: int = 1) -> None:
            with self.lock:
                self.now -= n
            super().release(n)

    cap = Counting(1)
    monkeypatch.setattr(plain_blob, "_HASHERS", cap)
    layers = [[(f"l{i}", None, "dir"), (f"l{i}/f", b"x" * 4096, "file")] for i in range(8)]
    path = DockerArchive(layers).write(tmp_path / "many.tar")
    with inspect_path(str(path)) as ins:
        assert len(ins.indexes) == 8
    assert cap.most == 1
    assert _no_hash_threads_left()
