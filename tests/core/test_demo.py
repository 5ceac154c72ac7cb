"""Specification of the demo image: reproducible, readable by us and by skopeo/umoci."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from explorer.core.archive.image_writer import ArchiveFormat, WrittenImage
from explorer.core.demo import (
    build_demo,
    build_demo_image,
    default_demo_path,
    demo_recipe_path,
    load_recipe,
)
from explorer.core.errors import FormatError
from explorer.core.fs.entry import EntryKind
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.layer_reader import read_layer
from explorer.core.image.loader import familiar, open_archive
from explorer.core.image.model import Image

TOMCAT = b"usr/local/tomcat"
FORMATS: list[ArchiveFormat] = ["docker", "oci"]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo")


@pytest.fixture(scope="module", params=FORMATS)
def demo(request: pytest.FixtureRequest, demo_dir: Path) -> tuple[ArchiveFormat, Path]:
    fmt: ArchiveFormat = request.param
    path = demo_dir / f"demo-{fmt}.tar"
    build_demo(path, fmt=fmt)
    return fmt, path


def load(path: Path) -> tuple[Image, list[LayerIndex]]:
    """Open with our own reader; read_layer verifies every blob digest and diff_id."""
    with open_archive(str(path)) as archive:
        image = archive.load()
        return image, [read_layer(archive.source, layer) for layer in image.layers]


def test_the_recipe_is_found_in_the_source_checkout() -> None:
    path = demo_recipe_path()
    assert path.parts[-3:] == ("resources", "demo", "recipe.json")
    assert load_recipe(path)["steps"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_recipe_always_gives_the_same_bytes(tmp_path: Path, fmt: ArchiveFormat) -> None:
    first = build_demo(tmp_path / "a.tar", fmt=fmt)
    second = build_demo(tmp_path / "b.tar", fmt=fmt)
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    assert first.image_id == second.image_id
    assert isinstance(first, WrittenImage) and first.path == str(tmp_path / "a.tar")


def test_both_formats_hold_the_same_image(tmp_path: Path) -> None:
    docker = build_demo(tmp_path / "d.tar", fmt="docker")
    oci = build_demo(tmp_path / "o.tar", fmt="oci")
    assert (docker.config_digest, docker.manifest_digest) == (oci.config_digest,
                                                              oci.manifest_digest)


def test_layers_are_uncompressed_so_blob_digest_is_the_diff_id(
    demo: tuple[ArchiveFormat, Path]
) -> None:
    image, indexes = load(demo[1])
    assert len(image.layers) == 5
    for layer, index in zip(image.layers, indexes, strict=True):
        assert layer.media_type == "application/vnd.oci.image.layer.v1.tar"
        assert layer.digest == layer.diff_id == index.diff_id == index.blob_digest
        assert index.warnings == ()
    assert image.warnings == ()


def test_config_reads_like_a_dockerfile_build(demo: tuple[ArchiveFormat, Path]) -> None:
    image, _ = load(demo[1])
    config = image.config
    assert (config.architecture, config.os) == ("amd64", "linux")
    assert config.cmd == ("catalina.sh", "run")
    assert config.workdir == "/usr/local/tomcat"
    assert config.exposed_ports == ("8080/tcp",)
    assert "CATALINA_HOME=/usr/local/tomcat" in config.env
    assert config.author and dict(config.labels)["org.opencontainers.image.title"]
    assert image.layers[0].command.startswith("/bin/sh -c #(nop) ADD file:")
    assert image.layers[1].command.startswith("/bin/sh -c #(nop) COPY dir:")
    assert [h.created_by for h in image.layers[1].empty_before][-2:] == [
        "/bin/sh -c #(nop) WORKDIR /usr/local/tomcat",
        "/bin/sh -c #(nop)  ENV TOMCAT_MAJOR=10 TOMCAT_VERSION=10.1.0-demo"]
    assert [h.created_by for h in image.trailing_empty] == [
        "/bin/sh -c #(nop)  EXPOSE 8080", '/bin/sh -c #(nop)  CMD ["catalina.sh" "run"]']
    assert {familiar(t) for t in image.tags} == {"layer-explorer/demo-tomcat:10.1"}


def test_layers_show_what_a_viewer_must_explain(demo: tuple[ArchiveFormat, Path]) -> None:
    _, (base, tomcat, users, removals, root) = load(demo[1])
    entries = {e.path: e for e in base.entries}
    assert entries[b"bin/sh"].kind is EntryKind.SYMLINK and entries[b"bin/sh"].link == b"busybox"
    assert entries[b"bin/zcat"].kind is EntryKind.HARDLINK
    assert entries[b"bin/zcat"].link == b"bin/gzip"
    assert entries[b"tmp"].kind is EntryKind.DIR and entries[b"tmp"].mode == 0o1777
    assert entries[b"var/log/syslog.pipe"].kind is EntryKind.FIFO
    assert all(e.mtime == 1704067200 for e in base.entries)

    tomcat_paths = {e.path for e in tomcat.entries}
    assert TOMCAT + b"/webapps/examples/servlets/helloworld.html" in tomcat_paths
    assert sum(e.size for e in tomcat.entries if e.path.startswith(TOMCAT + b"/webapps/docs/")) > 4000

    # the same paths again in a later layer, changed: wasted space for the efficiency view
    earlier = entries | {e.path: e for e in tomcat.entries}
    again = {e.path: e for e in users.entries}
    for path in (b"etc/passwd", TOMCAT + b"/conf/server.xml"):
        assert not again[path].same_content(earlier[path])
    assert again[TOMCAT + b"/logs"].uid == 1000

    assert set(removals.whiteouts) == {TOMCAT + b"/webapps/examples/servlets",
                                       TOMCAT + b"/webapps/docs/changelog.html"}
    assert removals.opaque_dirs == ()
    assert root.opaque_dirs == (TOMCAT + b"/webapps/ROOT",)
    assert {e.path for e in root.entries if e.kind is EntryKind.FILE} == {
        TOMCAT + b"/webapps/ROOT/index.html"}


def test_parent_directories_keep_the_attributes_of_the_layers_below() -> None:
    image = build_demo_image(load_recipe())
    assert len(image.layers) == 5
    recipe = load_recipe()
    recipe["steps"][0]["layer"].append({"dir": "srv", "mode": "0700", "uid": 7})
    recipe["steps"].append({"created_by": "RUN touch /srv/x", "layer": [{"file": "srv/x"}]})
    layers = build_demo_image(recipe).layers
    with tarfile.open(fileobj=io.BytesIO(layers[-1])) as tf:
        srv = tf.getmember("srv")
    assert (srv.mode, srv.uid) == (0o700, 7)


def test_recipe_mistakes_are_reported_with_the_entry() -> None:
    recipe = load_recipe()
    recipe["steps"][0]["layer"].append({"file": "../escape", "text": "x"})
    with pytest.raises(FormatError, match=r"\.\./escape"):
        build_demo_image(recipe)


def test_default_demo_path_builds_once_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = Path(default_demo_path())
    assert path.parent == tmp_path / "layer-explorer"
    assert path.name.startswith("demo-") and path.suffix == ".tar"
    build_demo(tmp_path / "fresh.tar")
    assert path.read_bytes() == (tmp_path / "fresh.tar").read_bytes()
    os.utime(path, ns=(1, 1))
    assert Path(default_demo_path()) == path
    assert path.stat().st_mtime_ns == 1  # reused, not rebuilt


# -- third-party readers (CI installs skopeo and umoci) ---------------------------------------


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} is not installed (CI installs it: apt-get install {tool})")
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stderr}"
    return result


@pytest.mark.tools
def test_skopeo_inspects_the_demo(demo: tuple[ArchiveFormat, Path]) -> None:
    skopeo = need("skopeo")
    fmt, path = demo
    transport = "docker-archive" if fmt == "docker" else "oci-archive"
    info = json.loads(run(skopeo, "inspect", f"{transport}:{path}").stdout)
    assert info["Architecture"] == "amd64" and len(info["Layers"]) == 5
    if fmt == "docker":  # a hybrid is an OCI archive too
        run(skopeo, "inspect", f"oci-archive:{path}")


@pytest.mark.tools
def test_umoci_unpacks_the_demo_with_whiteouts_applied(
    demo: tuple[ArchiveFormat, Path], tmp_path: Path
) -> None:
    skopeo, umoci = need("skopeo"), need("umoci")
    fmt, path = demo
    transport = "docker-archive" if fmt == "docker" else "oci-archive"
    run(skopeo, "copy", "-q", f"{transport}:{path}", f"oci:{tmp_path / 'layout'}:demo")
    rootless = [] if os.geteuid() == 0 else ["--rootless"]
    run(umoci, "unpack", *rootless, "--image", f"{tmp_path / 'layout'}:demo",
        str(tmp_path / "bundle"))
    rootfs = tmp_path / "bundle" / "rootfs"
    webapps = rootfs / "usr/local/tomcat/webapps"
    assert (webapps / "examples/index.html").is_file()
    assert not (webapps / "examples/servlets").exists()
    assert not (webapps / "docs/changelog.html").exists()
    assert (webapps / "docs/index.html").is_file()
    assert sorted(p.name for p in (webapps / "ROOT").iterdir()) == ["index.html"]
    assert b"Hello from the Layer Explorer demo" in (webapps / "ROOT/index.html").read_bytes()
    assert b"tomcat:x:1000" in (rootfs / "etc/passwd").read_bytes()
    assert os.readlink(rootfs / "bin/sh") == "busybox"
    assert (rootfs / "bin/zcat").stat().st_ino == (rootfs / "bin/gzip").stat().st_ino
