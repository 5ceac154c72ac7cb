"""Path filters for the diff trees: substring, glob or regular expression on the full path.

A filter keeps the entries whose full path matches and every ancestor of those, so a match deep
in the tree stays reachable.  Walking a million-entry tree takes a while: the GUI runs
``visible_paths`` in a job, with cancel.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable

from explorer.core.errors import ExplorerError
from explorer.core.fs.diff import DiffKind, DiffNode
from explorer.core.tasks import NEVER_CANCELLED, CancelToken

Matcher = Callable[[str], bool]


class FilterSyntaxError(ExplorerError):
    """The filter text is not a valid pattern (shown inline, next to the filter box)."""


def compile_filter(text: str) -> Matcher | None:
    """None for an empty filter.  ``/regex/`` or ``re:regex`` is a regular expression; text
    with ``*``, ``?`` or ``[`` is a glob on the full path (``/etc/*.conf``; a pattern without a
    leading ``/`` may match anywhere); anything else is a case-insensitive substring.

    Raises FilterSyntaxError."""
    text = text.strip()
    if not text:
        return None
    if text.startswith("re:") or (len(text) > 1 and text.startswith("/") and text.endswith("/")
                                  and not any(c in text for c in "*?[")):
        pattern = text[3:] if text.startswith("re:") else text[1:-1]
        try:
            rx = re.compile(pattern)
        except re.error as exc:
            raise FilterSyntaxError(f"Not a valid regular expression: {exc}.") from exc
        return lambda path: rx.search(path) is not None
    if any(c in text for c in "*?["):
        glob = text if text.startswith("/") else "*" + text
        rx = re.compile(fnmatch.translate(glob), re.IGNORECASE)
        return lambda path: rx.match(path) is not None
    needle = text.lower()
    return lambda path: needle in path.lower()


def shown_path(path: bytes) -> str:
    """The path a filter sees: absolute, decoded as the tree shows it."""
    return "/" + path.decode("utf-8", "backslashreplace")


def visible_paths(
    root: DiffNode,
    matcher: Matcher | None,
    hidden: frozenset[DiffKind] = frozenset(),
    *,
    cancel: CancelToken = NEVER_CANCELLED,
) -> set[bytes] | None:
    """Paths to show: matches of kinds not hidden, plus their ancestors (None: no filter)."""
    if matcher is None:
        return None
    keep: set[bytes] = set()
    stack = list(root.children)
    count = 0
    while stack:
        node = stack.pop()
        count += 1
        if count & 4095 == 0:
            cancel.check()
        if node.kind not in hidden and matcher(shown_path(node.path)):
            path = node.path
            while path and path not in keep:
                keep.add(path)
                path = path.rpartition(b"/")[0]
        # Below an added, removed or unchanged directory every entry is of the same kind, so
        # a hidden kind hides the whole subtree; a modified directory can hold anything.
        if node.is_dir and (node.kind not in hidden or node.kind is DiffKind.MODIFIED):
            stack.extend(node.children)
    return keep
