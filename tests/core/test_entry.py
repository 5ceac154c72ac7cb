"""Symlink targets resolve as inside a container: from the link's directory, absolute links
from the root, and ``..`` never climbs above the root."""

from __future__ import annotations

import pytest

from explorer.core.fs.entry import link_target


@pytest.mark.parametrize(("parent", "link", "expected"), [
    ([b"usr"], b"../etc/app.conf", [b"etc", b"app.conf"]),
    ([b"usr", b"bin"], b"./tool", [b"usr", b"bin", b"tool"]),
    ([b"usr", b"bin"], b"/etc//passwd", [b"etc", b"passwd"]),
    ([b"a"], b"../../../../etc", [b"etc"]),
    ([], b"target", [b"target"]),
    ([b"a"], b"/", []),
])
def test_a_symlink_target_is_resolved_within_the_root(parent: list[bytes], link: bytes,
                                                      expected: list[bytes]) -> None:
    assert link_target(parent, link) == expected


def test_the_parent_list_is_not_changed() -> None:
    parent = [b"a", b"b"]
    link_target(parent, b"../c")
    assert parent == [b"a", b"b"]
