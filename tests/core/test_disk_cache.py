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


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """A copy of a small docker-archive that a test may touch (its cache key follows it)."""
    path = tmp_path / "img.tar"
    shutil.copy(corpus_path("generated", "mini-webapp.docker.tar"), path)
    return path


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


def test_a_changed_archive_is_read_again(tmp_path: Path, archive: Path) -> None:
    _index(archive, tmp_path / "cache")
    st = archive.stat()
    os.utime(archive, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    _entries, hits = _index(archive, tmp_path / "cache")
    assert hits == 0


def test_a_damaged_cache_file_is_ignored_and_replaced(tmp_path: Path, archive: Path) -> None:
    first, _ = _index(archive, tmp_path / "cache")
    for path in (tmp_path / "cache").glob("*.idx"):
        data = bytearray(path.read_bytes())
        data[-10] ^= 0xFF
        path.write_bytes(bytes(data))
    again, hits = _index(archive, tmp_path / "cache")
    assert hits == 0 and again == first
    _entries, hits = _index(archive, tmp_path / "cache")
    assert hits == 6, "good copies were written back"


def test_unverified_reads_are_not_kept(tmp_path: Path, archive: Path) -> None:
    _index(archive, tmp_path / "cache", verify=False)
    assert not list((tmp_path / "cache").glob("*.idx"))


def test_the_cache_folder_is_size_capped(tmp_path: Path, archive: Path) -> None:
    cache = DiskIndexCache(str(tmp_path / "cache"), max_bytes=20_000)
    with open_archive(str(archive)) as opened:
        index_layers(opened, opened.load(), cache=cache)
    cache.flush()
    total = sum(p.stat().st_size for p in (tmp_path / "cache").glob("*.idx"))
    assert 0 < total <= 20_000


def test_huge_layers_are_not_kept(tmp_path: Path, archive: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from explorer.core.analysis import disk_cache

    monkeypatch.setattr(disk_cache, "MAX_CACHED_ENTRIES", 10)
    _index(archive, tmp_path / "cache")
    _entries, hits = _index(archive, tmp_path / "cache")
    assert 0 < hits < 6, "only the small layers came from the cache"


def test_a_cache_file_of_another_format_is_read_again(tmp_path: Path, archive: Path) -> None:
    from explorer.core.analysis import disk_cache

    first, _ = _index(archive, tmp_path / "cache")
    for path in (tmp_path / "cache").glob("*.idx"):  # what format 1 wrote: one JSON doc
        payload = zstandard.ZstdCompressor().compress(json.dumps({"v": 1}).encode())
        path.write_bytes(disk_cache.MAGIC + hashlib.sha256(payload).hexdigest().encode()
                         + b"\n" + payload)
    again, hits = _index(archive, tmp_path / "cache")
    assert hits == 0 and again == first
    _entries, hits = _index(archive, tmp_path / "cache")
    assert hits > 0


def test_a_failed_write_does_not_stop_the_writer(tmp_path: Path, archive: Path,
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
    _index(archive, tmp_path / "cache")  # flushes: would hang with a dead writer
    assert len(calls) > 1 and list((tmp_path / "cache").glob("*.idx"))


def test_every_kind_of_field_survives_the_round_trip() -> None:
    """Non-UTF-8 names, links, xattrs, device numbers, digests present and absent, offsets,
    whiteouts and opaque dirs come back exactly as they were stored."""
    from explorer.core.analysis import disk_cache
    from explorer.core.archive.compression import Compression
    from explorer.core.digest import Digest
    from explorer.core.fs.entry import EntryKind, FileEntry
    from explorer.core.fs.layer_index import LayerIndex

    entries = (
        FileEntry(b"caf\xe9/\xff\n name", EntryKind.FILE, 0o4755, 1000, 1000, 12, 1_700_000_000,
                  digest=b"\x01" * 32, xattrs=((b"user.k", b"\x00v\xff"),), data_offset=1536),
        FileEntry(b"dev/null", EntryKind.CHAR, 0o666, 0, 0, 0, -5, rdev=(1, 3)),
        FileEntry(b"link", EntryKind.SYMLINK, 0o777, 0, 0, 0, 0, link=b"../\xfe"),
        FileEntry(b"empty", EntryKind.FILE, 0o644, 2**32 + 1, 7, 0, 0),
    )
    diff_id = Digest.parse("sha256:" + "ab" * 32)
    index = LayerIndex(entries=entries, whiteouts=(b"gone\xe9",), opaque_dirs=(b"",),
                       warnings=("w\u00e9",), blob_digest=diff_id, blob_size=4096,
                       diff_id=diff_id, tar_size=4096, compression=Compression.NONE,
                       whiteout_sizes=3, header_sizes=12)
    payload = zstandard.ZstdCompressor().compress(b"".join(
        disk_cache._LENGTH.pack(len(r)) + r for r in disk_cache._encode(index)))
    assert disk_cache._decode(disk_cache._records(payload)) == index


def test_a_cut_record_is_damage_not_a_crash() -> None:
    from explorer.core.analysis import disk_cache

    for cut in (disk_cache._LENGTH.pack(100) + b"short", b"\x01\x00"):
        with pytest.raises(ValueError, match="cut short"):
            list(disk_cache._records(zstandard.ZstdCompressor().compress(cut)))


def _efficiency(path: Path, folder: Path, *, verify: bool = True) -> object:
    from explorer.core.inspection import inspect_path

    cache = DiskIndexCache(str(folder))
    with inspect_path(str(path), cache=cache, verify=verify) as inspection:
        found = inspection.efficiency
    cache.flush()
    return found


def _no_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    from explorer.core import inspection

    def fail(*_args: object) -> object:
        raise AssertionError("analysed again")

    monkeypatch.setattr(inspection, "analyze_efficiency", fail)


def test_the_analysis_of_a_verified_image_is_kept_on_disk(
        tmp_path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _efficiency(archive, tmp_path / "cache")
    assert list((tmp_path / "cache").glob("*.eff"))
    _no_analysis(monkeypatch)
    assert _efficiency(archive, tmp_path / "cache") == first


def test_the_same_layers_in_another_format_share_the_analysis(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The analysis depends on the layers' contents only, which their diff_ids name."""
    first = _efficiency(corpus_path("generated", "mini-webapp.docker.tar"), tmp_path / "c")
    _no_analysis(monkeypatch)
    assert _efficiency(corpus_path("generated", "mini-webapp.oci.tar"), tmp_path / "c") == first


def test_the_analysis_of_unverified_layers_is_not_kept(tmp_path: Path, archive: Path) -> None:
    _efficiency(archive, tmp_path / "cache", verify=False)
    assert not list((tmp_path / "cache").glob("*.eff"))


def test_a_damaged_analysis_file_is_analysed_again(tmp_path: Path, archive: Path) -> None:
    first = _efficiency(archive, tmp_path / "cache")
    (saved,) = (tmp_path / "cache").glob("*.eff")
    data = bytearray(saved.read_bytes())
    data[-3] ^= 0xFF
    saved.write_bytes(bytes(data))
    assert _efficiency(archive, tmp_path / "cache") == first
    assert saved.exists(), "a good copy was written back"


GOLDEN_INDEX = {4: "f7b1dd828f6f264446eb93974369e87a004e37553a00755e866652eb543a4ee1"}
"""disk_cache.FORMAT -> digest of the indexes the reader makes of GOLDEN_IMAGES."""
GOLDEN_ANALYSIS = {1: "7e01389ac0a010e200f001a25ba2ebb40ab26de17f24bde1010f54e74c13406c"}
"""disk_cache.ANALYSIS -> digest of their efficiency analyses."""
GOLDEN_IMAGES = ["mini-webapp.docker.tar", "mini-webapp-opaque.docker.tar"]


def _golden() -> tuple[str, str]:
    from explorer.core.inspection import inspect_path

    indexes, analyses = hashlib.sha256(), hashlib.sha256()
    for name in GOLDEN_IMAGES:
        with inspect_path(str(corpus_path("generated", name))) as ins:
            for ix in ins.indexes:
                indexes.update(repr((
                    [tuple(e) for e in ix.entries], ix.whiteouts, ix.opaque_dirs, ix.warnings,
                    str(ix.diff_id), ix.tar_size, ix.whiteout_sizes, ix.header_sizes,
                )).encode())
            eff = ins.efficiency
            analyses.update(repr((
                eff.score, eff.size, eff.user_size, eff.wasted, eff.user_wasted_ratio,
                eff.reclaimable, [(u.path, u.count, u.size, u.min_size) for u in eff.inefficient],
            )).encode())
    return indexes.hexdigest(), analyses.hexdigest()


def test_cached_indexes_and_analyses_are_from_this_reader_and_analysis() -> None:
    """A cache file is only reused when FORMAT (the reader) and ANALYSIS (dive's figures)
    say it was made by the same code: a change to what either produces must bump them."""
    from explorer.core.analysis import disk_cache

    index_digest, analysis_digest = _golden()
    assert GOLDEN_INDEX.get(disk_cache.FORMAT) == index_digest, (
        "the layer reader's output changed: bump disk_cache.FORMAT and record "
        f"{index_digest} for it here")
    assert GOLDEN_ANALYSIS.get(disk_cache.ANALYSIS) == analysis_digest, (
        "the analysis changed: bump disk_cache.ANALYSIS and record "
        f"{analysis_digest} for it here")


def test_the_analyses_kept_in_memory_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    from explorer.core.analysis import index_cache
    from explorer.core.analysis.index_cache import LayerIndexCache
    from explorer.core.inspection import inspect_path

    monkeypatch.setattr(index_cache, "MEMORY_ANALYSES", 2)
    with inspect_path(str(corpus_path("generated", "mini-webapp.docker.tar"))) as ins:
        eff, indexes = ins.efficiency, ins.indexes
    cache = LayerIndexCache()
    for n in range(1, 5):  # the images of its bottom 1, 2, 3 and 4 layers
        cache.keep_efficiency(indexes[:n], eff)
    assert cache.efficiency(indexes[:1]) is None and cache.efficiency(indexes[:2]) is None
    assert cache.efficiency(indexes[:3]) is eff and cache.efficiency(indexes[:4]) is eff
