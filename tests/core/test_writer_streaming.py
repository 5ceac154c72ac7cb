"""Specification of the streaming parts of the writer: blobs copied from openers (never held
in memory), a verification hook that runs before the rename, streamed and xattr'd layer
members."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import BinaryIO

import pytest

from explorer.core.archive.image_writer import BlobSource, copy_exactly, write_image_archive
from explorer.core.archive.layer_builder import LayerTarBuilder
from explorer.core.archive.window import FileWindow
from explorer.core.archive.writer import TEMP_PREFIX
from explorer.core.digest import Digest
from explorer.core.errors import Cancelled, CommitError
from explorer.core.fs.layer_reader import read_layer
from explorer.core.image.loader import open_archive
from explorer.core.tasks import NEVER_CANCELLED, CancelToken
from tests.core.test_writer import make_image, read_tar, sample_layer


def source_of(path: Path, offset: int, size: int) -> BlobSource:
    """A BlobSource over ``size`` bytes at ``offset`` of a file, like an input archive's."""
    data = path.read_bytes()[offset:offset + size]

    def opener() -> BinaryIO:
        fh = path.open("rb")
        fh.seek(offset)
        return fh

    return BlobSource(Digest.of_bytes(data), size, "application/vnd.oci.image.layer.v1.tar",
                      Digest.of_bytes(data), opener)


class TestBlobSources:
    def test_a_source_blob_is_copied_byte_for_byte_from_the_middle_of_a_file(
        self, tmp_path: Path
    ) -> None:
        layer = sample_layer().to_bytes()
        carrier = tmp_path / "carrier.bin"
        carrier.write_bytes(b"x" * 777 + layer + b"y" * 100)
        src = source_of(carrier, 777, len(layer))
        out = write_image_archive(tmp_path / "img.tar", config=make_image(layer), layers=[src],
                                  tags=["app:1"])
        _infos, files = read_tar(tmp_path / "img.tar")
        assert files[f"blobs/sha256/{hashlib.sha256(layer).hexdigest()}"] == layer
        assert out.image_id == Digest.of_bytes(make_image(layer))

    def test_bytes_and_sources_give_the_same_archive(self, tmp_path: Path) -> None:
        layer = sample_layer().to_bytes()
        carrier = tmp_path / "layer.tar"
        carrier.write_bytes(layer)
        config = make_image(layer)
        write_image_archive(tmp_path / "a.tar", config=config, layers=[layer], tags=["a:1"])
        write_image_archive(tmp_path / "b.tar", config=config,
                            layers=[source_of(carrier, 0, len(layer))], tags=["a:1"])
        assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()

    def test_a_source_that_ends_early_writes_nothing(self, tmp_path: Path) -> None:
        layer = sample_layer().to_bytes()
        carrier = tmp_path / "short.tar"
        carrier.write_bytes(layer[:1000])
        src = source_of(carrier, 0, 1000)
        lying = BlobSource(Digest.of_bytes(layer), len(layer), src.media_type,
                           Digest.of_bytes(layer), src.open)
        with pytest.raises(CommitError, match=r"ended .* early"):
            write_image_archive(tmp_path / "out.tar", config=make_image(layer), layers=[lying])
        assert sorted(p.name for p in tmp_path.iterdir()) == ["short.tar"]

    def test_copy_exactly_uses_the_window_of_an_outer_tar(self, tmp_path: Path) -> None:
        blob = bytes(range(256)) * 5000
        carrier = tmp_path / "c.bin"
        carrier.write_bytes(b"h" * 512 + blob)
        with carrier.open("rb") as raw, (tmp_path / "dst").open("wb") as dst:
            dst.write(b"head")
            window = FileWindow(raw.fileno(), 512, len(blob))
            seen: list[int] = []
            copy_exactly(window, dst, len(blob), cancel=NEVER_CANCELLED, on_chunk=seen.append)
            dst.write(b"tail")
        assert (tmp_path / "dst").read_bytes() == b"head" + blob + b"tail"
        assert sum(seen) == len(blob)

    def test_copy_exactly_falls_back_to_reading_when_there_is_no_file(self) -> None:
        dst = io.BytesIO()
        copy_exactly(io.BytesIO(b"abcdef"), dst, 4, cancel=NEVER_CANCELLED,
                     on_chunk=lambda n: None)
        assert dst.getvalue() == b"abcd"


class TestVerifyHook:
    def test_verify_sees_the_complete_temp_file_before_the_rename(self, tmp_path: Path) -> None:
        layer = sample_layer().to_bytes()
        seen: list[str] = []

        def verify(tmp: str) -> None:
            assert Path(tmp).name.startswith(TEMP_PREFIX)
            assert not (tmp_path / "img.tar").exists()
            with open_archive(tmp) as archive:
                image = archive.load()
                assert read_layer(archive.source, image.layers[0]).diff_id == \
                    image.layers[0].diff_id
            seen.append(tmp)

        write_image_archive(tmp_path / "img.tar", config=make_image(layer), layers=[layer],
                            verify=verify)
        assert seen and (tmp_path / "img.tar").exists()
        assert not Path(seen[0]).exists()

    @pytest.mark.parametrize("exc", [CommitError("bad digest"), Cancelled()])
    def test_a_failed_verification_leaves_nothing(self, tmp_path: Path,
                                                  exc: Exception) -> None:
        layer = sample_layer().to_bytes()

        def verify(_tmp: str) -> None:
            raise exc

        with pytest.raises(type(exc)):
            write_image_archive(tmp_path / "img.tar", config=make_image(layer), layers=[layer],
                                verify=verify)
        assert list(tmp_path.iterdir()) == []

    def test_cancel_during_a_source_copy_leaves_nothing(self, tmp_path: Path) -> None:
        layer = LayerTarBuilder()
        layer.add_file("big", b"z" * (3 << 20))
        data = layer.to_bytes()
        carrier = tmp_path / "in" / "blob"
        carrier.parent.mkdir()
        carrier.write_bytes(data)
        token = CancelToken()
        out = tmp_path / "out"
        out.mkdir()
        with pytest.raises(Cancelled):
            write_image_archive(out / "img.tar", config=make_image(data),
                                layers=[source_of(carrier, 0, len(data))], cancel=token,
                                progress=lambda done, total: token.cancel())
        assert list(out.iterdir()) == []


class TestLayerMembers:
    def test_streamed_files_are_read_when_the_layer_is_written(self) -> None:
        opened: list[str] = []

        def opener() -> BinaryIO:
            opened.append("x")
            return io.BytesIO(b"streamed content")

        b = LayerTarBuilder()
        b.add_file_from("app/data.bin", 16, opener, mode=0o600, uid=5, gid=6, mtime=7)
        b.add_dir("app")
        assert opened == []
        data = b.to_bytes()
        assert opened == ["x"]
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            info = tf.getmember("app/data.bin")
            assert (info.size, info.mode, info.uid, info.gid, info.mtime) == (16, 0o600, 5, 6, 7)
            assert tf.extractfile(info).read() == b"streamed content"  # type: ignore[union-attr]
        same = LayerTarBuilder()
        same.add_dir("app")
        same.add_file("app/data.bin", b"streamed content", mode=0o600, uid=5, gid=6, mtime=7)
        assert same.to_bytes() == data

    def test_a_streamed_file_that_ends_early_is_an_error(self) -> None:
        b = LayerTarBuilder()
        b.add_file_from("f", 10, lambda: io.BytesIO(b"short"))
        with pytest.raises(CommitError, match="5 bytes early"):
            b.to_bytes()

    def test_xattrs_are_pax_schily_records_even_when_binary(self) -> None:
        b = LayerTarBuilder()
        b.add_dir("d", xattrs=[(b"user.note", b"hello"), (b"security.capability", b"\x01\xff")])
        data = b.to_bytes()
        with tarfile.open(fileobj=io.BytesIO(data), encoding="utf-8",
                          errors="surrogateescape") as tf:
            headers = tf.getmember("d").pax_headers
        assert headers["SCHILY.xattr.user.note"] == "hello"
        assert headers["SCHILY.xattr.security.capability"].encode(
            "utf-8", "surrogateescape") == b"\x01\xff"
        with pytest.raises(ValueError, match="not UTF-8"):
            LayerTarBuilder().add_dir("e", xattrs=[(b"user.\xff", b"x")])

    def test_the_manifest_describes_a_source_by_its_declared_size_and_type(
        self, tmp_path: Path
    ) -> None:
        layer = sample_layer().to_bytes()
        carrier = tmp_path / "l"
        carrier.write_bytes(layer)
        out = write_image_archive(tmp_path / "o.tar", config=make_image(layer),
                                  layers=[source_of(carrier, 0, len(layer))], fmt="oci")
        _infos, files = read_tar(tmp_path / "o.tar")
        manifest = json.loads(files[out.manifest_digest.blob_path])
        assert manifest["layers"] == [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                       "digest": f"sha256:{hashlib.sha256(layer).hexdigest()}",
                                       "size": len(layer)}]
