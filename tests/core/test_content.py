"""Content digests: uncompressed layers hash a file only when another layer has the same path.

Whatever the compression, a file rewritten with different bytes (same size, same mtime) is
*modified* and a file re-added with the same bytes is *unchanged*: the figures must not depend
on which files were hashed while reading and which on demand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.core.fs.diff import DiffKind
from explorer.core.fs.entry import EntryKind
from explorer.core.inspection import inspect_path
from tests.core.factories import DockerArchive, LayerEntry, OciArchive

BASE = [("etc", None, "dir"), ("etc/a.conf", b"alpha=1\n", "file"),
        ("etc/b.conf", b"beta=1\n", "file"), ("etc/only-base", b"x" * 5000, "file"),
        ("etc/hard", "etc/a.conf", "hardlink")]
TOP = [("etc", None, "dir"),
       ("etc/a.conf", b"alpha=2\n", "file"),   # same size and mtime, other bytes
       ("etc/b.conf", b"beta=1\n", "file"),    # the very same bytes again
       ("etc/hard", "etc/b.conf", "hardlink"),  # now names a file with other content
       ("etc/new", b"new\n", "file")]


def _kinds(path: Path) -> dict[bytes, DiffKind]:
    with inspect_path(str(path)) as ins:
        return {n.path: n.kind for n in ins.layer_changes(1).walk()}


@pytest.mark.parametrize("fmt", ["docker-plain", "oci-gzip", "oci-zstd"])
def test_modified_and_readded_files_are_told_apart(tmp_path: Path, fmt: str) -> None:
    archive = (DockerArchive([BASE, TOP]) if fmt == "docker-plain"
               else OciArchive([BASE, TOP], compression=fmt.split("-")[1]))  # type: ignore[arg-type]
    kinds = _kinds(archive.write(tmp_path / "img.tar"))
    assert kinds[b"etc/a.conf"] is DiffKind.MODIFIED
    assert kinds[b"etc/b.conf"] is DiffKind.UNCHANGED
    assert kinds[b"etc/hard"] is DiffKind.MODIFIED
    assert kinds[b"etc/new"] is DiffKind.ADDED


def test_plain_layers_hash_only_the_files_two_layers_share(tmp_path: Path) -> None:
    path = DockerArchive([BASE, TOP]).write(tmp_path / "img.tar")
    with inspect_path(str(path)) as ins:
        base = {e.path: e for e in ins.indexes[0].entries}
        top = {e.path: e for e in ins.indexes[1].entries}
    assert base[b"etc/only-base"].digest is None, "a file no other layer has is not hashed"
    assert base[b"etc/only-base"].data_offset > 0
    assert base[b"etc/a.conf"].digest is not None and top[b"etc/a.conf"].digest is not None
    assert base[b"etc/hard"].kind is EntryKind.HARDLINK
    assert base[b"etc/hard"].digest == base[b"etc/a.conf"].digest


def _digests_both_ways(tmp_path: Path, layers: list[list[LayerEntry]]
                       ) -> tuple[Path, list[tuple[dict[bytes, bytes], dict[bytes, bytes]]]]:
    """The image as plain layers and, per layer, (the digests its files got on demand, every
    digest of the same layer gzipped, which were all computed while reading)."""
    plain = DockerArchive(layers).write(tmp_path / "plain.tar")
    gz = OciArchive(layers, compression="gzip").write(tmp_path / "gz.tar")
    with inspect_path(str(plain)) as a, inspect_path(str(gz)) as b:
        return plain, [({e.path: e.digest for e in ia.entries if e.digest is not None},
                        {e.path: e.digest for e in ib.entries if e.digest is not None})
                       for ia, ib in zip(a.indexes, b.indexes, strict=True)]


def test_digests_on_demand_equal_digests_while_reading(tmp_path: Path) -> None:
    _plain, layers = _digests_both_ways(tmp_path, [BASE, TOP])
    for on_demand, while_reading in layers:
        assert on_demand, "some files were hashed"
        assert all(while_reading[p] == d for p, d in on_demand.items())


def test_a_hardlink_to_a_hashed_file_gets_its_hash_even_when_only_the_file_is_shared(
        tmp_path: Path) -> None:
    """``etc/link`` is in one layer only, but it names ``etc/a.conf``, which both layers
    have: the raw index shows the same hash for both (the file panel reads it from there)."""
    top = [*TOP, ("etc/link", "etc/a.conf", "hardlink")]
    path = DockerArchive([BASE, top]).write(tmp_path / "img.tar")
    with inspect_path(str(path)) as ins:
        entries = {e.path: e for e in ins.indexes[1].entries}
    assert entries[b"etc/a.conf"].digest is not None
    assert entries[b"etc/link"].digest == entries[b"etc/a.conf"].digest


@pytest.mark.parametrize(("group_bytes", "group_gap"), [(1 << 20, 16 << 10), (2048, 1024), (1, 0)])
def test_neighbouring_files_hashed_from_one_read_get_their_own_digests(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, group_bytes: int,
        group_gap: int) -> None:
    """Runs of small shared files are read at once (whatever the run's limits), and each
    still gets the digest of its own bytes, the same as a gzip layer hashed while read."""
    from explorer.core.fs import content

    monkeypatch.setattr(content, "GROUP_BYTES", group_bytes)
    monkeypatch.setattr(content, "GROUP_GAP", group_gap)
    files = [(f"d/f{i:03d}", bytes([i]) * (i * 7 % 300), "file") for i in range(120)]
    big = [("d/big", b"B" * 70_000, "file")]
    lower = [("d", None, "dir"), *files[:60], *big, *files[60:]]
    upper = [("d", None, "dir"), *[(p, data + b"!", k) for p, data, k in files[::3]], *big]
    plain, layers = _digests_both_ways(tmp_path, [lower, upper])
    for on_demand, while_reading in layers:
        assert len(on_demand) == 41, "the 40 shared small files and the big one"
        assert all(while_reading[path] == digest for path, digest in on_demand.items())
    kinds = _kinds(plain)
    assert kinds[b"d/f003"] is DiffKind.MODIFIED and kinds[b"d/big"] is DiffKind.UNCHANGED
