"""``normalize_layer_path``: its shortcut for ``dir/`` names gives what the general path does."""

from __future__ import annotations

import posixpath
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.core.fs.layer_paths import needs_normalizing, normalize_layer_path


def _reference(raw: bytes) -> bytes | None:
    """The general rule alone (no shortcut), written out independently."""
    p = raw
    while p.startswith(b"./"):
        p = p[2:]
    p = posixpath.normpath(b"/" + p.lstrip(b"/")).lstrip(b"/")
    depth = 0
    for part in raw.split(b"/"):
        if part == b"..":
            depth -= 1
            if depth < 0:
                return None
        elif part not in (b"", b"."):
            depth += 1
    return b"" if p == b"." else p


@pytest.mark.parametrize(("raw", "want"), [
    (b"etc/", b"etc"), (b"./etc/apt/", b"etc/apt"), (b"/usr/lib/", b"usr/lib"),
    (b"./", b""), (b"/", b""), (b".", b""), (b"a//b/", b"a/b"), (b"a/./b/", b"a/b"),
    (b"a/../b/", b"b"), (b"../x/", None), (b"a/../../x/", None), (b"./.hidden/", b".hidden"),
    (b"a..b/", b"a..b"), (b"a/b//", b"a/b"), (b"a/b/.", b"a/b"), (b"\xff\xfe/", b"\xff\xfe"),
])
def test_examples(raw: bytes, want: bytes | None) -> None:
    assert normalize_layer_path(raw) == want
    assert _reference(raw) == want


@pytest.mark.parametrize(("raw", "want"), [
    (b"/./a", b"a"), (b".//./a/b", b"a/b"), (b"/./", b""), (b"//.//./x/", b"x")])
def test_a_dot_part_after_the_leading_slash(raw: bytes, want: bytes) -> None:
    assert normalize_layer_path(raw) == want == _reference(raw)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from([b"", b".", b"..", b"a", b".a", b"a.", b"..a", b"\xff"]),
                min_size=1, max_size=6))
def test_same_as_the_general_rule(parts: list[bytes]) -> None:
    raw = b"/".join(parts)
    assert normalize_layer_path(raw) == _reference(raw)


@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(max_size=12) | st.lists(st.sampled_from([b"", b".", b"a", b"/", b".wh."]),
                                          max_size=6).map(b"".join))
def test_the_quick_test_is_the_one_regex(raw: bytes) -> None:
    """``needs_normalizing`` is the single regex it replaced, written as cheaper byte tests."""
    assert needs_normalizing(raw) == bool(re.search(rb"\A[/.]|/\Z|//|/\.", raw))
