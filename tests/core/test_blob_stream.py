"""Reading one layer blob: every compression, multi-member streams, digests, cancel, threads.

The blob is read on helper threads (producer, plain-stream hasher) while the caller parses
the tar; these tests pin down what the caller sees, whatever the threads do.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from pathlib import Path

import pytest
import zstandard

from explorer.core.archive.source import DirSource
from explorer.core.digest import Digest
from explorer.core.errors import Cancelled, DigestMismatch, TruncatedError
from explorer.core.fs.channel import Aborted, Channel
from explorer.core.fs.layer_reader import read_layer
from explorer.core.image.model import LayerInfo
from explorer.core.tasks import CancelToken
from tests.core.factories import layer_tar

FILES = [("etc", None, "dir"), ("etc/motd", b"hello\n" * 1000, "file"),
         ("bin", None, "dir"), ("bin/big", bytes(range(256)) * 20_000, "file"),
         ("bin/link", "bin/big", "hardlink")]
PLAIN = layer_tar(FILES)


def _layer(tmp_path: Path, blob: bytes, *, digest: Digest | None = None,
           diff_id: Digest | None = None) -> tuple[DirSource, LayerInfo]:
    (tmp_path / "blob").write_bytes(blob)
    layer = LayerInfo(
        index=0, blob_name="blob", media_type="application/vnd.oci.image.layer.v1.tar",
        digest=digest or Digest.of_bytes(blob), compressed_size=len(blob),
        diff_id=diff_id or Digest.of_bytes(PLAIN), chain_id=Digest.of_bytes(PLAIN),
        history=None,
    )
    return DirSource(str(tmp_path)), layer


def _paths(tmp_path: Path, blob: bytes) -> list[bytes]:
    source, layer = _layer(tmp_path, blob)
    index = read_layer(source, layer)
    return [e.path for e in index.entries]


def _no_blob_threads() -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not [t for t in threading.enumerate() if t.name.startswith("blob-")]:
            return True
        time.sleep(0.01)
    return False


EXPECTED = [b"etc", b"etc/motd", b"bin", b"bin/big", b"bin/link"]


def test_plain_gzip_and_zstd_blobs_index_the_same_entries(tmp_path: Path) -> None:
    gz = gzip.compress(PLAIN, mtime=0)
    zs = zstandard.ZstdCompressor().compress(PLAIN)
    for i, blob in enumerate([PLAIN, gz, zs]):
        folder = tmp_path / str(i)
        folder.mkdir()
        assert _paths(folder, blob) == EXPECTED


def test_multi_member_gzip_with_zero_padding_is_one_stream(tmp_path: Path) -> None:
    """pigz/estargz write several gzip members; some tools pad the end with NULs."""
    half = len(PLAIN) // 2
    blob = gzip.compress(PLAIN[:half], mtime=0) + gzip.compress(PLAIN[half:], mtime=0)
    assert _paths(tmp_path, blob + b"\0" * 100) == EXPECTED


def test_multi_frame_zstd_is_one_stream(tmp_path: Path) -> None:
    """zstd:chunked layers are many frames; every frame counts toward the diff_id."""
    c = zstandard.ZstdCompressor()
    third = len(PLAIN) // 3
    blob = b"".join(c.compress(PLAIN[i:i + third]) for i in range(0, len(PLAIN), third))
    assert _paths(tmp_path, blob) == EXPECTED


def test_uncompressed_blob_named_by_sha512_gets_a_sha256_diff_id(tmp_path: Path) -> None:
    sha512 = Digest("sha512", hashlib.sha512(PLAIN).hexdigest())
    source, layer = _layer(tmp_path, PLAIN, digest=sha512)
    index = read_layer(source, layer)
    assert index.blob_digest == sha512
    assert index.diff_id == Digest.of_bytes(PLAIN)


def test_wrong_diff_id_of_a_gzip_blob_names_both_digests(tmp_path: Path) -> None:
    wrong = Digest.of_bytes(b"something else")
    source, layer = _layer(tmp_path, gzip.compress(PLAIN), diff_id=wrong)
    with pytest.raises(DigestMismatch) as info:
        read_layer(source, layer)
    assert str(wrong) in str(info.value) and str(Digest.of_bytes(PLAIN)) in str(info.value)


def test_truncated_gzip_is_reported_and_leaves_no_thread_behind(tmp_path: Path) -> None:
    blob = gzip.compress(PLAIN)
    source, layer = _layer(tmp_path, blob[: len(blob) // 2])
    with pytest.raises(TruncatedError, match="gzip"):
        read_layer(source, layer, verify=False)
    assert _no_blob_threads()


def test_cancel_stops_the_read_and_its_threads(tmp_path: Path) -> None:
    big = layer_tar([(f"f{i}", bytes(300_000), "file") for i in range(100)])  # 30 MB: 4 steps
    token = CancelToken()
    seen: list[int] = []

    def progress(done: int, _total: int) -> None:
        seen.append(done)
        if len(seen) == 2:
            token.cancel()

    (tmp_path / "blob").write_bytes(big)
    layer = LayerInfo(0, "blob", "x", Digest.of_bytes(big), len(big), Digest.of_bytes(big),
                      Digest.of_bytes(big), None)
    with pytest.raises(Cancelled):
        read_layer(DirSource(str(tmp_path)), layer, progress=progress, cancel=token)
    assert seen[-1] < len(big), "cancel must stop the read before the end"
    assert _no_blob_threads()


def test_channel_abort_wakes_a_blocked_producer_and_consumer() -> None:
    full: Channel[int] = Channel(1)
    full.put(1)
    empty: Channel[int] = Channel(1)
    outcomes: list[str] = []

    def blocked(call: object) -> None:
        try:
            call()  # type: ignore[operator]
        except Aborted:
            outcomes.append("aborted")

    threads = [threading.Thread(target=blocked, args=(lambda: full.put(2),)),
               threading.Thread(target=blocked, args=(empty.get,))]
    for t in threads:
        t.start()
    time.sleep(0.05)
    full.abort()
    empty.abort()
    for t in threads:
        t.join(5)
    assert outcomes == ["aborted", "aborted"]


def test_channel_close_delivers_what_is_queued_then_none() -> None:
    ch: Channel[int] = Channel(4)
    ch.put(1)
    ch.put(2)
    ch.close()
    assert [ch.get(), ch.get(), ch.get()] == [1, 2, None]


def test_without_verify_an_uncompressed_layer_is_read_from_its_headers_only(
        tmp_path: Path) -> None:
    """--no-verify trusts the claimed digests; with verify the same change is refused."""
    tampered = PLAIN.replace(b"hello\n", b"HELLO\n")
    source, layer = _layer(tmp_path, tampered, digest=Digest.of_bytes(PLAIN))
    index = read_layer(source, layer, verify=False)
    assert [e.path for e in index.entries] == EXPECTED
    assert index.diff_id == Digest.of_bytes(PLAIN), "the claimed diff_id, not re-computed"
    with pytest.raises(DigestMismatch):
        read_layer(source, layer)
    assert _no_blob_threads()
