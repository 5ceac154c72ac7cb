"""Our merged filesystem (top layer) must equal what ``umoci unpack`` puts on disk.

For every generated-corpus OCI archive (and the docker-archive variants) the image is copied
with ``skopeo`` into a fresh OCI layout, unpacked with ``umoci`` (run as root, so owners are
kept), and the resulting ``rootfs`` is walked with ``os.lstat`` (links are never followed).
The two views are compared path by path: type, permission bits (``mode & 0o7777``, so
setuid/setgid/sticky count), uid, gid, size of regular files and symlink targets.

umoci and skopeo are third-party tools; they are the reference here, not our code.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest

from explorer.core.fs.entry import EntryKind, FileEntry
from explorer.core.fs.union import Node
from explorer.core.inspection import Inspection, inspect_path

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
GENERATED = CORPUS / "generated"

TOMCAT = b"usr/local/tomcat"
WEBAPPS = TOMCAT + b"/webapps"
MAX_SHOWN = 15

pytestmark = pytest.mark.tools


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One image to unpack: how we select it, and the skopeo source that names it."""

    id: str
    archive: Path
    image: str
    """Image name without registry or tag (mini-base, mini-webapp, -nodocs, -opaque)."""
    selector: str | None
    """What ``inspect_path`` gets to choose the image (None: the only one)."""
    transport: str
    """docker-archive, oci-archive or oci-layout (a tarred layout, extracted first)."""
    source_ref: str | None
    """Reference appended to the skopeo source (``FILE:ref`` / ``DIR:ref``), if any."""


def _image_name(tag: str) -> str:
    return tag.rsplit("/", 1)[-1].split(":", 1)[0]


def _layout_refs(archive: Path) -> list[str]:
    """ref.name annotations of a tarred OCI layout's index.json, in index order."""
    with tarfile.open(archive) as tf:
        member = next(m for m in tf.getmembers() if m.name.removeprefix("./") == "index.json")
        fh = tf.extractfile(member)
        assert fh is not None
        index = json.load(fh)
    return [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]


def _docker_tags(archive: Path) -> list[str]:
    """The first RepoTag of each manifest.json entry, in order."""
    with tarfile.open(archive) as tf:
        fh = tf.extractfile("manifest.json")
        assert fh is not None
        manifest = json.load(fh)
    return [item["RepoTags"][0] for item in manifest]


def _cases() -> list[Case]:
    cases: list[Case] = []
    for pattern in ("*.oci.tar", "*.oci-uncompressed.tar"):
        for f in sorted(GENERATED.glob(pattern)):
            name = f.name.split(".", 1)[0]
            cases.append(Case(f.name, f, name, None, "oci-archive", None))
    for f in sorted(GENERATED.glob("*.oci-layout.tar")):
        if f.name == "mini-all.oci-layout.tar":
            continue
        [ref] = _layout_refs(f)
        cases.append(Case(f.name, f, _image_name(ref), None, "oci-layout", ref))
    all_layout = GENERATED / "mini-all.oci-layout.tar"
    if all_layout.exists():
        for ref in _layout_refs(all_layout):
            cases.append(
                Case(f"{all_layout.name}:{ref}", all_layout, _image_name(ref), ref, "oci-layout",
                     ref)
            )
    for f in sorted(GENERATED.glob("*.docker.tar")):
        tags = _docker_tags(f)
        if len(tags) == 1:
            cases.append(Case(f.name, f, _image_name(tags[0]), None, "docker-archive", None))
        else:
            for i, tag in enumerate(tags):
                cases.append(Case(f"{f.name}@{i}", f, _image_name(tag), str(i),
                                  "docker-archive", f"@{i}"))
    return cases


def _params() -> list[object]:
    if not GENERATED.is_dir():
        return [pytest.param(None, id="no-corpus", marks=pytest.mark.skip(
            reason=f"generated corpus not found at {GENERATED} (see shared/corpus/README.md)"))]
    return [pytest.param(c, id=c.id) for c in _cases()]


# --------------------------------------------------------------------------- the two views


class Attrs(NamedTuple):
    """What is compared per path."""

    kind: str
    """dir, file, symlink, fifo, char, block or socket (a hardlink is a file)."""
    perm: int
    uid: int
    gid: int
    size: int | None
    """Regular files only."""
    target: bytes | None
    """Symlinks only (raw bytes)."""

    def show(self) -> str:
        parts = [self.kind, f"{self.perm:04o}", f"{self.uid}:{self.gid}"]
        if self.size is not None:
            parts.append(f"size={self.size}")
        if self.target is not None:
            parts.append(f"-> {self.target!r}")
        return " ".join(parts)


_OUR_KIND = {
    EntryKind.FILE: "file",
    EntryKind.HARDLINK: "file",
    EntryKind.DIR: "dir",
    EntryKind.SYMLINK: "symlink",
    EntryKind.FIFO: "fifo",
    EntryKind.CHAR: "char",
    EntryKind.BLOCK: "block",
    EntryKind.SOCKET: "socket",
}

_DISK_KIND = {
    stat.S_IFREG: "file",
    stat.S_IFDIR: "dir",
    stat.S_IFLNK: "symlink",
    stat.S_IFIFO: "fifo",
    stat.S_IFCHR: "char",
    stat.S_IFBLK: "block",
    stat.S_IFSOCK: "socket",
}


def _hardlink_target(insp: Inspection, node: Node) -> FileEntry:
    """The entry a hardlink names: an earlier entry of its own layer, else the tree below."""
    link = node.entry.link
    for entry in insp.indexes[node.layer].entries:
        if entry.path == link:
            return entry
    below = insp.merged(node.layer - 1).get(link) if node.layer > 0 else None
    assert below is not None, f"hardlink {node.entry.path!r} -> {link!r}: target not found"
    return below.entry


def our_tree(insp: Inspection) -> dict[bytes, Attrs]:
    """The merged filesystem at the top layer, as the viewer shows it."""
    out: dict[bytes, Attrs] = {}
    for path, node in insp.merged().walk():
        e = node.entry
        kind = _OUR_KIND[e.kind]
        size = None
        if e.kind is EntryKind.FILE:
            size = e.size
        elif e.kind is EntryKind.HARDLINK:
            size = _hardlink_target(insp, node).size
        target = e.link if e.kind is EntryKind.SYMLINK else None
        out[path] = Attrs(kind, e.mode & 0o7777, e.uid, e.gid, size, target)
    return out


def disk_tree(rootfs: Path) -> dict[bytes, Attrs]:
    """Every path below ``rootfs`` (not the root itself), by lstat, never following links."""
    root = os.fsencode(rootfs)
    out: dict[bytes, Attrs] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            kind = _DISK_KIND[stat.S_IFMT(st.st_mode)]
            out[os.path.relpath(full, root)] = Attrs(
                kind,
                st.st_mode & 0o7777,
                st.st_uid,
                st.st_gid,
                st.st_size if kind == "file" else None,
                os.readlink(full) if kind == "symlink" else None,
            )
    return out


def tree_differences(ours: dict[bytes, Attrs], disk: dict[bytes, Attrs]) -> list[str]:
    """Readable lines, sorted by path: what only one side has, and attribute mismatches."""
    lines = []
    for path in sorted(ours.keys() | disk.keys()):
        a, b = ours.get(path), disk.get(path)
        if a == b:
            continue
        if a is None:
            assert b is not None
            lines.append(f"only on disk:  {path!r} ({b.show()})")
        elif b is None:
            lines.append(f"only in ours:  {path!r} ({a.show()})")
        else:
            fields = [
                f"{f}: ours={getattr(a, f)!r} disk={getattr(b, f)!r}"
                for f in Attrs._fields if getattr(a, f) != getattr(b, f)
            ]
            lines.append(f"differs:       {path!r}: " + "; ".join(fields))
    return lines


def assert_same_tree(ours: dict[bytes, Attrs], disk: dict[bytes, Attrs], what: str) -> None:
    diffs = tree_differences(ours, disk)
    if diffs:
        shown = "\n  ".join(diffs[:MAX_SHOWN])
        more = f"\n  ... and {len(diffs) - MAX_SHOWN} more" if len(diffs) > MAX_SHOWN else ""
        pytest.fail(
            f"{what}: our merged tree ({len(ours)} paths) differs from umoci's rootfs "
            f"({len(disk)} paths) in {len(diffs)} path(s):\n  {shown}{more}",
            pytrace=False,
        )


# --------------------------------------------------------------------------- umoci


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}",
                    pytrace=False)


def _safe_extract(archive: Path, dest: Path) -> None:
    """Extract a tarred OCI layout (trusted corpus file) with the strict 'data' filter."""
    with tarfile.open(archive) as tf:
        tf.extractall(dest, filter="data")


def umoci_rootfs(case: Case, work: Path) -> Path:
    """skopeo copy CASE -> work/layout:img, umoci unpack -> work/bundle; returns rootfs."""
    if case.transport == "oci-layout":
        src_dir = work / "src"
        _safe_extract(case.archive, src_dir)
        source = f"oci:{src_dir}"
    else:
        source = f"{case.transport}:{case.archive}"
    if case.source_ref is not None:
        source += f":{case.source_ref}"
    _run(["skopeo", "copy", "--quiet", source, f"oci:{work / 'layout'}:img"], work)
    _run(["umoci", "unpack", "--image", f"{work / 'layout'}:img", str(work / "bundle")], work)
    rootfs = work / "bundle" / "rootfs"
    assert rootfs.is_dir(), f"umoci unpack produced no rootfs in {work / 'bundle'}"
    return rootfs


@pytest.fixture(scope="module")
def tools() -> None:
    missing = [t for t in ("skopeo", "umoci") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (CI installs them: "
                    "apt-get install skopeo umoci)")
    if os.geteuid() != 0:
        pytest.skip("umoci unpack must run as root to keep file owners")


# --------------------------------------------------------------------------- the tests


def _children(tree: dict[bytes, Attrs], directory: bytes) -> set[bytes]:
    prefix = directory + b"/"
    return {p[len(prefix):] for p in tree if p.startswith(prefix) and b"/" not in
            p[len(prefix):]}


def _check_whiteouts(case: Case, insp: Inspection, ours: dict[bytes, Attrs],
                     disk: dict[bytes, Attrs]) -> None:
    """Named checks for the images built to exercise whiteouts and opaque directories."""
    docs = WEBAPPS + b"/docs"
    if case.image == "mini-webapp":
        # The control: docs is there until a later image whites it out.
        assert docs in ours and docs in disk
        assert WEBAPPS + b"/docs/api" not in ours, "layer 3 whites out webapps/docs/api"
        assert WEBAPPS + b"/docs/api" not in disk
    if case.image == "mini-webapp-nodocs":
        top = insp.indexes[-1]
        assert top.whiteouts == (docs,), "the nodocs layer holds the single whiteout .wh.docs"
        assert docs not in ours, "usr/local/tomcat/webapps/docs must be whited out in ours"
        assert docs not in disk, "usr/local/tomcat/webapps/docs must be whited out by umoci"
        assert not any(p.startswith(docs + b"/") for p in ours), "docs' subtree must go too"
        assert WEBAPPS + b"/ROOT" in ours and WEBAPPS + b"/ROOT" in disk
    if case.image == "mini-webapp-opaque":
        examples = WEBAPPS + b"/examples"
        opaque_layer = insp.indexes[6]  # layer 7 of 8
        assert examples in opaque_layer.opaque_dirs, "layer 7 marks webapps/examples opaque"
        added = {e.path.rsplit(b"/", 1)[1] for e in opaque_layer.entries
                 if e.path.rpartition(b"/")[0] == examples}
        assert added == {b"index.html"}
        lower = insp.merged(5)
        lower_examples = lower.get(examples)
        assert lower_examples is not None and lower_examples.children
        assert set(lower_examples.children) - added, "lower layers had other examples"
        assert _children(ours, examples) == added, \
            "in ours, webapps/examples must hold only what layer 7 added"
        assert _children(disk, examples) == added, \
            "on disk, webapps/examples must hold only what layer 7 added"
        assert docs not in ours and docs not in disk, "layer 8 whites out webapps/docs"


@pytest.mark.parametrize("case", _params())
def test_merged_top_layer_matches_umoci_unpack(case: Case, tools: None, tmp_path: Path) -> None:
    rootfs = umoci_rootfs(case, tmp_path)
    with inspect_path(str(case.archive), case.selector) as insp:
        ours = our_tree(insp)
        disk = disk_tree(rootfs)
        assert ours, "our merged tree is empty"
        assert_same_tree(ours, disk, case.id)
        _check_whiteouts(case, insp, ours, disk)


# ---------------------------------------------------- the comparison itself must catch things


def test_tree_differences_reports_each_kind_of_mismatch() -> None:
    f = Attrs("file", 0o644, 0, 0, 3, None)
    ours = {b"a": f, b"b": f, b"c": f, b"l": Attrs("symlink", 0o777, 0, 0, None, b"x")}
    disk = {b"a": f, b"c": f._replace(perm=0o4755), b"d": f,
            b"l": Attrs("symlink", 0o777, 0, 0, None, b"y")}
    diffs = tree_differences(ours, disk)
    assert len(diffs) == 4
    assert diffs[0].startswith("only in ours:") and "b'b'" in diffs[0]
    assert "perm: ours=420 disk=2541" in diffs[1]
    assert diffs[2].startswith("only on disk:") and "b'd'" in diffs[2]
    assert "target: ours=b'x' disk=b'y'" in diffs[3]
