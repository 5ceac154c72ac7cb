"""The flat stacked trees answer exactly as dive's node trees (``dive_tree``, the reference)
on every layer range of real images and on the quirky cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.core.analysis.dive_stack import FlatStack, layer_nodes
from explorer.core.analysis.dive_tree import DNode, DTree, dive_tree
from explorer.core.inspection import inspect_path
from tests.conftest import corpus_path
from tests.core.factories import DockerArchive


def _reference_paths(tree: DTree) -> dict[bytes, int]:
    """Every node's path -> what a whiteout of it would count (dive's rule)."""
    out: dict[bytes, int] = {}
    stack: list[tuple[bytes, DNode]] = [(b"", tree.root)]
    while stack:
        path, node = stack.pop()
        for name, child in node.children.items():
            p = path + b"/" + name if path else name
            size = 0
            if child.is_dir:
                size = child.size + sum(n.size for n in child.post_order_all())
            out[p] = size
            stack.append((p, child))
    return out


def _flat_paths(tree: FlatStack) -> dict[bytes, int]:
    return {p: tree.whiteout_size(p) for p in tree.size}


def _check_all_ranges(indexes: list) -> None:  # type: ignore[type-arg]
    ref = dive_tree(indexes[0]).copy()
    flat = FlatStack.of_layer(layer_nodes(indexes[0]))
    assert _flat_paths(flat) == _reference_paths(ref)
    for index in indexes:
        ref.stack(dive_tree(index))
        flat.stack(layer_nodes(index))
        assert _flat_paths(flat) == _reference_paths(ref)


@pytest.mark.parametrize("name", ["mini-webapp-opaque.docker.tar",
                                  "mini-webapp-nodocs.docker.tar", "mini-webapp.oci.tar"])
def test_every_layer_range_of_real_images(name: str) -> None:
    with inspect_path(str(corpus_path("generated", name))) as ins:
        _check_all_ranges(ins.indexes)


def test_the_quirky_cases(tmp_path: Path) -> None:
    base = [("a", None, "dir"), ("a/b", None, "dir"), ("a/b/f", b"12345", "file"),
            ("a/g", b"xy", "file"), ("keep", b"k", "file"), ("d", None, "dir"),
            ("d/x", b"xx", "file")]
    upper = [("a/.wh.b", b"", "file"),              # a directory deleted
             ("a/b", None, "dir"), ("a/b/new", b"n", "file"),  # and made again
             ("d/.wh..wh..opq", b"", "file"),       # an opaque marker: parents only
             ("e/f/g", b"deep", "file"),            # implicit parents of a new path
             ("keep", b"kk", "file")]               # a file rewritten
    top = [("a/b/new", b"again", "file"), (".wh.d", b"", "file"), ("e/.wh.f", b"", "file")]
    path = DockerArchive([base, upper, top]).write(tmp_path / "q.tar")
    with inspect_path(str(path)) as ins:
        _check_all_ranges(ins.indexes)


def test_the_byte_key_orders_paths_as_dive_visits_them() -> None:
    from explorer.core.analysis.dive_stack import _post_order_key

    paths = [b"a", b"a/b", b"a/b/c", b"a-b", b"ab", b"a\x01", b"a\x01/x", b"a\x02", b"b",
             b"a/\x01", b"a/b\x01c", b".wh.a", b"a/.wh.b"]

    def reference(p: bytes) -> tuple[tuple[int, bytes], ...]:
        return (*((0, c) for c in p.split(b"/")), (1, b""))

    assert sorted(paths, key=_post_order_key) == sorted(paths, key=reference)
