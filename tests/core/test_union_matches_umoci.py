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
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from explorer.core.inspection import inspect_path
from tests.core.umoci_oracle import (
    Attrs,
    assert_same_tree,
    check_whiteouts,
    disk_tree,
    our_tree,
    require_tools,
    safe_extract,
    skopeo_umoci_rootfs,
    tree_differences,
)

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
GENERATED = CORPUS / "generated"

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


# --------------------------------------------------------------------------- umoci


def umoci_rootfs(case: Case, work: Path) -> Path:
    """skopeo copy CASE -> work/layout:img, umoci unpack -> work/bundle; returns rootfs."""
    if case.transport == "oci-layout":
        src_dir = work / "src"
        safe_extract(case.archive, src_dir)
        source = f"oci:{src_dir}"
    else:
        source = f"{case.transport}:{case.archive}"
    if case.source_ref is not None:
        source += f":{case.source_ref}"
    return skopeo_umoci_rootfs(source, work)


@pytest.fixture(scope="module")
def tools() -> None:
    require_tools()


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("case", _params())
def test_merged_top_layer_matches_umoci_unpack(case: Case, tools: None, tmp_path: Path) -> None:
    rootfs = umoci_rootfs(case, tmp_path)
    with inspect_path(str(case.archive), case.selector) as insp:
        ours = our_tree(insp)
        disk = disk_tree(rootfs)
        assert ours, "our merged tree is empty"
        assert_same_tree(ours, disk, case.id)
        check_whiteouts(case.image, insp, ours, disk)


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
