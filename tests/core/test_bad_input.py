"""Hostile and broken archives (BAD-INPUT.md §0-3, §7), generated in tmp_path.

Each test starts from a valid archive built by ``factories`` and breaks exactly one thing.
Refusals must raise the specific ``ExplorerError`` subclass with a message that names the
problem, and ``layer-explorer inspect`` must exit 2 with one ``layer-explorer: error:`` line
on stderr (no traceback).  Every input file must be byte-identical after the test (rule 0.1),
and nothing may be written next to it.

Tests marked ``xfail(strict=True, reason="BUG: ...")`` document bugs in explorer/ that are
not fixed here; they pass (as xfail) while the bug is present.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from explorer.app.cli import main
from explorer.core.errors import (
    DigestMismatch,
    ExplorerError,
    FormatError,
    LimitExceeded,
    MissingBlobError,
    NotAnImageError,
    TruncatedError,
    UnsafePath,
)
from explorer.core.fs.diff import DiffKind, RemovalCause
from explorer.core.fs.entry import EntryKind
from explorer.core.inspection import Inspection, inspect_path
from explorer.core.limits import MiB
from tests.core.factories import (
    Compression,
    DockerArchive,
    LayerEntry,
    Member,
    OciArchive,
    layer_tar,
    outer_tar,
)

BASE = [
    ("etc", None, "dir"),
    ("etc/hosts", b"127.0.0.1 localhost\n", "file"),
    ("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", "file"),
    ("bin", None, "dir"),
    ("bin/sh", b"#!not really a shell\n" * 40, "file"),
]
TOP = [("usr", None, "dir"), ("usr/app.txt", b"hello\n", "file")]


@functools.cache
def _notes(n_words: int = 400_000) -> bytes:
    """Deterministic, compressible text (several deflate blocks when gzipped)."""
    words = (b"alpha", b"beta", b"gamma", b"delta", b"epsilon", b"zeta", b"eta", b"theta")
    state = 1
    out = []
    for _ in range(n_words):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(words[state % 8] + b"%d" % (state % 1000))
    return b" ".join(out)


# --------------------------------------------------------------------------- fixtures


class Inputs:
    """Input files of one test: written once, then checked to be untouched at teardown."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.hashes: dict[Path, str] = {}

    def put(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        path.write_bytes(data)
        self.hashes[path] = hashlib.sha256(data).hexdigest()
        return path

    def write(self, name: str, archive: DockerArchive | OciArchive, *,
              compression: Compression = None) -> Path:
        path = archive.write(self.folder / name, compression=compression)
        self.hashes[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        return path

    def check_unchanged(self) -> None:
        for path, digest in self.hashes.items():
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, \
                f"the input {path.name} was modified"
        assert sorted(os.listdir(self.folder)) == sorted(p.name for p in self.hashes), \
            "something was written next to the input"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where decompressed copies of compressed outer archives go (not the real ~/.cache)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "layer-explorer"


@pytest.fixture
def inputs(tmp_path: Path, cache: Path) -> Iterator[Inputs]:
    folder = tmp_path / "in"
    folder.mkdir()
    registry = Inputs(folder)
    yield registry
    registry.check_unchanged()
    leftovers = sorted(os.listdir(cache)) if cache.exists() else []
    assert not leftovers, f"temporary copies left in the cache: {leftovers}"


# --------------------------------------------------------------------------- helpers


def inspect_all(path: Path, *, verify: bool = True) -> None:
    """Open, index every layer and merge (everything that can fail on bad input)."""
    with inspect_path(str(path), verify=verify) as insp:
        insp.merged()


def open_error(path: Path, *, verify: bool = True) -> ExplorerError | None:
    """The error opening ``path`` raises, or None (for bug tests that must fail by assert)."""
    try:
        inspect_all(path, verify=verify)
    except ExplorerError as exc:
        return exc
    return None


def assert_cli_refuses(path: Path, capsys: pytest.CaptureFixture[str], message: str, *,
                       verify: bool = True) -> None:
    """``layer-explorer inspect PATH`` exits 2 with exactly one error line: ``message``."""
    capsys.readouterr()
    argv = ["inspect", str(path)] + ([] if verify else ["--no-verify"])
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, f"exit code {rc}, stderr: {err!r}"
    assert "Traceback" not in err
    assert err.splitlines() == [f"layer-explorer: error: {message}"], err


def assert_refused(path: Path, capsys: pytest.CaptureFixture[str], error: type[ExplorerError],
                   *fragments: str, exact: bool = False, verify: bool = True) -> ExplorerError:
    """Opening ``path`` raises ``error`` naming every fragment; the CLI exits 2 with it."""
    with pytest.raises(error) as info:
        inspect_all(path, verify=verify)
    exc = info.value
    if exact:
        assert type(exc) is error, f"expected exactly {error.__name__}, got {exc!r}"
    message = str(exc)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment.lower() in message.lower(), f"{fragment!r} not in {message!r}"
    assert_cli_refuses(path, capsys, exc.message, verify=verify)
    return exc


def opened(path: Path) -> Inspection:
    return inspect_path(str(path))


def tar_members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return tf.getmembers()


def flip(data: bytes, start: int, n: int, fill: int | None = None) -> bytes:
    """``n`` bytes from ``start`` inverted (or set to ``fill``)."""
    b = bytearray(data)
    for i in range(start, start + n):
        b[i] = fill if fill is not None else b[i] ^ 0xFF
    return bytes(b)


def names(insp: Inspection) -> set[bytes]:
    return {path for path, _node in insp.merged().walk()}


def layer_blob_name(archive: OciArchive, i: int) -> str:
    digest: str = archive.layer_descs[i]["digest"]
    return "blobs/sha256/" + digest.split(":", 1)[1]


def test_the_input_check_notices_changes(tmp_path: Path) -> None:
    """The teardown check itself: a changed byte or a new neighbour file is reported."""
    folder = tmp_path / "check"
    folder.mkdir()
    registry = Inputs(folder)
    path = registry.put("a.tar", b"original")
    registry.check_unchanged()
    path.write_bytes(b"Original")
    with pytest.raises(AssertionError, match="was modified"):
        registry.check_unchanged()
    path.write_bytes(b"original")
    (folder / "a.tar.tmp").write_bytes(b"")
    with pytest.raises(AssertionError, match="next to the input"):
        registry.check_unchanged()


# ============================================================ 1. the outer archive (A1, A2, A6)


def _valid_docker_bytes() -> tuple[DockerArchive, bytes]:
    archive = DockerArchive([BASE, TOP])
    return archive, outer_tar(archive.members())


def test_valid_archives_open(inputs: Inputs, capsys: pytest.CaptureFixture[str]) -> None:
    """The control: what the factories build is a valid image in both formats."""
    for name, archive in (("d.tar", DockerArchive([BASE, TOP])),
                          ("o.tar", OciArchive([BASE, TOP], compression="gzip"))):
        path = inputs.write(name, archive)
        with opened(path) as insp:
            assert len(insp.indexes) == 2
            assert insp.warnings == []
            assert {b"etc/hosts", b"bin/sh", b"usr/app.txt"} <= names(insp)
        assert main(["inspect", str(path)]) == 0
    capsys.readouterr()


def test_outer_tar_cut_inside_a_header(inputs: Inputs,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    # tarfile alone stops silently at a truncated header and lists a short archive (A2).
    _, data = _valid_docker_bytes()
    second = tar_members(data)[1]
    cut = second.offset + 100
    path = inputs.put("cut-header.tar", data[:cut])
    assert_refused(path, capsys, TruncatedError, "truncated", f"byte {cut}")


def test_outer_tar_cut_inside_data(inputs: Inputs, capsys: pytest.CaptureFixture[str]) -> None:
    _, data = _valid_docker_bytes()
    first = tar_members(data)[0]
    assert first.size > 2048
    cut = first.offset_data + first.size // 2
    path = inputs.put("cut-data.tar", data[:cut])
    assert_refused(path, capsys, TruncatedError, "truncated", first.name, str(cut))


def _end_of_last_member(data: bytes) -> int:
    last = tar_members(data)[-1]
    return last.offset_data + (last.size + 511) // 512 * 512


def test_outer_tar_cut_inside_the_end_marker(inputs: Inputs,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _, data = _valid_docker_bytes()
    cut = _end_of_last_member(data) + 100
    path = inputs.put("cut-end.tar", data[:cut])
    assert_refused(path, capsys, TruncatedError, "truncated", "end-of-archive")


def test_outer_tar_missing_end_blocks_is_truncated(inputs: Inputs) -> None:
    _, data = _valid_docker_bytes()
    path = inputs.put("no-end-blocks.tar", data[:_end_of_last_member(data)])
    err = open_error(path)
    assert isinstance(err, TruncatedError), f"expected TruncatedError, got {err!r}"


def test_outer_tar_cut_at_a_member_boundary_is_truncated(inputs: Inputs) -> None:
    _, data = _valid_docker_bytes()
    manifest = next(m for m in tar_members(data) if m.name == "manifest.json")
    path = inputs.put("cut-boundary.tar", data[:manifest.offset])
    err = open_error(path)
    assert isinstance(err, TruncatedError), f"expected TruncatedError, got {err!r}"


def test_duplicate_manifest_json_is_refused(inputs: Inputs,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    archive = DockerArchive([BASE, TOP])
    archive.extra.append(Member("manifest.json", b"[]"))
    path = inputs.write("dup-manifest.tar", archive)
    assert_refused(path, capsys, FormatError, "manifest.json twice", "refused", exact=True)


def test_duplicate_layer_blob_is_refused(inputs: Inputs) -> None:
    archive = DockerArchive([BASE, TOP])
    archive.extra.append(Member(archive.layer_names[1], layer_tar([("evil", b"x", "file")])))
    path = inputs.write("dup-blob.tar", archive)
    err = open_error(path, verify=False)
    assert isinstance(err, FormatError) and "twice" in str(err), \
        f"expected a refusal naming the duplicate, got {err!r}"


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_compressed_outer_docker_archive_opens(inputs: Inputs, cache: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               compression: Compression) -> None:
    path = inputs.write(f"img.tar.{compression}", DockerArchive([BASE, TOP]),
                        compression=compression)
    with opened(path) as insp:
        assert insp.archive.format.endswith(f"({compression}-compressed)")
        assert {b"etc/hosts", b"usr/app.txt"} <= names(insp)
        assert insp.warnings == []
    assert not cache.exists() or os.listdir(cache) == [], "temp copy not removed on close"
    assert main(["inspect", str(path)]) == 0
    capsys.readouterr()


def test_compressed_outer_archive_with_bad_metadata_cleans_up(
        inputs: Inputs, cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = DockerArchive([BASE, TOP])
    archive.manifest_raw = b"[{"
    path = inputs.write("bad.tar.gz", archive, compression="gzip")
    assert_refused(path, capsys, FormatError, "manifest.json", "not valid JSON", exact=True)
    assert not cache.exists() or os.listdir(cache) == []


# ============================================================ 2. metadata (B1-B6)


def test_bad_json_in_manifest_json(inputs: Inputs, capsys: pytest.CaptureFixture[str]) -> None:
    archive = DockerArchive([BASE, TOP])
    archive.manifest_raw = b'[{"Config": "x.json", "Layers": [}]'
    path = inputs.write("bad-manifest.tar", archive)
    assert_refused(path, capsys, FormatError, "manifest.json", "not valid JSON", exact=True)


@pytest.mark.parametrize("builder", [DockerArchive, OciArchive])
def test_bad_json_in_config(inputs: Inputs, capsys: pytest.CaptureFixture[str],
                            builder: type[DockerArchive | OciArchive]) -> None:
    archive = builder([BASE, TOP])
    archive.config_raw = b'{"rootfs": {"type": "layers", "diff_ids": [}'  # named by its digest
    path = inputs.write("bad-config.tar", archive)
    assert_refused(path, capsys, FormatError, "image config", "not valid JSON", exact=True)


def test_oversized_manifest_json(inputs: Inputs, capsys: pytest.CaptureFixture[str]) -> None:
    archive = DockerArchive([BASE, TOP])
    archive.manifest_raw = archive.manifest_bytes() + b" " * MiB  # valid JSON, just too big
    path = inputs.write("big-manifest.tar", archive)
    exc = assert_refused(path, capsys, LimitExceeded, "manifest.json", "manifest_json",
                         str(MiB))
    assert isinstance(exc, LimitExceeded)
    assert (exc.limit_name, exc.limit) == ("manifest_json", MiB)


@pytest.mark.parametrize("bad", ["../x.tar", "a/../../x.tar", "/etc/passwd"])
def test_unsafe_layer_paths_in_manifest_json(inputs: Inputs,
                                             capsys: pytest.CaptureFixture[str],
                                             bad: str) -> None:
    archive = DockerArchive([BASE, TOP])
    archive.edit_manifest = lambda doc: doc[0]["Layers"].__setitem__(0, bad)
    path = inputs.write("unsafe.tar", archive)
    assert_refused(path, capsys, UnsafePath, bad, "Layers[0]", "unsafe path")


@pytest.mark.parametrize("mangle", [str.upper, lambda hex_: hex_[:20]], ids=["upper", "short"])
def test_malformed_diff_id(inputs: Inputs, capsys: pytest.CaptureFixture[str],
                           mangle: Callable[[str], str]) -> None:
    archive = DockerArchive([BASE, TOP])
    diff_ids = archive.config["rootfs"]["diff_ids"]
    bad = "sha256:" + mangle(diff_ids[0].split(":", 1)[1])
    diff_ids[0] = bad
    path = inputs.write("bad-diffid.tar", archive)
    assert_refused(path, capsys, FormatError, bad, "diff_ids[0]", "64 lowercase hex",
                   exact=True)


@pytest.mark.parametrize("mangle", [str.upper, lambda hex_: hex_[:20]], ids=["upper", "short"])
def test_malformed_layer_descriptor_digest(inputs: Inputs, capsys: pytest.CaptureFixture[str],
                                           mangle: Callable[[str], str]) -> None:
    archive = OciArchive([BASE, TOP], compression="gzip")
    desc = archive.layer_descs[0]
    bad = "sha256:" + mangle(desc["digest"].split(":", 1)[1])
    desc["digest"] = bad
    path = inputs.write("bad-digest.tar", archive)
    assert_refused(path, capsys, FormatError, bad, "layers[0].digest", "64 lowercase hex",
                   exact=True)


def test_layer_count_differs_from_diff_ids(inputs: Inputs,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    archive = DockerArchive([BASE, TOP])
    archive.config["rootfs"]["diff_ids"].pop()
    path = inputs.write("count.tar", archive)
    assert_refused(path, capsys, FormatError, "2 layer blobs", "1 diff_ids",
                   "inconsistent layer count", exact=True)


def test_rootfs_type_other_than_layers(inputs: Inputs,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    archive = DockerArchive([BASE, TOP])
    archive.config["rootfs"]["type"] = "tarball"
    path = inputs.write("rootfs-type.tar", archive)
    assert_refused(path, capsys, FormatError, "rootfs.type", "'tarball'", "'layers'",
                   exact=True)


def test_config_digest_mismatch_in_oci_archive(inputs: Inputs,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    archive = OciArchive([BASE, TOP], compression="gzip")
    good = archive.config_bytes()
    archive.config_stored = good.replace(b'"amd64"', b'"arm64"')  # same size, other bytes
    assert len(archive.config_stored) == len(good) and archive.config_stored != good
    path = inputs.write("config-digest.tar", archive)
    expected = "sha256:" + hashlib.sha256(good).hexdigest()
    actual = "sha256:" + hashlib.sha256(archive.config_stored).hexdigest()
    exc = assert_refused(path, capsys, DigestMismatch, "image config", expected, actual)
    assert isinstance(exc, DigestMismatch)
    assert (exc.expected, exc.actual) == (expected, actual)


# ============================================================ 3. layer blobs (B3, C12)


def test_missing_layer_blob(inputs: Inputs, capsys: pytest.CaptureFixture[str]) -> None:
    archive = DockerArchive([BASE, TOP])
    archive.omit.add(archive.layer_names[1])
    path = inputs.write("missing.tar", archive)
    assert_refused(path, capsys, MissingBlobError, "layer 1", archive.layer_names[1],
                   "not in the archive", exact=True)


def test_missing_layer_blob_in_oci_archive(inputs: Inputs,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    archive = OciArchive([BASE, TOP], compression="gzip")
    archive.omit.add(layer_blob_name(archive, 1))
    path = inputs.write("missing.tar", archive)
    assert_refused(path, capsys, MissingBlobError, "layer 1", layer_blob_name(archive, 1),
                   "not in the archive", exact=True)


def test_layer_diff_id_mismatch(inputs: Inputs, capsys: pytest.CaptureFixture[str]) -> None:
    archive = DockerArchive([BASE, TOP])
    actual = archive.diff_ids[1]
    expected = "sha256:" + "ab" * 32
    archive.config["rootfs"]["diff_ids"][1] = expected
    path = inputs.write("diffid.tar", archive)
    exc = assert_refused(path, capsys, DigestMismatch, "layer 1", archive.layer_names[1],
                         "diff_id", expected, actual)
    assert isinstance(exc, DigestMismatch)
    assert (exc.expected, exc.actual) == (expected, actual)
    assert "layer 1" in exc.what


def test_layer_blob_digest_mismatch_in_oci_archive(inputs: Inputs,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    archive = OciArchive([BASE, TOP])  # uncompressed: only the stored bytes change
    name = layer_blob_name(archive, 1)
    expected = archive.layer_descs[1]["digest"]
    archive.layer_blobs[1] = layer_tar([("usr", None, "dir"), ("usr/app.txt", b"HELLO\n",
                                                               "file")])
    actual = "sha256:" + hashlib.sha256(archive.layer_blobs[1]).hexdigest()
    path = inputs.write("blob-digest.tar", archive)
    exc = assert_refused(path, capsys, DigestMismatch, "layer 1", name, expected, actual)
    assert isinstance(exc, DigestMismatch)
    assert (exc.expected, exc.actual) == (expected, actual)


def _gzip_layers_with_notes() -> OciArchive:
    return OciArchive([BASE, [("usr", None, "dir"), ("usr/notes.txt", _notes(), "file")]],
                      compression="gzip")


def _inflate_error(blob: bytes) -> str | None:
    """What zlib says about a gzip stream (it checks the CRC, unlike libarchive)."""
    try:
        zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(blob)
    except zlib.error as exc:
        return str(exc)
    return None


def _corrupted(blob: bytes, want: str) -> bytes:
    """``blob`` with 64 bytes from about the middle overwritten so that zlib reports
    ``want`` ("invalid": the deflate data is broken; "incorrect data check": it still
    inflates, only the CRC32 is wrong).  The search is deterministic."""
    for fill in (0xFF, 0xAA, 0x00, 0x55):
        for start in range(len(blob) // 2, len(blob) // 2 + 64 * 50, 64):
            bad = flip(blob, start, 64, fill=fill)
            error = _inflate_error(bad)
            if error is not None and want in error:
                return bad
    raise AssertionError(f"no corruption found giving {want!r}")


def _broken_deflate() -> OciArchive:
    """Layer 1's gzip stream with bytes in the middle broken: an invalid deflate stream."""
    archive = _gzip_layers_with_notes()
    archive.layer_blobs[1] = _corrupted(archive.layer_blobs[1], "invalid")
    return archive


def _bad_crc() -> OciArchive:
    """Layer 1's gzip stream with bytes in the middle changed so it still inflates (to other
    content) and only the gzip CRC32 tells."""
    archive = _gzip_layers_with_notes()
    archive.layer_blobs[1] = _corrupted(archive.layer_blobs[1], "incorrect data check")
    return archive


@pytest.mark.parametrize("verify", [True, False], ids=["verify", "no-verify"])
def test_corrupt_gzip_layer(inputs: Inputs, capsys: pytest.CaptureFixture[str],
                            verify: bool) -> None:
    path = inputs.write("corrupt-gzip.tar", _broken_deflate())
    exc = assert_refused(path, capsys, FormatError, "gzip", "corrupt", verify=verify)
    assert not isinstance(exc, DigestMismatch)


def test_corrupt_gzip_layer_error_names_the_layer(inputs: Inputs) -> None:
    archive = _broken_deflate()
    path = inputs.write("corrupt-gzip.tar", archive)
    err = open_error(path)
    assert err is not None
    assert "layer 1" in str(err).lower() or layer_blob_name(archive, 1) in str(err), str(err)


def test_gzip_layer_with_flipped_bytes_fails_its_digest(inputs: Inputs,
                                                        capsys: pytest.CaptureFixture[str],
                                                        ) -> None:
    """Flipped bytes that still inflate (only the gzip CRC breaks) are caught by the digest."""
    archive = _bad_crc()
    path = inputs.write("flipped.tar", archive)
    assert_refused(path, capsys, DigestMismatch, "layer 1", archive.layer_descs[1]["digest"])


def test_gzip_crc_error_is_detected_without_verify(inputs: Inputs) -> None:
    """Without digests to check, the gzip CRC32 trailer still catches altered data."""
    archive = _bad_crc()
    path = inputs.write("flipped.tar", archive)
    err = open_error(path, verify=False)
    assert isinstance(err, FormatError), f"corrupt gzip accepted without error: {err!r}"
    assert "crc" in str(err).lower() and "layer 1" in str(err).lower(), str(err)


@pytest.mark.parametrize("where", ["header", "data", "end-blocks"])
def test_truncated_layer_tar(inputs: Inputs, capsys: pytest.CaptureFixture[str],
                             where: str) -> None:
    archive = DockerArchive([BASE, TOP])
    blob = archive.layer_blobs[0]
    members = tar_members(blob)
    cut = {"header": members[2].offset + 200,
           "data": members[-1].offset_data + members[-1].size // 2,
           "end-blocks": _end_of_last_member(blob) + 100}[where]
    archive.layer_blobs[0] = blob[:cut]
    path = inputs.write("trunc-layer.tar", archive)
    assert_refused(path, capsys, TruncatedError, "layer 0", archive.layer_names[0],
                   "truncated")


_TRUNCATED_SIZES = {"small": 0, "medium": 100_000, "large": 400_000}
"""Words of notes.txt in layer 1: 10 KiB, 850 KiB and 3.3 MiB of plain tar; the reader's
messages differ by whether the cut is met while opening or after the first MiB."""


def _truncated_compressed_layer(compression: Compression, size: str) -> OciArchive:
    n_words = _TRUNCATED_SIZES[size]
    layer = TOP if not n_words else [("usr", None, "dir"),
                                     ("usr/notes.txt", _notes(n_words), "file")]
    archive = OciArchive([BASE, layer], compression=compression)
    archive.layer_blobs[1] = archive.layer_blobs[1][: len(archive.layer_blobs[1]) // 2]
    return archive


@pytest.mark.parametrize("size", _TRUNCATED_SIZES)
@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_truncated_compressed_layer_is_refused(inputs: Inputs,
                                               capsys: pytest.CaptureFixture[str],
                                               compression: Compression, size: str) -> None:
    path = inputs.write("trunc.tar", _truncated_compressed_layer(compression, size))
    assert_refused(path, capsys, FormatError)


@pytest.mark.parametrize("size", _TRUNCATED_SIZES)
@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_truncated_compressed_layer_is_reported_as_truncated(
        inputs: Inputs, compression: Compression, size: str) -> None:
    path = inputs.write("trunc.tar", _truncated_compressed_layer(compression, size))
    err = open_error(path)
    assert err is not None
    assert "unknown libarchive error" not in str(err), str(err)
    assert isinstance(err, TruncatedError), f"expected TruncatedError, got {err!r}"
    assert "layer 1" in str(err).lower(), str(err)


# ============================================================ 4. layer content (C1-C10)


@pytest.mark.parametrize("name", [".wh.", ".wh..", ".wh...", "etc/.wh.."])
def test_invalid_whiteout_refuses_the_layer(inputs: Inputs, capsys: pytest.CaptureFixture[str],
                                            name: str) -> None:
    path = inputs.write("bad-wh.tar", DockerArchive([BASE, [(name, b"", "file")]]))
    assert_refused(path, capsys, FormatError, f"invalid whiteout {name!r}", "refused",
                   exact=True)


def test_invalid_whiteout_error_names_the_layer(inputs: Inputs) -> None:
    archive = DockerArchive([BASE, [(".wh..", b"", "file")]])
    path = inputs.write("bad-wh.tar", archive)
    err = open_error(path)
    assert err is not None
    assert "layer 1" in str(err).lower() or archive.layer_names[1] in str(err), str(err)


@pytest.mark.parametrize("bad", ["../escape", "etc/../../escape"])
def test_entry_leaving_the_root_is_skipped(inputs: Inputs, bad: str) -> None:
    layer = [(bad, b"pwned", "file"), ("usr", None, "dir"), ("usr/ok", b"ok", "file")]
    path = inputs.write("escape.tar", DockerArchive([BASE, layer]))
    with opened(path) as insp:
        merged = names(insp)
        assert b"usr/ok" in merged, "the rest of the layer is applied"
        assert not any(p.endswith(b"escape") for p in merged)
        assert not any(e.path.endswith(b"escape") for e in insp.indexes[1].entries)
        warning = [w for w in insp.warnings if repr(bad) in w]
        assert warning and "leaves the root" in warning[0], insp.warnings


def test_duplicate_path_in_one_layer_last_wins(inputs: Inputs) -> None:
    layer = [("f", b"first", "file"), ("g", b"g", "file"), ("f", b"second!", "file")]
    path = inputs.write("dup.tar", DockerArchive([BASE, layer]))
    with opened(path) as insp:
        entries = [e for e in insp.indexes[1].entries if e.path == b"f"]
        assert len(entries) == 1 and entries[0].size == len(b"second!")
        node = insp.merged().get(b"f")
        assert node is not None and node.entry.size == len(b"second!")
        assert any("more than once" in w and "'f'" in w for w in insp.warnings), insp.warnings


@pytest.mark.parametrize("whiteout_first", [True, False], ids=["wh-first", "wh-last"])
def test_file_and_its_whiteout_in_one_layer(inputs: Inputs, whiteout_first: bool) -> None:
    new = b"10.0.0.1 replaced\n"
    pair = [("etc/hosts", new, "file"), ("etc/.wh.hosts", b"", "file")]
    layer = [("etc", None, "dir"), *(reversed(pair) if whiteout_first else pair)]
    path = inputs.write("x-whx.tar", DockerArchive([BASE, layer]))
    with opened(path) as insp:
        assert insp.indexes[1].whiteouts == (b"etc/hosts",)
        node = insp.merged().get(b"etc/hosts")
        assert node is not None, "per the OCI spec the same layer's etc/hosts survives"
        assert node.layer == 1 and node.entry.size == len(new)
        assert any("both adds and whites out" in w and "'etc/hosts'" in w
                   for w in insp.warnings), insp.warnings


def test_opaque_marker_stored_last(inputs: Inputs) -> None:
    layer = [("etc", None, "dir"), ("etc/new", b"n", "file"), ("etc/sub", None, "dir"),
             ("etc/sub/f", b"f", "file"), ("etc/.wh..wh..opq", b"", "file")]
    archive = DockerArchive([BASE, layer])
    assert tar_members(archive.layer_blobs[1])[-1].name == "etc/.wh..wh..opq"
    path = inputs.write("opq-last.tar", archive)
    with opened(path) as insp:
        assert insp.indexes[1].opaque_dirs == (b"etc",)
        etc = insp.merged().get(b"etc")
        assert etc is not None and etc.children is not None
        assert set(etc.children) == {b"new", b"sub"}, "lower etc/* hidden, layer 1's kept"
        assert insp.merged().get(b"etc/sub/f") is not None
        assert b"bin/sh" in names(insp), "opacity stays inside etc/"
        changes = {n.path: n for n in insp.layer_changes(1).walk()}
        for lower in (b"etc/hosts", b"etc/passwd"):
            assert changes[lower].kind is DiffKind.REMOVED
            assert changes[lower].cause is RemovalCause.OPAQUE
        assert changes[b"etc/new"].kind is DiffKind.ADDED


def test_whiteout_of_a_directory_removes_its_subtree(inputs: Inputs) -> None:
    lower = [*BASE, ("d", None, "dir"), ("d/e", None, "dir"), ("d/e/f", b"f", "file"),
             ("d/g", b"g", "file"), ("dx", b"sibling with a common prefix", "file")]
    path = inputs.write("wh-dir.tar", DockerArchive([lower, [(".wh.d", b"", "file")]]))
    with opened(path) as insp:
        assert insp.indexes[1].whiteouts == (b"d",)
        merged = names(insp)
        assert not any(p == b"d" or p.startswith(b"d/") for p in merged), merged
        assert b"dx" in merged
        changes = {n.path: n for n in insp.layer_changes(1).walk()}
        for p in (b"d", b"d/e", b"d/e/f", b"d/g"):
            assert changes[p].kind is DiffKind.REMOVED, p
            assert changes[p].cause is RemovalCause.WHITEOUT, p


@pytest.mark.parametrize("name", [".", "./"])
def test_symlink_entry_for_the_root_is_skipped(inputs: Inputs, name: str) -> None:
    layer: list[LayerEntry] = [(name, "/etc", "symlink"), ("after", b"a", "file")]
    path = inputs.write("root-link.tar", DockerArchive([BASE, layer]))
    with opened(path) as insp:
        top = insp.merged()
        assert top.root.children is not None and top.root.entry.kind is EntryKind.DIR
        assert {b"after", b"etc/hosts", b"bin/sh"} <= names(insp)
        assert all(e.path for e in insp.indexes[1].entries)
        assert any("root itself" in w for w in insp.warnings), insp.warnings


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT], ids=["pax", "gnu"])
def test_non_utf8_names_survive_as_bytes(inputs: Inputs, capsys: pytest.CaptureFixture[str],
                                         fmt: int) -> None:
    layer = layer_tar([(b"caf\xe9.txt", b"latin-1 name", "file"), (b"d\xff\xfe", None, "dir"),
                       (b"d\xff\xfe/f", b"f", "file")], fmt=fmt)
    path = inputs.write("latin1.tar", DockerArchive([BASE, layer]))
    with opened(path) as insp:
        merged = names(insp)
        assert {b"caf\xe9.txt", b"d\xff\xfe", b"d\xff\xfe/f"} <= merged
        node = insp.merged().get(b"caf\xe9.txt")
        assert node is not None and node.entry.size == len(b"latin-1 name")
        assert insp.warnings == []
    capsys.readouterr()
    assert main(["ls", str(path)]) == 0
    out = capsys.readouterr().out
    assert "caf\\xe9.txt" in out and "d\\xff\\xfe/f" in out


# ============================================================ 5. not an image


def test_tar_with_only_a_readme_is_not_an_image(inputs: Inputs,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = inputs.put("readme.tar", outer_tar([Member("README.md", b"# not an image\n")]))
    assert_refused(path, capsys, NotAnImageError, "not a container image", "README.md",
                   "no manifest.json")


def test_docker_export_rootfs_is_not_an_image(inputs: Inputs,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    members = [Member("./", type=tarfile.DIRTYPE), Member("./.dockerenv", b""),
               Member("./bin", type=tarfile.DIRTYPE), Member("./bin/sh", b"\x7fELF"),
               Member("./etc", type=tarfile.DIRTYPE), Member("./etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
               Member("./usr", type=tarfile.DIRTYPE)]
    path = inputs.put("export.tar", outer_tar(members))
    assert_refused(path, capsys, NotAnImageError, "container filesystem", "docker import")
