"""Specification of commit: a sandbox written as a new image (docker commit + docker save).

Built on the demo image (a synthetic tomcat) and the sandbox test image; third-party readers
judge the output in test_commit_tools.py."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from explorer.core.archive.compression import Compression
from explorer.core.commit import CommitOptions, commit, preview_config
from explorer.core.demo import build_demo
from explorer.core.errors import Cancelled, CommitError
from explorer.core.fs.layer_reader import read_layer
from explorer.core.image.loader import open_archive
from explorer.core.inspection import Inspection, inspect_path
from explorer.core.sandbox import Sandbox, snapshot_host
from explorer.core.tasks import CancelToken

DOCS = "/usr/local/tomcat/webapps/docs"
STORY = CommitOptions(tag="tqk/tomcat02:1.0", message="del tomcat docs", author="tqk",
                      timestamp=1_700_000_000)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inspection]:
    path = tmp_path_factory.mktemp("demo") / "demo.tar"
    build_demo(path)
    with inspect_path(str(path)) as insp:
        yield insp


def layer_members(blob: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(blob), encoding="utf-8",
                      errors="surrogateescape") as tf:
        return {m.name: m for m in tf.getmembers()}


def blobs(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tf:
        return {m.name: tf.extractfile(m).read()  # type: ignore[union-attr]
                for m in tf.getmembers() if m.isreg()}


class TestTheTomcatStory:
    """Delete webapps/docs, commit as tqk/tomcat02:1.0: docs gone, original untouched."""

    def test_the_new_image_has_no_docs_and_the_original_is_unchanged(
        self, demo: Inspection, tmp_path: Path
    ) -> None:
        before = sha256(Path(demo.archive.path))
        result = commit(demo, Sandbox.over(demo).delete(DOCS), tmp_path / "tomcat02.tar", STORY)
        assert sha256(Path(demo.archive.path)) == before
        assert result.tags == ("tqk/tomcat02:1.0",) and result.verified
        with inspect_path(result.path) as new:
            assert new.image.id == result.image_id
            assert new.merged().get(DOCS[1:].encode()) is None
            assert demo.merged().get(DOCS[1:].encode()) is not None
            assert len(new.image.layers) == len(demo.image.layers) + 1
            top = new.indexes[-1]
            assert top.whiteouts == (DOCS[1:].encode(),) and top.opaque_dirs == ()
            assert [e.path for e in top.entries] == [b"usr", b"usr/local", b"usr/local/tomcat",
                                                     b"usr/local/tomcat/webapps"]

    def test_unchanged_layers_are_the_input_blobs_byte_for_byte(
        self, demo: Inspection, tmp_path: Path
    ) -> None:
        result = commit(demo, Sandbox.over(demo).delete(DOCS), tmp_path / "o.tar", STORY)
        written = blobs(tmp_path / "o.tar")
        inputs = blobs(Path(demo.archive.path))
        for layer, new in zip(demo.image.layers, result.layers, strict=False):
            assert new.digest == layer.digest and new.diff_id == layer.diff_id
            assert written[new.digest.blob_path] == inputs[layer.blob_name]

    def test_config_history_created_and_author_are_set_like_docker_commit(
        self, demo: Inspection, tmp_path: Path
    ) -> None:
        result = commit(demo, Sandbox.over(demo).delete(DOCS), tmp_path / "o.tar", STORY)
        base = json.loads(demo.image.config.raw)
        doc = json.loads(blobs(tmp_path / "o.tar")[result.image_id.blob_path])
        assert doc == result.config
        assert doc["created"] == "2023-11-14T22:13:20Z" and doc["author"] == "tqk"
        assert doc["rootfs"]["diff_ids"] == [*base["rootfs"]["diff_ids"],
                                             str(result.layers[-1].diff_id)]
        assert doc["history"][:-1] == base["history"]
        assert doc["history"][-1] == {
            "created": "2023-11-14T22:13:20Z", "author": "tqk",
            "created_by": f"layer-explorer commit: delete {DOCS} (4 entries)",
            "comment": "del tomcat docs"}
        assert doc["config"] == base["config"]
        assert [k for k in doc if k in base] == [k for k in base if k in doc]  # order kept

    def test_every_timestamp_of_the_new_layer_is_an_integer_and_headers_are_pax(
        self, demo: Inspection, tmp_path: Path
    ) -> None:
        result = commit(demo, Sandbox.over(demo).delete(DOCS), tmp_path / "o.tar", STORY)
        assert result.new_layer is not None
        blob = blobs(tmp_path / "o.tar")[result.new_layer.digest.blob_path]
        members = layer_members(blob)
        assert list(members) == sorted(members, key=lambda n: n.split("/"))
        assert members["usr/local/tomcat/webapps/.wh.docs"].size == 0
        assert all("mtime" not in m.pax_headers for m in members.values())
        assert blob[257:265] == b"ustar\x0000"


class TestConfigAndChanges:
    def test_changes_edit_the_config_and_unknown_fields_are_kept(
        self, demo: Inspection, tmp_path: Path
    ) -> None:
        options = CommitOptions(tag="x/y:2", timestamp=0, changes=(
            'CMD ["catalina.sh", "jpda", "run"]', "ENV JPDA_ADDRESS=8000", "EXPOSE 8000",
            "LABEL org.example.note=\"no docs\"", "USER tomcat", "WORKDIR webapps"))
        preview = preview_config(demo, Sandbox.over(demo), options)
        result = commit(demo, Sandbox.over(demo), tmp_path / "o.tar", options)
        config = result.config["config"]
        assert preview["config"] == config
        assert config["Cmd"] == ["catalina.sh", "jpda", "run"]
        assert config["Env"][-1] == "JPDA_ADDRESS=8000"
        assert config["ExposedPorts"] == {"8000/tcp": {}, "8080/tcp": {}}
        assert config["Labels"]["org.example.note"] == "no docs"
        assert (config["User"], config["WorkingDir"]) == ("tomcat",
                                                          "/usr/local/tomcat/webapps")
        with inspect_path(result.path) as new:
            assert new.image.config.cmd == ("catalina.sh", "jpda", "run")

    def test_an_empty_change_gives_an_empty_layer_history_entry_and_no_layer(
        self, demo: Inspection, tmp_path: Path
    ) -> None:
        result = commit(demo, Sandbox.over(demo), tmp_path / "o.tar",
                        CommitOptions(tag="a:1", timestamp=5, changes=("CMD sh",)))
        assert result.empty_layer and result.new_layer is None
        assert result.config["history"][-1] == {
            "created": "1970-01-01T00:00:05Z", "created_by": "layer-explorer commit: CMD sh",
            "empty_layer": True}
        assert [x.digest for x in result.layers] == [x.digest for x in demo.image.layers]
        assert "author" not in result.config

    def test_unknown_top_level_fields_survive(self, tmp_path: Path) -> None:
        from tests.core.factories import DockerArchive

        archive = DockerArchive([[("f", "x", "file")]])
        archive.config["x-vendor"] = {"keep": [1, 2.5, None]}
        archive.config["container_config"] = {"Cmd": ["old build"]}
        with inspect_path(str(archive.write(tmp_path / "in.tar"))) as insp:
            result = commit(insp, Sandbox.over(insp).delete("f"), tmp_path / "o.tar",
                            CommitOptions(timestamp=0))
        assert result.config["x-vendor"] == {"keep": [1, 2.5, None]}
        assert "container_config" not in result.config
        assert result.tags == ()


class TestOutput:
    def test_same_image_same_edits_same_timestamp_give_identical_bytes(
        self, demo: Inspection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        host_file: Path
    ) -> None:
        sandbox = Sandbox.over(demo).delete(DOCS).add(snapshot_host(host_file),
                                                      "/usr/local/tomcat/NOTICE.txt")
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        options = CommitOptions(tag="tqk/tomcat02:1.0", compression=Compression.GZIP)
        first = commit(demo, sandbox, tmp_path / "a.tar", options)
        second = commit(demo, sandbox, tmp_path / "b.tar", options)
        assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
        assert first.image_id == second.image_id
        assert first.created == "2023-11-14T22:13:20Z"

    @pytest.mark.parametrize(("fmt", "compression"), [
        ("docker", Compression.ZSTD), ("oci", Compression.GZIP), ("oci", Compression.NONE)])
    def test_formats_and_compressions_reopen_verified(
        self, demo: Inspection, tmp_path: Path, fmt: str, compression: Compression
    ) -> None:
        result = commit(demo, Sandbox.over(demo).delete(DOCS), tmp_path / "o.tar",
                        CommitOptions(tag="t:1", fmt=fmt, compression=compression,  # type: ignore[arg-type]
                                      timestamp=0))
        assert result.new_layer is not None
        assert result.new_layer.media_type.endswith({"none": "tar", "gzip": "tar+gzip",
                                                     "zstd": "tar+zstd"}[compression.value])
        names = set(blobs(tmp_path / "o.tar"))
        assert ("manifest.json" in names) == (fmt == "docker")
        with open_archive(result.path) as archive:
            image = archive.load()
            index = read_layer(archive.source, image.layers[-1])
        assert index.whiteouts == (DOCS[1:].encode(),)

    def test_added_files_are_streamed_from_the_host_with_clamped_mtimes(
        self, demo: Inspection, tmp_path: Path, host_file: Path
    ) -> None:
        sandbox = Sandbox.over(demo).add(snapshot_host(host_file),
                                         "/usr/local/tomcat/NOTICE.txt")
        result = commit(demo, sandbox, tmp_path / "o.tar", CommitOptions(timestamp=1000))
        assert result.new_layer is not None
        members = layer_members(blobs(tmp_path / "o.tar")[result.new_layer.digest.blob_path])
        notice = members["usr/local/tomcat/NOTICE.txt"]
        assert (notice.size, notice.mtime, notice.uid, notice.uname) == (
            len(host_file.read_bytes()), 1000, 0, "")

    def test_refuses_to_overwrite_the_input(self, demo: Inspection) -> None:
        before = sha256(Path(demo.archive.path))
        with pytest.raises(CommitError, match="input"):
            commit(demo, Sandbox.over(demo).delete(DOCS), demo.archive.path, STORY)
        assert sha256(Path(demo.archive.path)) == before

    @pytest.mark.parametrize("at", [0.05, 0.5, 0.95])
    def test_cancel_at_any_point_leaves_no_file(self, demo: Inspection, tmp_path: Path,
                                                host_file: Path, at: float) -> None:
        token = CancelToken()
        sandbox = Sandbox.over(demo).delete(DOCS).add(snapshot_host(host_file), "/NOTICE")

        def progress(done: int, total: int) -> None:
            if total and done >= at * total:
                token.cancel()

        out = tmp_path / "out"
        out.mkdir()
        with pytest.raises(Cancelled):
            commit(demo, sandbox, out / "o.tar", STORY, progress=progress, cancel=token)
        assert list(out.iterdir()) == []

    def test_a_host_file_changed_since_it_was_added_stops_the_commit(
        self, demo: Inspection, tmp_path: Path, host_file: Path
    ) -> None:
        sandbox = Sandbox.over(demo).add(snapshot_host(host_file), "/NOTICE")
        host_file.write_bytes(host_file.read_bytes().upper())
        out = tmp_path / "out"
        out.mkdir()
        with pytest.raises(CommitError, match="changed since it was added"):
            commit(demo, sandbox, out / "o.tar", STORY)
        assert list(out.iterdir()) == []

    def test_an_input_changed_since_it_was_opened_fails_verification(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "in.tar"
        build_demo(path)
        out = tmp_path / "out"
        out.mkdir()
        with inspect_path(str(path)) as insp:
            layer = insp.image.layers[1]
            member = insp.archive.source.member(layer.blob_name)  # type: ignore[attr-defined]
            data = bytearray(path.read_bytes())
            data[member.offset + 600] ^= 0xFF  # same size, other bytes
            path.write_bytes(bytes(data))
            with pytest.raises(CommitError, match="input file changed since it was opened"):
                commit(insp, Sandbox.over(insp).delete(DOCS), out / "o.tar", STORY)
        assert list(out.iterdir()) == []

    def test_a_sandbox_of_another_image_and_a_bad_tag_are_refused(
        self, demo: Inspection, tmp_path: Path
    ) -> None:
        other = Sandbox(demo.merged(), image_id="sha256:" + "1" * 64)
        with pytest.raises(CommitError, match="made over image"):
            commit(demo, other, tmp_path / "o.tar", STORY)
        with pytest.raises(CommitError, match="lowercase"):
            commit(demo, Sandbox.over(demo), tmp_path / "o.tar", CommitOptions(tag="tqk/Tomcat:1"))
        assert list(tmp_path.iterdir()) == []


class TestInputs:
    @pytest.mark.parametrize("compression", ["gzip", "zstd"])
    def test_a_compressed_archive_is_committed_from_its_decompressed_copy(
        self, tmp_path: Path, compression: str
    ) -> None:
        from tests.core.factories import DockerArchive

        src = DockerArchive([[("a", "1", "file"), ("b", "2", "file")]]).write(
            tmp_path / "in.tar.x", compression=compression)  # type: ignore[arg-type]
        with inspect_path(str(src)) as insp:
            result = commit(insp, Sandbox.over(insp).delete("a"), tmp_path / "o.tar",
                            CommitOptions(timestamp=0))
        with inspect_path(result.path) as new:
            assert {p for p, _n in new.merged().walk()} == {b"b"}

    def test_an_oci_layout_folder_is_an_input_and_nothing_is_written_inside_it(
        self, tmp_path: Path
    ) -> None:
        from tests.core.factories import OciArchive
        from tests.core.umoci_oracle import safe_extract

        OciArchive([[("a", "1", "file")]]).write(tmp_path / "l.tar")
        layout = tmp_path / "layout"
        safe_extract(tmp_path / "l.tar", layout)
        with inspect_path(str(layout)) as insp:
            sandbox = Sandbox.over(insp).delete("a")
            with pytest.raises(CommitError, match="inside the input folder"):
                commit(insp, sandbox, layout / "o.tar", CommitOptions(timestamp=0))
            result = commit(insp, sandbox, tmp_path / "o.tar", CommitOptions(timestamp=0))
        assert result.verified and not (layout / "o.tar").exists()

    def test_docker_output_stops_at_125_layers(self, tmp_path: Path) -> None:
        from tests.core.factories import DockerArchive

        layers = [[(f"f{i}", str(i), "file")] for i in range(125)]
        src = DockerArchive(layers).write(tmp_path / "deep.tar")
        with inspect_path(str(src)) as insp:
            sandbox = Sandbox.over(insp).delete("f0")
            with pytest.raises(CommitError, match="126 layers"):
                commit(insp, sandbox, tmp_path / "o.tar", CommitOptions(timestamp=0))
            result = commit(insp, sandbox, tmp_path / "o.tar",
                            CommitOptions(timestamp=0, fmt="oci"))
        assert len(result.layers) == 126


@pytest.fixture
def host_file(tmp_path: Path) -> Path:
    path = tmp_path / "host" / "NOTICE.txt"
    path.parent.mkdir()
    path.write_bytes(b"Apache Tomcat (synthetic notice)\n" * 100)
    return path
