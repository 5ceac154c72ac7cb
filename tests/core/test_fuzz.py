"""Fuzzing the core with Hypothesis: random structured images and damaged corpus files.

Properties:

- opening anything raises nothing but ``ExplorerError`` subclasses;
- indexing is deterministic (same figures and merged tree twice);
- the merged tree equals a reference applier written here, independently of
  ``explorer.core.fs.union``;
- damaged inputs are never changed by being opened.

``HYPOTHESIS_PROFILE=long`` runs thousands of examples (see tests/README.md); the default
profile keeps this file to a few tens of seconds.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from explorer.core.errors import ExplorerError
from explorer.core.fs.entry import EntryKind
from explorer.core.inspection import Inspection, inspect_path
from tests.conftest import CORPUS
from tests.core.factories import Compression, DockerArchive, LayerEntry, OciArchive

_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture,
         HealthCheck.filter_too_much]
settings.register_profile("default", max_examples=40, deadline=None, suppress_health_check=_SLOW,
                          database=None)  # CI leaves no .hypothesis/ folder behind
settings.register_profile("long", max_examples=3000, deadline=None, suppress_health_check=_SLOW)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# ------------------------------------------------------------------------- strategies

_FIXED_NAMES = [b"a", b"b", b"etc", b"usr", "é".encode(), "日本".encode(), b"\xff\xfe",
                b"caf\xe9", b"x y", b"-"]


def _valid_name(name: bytes) -> bool:
    return (name not in (b".", b"..") and b"/" not in name and b"\0" not in name
            and not name.startswith(b".wh."))


_text_names = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/"),
                      min_size=1, max_size=8).map(str.encode)
_names = st.one_of(st.sampled_from(_FIXED_NAMES), _text_names,
                   st.binary(min_size=1, max_size=6)).filter(_valid_name)
# Few, colliding names: most paths meet a path of another layer.
_paths = st.lists(st.one_of(st.sampled_from(_FIXED_NAMES[:4]), _names),
                  min_size=1, max_size=3).map(b"/".join)


@dataclass(frozen=True)
class Op:
    """One change a layer makes: an entry, a whiteout or an opaque marker."""

    kind: str  # file | dir | symlink | hardlink | whiteout | opaque
    path: bytes  # b"" only for an opaque root
    size: int = 0
    link: bytes = b""

    def tar_name(self) -> bytes:
        parent, _, name = self.path.rpartition(b"/")
        prefix = parent + b"/" if parent else b""
        if self.kind == "whiteout":
            return prefix + b".wh." + name
        if self.kind == "opaque":
            return self.path + b"/.wh..wh..opq" if self.path else b".wh..wh..opq"
        return self.path


def _ops(with_hardlinks: bool) -> st.SearchStrategy[Op]:
    kinds = ["file", "file", "dir", "symlink", "whiteout", "opaque"]
    if with_hardlinks:
        kinds.append("hardlink")

    @st.composite
    def op(draw: st.DrawFn) -> Op:
        kind = draw(st.sampled_from(kinds))
        if kind == "opaque":
            return Op(kind, draw(st.one_of(st.just(b""), _paths)))
        path = draw(_paths)
        if kind == "file":
            return Op(kind, path, size=draw(st.integers(0, 3000)))
        if kind in ("symlink", "hardlink"):
            return Op(kind, path, link=draw(_paths))
        return Op(kind, path)

    return op()


def _layer(with_hardlinks: bool) -> st.SearchStrategy[list[Op]]:
    return st.lists(_ops(with_hardlinks), min_size=0, max_size=12,
                    unique_by=lambda o: o.tar_name())


@dataclass(frozen=True)
class ImageCase:
    layers: list[list[Op]]
    builder: str  # docker | oci
    compression: Compression


@st.composite
def images(draw: st.DrawFn, *, with_hardlinks: bool) -> ImageCase:
    layers = draw(st.lists(_layer(with_hardlinks), min_size=1, max_size=5))
    builder = draw(st.sampled_from(["docker", "oci"]))
    compression: Compression = draw(st.sampled_from([None, "gzip", "zstd"]))
    return ImageCase(layers, builder, compression)


def _entries(ops: list[Op]) -> list[LayerEntry]:
    out: list[LayerEntry] = []
    for op in ops:
        name = op.tar_name()
        if op.kind in ("whiteout", "opaque"):
            out.append((name, b"", "file"))
        elif op.kind == "file":
            out.append((name, bytes(range(256)) * (op.size // 256) + b"z" * (op.size % 256),
                        "file"))
        elif op.kind == "dir":
            out.append((name, None, "dir"))
        else:
            out.append((name, op.link, op.kind))
    return out


def _write(case: ImageCase, path: Path) -> Path:
    specs = [_entries(ops) for ops in case.layers]
    archive = (DockerArchive(specs, compression=case.compression) if case.builder == "docker"
               else OciArchive(specs, compression=case.compression))
    return archive.write(path)


# --------------------------------------------------------------------- reference applier

Ref = dict[bytes, tuple[str, int, bytes]]
"""path -> (type, size, link); a directory is ("dir", 0, b"").

Sizes are compared for regular files only: a hardlink's size is the target's when the union
resolves it and the tar header's (0) when the layer reader already hashed it, so hardlinks are
compared by type and link."""


def _drop_below(tree: Ref, path: bytes) -> None:
    for p in [p for p in tree if p.startswith(path + b"/")]:
        del tree[p]


def _prefixes(path: bytes) -> list[bytes]:
    parts = path.split(b"/")
    return [b"/".join(parts[:i]) for i in range(1, len(parts))]


def reference_apply(layers: list[list[Op]]) -> tuple[Ref, bool]:
    """OCI layer semantics, written from the spec rather than from union.py.

    Also returns whether a whiteout named a path below a symlink: the spec leaves open whether
    it acts through the link (containerd resolves it inside the root), so such cases are not
    compared."""
    tree: Ref = {}
    unsure = False
    for ops in layers:
        for op in ops:  # opaque directories and whiteouts act on the layers below, first
            if op.kind == "opaque":
                if not op.path:
                    tree.clear()
                elif tree.get(op.path, ("",))[0] == "dir":
                    _drop_below(tree, op.path)
        for op in ops:
            if op.kind == "whiteout" and any(tree.get(p, ("",))[0] == "symlink"
                                             for p in _prefixes(op.path)):
                unsure = True
            if op.kind == "whiteout" and op.path in tree:
                del tree[op.path]
                _drop_below(tree, op.path)
        for op in ops:
            if op.kind in ("whiteout", "opaque"):
                continue
            prefixes = _prefixes(op.path)
            if any(p in tree and tree[p][0] != "dir" for p in prefixes):
                continue  # a parent is not a directory: dropped
            for p in prefixes:
                tree.setdefault(p, ("dir", 0, b""))
            if op.kind != "dir":
                _drop_below(tree, op.path)
            tree[op.path] = (op.kind, op.size if op.kind == "file" else 0, op.link)
    return tree, unsure


_KIND = {EntryKind.FILE: "file", EntryKind.DIR: "dir", EntryKind.SYMLINK: "symlink",
         EntryKind.HARDLINK: "hardlink"}


def merged_as_ref(ins: Inspection) -> Ref:
    out: Ref = {}
    for path, node in ins.merged().walk():
        kind = _KIND.get(node.entry.kind, str(node.entry.kind))
        size = node.entry.size if kind == "file" else 0
        link = node.entry.link if kind in ("symlink", "hardlink") else b""
        out[path] = (kind, size, link)
    return out


def _figures(ins: Inspection) -> tuple[object, ...]:
    """repr: a NaN ratio (no layer above the base) is equal to itself."""
    return (repr(ins.efficiency), [ix.size for ix in ins.indexes],
            [ix.file_count for ix in ins.indexes], [p for p, _ in ins.merged().walk()],
            ins.warnings)


def _exercise(path: Path) -> None:
    """Open, index and walk everything the windows would show; only ExplorerError may escape."""
    try:
        with inspect_path(str(path)) as ins:
            _ = ins.efficiency
            for layer in range(len(ins.indexes)):
                sum(1 for _ in ins.merged(layer).walk())
                sum(1 for _ in ins.layer_changes(layer).walk())
    except ExplorerError:
        pass


# --------------------------------------------------------------------------- properties


@given(case=images(with_hardlinks=True))
def test_random_images_raise_only_explorer_errors(tmp_path: Path, case: ImageCase) -> None:
    _exercise(_write(case, tmp_path / "img.tar"))


@given(case=images(with_hardlinks=True))
def test_indexing_twice_gives_identical_figures(tmp_path: Path, case: ImageCase) -> None:
    path = _write(case, tmp_path / "img.tar")
    try:
        with inspect_path(str(path)) as first, inspect_path(str(path)) as second:
            assert _figures(first) == _figures(second)
    except ExplorerError:
        pass


@given(case=images(with_hardlinks=True))
def test_merged_tree_equals_the_reference_applier(tmp_path: Path, case: ImageCase) -> None:
    expected, unsure = reference_apply(case.layers)
    assume(not unsure)
    path = _write(case, tmp_path / "img.tar")
    with inspect_path(str(path)) as ins:
        assert merged_as_ref(ins) == expected


# ------------------------------------------------------------------- damaged corpus files

_CORPUS_FILES = sorted((CORPUS / "generated").glob("*.tar")) if CORPUS.exists() else []


@st.composite
def damage(draw: st.DrawFn) -> tuple[Path, int | None, list[tuple[int, int]]]:
    """A corpus file, an optional truncation offset (fraction of the size) and byte flips."""
    source = draw(st.sampled_from(_CORPUS_FILES))
    size = source.stat().st_size
    cut = draw(st.one_of(st.none(), st.integers(0, size - 1)))
    end = size if cut is None else cut
    flips = draw(st.lists(st.tuples(st.integers(0, max(end - 1, 0)), st.integers(1, 255)),
                          max_size=0 if end == 0 else 8))
    if cut is None and not flips:
        flips = [(draw(st.integers(0, size - 1)), draw(st.integers(1, 255)))]
    return source, cut, flips


@pytest.mark.skipif(not _CORPUS_FILES, reason="../shared/corpus/generated is not available")
@given(damaged=damage())
def test_damaged_corpus_files_raise_only_explorer_errors_and_stay_unchanged(
        tmp_path: Path, damaged: tuple[Path, int | None, list[tuple[int, int]]]) -> None:
    source, cut, flips = damaged
    copy = tmp_path / source.name
    shutil.copyfile(source, copy)
    with open(copy, "r+b") as f:
        if cut is not None:
            f.truncate(cut)
        for offset, mask in flips:
            f.seek(offset)
            byte = f.read(1)
            f.seek(offset)
            f.write(bytes([byte[0] ^ mask]))
    before = hashlib.sha256(copy.read_bytes()).hexdigest()
    _exercise(copy)
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == before
