"""Text diffs of a compared path: unified and side by side, binaries by size and hash."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from explorer.core.compare import Comparison, Endpoint, compare_trees, text_diff
from explorer.core.inspection import Inspection, inspect_path
from tests.conftest import corpus_path

CONF = b"usr/local/tomcat/conf/server.xml"


@pytest.fixture(scope="module")
def layers_4_5() -> Iterator[Comparison]:
    with inspect_path(str(corpus_path("generated", "mini-webapp.docker.tar"))) as ins:
        yield compare_trees(Endpoint(ins, 4), Endpoint(ins, 5))


def test_a_modified_text_file_gives_unified_and_side_by_side_lines(
        layers_4_5: Comparison) -> None:
    diff = text_diff(layers_4_5, CONF)
    assert diff.kind == "text" and not diff.identical
    assert diff.unified[0] == f"--- a/{CONF.decode()}"
    removed = [x for x in diff.unified if x.startswith("-") and not x.startswith("---")]
    added = [x for x in diff.unified if x.startswith("+") and not x.startswith("+++")]
    assert any("8080" in x for x in removed) and any("8081" in x for x in added)
    changed = [r for r in diff.rows if r.tag != "equal"]
    assert changed and all(r.a_text != r.b_text for r in changed)
    assert any(r.tag == "replace" and "8080" in (r.a_text or "") and "8081" in (r.b_text or "")
               for r in changed)
    assert diff.a.size is not None and diff.b.size == diff.a.size + 39


def test_an_added_file_diffs_against_nothing(layers_4_5: Comparison) -> None:
    diff = text_diff(layers_4_5, b"usr/local/tomcat/webapps/ROOT/Release Notes (final) v1.txt")
    assert diff.kind == "text" and not diff.a.exists and diff.b.exists
    assert diff.unified[0] == "--- /dev/null"
    assert all(r.tag == "insert" for r in diff.rows)


def test_binaries_and_big_files_get_sizes_and_hashes_only(layers_4_5: Comparison) -> None:
    jar = b"usr/local/tomcat/lib/jakarta.servlet-api.jar"
    diff = text_diff(layers_4_5, jar)
    assert diff.kind == "binary" and diff.rows == () and diff.b.digest
    capped = text_diff(layers_4_5, CONF, limit=100)
    assert capped.kind == "too_large" and capped.unified == ()
    assert capped.a.size is not None and capped.a.size > 100


def test_the_same_file_is_identical_and_folders_are_not_files(
        layers_4_5: Comparison) -> None:
    same = text_diff(layers_4_5, b"etc/passwd")
    assert same.identical and [r.tag for r in same.rows] == ["equal"] * len(same.rows)
    folder = text_diff(layers_4_5, b"usr/local/tomcat/conf")
    assert folder.kind == "not_a_file" and "not a regular file" in folder.message


def test_two_images_diff_by_their_own_bytes() -> None:
    inss: list[Inspection] = []
    for name in ("mini-webapp.docker.tar", "mini-webapp-opaque.oci-zstd.tar"):
        inss.append(inspect_path(str(corpus_path("generated", name))))
    try:
        cmp = compare_trees(Endpoint(inss[0]), Endpoint(inss[1]))
        diff = text_diff(cmp, b"usr/local/tomcat/webapps/examples/index.html")
        assert diff.kind == "text" and diff.a.digest != diff.b.digest
    finally:
        for ins in inss:
            ins.close()
