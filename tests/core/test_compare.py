"""Comparing filesystems: any image at any layer against any other.

The diff runs from A (before) to B (after): ADDED is only in B, REMOVED only in A.  A folder
that exists on one side only is one entry of the change list (its contents counted, not
listed); a folder whose only change is below it is not listed, its changed children are.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from explorer.core.compare import Change, DigestMemo, Endpoint, compare_trees
from explorer.core.fs.diff import DiffKind
from explorer.core.fs.entry import EntryKind
from explorer.core.inspection import Inspection, inspect_path
from tests.conftest import corpus_path
from tests.core.factories import DockerArchive, OciArchive

WEBAPPS = b"usr/local/tomcat/webapps"


def _open(name: str) -> Iterator[Inspection]:
    with inspect_path(str(corpus_path("generated", name))) as ins:
        yield ins


@pytest.fixture(scope="module")
def webapp() -> Iterator[Inspection]:
    yield from _open("mini-webapp.docker.tar")


@pytest.fixture(scope="module")
def nodocs() -> Iterator[Inspection]:
    yield from _open("mini-webapp-nodocs.docker.tar")


@pytest.fixture(scope="module")
def opaque() -> Iterator[Inspection]:
    yield from _open("mini-webapp-opaque.docker.tar")


def _listed(a: Endpoint, b: Endpoint) -> dict[bytes, tuple[DiffKind, Change]]:
    return {c.path: (c.kind, c.changes) for c in compare_trees(a, b).changed_entries()}


def test_removing_docs_shows_exactly_that_folder_removed(webapp: Inspection,
                                                          nodocs: Inspection) -> None:
    cmp = compare_trees(Endpoint(webapp), Endpoint(nodocs))
    [entry] = cmp.changed_entries()
    assert (entry.path, entry.kind) == (WEBAPPS + b"/docs", DiffKind.REMOVED)
    assert entry.entries == 105 and entry.size_after is None and entry.size_before
    # the tree: the folder is REMOVED with its children below it, its parents MODIFIED
    docs = cmp.find(WEBAPPS + b"/docs")
    assert docs is not None and docs.kind is DiffKind.REMOVED
    assert {n.kind for n in docs.walk()} == {DiffKind.REMOVED}
    webapps = cmp.find(WEBAPPS)
    assert webapps is not None  # its mtime changed too, which is no modification
    assert cmp.changes(webapps) & ~Change.MTIME == Change.CHILDREN
    s = cmp.summary()
    assert (s.added, s.removed, s.modified) == (0, 106, 4)  # docs + 105 entries; 4 parents
    assert s.bytes_removed == entry.size_before and s.bytes_added == 0
    assert not cmp.equal


def test_opaque_folder_is_shown_as_replaced_contents(webapp: Inspection,
                                                      opaque: Inspection) -> None:
    listed = _listed(Endpoint(webapp), Endpoint(opaque))
    examples = WEBAPPS + b"/examples"
    gone = {p for p, (k, _) in listed.items() if k is DiffKind.REMOVED}
    assert {p.rpartition(b"/")[2] for p in gone if p.startswith(examples + b"/")} == {
        b"META-INF", b"WEB-INF", b"jsp", b"websocket"}
    kind, changes = listed[examples + b"/index.html"]  # the one file the new layer wrote
    assert kind is DiffKind.MODIFIED and Change.CONTENT in changes
    assert WEBAPPS + b"/docs" in gone
    assert {p for p, (k, _) in listed.items() if k is DiffKind.ADDED} == {
        b"etc/hostname", b"etc/hosts", b"etc/resolv.conf"}  # buildah's mount points
    # and backwards, the hidden contents come back
    back = _listed(Endpoint(opaque), Endpoint(webapp))
    assert back[examples + b"/jsp"][0] is DiffKind.ADDED


def test_a_layer_compared_with_itself_shows_no_change(webapp: Inspection) -> None:
    for layer in range(len(webapp.indexes)):
        for only in (False, True):
            cmp = compare_trees(Endpoint(webapp, layer, only), Endpoint(webapp, layer, only))
            assert cmp.equal and cmp.changed_entries() == []
            assert cmp.root.kind is DiffKind.UNCHANGED


def test_same_layer_of_two_images_sharing_it_is_equal(webapp: Inspection,
                                                       nodocs: Inspection) -> None:
    assert compare_trees(Endpoint(webapp, 5), Endpoint(nodocs, 5)).equal
    assert compare_trees(Endpoint(webapp, 2, True), Endpoint(nodocs, 2, True)).equal


@pytest.mark.parametrize("other", ["mini-webapp.oci-zstd.tar", "mini-webapp.oci.tar",
                                   "mini-webapp.oci-uncompressed.tar"])
def test_the_same_image_in_two_formats_compares_equal_with_digests_on_both_sides(
        webapp: Inspection, other: str) -> None:
    for b in _open(other):
        cmp = compare_trees(Endpoint(webapp), Endpoint(b))
        assert cmp.equal, [c.path for c in cmp.changed_entries()][:5]
        unknown = [p for p, n in cmp.tree_a.walk()
                   if n.entry.kind is EntryKind.FILE and n.entry.needs_digest]
        if "uncompressed" in other:  # the very same tar entries: provably the same bytes
            assert len(unknown) > 200
        else:
            assert unknown == [], "every file both sides have was hashed"
        bin_ = cmp.find(b"bin")
        assert bin_ is not None and bin_.kind is DiffKind.UNCHANGED
        assert webapp.merged().get(b"etc/passwd").entry.digest is not None  # type: ignore[union-attr]


def test_a_layer_against_the_next_names_what_changed_on_each_entry(webapp: Inspection) -> None:
    listed = _listed(Endpoint(webapp, 4), Endpoint(webapp, 5))
    conf = b"usr/local/tomcat/conf/"
    assert listed[conf + b"tomcat-users.xml"] == (DiffKind.MODIFIED, Change.MODE)
    assert listed[conf + b"context.xml"] == (DiffKind.MODIFIED, Change.OWNER)
    kind, changes = listed[conf + b"server.xml"]
    assert kind is DiffKind.MODIFIED
    assert Change.CONTENT in changes and Change.SIZE in changes and Change.XATTRS in changes
    assert b"usr/local/tomcat/RELEASE-NOTES" not in listed, "mtime alone is no change"
    assert listed[WEBAPPS + b"/latest"][0] is DiffKind.ADDED


def test_only_layer_compares_the_layers_own_contents_and_markers(nodocs: Inspection) -> None:
    cmp = compare_trees(Endpoint(nodocs, 5, only_layer=True), Endpoint(nodocs, 6, True))
    assert not cmp.equal
    assert WEBAPPS + b"/docs" in cmp.markers.whiteouts_added
    assert cmp.markers.whiteouts_removed == ()
    server = cmp.find(b"usr/local/tomcat/conf/server.xml")  # written by layer 5 only
    assert server is not None and server.kind is DiffKind.REMOVED


BASE = [("etc", None, "dir"), ("etc/a.conf", b"alpha=1\n", "file"),
        ("etc/same", b"same bytes\n", "file"), ("etc/big", b"x" * 5000, "file")]
OTHER = [("etc", None, "dir"), ("etc/a.conf", b"alpha=2\n", "file"),  # same size and mtime
         ("etc/same", b"same bytes\n", "file"), ("etc/big", b"y" * 5000, "file")]


def test_files_of_same_size_and_mtime_are_hashed_to_tell_them_apart(tmp_path: Path) -> None:
    a_path = DockerArchive([BASE]).write(tmp_path / "a.tar")
    b_path = OciArchive([OTHER], compression="gzip").write(tmp_path / "b.tar")  # type: ignore[arg-type]
    memo = DigestMemo()
    with inspect_path(str(a_path)) as a, inspect_path(str(b_path)) as b:
        assert a.merged().get(b"etc/a.conf").entry.needs_digest  # type: ignore[union-attr]
        cmp = compare_trees(Endpoint(a), Endpoint(b), memo=memo)
        listed = {c.path: c.changes for c in cmp.changed_entries()}
        assert listed == {b"etc/a.conf": Change.CONTENT, b"etc/big": Change.CONTENT}
        assert a.merged().get(b"etc/a.conf").entry.needs_digest, \
            "the image's own trees are left as they are"  # type: ignore[union-attr]
        again = compare_trees(Endpoint(b), Endpoint(a), memo=memo)  # swap: nothing re-read
        assert {c.path for c in again.changed_entries()} == set(listed)
        swapped = cmp.swapped()
        assert swapped.a is cmp.b and swapped.summary() == again.summary()


def test_sizes_and_deltas_for_the_comparison_view(webapp: Inspection,
                                                   nodocs: Inspection) -> None:
    cmp = compare_trees(Endpoint(webapp), Endpoint(nodocs))
    webapps = cmp.find(WEBAPPS)
    docs = cmp.find(WEBAPPS + b"/docs")
    assert webapps is not None and docs is not None
    before, after = cmp.sizes(docs)
    assert after is None and before is not None and before > 0
    assert cmp.size_delta(webapps) == -before
    assert cmp.find(b"no/such/path") is None
