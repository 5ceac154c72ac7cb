"""Reading one file as it stands in a layer (preview, "load more"), and sniffing its kind.

The bytes come straight from the layer blob: by offset for uncompressed layers, by streaming
for compressed ones, and the two must agree byte for byte.  The merged view decides *which*
file is read (upper layers win, whiteouts delete, hardlinks share their target's bytes);
anything that is not a regular file, or a blob that changed since it was opened, is a typed
error.  The input archive is never written.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from explorer.core.errors import Cancelled
from explorer.core.fs import file_content
from explorer.core.fs.entry import EntryKind
from explorer.core.fs.file_content import (
    BlobChanged,
    FileNotInLayer,
    NotARegularFile,
    decode_text,
    read_file,
    sniff_kind,
)
from explorer.core.inspection import Inspection, inspect_path
from explorer.core.limits import MiB
from explorer.core.tasks import CancelToken
from tests.conftest import corpus_path
from tests.core.factories import DockerArchive, OciArchive

BIG = bytes(range(256)) * 12_000  # ~3 MiB: several read chunks, several deflate blocks
LOWER = [
    ("etc", None, "dir"),
    ("etc/app.conf", b"colour=blue\n", "file"),
    ("etc/motd", b"welcome\n", "file"),
    ("etc/link", "etc/app.conf", "hardlink"),
    ("data", None, "dir"),
    ("data/big.bin", BIG, "file"),
    ("data/empty", b"", "file"),
    ("data/to-conf", "../etc/app.conf", "symlink"),
    ("data/pipe", None, "fifo"),
]
UPPER = [
    ("etc", None, "dir"),
    ("etc/app.conf", b"colour=red, size=large\n", "file"),
    ("etc/.wh.motd", b"", "file"),
    ("etc/upper-link", "data/big.bin", "hardlink"),  # a hardlink to a lower layer's file
]
FORMATS = ["docker-plain", "oci-plain", "oci-gzip", "oci-zstd"]


def build(fmt: str, layers: list[object]) -> DockerArchive | OciArchive:
    kind, compression = fmt.split("-")
    comp = None if compression == "plain" else compression
    if kind == "docker":
        return DockerArchive(layers)  # type: ignore[arg-type]
    return OciArchive(layers, compression=comp)  # type: ignore[arg-type]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(params=FORMATS)
def image(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Inspection]:
    """The two-layer image in each storage format; the archive must be untouched after."""
    path = build(request.param, [LOWER, UPPER]).write(tmp_path / "img.tar")
    before = sha256(path)
    with inspect_path(str(path)) as ins:
        yield ins
    assert sha256(path) == before, "the input archive was modified"
    assert os.listdir(tmp_path) == ["img.tar"], "something was written next to the input"


def read_all(ins: Inspection, layer: int, path: bytes) -> bytes:
    return read_file(ins, layer, path, limit=1 << 40).data


# --------------------------------------------------------------------------- what is read


def test_every_storage_format_gives_the_same_bytes(image: Inspection) -> None:
    assert read_all(image, -1, b"data/big.bin") == BIG
    assert read_all(image, -1, b"etc/app.conf") == b"colour=red, size=large\n"
    assert read_all(image, 0, b"etc/motd") == b"welcome\n"
    assert read_all(image, -1, b"data/empty") == b""


def test_the_upper_layer_wins_at_the_top_and_the_lower_content_stays_below(
        image: Inspection) -> None:
    top = read_file(image, 1, b"etc/app.conf", limit=100)
    base = read_file(image, 0, b"etc/app.conf", limit=100)
    assert (top.data, top.source_layer) == (b"colour=red, size=large\n", 1)
    assert (base.data, base.source_layer) == (b"colour=blue\n", 0)


def test_an_unchanged_file_is_read_from_the_layer_that_wrote_it(image: Inspection) -> None:
    content = read_file(image, -1, b"data/big.bin", limit=10)
    assert (content.layer, content.source_layer) == (1, 0)


def test_a_whited_out_file_is_missing_above_its_whiteout(image: Inspection) -> None:
    assert read_all(image, 0, b"etc/motd") == b"welcome\n"
    with pytest.raises(FileNotInLayer, match="etc/motd does not exist at layer 1"):
        read_file(image, 1, b"etc/motd", limit=10)


def test_a_hardlink_reads_the_bytes_of_its_target(image: Inspection) -> None:
    same_layer = read_file(image, -1, b"etc/link", limit=100)
    assert same_layer.data == b"colour=blue\n", "the link shares the inode of layer 0's file"
    assert same_layer.source_path == b"etc/app.conf"
    across = read_file(image, -1, b"etc/upper-link", limit=1 << 30)
    assert across.data == BIG and (across.source_layer, across.source_path) == (0, b"data/big.bin")


def test_paths_may_be_written_as_absolute_image_paths(image: Inspection) -> None:
    assert read_all(image, -1, b"/etc/app.conf/") == b"colour=red, size=large\n"


# --------------------------------------------------------------------------- limit and offset


def test_limit_truncates_and_a_later_call_with_an_offset_loads_more(image: Inspection) -> None:
    first = read_file(image, -1, b"data/big.bin", limit=1000)
    assert first.data == BIG[:1000] and first.size == len(BIG) and first.truncated
    rest = read_file(image, -1, b"data/big.bin", limit=1 << 30, offset=first.end)
    assert rest.data == BIG[1000:] and not rest.truncated and rest.end == len(BIG)
    middle = read_file(image, -1, b"data/big.bin", limit=5, offset=2 * MiB + 3)
    assert middle.data == BIG[2 * MiB + 3: 2 * MiB + 8]


def test_an_offset_past_the_end_reads_nothing(image: Inspection) -> None:
    content = read_file(image, -1, b"etc/app.conf", limit=10, offset=10_000)
    assert content.data == b"" and not content.truncated and content.size == 23


def test_a_zero_limit_reads_nothing_but_still_checks_the_path(image: Inspection) -> None:
    assert read_file(image, -1, b"data/big.bin", limit=0).truncated
    with pytest.raises(FileNotInLayer):
        read_file(image, -1, b"nope", limit=0)


def test_negative_limits_are_a_programming_error(image: Inspection) -> None:
    with pytest.raises(ValueError):
        read_file(image, -1, b"etc/app.conf", limit=-1)


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(("path", "kind"), [
    (b"etc", EntryKind.DIR), (b"", EntryKind.DIR), (b"data/to-conf", EntryKind.SYMLINK),
    (b"data/pipe", EntryKind.FIFO),
])
def test_only_regular_files_have_content(image: Inspection, path: bytes,
                                         kind: EntryKind) -> None:
    with pytest.raises(NotARegularFile) as info:
        read_file(image, -1, path, limit=10)
    assert info.value.kind is kind
    if kind is EntryKind.SYMLINK:
        assert info.value.link == b"../etc/app.conf", "the GUI can offer to follow the link"


@pytest.mark.parametrize("path", [b"missing", b"etc/app.conf/x", b"../etc/app.conf"])
def test_missing_or_escaping_paths_are_not_found(image: Inspection, path: bytes) -> None:
    with pytest.raises(FileNotInLayer):
        read_file(image, -1, path, limit=10)


def test_a_layer_that_does_not_exist_is_an_index_error(image: Inspection) -> None:
    with pytest.raises(IndexError):
        read_file(image, 2, b"etc/app.conf", limit=10)


def test_a_dangling_hardlink_has_no_content(tmp_path: Path) -> None:
    path = DockerArchive([[("a", "nowhere", "hardlink")]]).write(tmp_path / "img.tar")
    with inspect_path(str(path)) as ins, pytest.raises(NotARegularFile, match="dangling"):
        read_file(ins, -1, b"a", limit=10)


@pytest.mark.parametrize("fmt", ["docker-plain", "oci-gzip"])
def test_a_path_recorded_twice_in_a_layer_reads_the_last_copy(tmp_path: Path, fmt: str) -> None:
    layer = [("f", b"first copy", "file"), ("f", b"second copy!", "file")]
    path = build(fmt, [layer]).write(tmp_path / "img.tar")
    with inspect_path(str(path)) as ins:
        assert read_all(ins, -1, b"f") == b"second copy!"


def test_a_cancelled_token_stops_a_streamed_read(tmp_path: Path) -> None:
    path = build("oci-gzip", [LOWER]).write(tmp_path / "img.tar")
    token = CancelToken()
    token.cancel()
    with inspect_path(str(path)) as ins, pytest.raises(Cancelled):
        read_file(ins, -1, b"data/big.bin", limit=10, cancel=token)


def test_uncompressed_layers_are_read_by_offset_without_streaming(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = build("docker-plain", [LOWER, UPPER]).write(tmp_path / "img.tar")

    def no_streaming(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("an uncompressed layer was streamed")

    monkeypatch.setattr(file_content.LayerStream, "__init__", no_streaming)
    with inspect_path(str(path)) as ins:
        assert read_file(ins, -1, b"data/big.bin", limit=10, offset=MiB).data == BIG[MiB:MiB + 10]
        assert read_all(ins, -1, b"etc/upper-link") == BIG


# --------------------------------------------------------------------------- changed input


def _overwrite(path: Path, needle: bytes, replacement: bytes) -> None:
    data = path.read_bytes()
    at = data.index(needle)
    with open(path, "r+b") as fh:  # in place: the opened archive keeps reading this inode
        fh.seek(at)
        fh.write(replacement)


def test_a_changed_tar_header_in_an_uncompressed_layer_is_reported(tmp_path: Path) -> None:
    path = build("docker-plain", [LOWER]).write(tmp_path / "img.tar")
    with inspect_path(str(path)) as ins:
        _overwrite(path, b"etc/motd\0", b"etc/MOTD\0")  # the header checksum no longer holds
        with pytest.raises(BlobChanged, match="Open the image again"):
            read_file(ins, -1, b"etc/motd", limit=100)


def test_changed_bytes_of_a_hashed_file_are_reported(tmp_path: Path) -> None:
    path = build("docker-plain", [LOWER, UPPER]).write(tmp_path / "img.tar")
    with inspect_path(str(path)) as ins:  # etc/app.conf is in both layers: it was hashed
        _overwrite(path, b"colour=blue\n", b"colour=BLUE\n")
        with pytest.raises(BlobChanged):
            read_file(ins, 0, b"etc/app.conf", limit=100)


def test_changed_bytes_of_a_compressed_layer_are_reported(tmp_path: Path) -> None:
    archive = build("oci-gzip", [LOWER])
    path = archive.write(tmp_path / "img.tar")
    with inspect_path(str(path)) as ins:
        blob = archive.layer_blobs[0]
        _overwrite(path, blob[100:140], bytes(40))
        with pytest.raises(BlobChanged):
            read_file(ins, -1, b"data/big.bin", limit=10)


# --------------------------------------------------------------------------- corpus


@pytest.mark.parametrize("name", ["mini-webapp.docker.tar", "mini-webapp.oci.tar",
                                  "mini-webapp.oci-zstd.tar", "mini-webapp.containerd.tar"])
def test_corpus_webapp_files_read_the_same_in_every_format(name: str) -> None:
    path = corpus_path("generated", name)
    before = sha256(path)
    with inspect_path(str(path)) as ins:
        index = read_file(ins, -1, b"usr/local/tomcat/webapps/ROOT/index.html", limit=64)
        assert index.data.startswith(b"<!DOCTYPE html>") and index.truncated
        assert index.size == 1747
        assert sniff_kind(index.data, b"index.html") == "text"
        jar = read_all(ins, -1, b"usr/local/tomcat/lib/servlet-api-6.0.jar")
        assert jar == read_all(ins, -1, b"usr/local/tomcat/lib/jakarta.servlet-api.jar")
        assert len(jar) == 3651
        # /etc/passwd is rewritten by layer 1; /etc/issue.net is deleted by layer 3.
        assert read_all(ins, 0, b"etc/passwd") != read_all(ins, -1, b"etc/passwd")
        assert read_all(ins, 0, b"etc/issue.net")
        with pytest.raises(FileNotInLayer):
            read_file(ins, -1, b"etc/issue.net", limit=10)
        digest = hashlib.sha256(read_all(ins, -1, b"usr/local/tomcat/conf/web.xml")).hexdigest()
    assert digest == _WEB_XML_SHA256
    assert sha256(path) == before


_WEB_XML_SHA256 = "2a5076a0e3d29d25693aafcc8ab84ea2d70bfb3864f25e81e0bbc551591cadb7"
"""sha256 of conf/web.xml as GNU tar extracts it from the layer that holds it."""


# --------------------------------------------------------------------------- sniff_kind

PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
BMP = b"BM" + (70).to_bytes(4, "little") + bytes(4) + (54).to_bytes(4, "little") \
    + (40).to_bytes(4, "little") + bytes(12)


@pytest.mark.parametrize(("data", "name", "kind"), [
    (b"plain ascii\n", b"a.txt", "text"),
    ("naïve café – ünïcødé\n".encode(), b"u.txt", "text"),
    ("déjà vu, garçon\n".encode("latin-1"), b"l.txt", "text"),
    ("日本語".encode()[:-1], b"cut.txt", "text"),  # the window cut the last character
    (b"", b"empty", "text"),
    (b"text with a \0 NUL", b"n.txt", "binary"),
    (b"\x7fELF\x02\x01\x01" + bytes(range(256)), b"sh", "binary"),
    (bytes(range(1, 256)) * 4, b"noise", "binary"),
    (PNG, b"logo.png", "image"),
    (PNG, b"no-extension", "image"),
    (b"\xff\xd8\xff\xe0\0\x10JFIF", b"p.jpg", "image"),
    (b"GIF89a\x01\0\x01\0", b"a.gif", "image"),
    (BMP, b"b.bmp", "image"),
    (b"RIFF\x24\0\0\0WEBPVP8 ", b"w.webp", "image"),
    (b"BMW cars are German\n", b"cars.txt", "text"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>', b"i.svg", "text"),
    (b"<!DOCTYPE html><html></html>", b"index.html", "text"),
    (PNG, b"polyglot.svg", "binary"),  # SVG and HTML are never handed to an image decoder
])
def test_sniff_kind(data: bytes, name: bytes, kind: str) -> None:
    assert sniff_kind(data, name) == kind


def test_decode_text_falls_back_to_latin1_and_drops_a_cut_character() -> None:
    assert decode_text("déjà".encode("latin-1")) == "déjà"
    assert decode_text("日本語".encode()[:-1]) == "日本"
