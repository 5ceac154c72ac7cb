"""Specification of the archive writer: layer tars, compression, atomic output, image archives."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest
import zstandard

from explorer.core.archive.compression import Compression
from explorer.core.archive.image_writer import ImageName, layer_media_type, write_image_archive
from explorer.core.archive.layer_builder import LayerTarBuilder
from explorer.core.archive.writer import TEMP_PREFIX, atomic_output, compress
from explorer.core.errors import Cancelled, CommitError
from explorer.core.tasks import CancelToken

EMPTY_TAR_DIFF_ID = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:", encoding="utf-8",
                      errors="surrogateescape") as tf:
        return tf.getmembers()


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)]


def sample_layer() -> LayerTarBuilder:
    b = LayerTarBuilder()
    b.add_file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n", mtime=1704067200)
    b.add_dir("etc", mtime=1704067200)
    b.add_dir("tmp", mode=0o1777)
    b.add_symlink("bin/sh", "busybox")
    b.add_dir("bin")
    b.add_file("bin/busybox", b"#!busybox\n", mode=0o755)
    b.add_hardlink("bin/zcat", "bin/busybox", mode=0o755)
    b.add_whiteout("var/cache")
    b.add_opaque("usr/share")
    b.add_fifo("run/pipe", mode=0o600)
    return b


# -- layer builder --------------------------------------------------------------------------


class TestLayerTarBuilder:
    def test_entries_are_sorted_by_path_with_each_directory_before_its_contents(self) -> None:
        names = [m.name for m in members(sample_layer().to_bytes())]
        assert names == [
            "bin", "bin/busybox", "bin/sh", "bin/zcat", "etc", "etc/passwd",
            "run/pipe", "tmp", "usr/share/.wh..wh..opq", "var/.wh.cache",
        ]

    def test_the_opaque_marker_comes_before_every_sibling_of_its_directory(self) -> None:
        b = LayerTarBuilder()
        b.add_dir("www")
        b.add_file("www/-first.html", b"x")  # '-' sorts before '.' in plain byte order
        b.add_file("www/index.html", b"y")
        b.add_opaque("www")
        assert [m.name for m in members(b.to_bytes())] == [
            "www", "www/.wh..wh..opq", "www/-first.html", "www/index.html"]

    def test_output_does_not_depend_on_insertion_order(self) -> None:
        a, b = LayerTarBuilder(), LayerTarBuilder()
        a.add_dir("x")
        a.add_file("x/f", b"1")
        b.add_file("x/f", b"1")
        b.add_dir("x")
        assert a.to_bytes() == b.to_bytes()

    def test_headers_are_pax_with_integer_mtimes_and_no_host_owner_names(self) -> None:
        long_name = "d/" + "n" * 150
        b = LayerTarBuilder()
        b.add_dir("d", uid=1000, gid=1000, mtime=1704067200)
        b.add_file(long_name, b"data", uid=1000, gid=1000, mtime=1704067200)
        data = b.to_bytes()
        assert data[257:265] == b"ustar\x0000"  # POSIX ustar magic (PAX), not GNU
        infos = members(data)
        assert [i.name for i in infos] == ["d", long_name]
        for info in infos:
            assert (info.uid, info.gid, info.uname, info.gname) == (1000, 1000, "", "")
            assert info.mtime == 1704067200
            assert "mtime" not in info.pax_headers  # float mtimes would add this record
        assert infos[1].pax_headers == {"path": long_name}
        assert b"g" not in {data[i + 156:i + 157] for i in range(0, len(data), 512)}

    def test_a_layer_ends_with_two_zero_blocks_like_go_writers(self) -> None:
        assert hashlib.sha256(LayerTarBuilder().to_bytes()).hexdigest() == EMPTY_TAR_DIFF_ID
        data = sample_layer().to_bytes()
        assert data.endswith(b"\0" * 1024) and len(data) % 512 == 0

    def test_types_modes_and_links_are_recorded(self) -> None:
        infos = {m.name: m for m in members(sample_layer().to_bytes())}
        assert infos["tmp"].isdir() and infos["tmp"].mode == 0o1777
        assert infos["bin/sh"].issym() and infos["bin/sh"].linkname == "busybox"
        assert infos["bin/zcat"].islnk() and infos["bin/zcat"].linkname == "bin/busybox"
        assert infos["run/pipe"].isfifo() and infos["run/pipe"].mode == 0o600
        for marker in ("var/.wh.cache", "usr/share/.wh..wh..opq"):
            assert infos[marker].isreg() and infos[marker].size == 0

    def test_whiteout_names_follow_the_oci_spelling(self) -> None:
        b = LayerTarBuilder()
        b.add_whiteout("a/b/file.txt")
        b.add_whiteout(b"top")
        b.add_opaque("")
        assert [m.name for m in members(b.to_bytes())] == [
            ".wh..wh..opq", ".wh.top", "a/b/.wh.file.txt"]

    def test_str_and_bytes_paths_are_the_same_and_non_utf8_names_survive(self) -> None:
        b = LayerTarBuilder()
        b.add_file(b"caf\xe9", b"latin-1 name")
        b.add_file("naïve", b"utf-8 name")
        names = [os.fsencode(m.name) for m in members(b.to_bytes())]
        assert names == [b"caf\xe9", "naïve".encode()]
        with pytest.raises(ValueError, match="Duplicate"):
            b.add_file(b"na\xc3\xafve", b"same path as bytes")

    @pytest.mark.parametrize("bad", [
        "/etc/passwd", "../escape", "a/../../b", "a/..", "", "a//b", "./a", "a/./b", "a/",
        "nul\0byte", ".wh.sneaky", "dir/.wh..wh..opq", ".wh..", "a/.wh./b",
    ])
    def test_refuses_unsafe_or_reserved_names(self, bad: str) -> None:
        with pytest.raises(ValueError):
            LayerTarBuilder().add_file(bad, b"x")

    @pytest.mark.parametrize("bad", ["", ".", "..", "/abs", "a/..", ".wh.x"])
    def test_refuses_whiteouts_that_name_no_file_or_leave_the_root(self, bad: str) -> None:
        with pytest.raises(ValueError):
            LayerTarBuilder().add_whiteout(bad)

    def test_refuses_duplicate_paths(self) -> None:
        b = LayerTarBuilder()
        b.add_dir("etc")
        with pytest.raises(ValueError, match="Duplicate"):
            b.add_file("etc", b"")
        b.add_whiteout("x")
        with pytest.raises(ValueError, match="Duplicate"):
            b.add_whiteout("x")

    def test_refuses_a_layer_that_adds_and_deletes_the_same_path(self) -> None:
        for added in ("x", "x/child"):
            b = LayerTarBuilder()
            b.add_file(added, b"new")
            b.add_whiteout("x")
            with pytest.raises(ValueError, match="adds and whites out"):
                b.to_bytes()

    def test_a_hardlink_needs_its_target_earlier_in_the_same_layer(self) -> None:
        b = LayerTarBuilder()
        b.add_file("b", b"data")
        b.add_hardlink("a", "b")
        with pytest.raises(ValueError, match="sorts before its target"):
            b.to_bytes()
        missing = LayerTarBuilder()
        missing.add_hardlink("a", "elsewhere")
        with pytest.raises(ValueError, match="regular file of the same layer"):
            missing.to_bytes()

    def test_refuses_negative_or_float_attributes(self) -> None:
        with pytest.raises(ValueError, match="mtime"):
            LayerTarBuilder().add_file("f", b"", mtime=1.5)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="uid"):
            LayerTarBuilder().add_dir("d", uid=-1)


# -- compression ------------------------------------------------------------------------------


class TestCompress:
    DATA = sample_layer().to_bytes()

    @pytest.mark.parametrize("kind", [Compression.GZIP, Compression.ZSTD])
    def test_is_deterministic(self, kind: Compression) -> None:
        assert compress(self.DATA, kind) == compress(bytes(self.DATA), kind)

    def test_gzip_has_no_mtime_and_no_file_name(self) -> None:
        blob = compress(self.DATA, Compression.GZIP)
        assert blob[:3] == b"\x1f\x8b\x08"
        assert blob[3] & 0x08 == 0  # FNAME flag
        assert blob[4:8] == b"\0\0\0\0"  # MTIME
        assert gzip.decompress(blob) == self.DATA

    def test_zstd_records_the_content_size(self) -> None:
        blob = compress(self.DATA, Compression.ZSTD)
        assert zstandard.frame_content_size(blob) == len(self.DATA)
        assert zstandard.ZstdDecompressor().decompress(blob) == self.DATA

    def test_none_is_the_identity_and_other_kinds_are_refused(self) -> None:
        assert compress(self.DATA, Compression.NONE) is self.DATA
        with pytest.raises(ValueError):
            compress(self.DATA, Compression.XZ)
        assert layer_media_type(Compression.ZSTD).endswith("tar+zstd")


# -- atomic output ---------------------------------------------------------------------------


class TestAtomicOutput:
    def test_success_replaces_the_destination_and_leaves_no_temp_file(self, tmp_path: Path) -> None:
        dest = tmp_path / "out.tar"
        dest.write_bytes(b"old")
        with atomic_output(dest) as fh:
            fh.write(b"new")
            assert leftovers(tmp_path)  # the bytes go to a temp file next to dest first
            assert dest.read_bytes() == b"old"
        assert dest.read_bytes() == b"new"
        assert leftovers(tmp_path) == []

    @pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt(), Cancelled()])
    def test_an_exception_mid_write_leaves_no_temp_file_and_no_destination(
        self, tmp_path: Path, exc: BaseException
    ) -> None:
        dest = tmp_path / "out.tar"
        with pytest.raises(type(exc)), atomic_output(dest) as fh:
            fh.write(b"partial")
            raise exc
        assert not dest.exists()
        assert leftovers(tmp_path) == []

    def test_an_existing_destination_is_intact_after_a_failure(self, tmp_path: Path) -> None:
        dest = tmp_path / "out.tar"
        dest.write_bytes(b"precious")
        with pytest.raises(Cancelled), atomic_output(dest) as fh:
            fh.write(b"x" * 100_000)
            raise Cancelled()
        assert dest.read_bytes() == b"precious"
        assert leftovers(tmp_path) == []

    def test_new_files_get_normal_permissions_and_overwrites_keep_theirs(
        self, tmp_path: Path
    ) -> None:
        fresh = tmp_path / "fresh.tar"
        with atomic_output(fresh) as fh:
            fh.write(b"x")
        umask = os.umask(0)
        os.umask(umask)
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
        kept = tmp_path / "kept.tar"
        kept.write_bytes(b"")
        kept.chmod(0o640)
        with atomic_output(kept) as fh:
            fh.write(b"x")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640

    def test_refuses_to_write_over_an_input(self, tmp_path: Path) -> None:
        src = tmp_path / "in.tar"
        src.write_bytes(b"original")
        (tmp_path / "link.tar").symlink_to(src)
        os.link(src, tmp_path / "hard.tar")
        for dest in (src, tmp_path / "link.tar", tmp_path / "hard.tar",
                     tmp_path / "sub" / ".." / "in.tar"):
            with pytest.raises(CommitError, match="input"), atomic_output(dest, inputs=[src]):
                pytest.fail("the body must not run")
        assert src.read_bytes() == b"original"
        assert leftovers(tmp_path) == []

    def test_refuses_to_write_inside_an_input_folder(self, tmp_path: Path) -> None:
        layout = tmp_path / "layout"
        layout.mkdir()
        with pytest.raises(CommitError, match="inside the input folder"), atomic_output(
                layout / "out.tar", inputs=[str(layout)]):
            pytest.fail("the body must not run")

    def test_os_errors_become_commit_errors(self, tmp_path: Path) -> None:
        with pytest.raises(CommitError, match="Cannot write"), atomic_output(
                tmp_path / "missing-dir" / "out.tar"):
            pytest.fail("the body must not run")
        with pytest.raises(CommitError, match="Not enough free space"), atomic_output(
                tmp_path / "big.tar", expected_size=1 << 62):
            pytest.fail("the body must not run")
        with pytest.raises(CommitError, match="No space left"), atomic_output(tmp_path / "x"):
            raise OSError(28, "No space left on device")
        assert leftovers(tmp_path) == []
        assert not (tmp_path / "x").exists()


# -- image archives --------------------------------------------------------------------------


def make_image(*layers: bytes) -> bytes:
    diff_ids = []
    for blob in layers:
        plain = blob
        if blob[:2] == b"\x1f\x8b":
            plain = gzip.decompress(blob)
        elif blob[:4] == b"\x28\xb5\x2f\xfd":
            plain = zstandard.ZstdDecompressor().decompress(blob)
        diff_ids.append("sha256:" + hashlib.sha256(plain).hexdigest())
    return json.dumps({"architecture": "amd64", "os": "linux",
                       "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()


def read_tar(path: Path) -> tuple[list[tarfile.TarInfo], dict[str, bytes]]:
    with tarfile.open(path) as tf:
        infos = tf.getmembers()
        files = {i.name: tf.extractfile(i).read() for i in infos if i.isreg()}  # type: ignore[union-attr]
    return infos, files


class TestImageName:
    @pytest.mark.parametrize(("given", "full", "tag", "familiar"), [
        ("app:1", "docker.io/library/app:1", "1", "app:1"),
        ("app", "docker.io/library/app:latest", "latest", "app:latest"),
        ("corpus/x:tag", "docker.io/corpus/x:tag", "tag", "corpus/x:tag"),
        ("docker.io/library/app:1", "docker.io/library/app:1", "1", "app:1"),
        ("localhost:5000/a/b", "localhost:5000/a/b:latest", "latest", "localhost:5000/a/b:latest"),
        ("ghcr.io/o/img:v1.2", "ghcr.io/o/img:v1.2", "v1.2", "ghcr.io/o/img:v1.2"),
    ])
    def test_normalises_like_docker(self, given: str, full: str, tag: str, familiar: str) -> None:
        name = ImageName.parse(given)
        assert (name.full, name.tag, name.familiar) == (full, tag, familiar)

    @pytest.mark.parametrize("bad", ["App:1", "app@sha256:" + "a" * 64, "a:b:c", "", "a/:x",
                                     "app:" + "t" * 129, "app:-x"])
    def test_refuses_what_docker_load_refuses(self, bad: str) -> None:
        with pytest.raises(ValueError):
            ImageName.parse(bad)


class TestWriteImageArchive:
    def test_docker_format_is_the_docker_25_hybrid(self, tmp_path: Path) -> None:
        layer = sample_layer().to_bytes()
        config = make_image(layer)
        out = write_image_archive(tmp_path / "img.tar", config=config, layers=[layer],
                                  tags=["app:1", "corpus/x:tag"])
        infos, files = read_tar(tmp_path / "img.tar")
        cfg, lay, man = (out.config_digest.encoded, hashlib.sha256(layer).hexdigest(),
                         out.manifest_digest.encoded)
        assert [i.name for i in infos] == ["blobs", "blobs/sha256", *sorted(
            f"blobs/sha256/{h}" for h in (cfg, lay, man)), "index.json", "manifest.json",
            "oci-layout", "repositories"]
        for info in infos:
            assert (info.uid, info.gid, info.mtime, info.uname, info.gname) == (0, 0, 0, "", "")
            assert info.mode == (0o755 if info.isdir() else 0o644)
        assert files[f"blobs/sha256/{cfg}"] == config  # byte for byte: the id is its hash
        assert out.image_id == out.config_digest
        assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
        assert json.loads(files["manifest.json"]) == [{
            "Config": f"blobs/sha256/{cfg}", "RepoTags": ["app:1", "corpus/x:tag"],
            "Layers": [f"blobs/sha256/{lay}"]}]
        assert json.loads(files["repositories"]) == {"app": {"1": lay}, "corpus/x": {"tag": lay}}
        index = json.loads(files["index.json"])
        assert index["schemaVersion"] == 2
        assert [m["annotations"] for m in index["manifests"]] == [
            {"io.containerd.image.name": "docker.io/library/app:1",
             "org.opencontainers.image.ref.name": "1"},
            {"io.containerd.image.name": "docker.io/corpus/x:tag",
             "org.opencontainers.image.ref.name": "tag"}]
        assert {m["digest"] for m in index["manifests"]} == {f"sha256:{man}"}
        manifest = json.loads(files[f"blobs/sha256/{man}"])
        assert manifest["config"] == {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": f"sha256:{cfg}", "size": len(config)}
        assert manifest["layers"] == [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                       "digest": f"sha256:{lay}", "size": len(layer)}]
        assert b" " not in files["index.json"] and b"\n" not in files["manifest.json"]

    def test_oci_format_has_no_docker_files(self, tmp_path: Path) -> None:
        layer = sample_layer().to_bytes()
        write_image_archive(tmp_path / "o.tar", config=make_image(layer), layers=[layer],
                            tags=["app:1"], fmt="oci")
        _infos, files = read_tar(tmp_path / "o.tar")
        assert "manifest.json" not in files and "repositories" not in files
        index = json.loads(files["index.json"])
        assert index["manifests"][0]["annotations"][
            "org.opencontainers.image.ref.name"] == "1"

    def test_same_inputs_give_the_same_bytes_and_blobs_are_stored_once(
        self, tmp_path: Path
    ) -> None:
        layer = LayerTarBuilder().to_bytes()
        config = make_image(layer, layer)
        for name in ("a.tar", "b.tar"):
            write_image_archive(tmp_path / name, config=config, layers=[layer, layer],
                                tags=["app:1"])
        assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
        infos, files = read_tar(tmp_path / "a.tar")
        assert len(infos) == len({i.name for i in infos})
        assert sum(n.startswith("blobs/sha256/") for n in files) == 3
        assert len(json.loads(files["manifest.json"])[0]["Layers"]) == 2

    def test_untagged_images_get_one_anonymous_descriptor(self, tmp_path: Path) -> None:
        layer = LayerTarBuilder().to_bytes()
        out = write_image_archive(tmp_path / "u.tar", config=make_image(layer), layers=[layer])
        _infos, files = read_tar(tmp_path / "u.tar")
        assert out.tags == ()
        assert "annotations" not in json.loads(files["index.json"])["manifests"][0]
        assert json.loads(files["manifest.json"])[0]["RepoTags"] == []
        assert "repositories" not in files

    @pytest.mark.parametrize("kind", [Compression.GZIP, Compression.ZSTD])
    def test_compressed_layers_get_their_media_type_and_reopen_verified(
        self, tmp_path: Path, kind: Compression
    ) -> None:
        from explorer.core.fs.layer_reader import read_layer
        from explorer.core.image.loader import open_archive

        plain = sample_layer().to_bytes()
        blob = compress(plain, kind)
        write_image_archive(tmp_path / "c.tar", config=make_image(blob), layers=[blob],
                            tags=["app:1"])
        with open_archive(str(tmp_path / "c.tar")) as archive:
            image = archive.load()
            (layer,) = image.layers
            assert layer.media_type == layer_media_type(kind)
            index = read_layer(archive.source, layer)
        assert index.diff_id == layer.diff_id
        assert index.whiteouts == (b"var/cache",) and index.opaque_dirs == (b"usr/share",)

    @pytest.mark.parametrize(("config", "message"), [
        (b"not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (json.dumps({"os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode(),
         "architecture"),
        (json.dumps({"architecture": "amd64", "os": "linux"}).encode(), "rootfs"),
        (json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": []}}).encode(), "layer count"),
        (json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
            "type": "layers", "diff_ids": ["sha256:" + "0" * 64]}}).encode(), "does not match"),
    ])
    def test_refuses_configs_loaders_would_reject_and_writes_nothing(
        self, tmp_path: Path, config: bytes, message: str
    ) -> None:
        with pytest.raises(CommitError, match=message):
            write_image_archive(tmp_path / "bad.tar", config=config,
                                layers=[LayerTarBuilder().to_bytes()])
        assert list(tmp_path.iterdir()) == []

    def test_refuses_invalid_tags_before_writing(self, tmp_path: Path) -> None:
        layer = LayerTarBuilder().to_bytes()
        with pytest.raises(CommitError, match="Invalid tag"):
            write_image_archive(tmp_path / "t.tar", config=make_image(layer), layers=[layer],
                                tags=["Upper/Case:1"])
        assert list(tmp_path.iterdir()) == []

    def test_refuses_to_overwrite_its_input(self, tmp_path: Path) -> None:
        layer = LayerTarBuilder().to_bytes()
        src = tmp_path / "in.tar"
        write_image_archive(src, config=make_image(layer), layers=[layer])
        before = src.read_bytes()
        with pytest.raises(CommitError, match="input"):
            write_image_archive(src, config=make_image(layer), layers=[layer], tags=["a:1"],
                                inputs=[str(src)])
        assert src.read_bytes() == before

    def test_cancel_leaves_nothing_behind(self, tmp_path: Path) -> None:
        token = CancelToken()
        layer = LayerTarBuilder().to_bytes()

        def progress(done: int, total: int) -> None:
            token.cancel()

        with pytest.raises(Cancelled):
            write_image_archive(tmp_path / "c.tar", config=make_image(layer), layers=[layer],
                                cancel=token, progress=progress)
        assert list(tmp_path.iterdir()) == []
