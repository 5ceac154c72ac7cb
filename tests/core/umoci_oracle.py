"""``umoci unpack`` as an oracle for our merged filesystem.

Shared by test_union_matches_umoci.py (the checked-in corpus) and test_large_corpus.py.  An
image is copied with ``skopeo`` into a fresh OCI layout, unpacked with ``umoci`` (run as root,
so owners are kept), and the resulting ``rootfs`` is walked with ``os.lstat`` (links are never
followed).  Both views become ``{path: Attrs}`` and are compared path by path: type,
permission bits (``mode & 0o7777``, so setuid/setgid/sticky count), uid, gid, size of regular
files and symlink targets.

umoci and skopeo are third-party tools; they are the reference here, not our code.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path
from typing import NamedTuple

import pytest

from explorer.core.fs.entry import EntryKind, FileEntry
from explorer.core.fs.union import Node
from explorer.core.inspection import Inspection

TOMCAT = b"usr/local/tomcat"
WEBAPPS = TOMCAT + b"/webapps"
MAX_SHOWN = 15

Tree = dict[bytes, "Attrs"]


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


def our_tree(insp: Inspection) -> Tree:
    """The merged filesystem at the top layer, as the viewer shows it."""
    out: Tree = {}
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


def disk_tree(rootfs: Path) -> Tree:
    """Every path below ``rootfs`` (not the root itself), by lstat, never following links."""
    root = os.fsencode(rootfs)
    out: Tree = {}
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


def tree_differences(ours: Tree, theirs: Tree, *, name: str = "disk") -> list[str]:
    """Readable lines, sorted by path: what only one side has, and attribute mismatches.

    ``name`` names the other side (``disk``: umoci's rootfs; or another archive)."""
    only_theirs = "only on disk:" if name == "disk" else f"only in {name}:"
    width = max(15, len(only_theirs) + 2)
    lines = []
    for path in sorted(ours.keys() | theirs.keys()):
        a, b = ours.get(path), theirs.get(path)
        if a == b:
            continue
        if a is None:
            assert b is not None
            lines.append(f"{only_theirs:<{width}}{path!r} ({b.show()})")
        elif b is None:
            lines.append(f"{'only in ours:':<{width}}{path!r} ({a.show()})")
        else:
            fields = [
                f"{f}: ours={getattr(a, f)!r} {name}={getattr(b, f)!r}"
                for f in Attrs._fields if getattr(a, f) != getattr(b, f)
            ]
            lines.append(f"{'differs:':<{width}}{path!r}: " + "; ".join(fields))
    return lines


def assert_same_tree(ours: Tree, theirs: Tree, what: str, *, name: str = "disk") -> None:
    """Fail with the first differences; ``name`` as in tree_differences."""
    diffs = tree_differences(ours, theirs, name=name)
    if diffs:
        shown = "\n  ".join(diffs[:MAX_SHOWN])
        more = f"\n  ... and {len(diffs) - MAX_SHOWN} more" if len(diffs) > MAX_SHOWN else ""
        other = "umoci's rootfs" if name == "disk" else f"the merged tree of {name}"
        pytest.fail(
            f"{what}: our merged tree ({len(ours)} paths) differs from {other} "
            f"({len(theirs)} paths) in {len(diffs)} path(s):\n  {shown}{more}",
            pytrace=False,
        )


# --------------------------------------------------------------------------- umoci


def require_tools() -> None:
    """Skip unless skopeo and umoci are installed and we are root (umoci keeps owners)."""
    missing = [t for t in ("skopeo", "umoci") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (CI installs them: "
                    "apt-get install skopeo umoci)")
    if os.geteuid() != 0:
        pytest.skip("umoci unpack must run as root to keep file owners")


def run_tool(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600,
                          check=False)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}",
                    pytrace=False)


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract a tarred OCI layout (trusted corpus file) with the strict 'data' filter."""
    with tarfile.open(archive) as tf:
        tf.extractall(dest, filter="data")


def skopeo_umoci_rootfs(source: str, work: Path) -> Path:
    """skopeo copy SOURCE -> work/layout:img, umoci unpack -> work/bundle; returns rootfs.

    SOURCE is a skopeo transport reference (``oci-archive:FILE``, ``docker-archive:FILE:@1``
    ...); the source is only read, everything is written below ``work``."""
    run_tool(["skopeo", "copy", "--quiet", source, f"oci:{work / 'layout'}:img"], work)
    run_tool(["umoci", "unpack", "--image", f"{work / 'layout'}:img", str(work / "bundle")],
             work)
    rootfs = work / "bundle" / "rootfs"
    assert rootfs.is_dir(), f"umoci unpack produced no rootfs in {work / 'bundle'}"
    return rootfs


# ------------------------------------------------ the images built to exercise whiteouts


def _children(tree: Tree, directory: bytes) -> set[bytes]:
    prefix = directory + b"/"
    return {p[len(prefix):] for p in tree if p.startswith(prefix) and b"/" not in
            p[len(prefix):]}


def check_whiteouts(image: str, insp: Inspection, ours: Tree, disk: Tree) -> None:
    """Named checks for the webapp images (mini- or Debian-based) that exercise whiteouts
    and opaque directories; other images pass unchecked."""
    docs = WEBAPPS + b"/docs"
    recipe = image.removeprefix("mini-")
    if recipe == "webapp":
        # The control: docs is there until a later image whites it out.
        assert docs in ours and docs in disk
        assert WEBAPPS + b"/docs/api" not in ours, "layer 3 whites out webapps/docs/api"
        assert WEBAPPS + b"/docs/api" not in disk
    if recipe == "webapp-nodocs":
        top = insp.indexes[-1]
        assert top.whiteouts == (docs,), "the nodocs layer holds the single whiteout .wh.docs"
        assert docs not in ours, "usr/local/tomcat/webapps/docs must be whited out in ours"
        assert docs not in disk, "usr/local/tomcat/webapps/docs must be whited out by umoci"
        assert not any(p.startswith(docs + b"/") for p in ours), "docs' subtree must go too"
        assert WEBAPPS + b"/ROOT" in ours and WEBAPPS + b"/ROOT" in disk
    if recipe == "webapp-opaque":
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
