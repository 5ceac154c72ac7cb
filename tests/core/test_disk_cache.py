"""Re-opening an image that was read before takes its layer indexes from the disk cache,
but only while the archive is byte-for-byte the file that was read."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import zstandard

from explorer.core.analysis.disk_cache import DiskIndexCache
from explorer.core.analysis.indexing import index_layers
from explorer.core.image.loader import open_archive
from tests.conftest import corpus_path

IMAGES = ["mini-webapp.docker.tar", "mini-webapp.oci.tar", "mini-webapp.oci-layout.tar"]


def _index(path: Path, folder: Path, *, verify: bool = True) -> tuple[list[object], int]:
    cache = DiskIndexCache(str(folder))
    with open_archive(str(path)) as archive:
        image = archive.load()
        indexes = index_layers(archive, image, cache=cache, verify=verify)
    cache.flush()  # the files are written on the cache's own thread
    return [ix.entries for ix in indexes], cache.disk_hits


@pytest.mark.parametrize("batch", [1000, 3])
@pytest.mark.parametrize("name", IMAGES)
def test_a_second_open_reads_no_layer(tmp_path: Path, name: str, batch: int,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries are stored in batches (small ones here, so a layer spans many)."""
    from explorer.core.analysis import disk_cache

    monkeypatch.setattr(disk_cache, "BATCH", batch)
    archive = tmp_path / name
    shutil.copy(corpus_path("generated", name), archive)
    first, hits = _index(archive, tmp_path / "cache")
    assert hits == 0 and list((tmp_path / "cache").glob("*.idx"))
    again, hits = _index(archive, tmp_path / "cache")
    assert hits == 6 and again == first, "the same entries, digests and offsets"


def test_a_changed_archive_is_read_again(tmp_path: Path) -> None:
    archive = tmp_path / "img.tar"
    shutil.copy(corpus_path("generated", "mini-webapp.docker.tar"), archive)
    _index(archive, tmp_path / "cache")
    st = archive.stat()
    os.utime(archive, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    _entries, hits = _index(archive, tmp_path / "cache")
    assert hits == 0


def test_a_damaged_cache_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    archive = tmp_path / "img.tar"
    shutil.copy(corpus_path("generated", "mini-webapp.docker.tar"), archive)
    first, _ = _index(archive, tmp_path / "cache")
    for path in (tmp_path / "cache").glob("*.idx"):
        data = bytearray(path.read_bytes())
        data[-10] ^= 0xFF
        path.write_bytes(bytes(data))
    again, hits = _index(archive, tmp_path / "cache")
    assert hits == 0 and again == first
    _entries, hits = _index(archive, tmp_path / "cache")
    assert hits == 6, "good copies were written back"


def test_unverified_reads_are_not_kept(tmp_path: Path) -> None:
    archive = tmp_path / "img.tar"
    shutil.copy(corpus_path("generated", "mini-webapp.docker.tar"), archive)
    _index(archive, tmp_path / "cache", verify=False)
    assert not list((tmp_path / "cache").glob("*.idx"))


def test_the_cache_folder_is_size_capped(tmp_path: Path) -> None:
    archive = tmp_path / "img.tar"
    shutil.copy(corpus_path("generated", "mini-webapp.docker.tar"), archive)
    cache = DiskIndexCache(str(tmp_path / "cache"), max_bytes=20_000)
    with open_archive(str(archive)) as opened:
        index_layers(opened, opened.load(), cache=cache)
    cache.flush()
    total = sum(p.stat().st_size for p in (tmp_path / "cache").glob("*.idx"))
    assert 0 < total <= 20_000


def test_huge_layers_are_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from explorer.core.analysis import disk_cache

    monkeypatch.setattr(disk_cache, "MAX_CACHED_ENTRIES", 10)
    archive = tmp_path / "img.tar"
    shutil.copy(corpus_path("generated", "mini-webapp.docker.tar"), archive)
    _index(archive, tmp_path / "cache")
    _entries, hits = _index(archive, tmp_path / "cache")
    assert 0 < hits < 6, "only the small layers came from the cache"


def test_a_cache_file_of_another_format_is_read_again(tmp_path: Path) -> None:
    from explorer.core.analysis import disk_cache

    archive = tmp_path / "img.tar"
    shutil.copy(corpus_path("generated", "mini-webapp.docker.tar"), archive)
    first, _ = _index(archive, tmp_path / "cache")
    for path in (tmp_path / "cache").glob("*.idx"):  # what format 1 wrote: one JSON doc
        payload = zstandard.ZstdCompressor().compress(json.dumps({"v": 1}).encode())
        path.write_bytes(disk_cache.MAGIC + hashlib.sha256(payload).hexdigest().encode()
                         + b"\n" + payload)
    again, hits = _index(archive, tmp_path / "cache")
    assert hits == 0 and again == first
    _entries, hits = _index(archive, tmp_path / "cache")
    assert hits > 0


def test_a_failed_write_does_not_stop_the_writer(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever goes wrong writing one entry (here: an error that is not an OSError), the
    writer goes on and ``flush`` returns."""
    from explorer.core.analysis import disk_cache

    real = disk_cache._encode
    calls: list[int] = []

    def flaky(index: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("boom")
        return real(index)  # type: ignore[arg-type]

    monkeypatch.setattr(disk_cache, "_encode", flaky)
    archive = tmp_path / "img.tar"
    shutil.copy(corpus_path("generated", "mini-webapp.docker.tar"), archive)
    _index(archive, tmp_path / "cache")  # flushes: would hang with a dead writer
    assert len(calls) > 1 and list((tmp_path / "cache").glob("*.idx"))
