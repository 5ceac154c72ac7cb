"""Extracting files and folders of a layer's merged view into a folder the user chose.

This is the one code path that writes image content to disk, so besides "the right bytes
land in the right place" the specification is mostly about what must never happen: nothing
is written outside ``dest_dir``, no link is ever followed (neither one planted in
``dest_dir`` nor one the extraction made), nothing existing is overwritten, no device, FIFO
or special mode bit reaches the disk, a Cancel or an error leaves ``dest_dir`` exactly as it
was, and the input archive stays byte-identical.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from explorer.core.errors import Cancelled
from explorer.core.fs import extract as extract_module
from explorer.core.fs.extract import ExtractError, ExtractReport, extract
from explorer.core.fs.file_content import BlobChanged, FileNotInLayer, LayerStream, read_file
from explorer.core.inspection import Inspection, inspect_path
from explorer.core.tasks import CancelToken
from tests.conftest import corpus_path
from tests.core.factories import MTIME, DockerArchive, OciArchive

BIG = bytes(range(256)) * 12_000  # ~3 MiB: more than one write chunk
BASE = [
    ("app", None, "dir"),
    ("app/sub", None, "dir"),
    ("app/sub/file.txt", b"lower\n", "file"),
    ("app/sub/old.txt", b"removed above\n", "file"),
    ("app/big.bin", BIG, "file"),
    ("app/empty", b"", "file"),
    ("app/hard", "app/sub/file.txt", "hardlink"),
    ("app/latest", "sub", "symlink"),
    ("etc", None, "dir"),
    ("etc/hosts", b"127.0.0.1 localhost\n", "file"),
]
TOP = [
    ("app", None, "dir"),
    ("app/sub", None, "dir"),
    ("app/sub/file.txt", b"upper\n", "file"),
    ("app/sub/.wh.old.txt", b"", "file"),
    ("app/new.txt", b"added on top\n", "file"),
]
FORMATS = ["docker-plain", "oci-gzip", "oci-zstd"]


def build(fmt: str, layers: list[Any]) -> DockerArchive | OciArchive:
    kind, compression = fmt.split("-")
    if kind == "docker":
        return DockerArchive(layers)
    return OciArchive(layers, compression=None if compression == "plain" else compression)  # type: ignore[arg-type]


def raw_layer(*members: tuple[str, str, int, bytes | str]) -> bytes:
    """A layer tar of ``(name, type, mode, data-or-link)``; type is a ``tarfile`` type char."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, mode, data in members:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = kind.encode(), mode, MTIME
            if kind in (tarfile.CHRTYPE.decode(), tarfile.BLKTYPE.decode()):
                info.devmajor, info.devminor = 1, 3
            if isinstance(data, str):
                info.linkname = data
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data) if kind == "0" else None)
    return buf.getvalue()


def snapshot(root: Path) -> dict[str, tuple[str, object, int]]:
    """Every path below ``root`` (links not followed): kind, content or target, mode."""
    out: dict[str, tuple[str, object, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path), 0)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", None, stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("file", path.read_bytes(), stat.S_IMODE(st.st_mode))
    return out


@dataclass
class Place:
    """A test's folders: ``dest`` to extract into, ``outside`` that must stay empty."""

    tmp: Path
    dest: Path
    outside: Path
    inputs: dict[Path, str]

    def open(self, archive: DockerArchive | OciArchive, name: str = "img.tar") -> Inspection:
        path = archive.write(self.tmp / "in" / name)
        self.inputs[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        return inspect_path(str(path))


@pytest.fixture
def place(tmp_path: Path) -> Iterator[Place]:
    (tmp_path / "in").mkdir()
    p = Place(tmp_path, tmp_path / "dest", tmp_path / "outside", {})
    p.dest.mkdir()
    p.outside.mkdir()
    old_umask = os.umask(0o022)
    try:
        yield p
    finally:
        os.umask(old_umask)
    assert not os.listdir(p.outside), "something was written outside dest_dir"
    for path, digest in p.inputs.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{path} was modified"
    assert sorted(os.listdir(tmp_path / "in")) == sorted(p.name for p in p.inputs)
    leftovers = [str(f) for f in tmp_path.rglob(".layer-explorer-*")]
    assert not leftovers, f"temp files left behind: {leftovers}"


def run(ins: Inspection, layer: int, paths: list[bytes], dest: Path, **kw: Any) -> ExtractReport:
    return extract(ins, layer, paths, str(dest), **kw)


# --------------------------------------------------------------------------- what is written


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_folder_is_copied_as_the_merged_view_shows_it(place: Place, fmt: str) -> None:
    with place.open(build(fmt, [BASE, TOP])) as ins:
        report = run(ins, -1, [b"app"], place.dest)
    tree = snapshot(place.dest)
    assert tree == {
        "app": ("dir", None, 0o755),
        "app/sub": ("dir", None, 0o755),
        "app/sub/file.txt": ("file", b"upper\n", 0o644),
        "app/big.bin": ("file", BIG, 0o644),
        "app/empty": ("file", b"", 0o644),
        "app/hard": ("file", b"lower\n", 0o644),  # the hardlink shares layer 0's inode
        "app/latest": ("link", "sub", 0),
        "app/new.txt": ("file", b"added on top\n", 0o644),
    }
    assert (report.files, report.dirs, report.symlinks, report.skipped) == (5, 2, 1, 0)
    assert report.bytes_written == len(BIG) + 6 + 6 + 13
    assert report.names == [(b"app", "app")] and report.warnings == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_lower_layer_gives_the_lower_content(place: Place, fmt: str) -> None:
    with place.open(build(fmt, [BASE, TOP])) as ins:
        run(ins, 0, [b"app/sub"], place.dest)
    assert snapshot(place.dest) == {
        "sub": ("dir", None, 0o755),
        "sub/file.txt": ("file", b"lower\n", 0o644),
        "sub/old.txt": ("file", b"removed above\n", 0o644),
    }


def test_plain_gzip_and_zstd_layers_extract_identically(place: Place) -> None:
    trees = []
    for fmt in FORMATS:
        dest = place.dest / fmt
        dest.mkdir()
        with place.open(build(fmt, [BASE, TOP]), f"{fmt}.tar") as ins:
            run(ins, -1, [b""], dest)
        trees.append(snapshot(dest))
    assert trees[0] == trees[1] == trees[2]
    assert set(trees[0]) >= {"app", "etc", "etc/hosts"}


def test_single_files_and_the_whole_root_can_be_selected(place: Place) -> None:
    with place.open(build("oci-gzip", [BASE, TOP])) as ins:
        report = run(ins, -1, [b"/etc/hosts", b"app/new.txt"], place.dest)
        assert report.names == [(b"app/new.txt", "new.txt"), (b"etc/hosts", "hosts")]
        root = place.dest / "root"
        root.mkdir()
        run(ins, -1, [b""], root)
    assert sorted(os.listdir(place.dest)) == ["hosts", "new.txt", "root"]
    assert sorted(os.listdir(root)) == ["app", "etc"]


def test_nested_and_repeated_selections_are_extracted_once(place: Place) -> None:
    with place.open(build("docker-plain", [BASE])) as ins:
        report = run(ins, -1, [b"app", b"app/sub/file.txt", b"/app/", b"app"], place.dest)
    assert report.names == [(b"app", "app")]
    assert os.listdir(place.dest) == ["app"]


def test_hardlinks_are_written_as_independent_copies(place: Place) -> None:
    with place.open(build("docker-plain", [BASE])) as ins:
        run(ins, -1, [b"app"], place.dest)
    hard, target = place.dest / "app/hard", place.dest / "app/sub/file.txt"
    assert hard.read_bytes() == target.read_bytes() == b"lower\n"
    assert hard.stat().st_nlink == target.stat().st_nlink == 1


def test_raw_non_utf8_names_are_kept(place: Place) -> None:
    with place.open(build("docker-plain", [[(b"caf\xe9.txt", b"latin-1 name", "file")]])) as ins:
        run(ins, -1, [b"caf\xe9.txt"], place.dest)
    assert os.listdir(bytes(place.dest)) == [b"caf\xe9.txt"]


def test_progress_reaches_the_total(place: Place) -> None:
    seen: list[tuple[int, int]] = []
    with place.open(build("oci-gzip", [BASE, TOP])) as ins:
        run(ins, -1, [b"app"], place.dest, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] == len(BIG) + 6 + 6 + 13
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


# --------------------------------------------------------------------------- modes and types

MODES = raw_layer(
    ("bin", "5", 0o755, b""),
    ("bin/su", "0", 0o4755, b"setuid\n"),
    ("bin/wall", "0", 0o2755, b"setgid\n"),
    ("bin/secret", "0", 0o600, b"private\n"),
    ("bin/world", "0", 0o666, b"world-writable\n"),
    ("bin/none", "0", 0o000, b"no bits\n"),
    ("bin/shared", "5", 0o2775, b""),
    ("bin/tmp", "5", 0o1777, b""),
    ("bin/private", "5", 0o700, b""),
    ("bin/null", "3", 0o666, b""),
    ("bin/disk", "4", 0o660, b""),
    ("bin/pipe", "6", 0o644, b""),
)


def test_modes_keep_owner_bits_and_drop_special_and_write_bits(place: Place) -> None:
    with place.open(build("docker-plain", [MODES])) as ins:
        report = run(ins, -1, [b"bin"], place.dest)
    modes = {k: v[2] for k, v in snapshot(place.dest).items()}
    assert modes == {
        "bin": 0o755, "bin/su": 0o755, "bin/wall": 0o755, "bin/secret": 0o600,
        "bin/world": 0o644, "bin/none": 0o600, "bin/shared": 0o755, "bin/tmp": 0o755,
        "bin/private": 0o700,
    }
    assert report.skipped == 3


def test_the_umask_is_respected(place: Place) -> None:
    os.umask(0o077)
    with place.open(build("docker-plain", [MODES])) as ins:
        run(ins, -1, [b"bin"], place.dest)
    assert {v[2] for v in snapshot(place.dest).values()} == {0o700, 0o600}


def test_devices_and_fifos_are_skipped_with_a_warning(place: Place) -> None:
    with place.open(build("oci-gzip", [MODES])) as ins:
        report = run(ins, -1, [b"bin"], place.dest)
    assert not {"null", "disk", "pipe"} & set(os.listdir(place.dest / "bin"))
    text = "\n".join(report.warnings)
    for expected in ("bin/null: a character device", "bin/disk: a block device",
                     "bin/pipe: a FIFO"):
        assert expected in text


def test_a_setgid_destination_does_not_pass_its_bit_on(place: Place) -> None:
    os.chmod(place.dest, 0o2775)
    with place.open(build("docker-plain", [BASE])) as ins:
        run(ins, -1, [b"app"], place.dest)
    assert snapshot(place.dest)["app/sub"][2] == 0o755


# --------------------------------------------------------------------------- hostile images

LINKS = [
    ("app", None, "dir"),
    ("app/sub", None, "dir"),
    ("app/sub/file.txt", b"inside\n", "file"),
    ("app/ok", "sub/file.txt", "symlink"),
    ("app/dir-link", "sub", "symlink"),
    ("app/self", ".", "symlink"),
    ("app/dangling", "sub/missing", "symlink"),
    ("app/abs", "/etc", "symlink"),
    ("app/passwd", "../../../../../../etc/passwd", "symlink"),
    ("app/up", "../..", "symlink"),
    ("app/sneaky", "up/../sub", "symlink"),  # "app/sub" on paper; through `up` it escapes
    ("app/parent", "..", "symlink"),
    ("app/loop1", "loop2", "symlink"),
    ("app/loop2", "loop1", "symlink"),
]


@pytest.mark.parametrize("fmt", ["docker-plain", "oci-zstd"])
def test_symlinks_are_made_only_when_they_stay_inside(place: Place, fmt: str) -> None:
    with place.open(build(fmt, [LINKS])) as ins:
        report = run(ins, -1, [b"app"], place.dest)
    made = {p.name: os.readlink(p) for p in (place.dest / "app").iterdir() if p.is_symlink()}
    assert made == {"ok": "sub/file.txt", "dir-link": "sub", "self": ".",
                    "dangling": "sub/missing"}
    for name in made:
        real = os.path.realpath(place.dest / "app" / name)
        assert real.startswith(str(place.dest.resolve()) + os.sep)
    skipped = {w.split(":")[0] for w in report.warnings}
    assert skipped == {f"Skipped app/{n}" for n in
                       ("abs", "passwd", "up", "sneaky", "parent", "loop1", "loop2")}
    assert report.symlinks == 4 and report.skipped == 7


def test_a_symlink_alone_needs_its_target_in_the_extraction(place: Place) -> None:
    with place.open(build("docker-plain", [LINKS])) as ins:
        report = run(ins, -1, [b"app/ok"], place.dest)
    assert os.listdir(place.dest) == []
    assert "outside what this extraction creates" in report.warnings[0]


def test_files_behind_an_image_symlink_to_the_host_are_not_written_there(place: Place) -> None:
    """Layer 0 makes app/etc a link to a host folder; layer 1 adds app/etc/passwd "through"
    it.  The union drops that entry (its parent is not a directory), and the link itself is
    absolute, so nothing reaches the host folder."""
    lower = [("app", None, "dir"), ("app/etc", str(place.outside), "symlink")]
    upper = [("app/etc/passwd", b"root::0:0::/:/bin/sh\n", "file")]
    with place.open(build("oci-gzip", [lower, upper])) as ins:
        report = run(ins, -1, [b""], place.dest)
    assert snapshot(place.dest) == {"app": ("dir", None, 0o755)}
    assert report.skipped == 1


def test_dot_dot_and_absolute_member_names_stay_inside(place: Place) -> None:
    layer = raw_layer(
        ("../escape.txt", "0", 0o644, b"x"),
        ("app/../../escape2.txt", "0", 0o644, b"x"),
        (str(place.outside / "abs.txt"), "0", 0o644, b"absolute name"),
        ("ok.txt", "0", 0o644, b"fine"),
    )
    with place.open(build("docker-plain", [layer])) as ins:
        run(ins, -1, [b""], place.dest)
    files = {k: v[1] for k, v in snapshot(place.dest).items() if v[0] == "file"}
    inner = str(place.outside / "abs.txt").lstrip("/")
    assert files == {"ok.txt": b"fine", inner: b"absolute name"}
    assert not (place.tmp / "escape.txt").exists() and not (place.tmp / "escape2.txt").exists()


def test_selections_with_dot_dot_are_refused(place: Place) -> None:
    with place.open(build("docker-plain", [BASE])) as ins, pytest.raises(FileNotInLayer):
        run(ins, -1, [b"../../outside"], place.dest)


@pytest.mark.parametrize("fmt", ["docker-plain", "oci-gzip"])
def test_a_symlink_planted_in_dest_dir_is_never_followed(place: Place, fmt: str) -> None:
    (place.dest / "app").symlink_to(place.outside)
    (place.dest / "etc").symlink_to(place.outside)
    with place.open(build(fmt, [[*BASE, ("app/to-etc", "../etc/hosts", "symlink")]])) as ins:
        report = run(ins, -1, [b""], place.dest)
    assert os.readlink(place.dest / "app") == str(place.outside)
    assert os.readlink(place.dest / "etc") == str(place.outside)
    assert (place.dest / "app (2)/sub/file.txt").read_bytes() == b"lower\n"
    assert (place.dest / "etc (2)/hosts").exists()
    assert not (place.dest / "app (2)/to-etc").exists(), "it would resolve to the planted etc"
    assert (b"app", "app (2)") in report.names and (b"etc", "etc (2)") in report.names


def test_a_dangling_symlink_planted_in_dest_dir_counts_as_taken(place: Place) -> None:
    (place.dest / "app").symlink_to(place.outside / "made-through-the-link")
    with place.open(build("docker-plain", [BASE])) as ins:
        report = run(ins, -1, [b"app"], place.dest)
    assert report.names == [(b"app", "app (2)")]
    assert os.readlink(place.dest / "app") == str(place.outside / "made-through-the-link")


@pytest.mark.parametrize("cached_dirs", [64, 1])
def test_a_folder_swapped_for_a_symlink_during_extraction_is_not_followed(
        place: Place, monkeypatch: pytest.MonkeyPatch, cached_dirs: int) -> None:
    """An attacker who replaces a folder we just made with a link to elsewhere (the
    CVE-2018-15664 race) never gets files written through the link: a folder still held
    open receives them wherever it was moved; one opened again by name is refused."""
    real_mkdir = extract_module._Extraction._mkdir

    def mkdir_then_swap(self: Any, parent: Any, mode: int, name: bytes) -> None:
        real_mkdir(self, parent, mode, name)
        if name == b"sub":
            swapped = place.dest / "app" / "sub"
            swapped.rename(place.tmp / "moved-away")
            swapped.symlink_to(place.outside)

    monkeypatch.setattr(extract_module._Extraction, "_mkdir", mkdir_then_swap)
    monkeypatch.setattr(extract_module, "DIR_CACHE", cached_dirs)
    with place.open(build("oci-gzip", [BASE])) as ins:
        if cached_dirs > 1:
            run(ins, -1, [b"app"], place.dest)
            assert (place.tmp / "moved-away" / "file.txt").read_bytes() == b"lower\n"
        else:
            with pytest.raises(ExtractError, match="Not a directory"):
                run(ins, -1, [b"app"], place.dest)
    assert os.readlink(place.dest / "app" / "sub") == str(place.outside)


def test_existing_files_are_kept_and_the_copy_gets_a_free_name(place: Place) -> None:
    (place.dest / "hosts").write_bytes(b"mine")
    (place.dest / "hosts (2)").write_bytes(b"mine too")
    with place.open(build("docker-plain", [BASE])) as ins:
        report = run(ins, -1, [b"etc/hosts"], place.dest)
    assert (place.dest / "hosts").read_bytes() == b"mine"
    assert (place.dest / "hosts (2)").read_bytes() == b"mine too"
    assert (place.dest / "hosts (3)").read_bytes() == b"127.0.0.1 localhost\n"
    assert report.names == [(b"etc/hosts", "hosts (3)")]
    assert "'hosts' already exists" in report.warnings[0]


def test_extracting_twice_never_overwrites_the_first_copy(place: Place) -> None:
    with place.open(build("oci-gzip", [BASE])) as ins:
        run(ins, -1, [b"app"], place.dest)
        first = snapshot(place.dest)
        run(ins, -1, [b"app"], place.dest)
    second = snapshot(place.dest)
    assert {k: v for k, v in second.items() if k.startswith("app/") or k == "app"} == first
    assert {k for k in second if k.startswith("app (2)")}


def test_dest_dir_inside_an_input_layout_folder_is_refused(place: Place) -> None:
    layout = place.tmp / "in" / "layout"
    for member in build("oci-gzip", [BASE]).members():
        (layout / member.name).parent.mkdir(parents=True, exist_ok=True)
        (layout / member.name).write_bytes(member.data)
    place.inputs[layout / "index.json"] = hashlib.sha256(
        (layout / "index.json").read_bytes()).hexdigest()
    with inspect_path(str(layout)) as ins, pytest.raises(ExtractError, match="input folder"):
        run(ins, -1, [b"app"], layout / "blobs")
    assert sorted(os.listdir(layout / "blobs")) == ["sha256"]
    place.inputs.pop(layout / "index.json")
    os.rename(layout, place.tmp / "layout")  # keep the fixture's "nothing next to the input"


# --------------------------------------------------------------------------- all or nothing


@pytest.mark.parametrize("fmt", FORMATS)
def test_cancel_leaves_dest_dir_as_it_was(place: Place, fmt: str) -> None:
    (place.dest / "already-here.txt").write_bytes(b"keep me")
    before = snapshot(place.dest)
    token = CancelToken()

    def cancel_after_the_first_chunk(done: int, _total: int) -> None:
        if done > 0:
            token.cancel()

    with place.open(build(fmt, [BASE, TOP])) as ins, pytest.raises(Cancelled):
        run(ins, -1, [b"app", b"etc"], place.dest, progress=cancel_after_the_first_chunk,
            cancel=token)
    assert snapshot(place.dest) == before


def test_a_blob_changed_mid_extraction_leaves_nothing(place: Place) -> None:
    archive = build("oci-gzip", [BASE, TOP])
    with place.open(archive) as ins:
        path = next(iter(place.inputs))
        blob = archive.layer_blobs[0]
        data = path.read_bytes()
        at = data.index(blob) + len(blob) // 2
        with open(path, "r+b") as fh:
            fh.seek(at)
            fh.write(bytes(64))
        place.inputs[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        with pytest.raises(BlobChanged):
            run(ins, -1, [b"app"], place.dest)
    assert os.listdir(place.dest) == []


def test_a_missing_selection_writes_nothing(place: Place) -> None:
    with place.open(build("docker-plain", [BASE, TOP])) as ins, pytest.raises(FileNotInLayer):
        run(ins, -1, [b"app", b"app/sub/old.txt"], place.dest)
    assert os.listdir(place.dest) == []


def test_a_dest_dir_that_does_not_exist_is_an_error(place: Place) -> None:
    with place.open(build("docker-plain", [BASE])) as ins, pytest.raises(ExtractError):
        run(ins, -1, [b"app"], place.dest / "nope")


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_layer_blob_is_read_at_most_once(place: Place, fmt: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    streamed: list[int] = []
    opened: list[str] = []

    class CountingStream(LayerStream):
        def __init__(self, ins: Inspection, layer: int, **kw: Any) -> None:
            streamed.append(layer)
            super().__init__(ins, layer, **kw)

    monkeypatch.setattr(extract_module, "LayerStream", CountingStream)
    with place.open(build(fmt, [BASE, TOP])) as ins:
        source = ins.archive.source
        real_open = source.open
        monkeypatch.setattr(source, "open", lambda name: opened.append(name) or real_open(name))
        run(ins, -1, [b""], place.dest)
    assert len(opened) == len(set(opened)) == 2, "one read of each layer's blob"
    assert streamed == ([] if fmt == "docker-plain" else [0, 1])


# --------------------------------------------------------------------------- corpus


def test_corpus_webapps_subtree_extracts_like_read_file_reads_it(place: Place) -> None:
    trees = []
    for name in ("mini-webapp.docker.tar", "mini-webapp.oci.tar"):
        path = corpus_path("generated", name)
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        dest = place.dest / name
        dest.mkdir()
        with inspect_path(str(path)) as ins:
            report = run(ins, -1, [b"usr/local/tomcat/webapps"], dest)
            tree = snapshot(dest)
            for rel, (kind, content, _mode) in tree.items():
                if kind == "file":
                    image_path = b"usr/local/tomcat/" + rel.encode()
                    assert content == read_file(ins, -1, image_path, limit=1 << 30).data, rel
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
        assert report.names == [(b"usr/local/tomcat/webapps", "webapps")]
        assert tree["webapps/latest"] == ("link", "ROOT", 0)
        assert tree["webapps/ROOT/index.html"][1].startswith(b"<!DOCTYPE html>")  # type: ignore[union-attr]
        assert "webapps/ROOT/ünïcødé-файл-日本語.txt" in tree
        assert report.files == sum(1 for v in tree.values() if v[0] == "file")
        assert report.files > 100 and report.skipped == 0
        trees.append(tree)
    assert trees[0] == trees[1]


def test_corpus_symlink_attack_image_writes_no_escaping_link(place: Place) -> None:
    path = corpus_path("scalibr", "layerscanning_image__symlink-attack.tar")
    with inspect_path(str(path)) as ins:
        report = run(ins, -1, [b""], place.dest)
    assert snapshot(place.dest) == {"dir1": ("dir", None, 0o755)}
    assert report.skipped == 2
