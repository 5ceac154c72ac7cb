"""The path filter (substring, glob, /regex/) gives what walking the tree would give.

``visible_paths`` matches against a flat listing of the tree made once per tree; the reference
below walks the tree node by node, as the filter did before, and both must agree on every
pattern, every mode and every set of hidden kinds.
"""

from __future__ import annotations

import itertools

import pytest

from explorer.core.fs.diff import DiffKind, DiffNode
from explorer.core.fs.tree_filter import (
    FilterSyntaxError,
    Matcher,
    compile_filter,
    flat_paths,
    shown_path,
    visible_paths,
)
from explorer.core.inspection import Inspection, inspect_path
from tests.conftest import corpus_path

PATTERNS = ["docs", "DOCS", "index", "/usr/*", "*.jsp", "webapps/*/index*", "/regex/",
            "re:^/usr/local/tomcat/webapps/[a-d]", "/^/etc/(passwd|group)$/", "?tc",
            "no-such-thing", "[abc]*.xml", "/usr/local/*/bin/*", "*CONF*", "*", "/*",
            "*.sh", "tomcat/*?", "/etc/??ss*"]
HIDDEN = [frozenset(), frozenset({DiffKind.UNCHANGED}),
          frozenset({DiffKind.REMOVED, DiffKind.UNCHANGED}),
          frozenset({DiffKind.ADDED, DiffKind.MODIFIED})]


def reference(root: DiffNode, matcher: Matcher, hidden: frozenset[DiffKind]) -> set[bytes]:
    keep: set[bytes] = set()
    stack = list(root.children)
    while stack:
        node = stack.pop()
        if node.kind not in hidden and matcher(shown_path(node.path)):
            path = node.path
            while path:
                keep.add(path)
                path = path.rpartition(b"/")[0]
        if node.is_dir and (node.kind not in hidden or node.kind is DiffKind.MODIFIED):
            stack.extend(node.children)
    return keep


@pytest.fixture(scope="module")
def inspection() -> Inspection:
    return inspect_path(str(corpus_path("generated", "mini-webapp-opaque.docker.tar")))


def roots(ins: Inspection) -> list[DiffNode]:
    top = len(ins.indexes) - 1
    return [ins.layer_changes(top), ins.aggregated_changes(top), ins.layer_changes(1)]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_flat_filter_equals_walking_the_tree(inspection: Inspection, pattern: str) -> None:
    matcher = compile_filter(pattern)
    assert matcher is not None
    for root, hidden in itertools.product(roots(inspection), HIDDEN):
        assert visible_paths(root, matcher, hidden) == reference(root, matcher, hidden)


def test_matching_rules() -> None:
    def hits(pattern: str, path: str) -> bool:
        matcher = compile_filter(pattern)
        assert matcher is not None
        return matcher(path)

    assert hits("DOCS", "/usr/local/tomcat/webapps/docs/index.html")  # any case
    assert hits("*.conf", "/etc/nginx/nginx.conf") and not hits("*.conf", "/etc/conf.d/x")
    assert hits("/etc/*.conf", "/etc/a.conf") and not hits("/etc/*.conf", "/x/etc/a.conf")
    assert hits("nginx/*", "/etc/nginx/sites/default")  # no leading "/": anywhere
    assert hits("/^/etc//", "/etc/x") and not hits("/^/etc//", "/x/etc/y")  # /regex/
    assert hits("re:^/etc/", "/etc/x") and not hits("re:^/etc/", "/x/etc/")
    assert hits("a.b", "/a.b") and not hits("a.b", "/axb")  # a substring is literal
    assert compile_filter("   ") is None
    with pytest.raises(FilterSyntaxError, match="regular expression"):
        compile_filter("re:(")


def test_a_tree_is_listed_once_for_any_number_of_filters(inspection: Inspection) -> None:
    root = roots(inspection)[1]
    first = flat_paths(root)
    for pattern in PATTERNS:
        matcher = compile_filter(pattern)
        assert matcher is not None
        visible_paths(root, matcher)
    assert flat_paths(root) is first
    assert [n.path for n in first.nodes] == [n.path for n in root.walk()]


def test_a_listing_goes_when_its_tree_goes(inspection: Inspection) -> None:
    import gc

    from explorer.core.fs import tree_filter

    root = inspection.layer_changes(2)
    flat_paths(root)
    before = len(tree_filter._flat)
    del root
    gc.collect()
    assert len(tree_filter._flat) == before - 1


def test_a_second_caller_waits_for_the_listing_being_made(
        inspection: Inspection, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window starts a listing when the filter box gets focus; the filter that follows
    waits for it rather than listing the tree a second time."""
    import threading
    import time

    from explorer.core.fs import tree_filter

    real = tree_filter._list
    calls: list[int] = []

    def slow(root: DiffNode, cancel: object) -> tree_filter.FlatPaths:
        calls.append(1)
        time.sleep(0.2)
        return real(root, cancel)  # type: ignore[arg-type]

    monkeypatch.setattr(tree_filter, "_list", slow)
    root = inspection.layer_changes(3)
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(flat_paths(root)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(results) == 3 and all(r is results[0] for r in results)
    assert not tree_filter._building


def test_a_cancelled_listing_leaves_nothing_behind(inspection: Inspection) -> None:
    from explorer.core.errors import Cancelled
    from explorer.core.fs import tree_filter
    from explorer.core.tasks import CancelToken

    root = inspection.layer_changes(4)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        flat_paths(root, cancel=token)
    assert not tree_filter._building
    assert flat_paths(root).nodes  # the next caller makes it


@pytest.mark.parametrize("cap", [0, 2, 10_000])
def test_the_joined_search_and_its_fallback_agree(inspection: Inspection, cap: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Globs with a literal run as one search over the joined paths; past the cap of matches
    the per-path test takes over. Either way the rows are the same."""
    from explorer.core.fs import tree_filter

    monkeypatch.setattr(tree_filter, "JOINED_MAX_HITS", cap)
    root = roots(inspection)[1]
    for pattern in ("*.jsp", "/usr/*", "/*", "webapps/*/index*"):
        matcher = compile_filter(pattern)
        assert matcher is not None and matcher.joined is not None
        assert visible_paths(root, matcher) == reference(root, matcher, frozenset())
