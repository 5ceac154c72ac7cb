"""Specification of the sandbox: a writable container layer over an image, as immutable values.

The image used here (built in memory) has, at its top:

    etc/          0750 uid 7, xattr user.k=v  (layer 0)   app.conf, passwd
    bin/sh        file;  bin/link -> ../etc/app.conf (symlink)
    srv/data/     implicit (no layer recorded them)   big.bin (1000 bytes), small.txt (10)
    www/          opaque in layer 1: only new.html is visible; old.html is hidden
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from explorer.core.archive.layer_builder import LayerTarBuilder
from explorer.core.errors import CommitError, SandboxError, UnsafePath
from explorer.core.fs.diff import DiffKind, RemovalCause
from explorer.core.fs.entry import EntryKind
from explorer.core.inspection import Inspection, inspect_path
from explorer.core.sandbox import (
    ChangeKind,
    PathState,
    Sandbox,
    SandboxHistory,
    open_host_file,
    snapshot_host,
)
from tests.core.factories import DockerArchive

T = 1_700_000_000


def base_layers() -> list[bytes]:
    low = LayerTarBuilder()
    low.add_dir("etc", mode=0o750, uid=7, gid=8, mtime=T - 5, xattrs=[(b"user.k", b"v")])
    low.add_file("etc/app.conf", b"key=value\n", mtime=T)
    low.add_file("etc/passwd", b"root:x:0:0\n", mtime=T)
    low.add_dir("bin", mtime=T)
    low.add_file("bin/sh", b"#!sh", mode=0o755, mtime=T)
    low.add_symlink("bin/link", "../etc/app.conf", mtime=T)
    low.add_file("srv/data/big.bin", b"b" * 1000, mtime=T)
    low.add_file("srv/data/small.txt", b"s" * 10, mtime=T)
    low.add_dir("www", mtime=T)
    low.add_file("www/old.html", b"old", mtime=T)
    high = LayerTarBuilder()
    high.add_dir("www", mtime=T)
    high.add_opaque("www")
    high.add_file("www/new.html", b"new!", mtime=T)
    return [low.to_bytes(), high.to_bytes()]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inspection]:
    path = DockerArchive(base_layers()).write(tmp_path_factory.mktemp("img") / "img.tar")
    with inspect_path(str(path)) as insp:
        yield insp


@pytest.fixture
def sandbox(image: Inspection) -> Sandbox:
    return Sandbox.over(image)


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A folder on "the host": a file, an executable, a nested folder, two symlinks."""
    root = tmp_path / "host" / "bundle"
    (root / "nested").mkdir(parents=True)
    (root / "hello.txt").write_bytes(b"hello\n")
    (root / "run.sh").write_bytes(b"#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    (root / "nested" / "deep.txt").write_bytes(b"deep")
    (root / "to-hello").symlink_to("hello.txt")
    (root / "escape").symlink_to("/etc/passwd")
    os.utime(root / "hello.txt", (T + 50, T + 50))
    return root


def paths(tree: Sandbox) -> set[bytes]:
    return {p for p, _n in tree.merged().walk()}


class TestDelete:
    def test_a_file_a_symlink_and_a_folder_each_become_one_whiteout(self, sandbox: Sandbox
                                                                    ) -> None:
        sb = sandbox.delete("/etc/passwd").delete("bin/link").delete("/srv/data/")
        assert sb.layer().whiteouts == (b"bin/link", b"etc/passwd", b"srv/data")
        assert {b"etc/passwd", b"bin/link", b"srv/data", b"srv/data/big.bin"}.isdisjoint(
            paths(sb))
        assert b"etc/app.conf" in paths(sb)

    def test_the_folders_above_a_change_are_copied_exactly_and_implicit_ones_not(
        self, sandbox: Sandbox, image: Inspection
    ) -> None:
        sb = sandbox.delete("etc/passwd").delete("srv/data/small.txt")
        entries = {e.path: e for e in sb.layer().entries}
        assert set(entries) == {b"etc"}  # no layer recorded srv/ or srv/data/
        etc = entries[b"etc"]
        assert etc == image.merged().get(b"etc").entry  # type: ignore[union-attr]
        assert (etc.mode, etc.uid, etc.gid, etc.mtime, etc.xattrs) == (
            0o750, 7, 8, T - 5, ((b"user.k", b"v"),))

    def test_deleted_entries_stay_in_the_view_struck_through_with_their_cause(
        self, sandbox: Sandbox
    ) -> None:
        sb = sandbox.delete("srv/data")
        kinds = {n.path: (n.kind, n.cause) for n in sb.diff().walk()}
        assert kinds[b"srv/data"] == (DiffKind.REMOVED, RemovalCause.WHITEOUT)
        assert kinds[b"srv/data/big.bin"] == (DiffKind.REMOVED, RemovalCause.WHITEOUT)
        assert kinds[b"srv"][0] is DiffKind.MODIFIED
        assert sb.summary().bytes_removed == 1010
        [change] = sb.changes()
        assert (change.kind, change.entries, change.bytes_removed) == (ChangeKind.DELETE, 3, 1010)

    def test_only_what_the_merged_view_shows_can_be_deleted(self, sandbox: Sandbox) -> None:
        with pytest.raises(SandboxError, match="not in the container's filesystem"):
            sandbox.delete("www/old.html")  # hidden by the opaque www/
        with pytest.raises(SandboxError, match="not in the container's filesystem"):
            sandbox.delete("srv/data").delete("srv/data/big.bin")

    def test_deleting_a_folder_absorbs_the_deletions_below_it(self, sandbox: Sandbox) -> None:
        sb = sandbox.delete("srv/data/big.bin").delete("srv/data")
        assert sb.deleted == {b"srv/data"}

    def test_deleting_what_the_sandbox_added_just_drops_it(self, sandbox: Sandbox,
                                                           host: Path) -> None:
        added = sandbox.add(snapshot_host(host), "/srv/bundle")
        assert added.delete("srv/bundle").is_empty
        replaced = sandbox.replace("etc/passwd", snapshot_host(host / "hello.txt"))
        again = replaced.delete("etc/passwd")
        assert again.deleted == {b"etc/passwd"} and not again.added

    @pytest.mark.parametrize(("bad", "error"), [
        ("../etc/passwd", UnsafePath), ("etc/../../x", UnsafePath),
        ("etc/.wh.passwd", UnsafePath), ("etc/.wh..wh..opq", UnsafePath),
        ("etc/pass\0wd", UnsafePath), ("/", SandboxError), ("", SandboxError),
    ])
    def test_paths_are_validated(self, sandbox: Sandbox, bad: str,
                                 error: type[Exception]) -> None:
        with pytest.raises(error):
            sandbox.delete(bad)


class TestRestoreAndUndo:
    def test_every_edit_returns_a_new_value_and_leaves_the_old_one_alone(
        self, sandbox: Sandbox
    ) -> None:
        one = sandbox.delete("etc/passwd")
        two = one.delete("bin/sh")
        assert sandbox.is_empty and one.deleted == {b"etc/passwd"}
        assert two.deleted == {b"etc/passwd", b"bin/sh"}
        assert b"bin/sh" in paths(one) and b"bin/sh" not in paths(two)

    def test_history_undoes_and_redoes_with_labels(self, sandbox: Sandbox) -> None:
        h = SandboxHistory(sandbox).push(sandbox.delete("etc/passwd"))
        h = h.push(h.current.delete("bin"))
        assert h.undo_text == "delete /bin"
        h = h.undo()
        assert h.current.deleted == {b"etc/passwd"} and h.redo_text == "delete /bin"
        assert h.redo().current.deleted == {b"etc/passwd", b"bin"}
        h = h.undo().undo()
        assert h.current is sandbox and not h.can_undo and h.can_redo
        assert h.push(sandbox.delete("www")).redo_stack == ()

    def test_restore_brings_back_a_deleted_path(self, sandbox: Sandbox) -> None:
        sb = sandbox.delete("srv/data").restore("srv/data")
        assert sb.is_empty and paths(sb) == paths(sandbox)

    def test_restoring_inside_a_deleted_folder_keeps_the_rest_deleted(
        self, sandbox: Sandbox
    ) -> None:
        sb = sandbox.delete("srv/data").restore("srv/data/small.txt")
        assert sb.deleted == {b"srv/data/big.bin"}
        assert b"srv/data/small.txt" in paths(sb)
        assert sb.state("srv/data/big.bin") is PathState.DELETED

    def test_restore_undoes_a_replacement_and_refuses_what_is_unchanged(
        self, sandbox: Sandbox, host: Path
    ) -> None:
        sb = sandbox.replace("etc/passwd", snapshot_host(host / "hello.txt"))
        assert sb.state("etc/passwd") is PathState.REPLACED and sb.can_restore("etc/passwd")
        assert sb.restore("etc/passwd").is_empty
        assert not sandbox.can_restore("etc/passwd")
        with pytest.raises(SandboxError, match="nothing to restore"):
            sandbox.restore("etc/passwd")

    def test_states_for_a_view(self, sandbox: Sandbox, host: Path) -> None:
        sb = sandbox.delete("srv/data").add(snapshot_host(host), "etc/bundle")
        assert sb.state("srv/data") is PathState.DELETED
        assert sb.state("srv/data/big.bin") is PathState.HIDDEN
        assert sb.state("etc/bundle/hello.txt") is PathState.ADDED
        assert sb.state("etc") is PathState.CONTAINS_CHANGES
        assert sb.state("bin/sh") is PathState.UNCHANGED
        assert sb.state("www/old.html") is PathState.MISSING  # the image itself hides it
        assert sb.state("nowhere") is PathState.MISSING


class TestAdd:
    def test_a_host_folder_is_added_with_its_modes_mtimes_and_symlinks(
        self, sandbox: Sandbox, host: Path
    ) -> None:
        sb = sandbox.add_into(snapshot_host(host), "/srv")
        added = {p: a.entry for p, a in sb.added.items()}
        assert set(added) == {b"srv/bundle", b"srv/bundle/hello.txt", b"srv/bundle/run.sh",
                              b"srv/bundle/nested", b"srv/bundle/nested/deep.txt",
                              b"srv/bundle/to-hello", b"srv/bundle/escape"}
        assert added[b"srv/bundle/run.sh"].mode == 0o755
        assert added[b"srv/bundle/hello.txt"].mtime == T + 50
        assert (added[b"srv/bundle/hello.txt"].uid, added[b"srv/bundle/hello.txt"].gid) == (0, 0)
        escape = added[b"srv/bundle/escape"]
        assert (escape.kind, escape.link) == (EntryKind.SYMLINK, b"/etc/passwd")  # not followed
        [change] = sb.changes()
        assert (change.kind, change.entries, change.bytes_added) == (ChangeKind.ADD, 7, 20)
        assert sb.summary().bytes_added == 20

    def test_a_folder_merges_into_an_existing_folder_keeping_its_attributes(
        self, sandbox: Sandbox, tmp_path: Path
    ) -> None:
        (tmp_path / "etc").mkdir()
        (tmp_path / "etc" / "extra.conf").write_bytes(b"x")
        (tmp_path / "etc" / "passwd").write_bytes(b"new passwd")
        sb = sandbox.add(snapshot_host(tmp_path / "etc"), "/etc")
        assert set(sb.added) == {b"etc/extra.conf", b"etc/passwd"}
        assert sb.merged().get(b"etc").entry.mode == 0o750  # type: ignore[union-attr]
        assert sb.state("etc/passwd") is PathState.REPLACED

    def test_a_file_never_replaces_a_folder_nor_a_folder_a_file(
        self, sandbox: Sandbox, host: Path
    ) -> None:
        with pytest.raises(SandboxError, match="folder and a file never replace"):
            sandbox.add(snapshot_host(host / "hello.txt"), "/srv/data")
        with pytest.raises(SandboxError, match="folder and a file never replace"):
            sandbox.add(snapshot_host(host), "/etc/passwd")

    def test_the_destination_folder_must_be_a_real_visible_folder(
        self, sandbox: Sandbox, host: Path
    ) -> None:
        tree = snapshot_host(host)
        with pytest.raises(SandboxError, match="does not exist"):
            sandbox.add_into(tree, "/opt")
        with pytest.raises(SandboxError, match="symbolic link"):
            sandbox.mkdir("/bin/link/x")
        with pytest.raises(SandboxError, match="not a folder"):
            sandbox.add_into(tree, "/etc/passwd")

    def test_mkdir_makes_an_empty_folder_and_refuses_an_existing_path(
        self, sandbox: Sandbox
    ) -> None:
        sb = sandbox.mkdir("/opt", mode=0o700, mtime=T)
        assert sb.added[b"opt"].entry.mode == 0o700 and sb.merged().get(b"opt") is not None
        with pytest.raises(SandboxError, match="already exists"):
            sb.mkdir("opt")

    def test_a_folder_deleted_and_made_again_is_opaque(self, sandbox: Sandbox) -> None:
        sb = sandbox.delete("srv/data").mkdir("srv/data", mtime=T)
        layer = sb.layer()
        assert layer.opaque_dirs == (b"srv/data",) and layer.whiteouts == ()
        assert paths(sb) >= {b"srv/data"} and b"srv/data/big.bin" not in paths(sb)
        causes = {n.path: n.cause for n in sb.diff().walk() if n.kind is DiffKind.REMOVED}
        assert causes == {b"srv/data/big.bin": RemovalCause.OPAQUE,
                          b"srv/data/small.txt": RemovalCause.OPAQUE}

    def test_replace_keeps_mode_owner_and_xattrs_of_the_file(self, sandbox: Sandbox,
                                                             host: Path) -> None:
        sb = sandbox.replace("/bin/sh", snapshot_host(host / "hello.txt"))
        entry = sb.added[b"bin/sh"].entry
        assert (entry.kind, entry.mode, entry.size) == (EntryKind.FILE, 0o755, 6)
        with pytest.raises(SandboxError, match="not a regular file"):
            sandbox.replace("/etc", snapshot_host(host / "hello.txt"))
        [change] = sb.changes()
        assert (change.kind, change.bytes_removed, change.bytes_added) == (
            ChangeKind.REPLACE, 4, 6)


class TestHostSnapshot:
    def test_the_chosen_symlink_is_added_as_a_symlink(self, host: Path) -> None:
        tree = snapshot_host(host / "escape")
        assert [(i.rel, i.kind, i.link) for i in tree.items] == [
            (b"escape", EntryKind.SYMLINK, b"/etc/passwd")]

    def test_unsupported_types_and_whiteout_names_are_refused(self, tmp_path: Path) -> None:
        os.mkfifo(tmp_path / "fifo")
        with pytest.raises(SandboxError, match="FIFO"):
            snapshot_host(tmp_path / "fifo")
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / ".wh.sneaky").write_bytes(b"")
        with pytest.raises(SandboxError, match=r"\.wh\."):
            snapshot_host(tmp_path / "d")

    def test_commit_reads_the_bytes_that_were_snapshotted_or_refuses(self, host: Path) -> None:
        tree = snapshot_host(host / "hello.txt")
        file = tree.items[0].file
        assert file is not None
        with open_host_file(file) as fh:
            assert fh.read() == b"hello\n"
        (host / "hello.txt").write_bytes(b"HELLO\n")  # same size, other content
        with open_host_file(file) as fh, pytest.raises(CommitError, match="changed since"):
            fh.read()
        (host / "hello.txt").unlink()
        (host / "hello.txt").symlink_to("run.sh")
        with pytest.raises(CommitError, match="symbolic link"):
            open_host_file(file)
