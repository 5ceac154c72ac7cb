"""The sandbox's edits as a list (what was deleted, added, replaced, and how many bytes)."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from explorer.core.fs.entry import EntryKind
from explorer.core.fs.union import Node
from explorer.core.sandbox.paths import ancestors, is_under, shown

if TYPE_CHECKING:
    from explorer.core.sandbox.model import Sandbox

_FILES = (EntryKind.FILE, EntryKind.HARDLINK)


class ChangeKind(enum.Enum):
    DELETE = "delete"
    ADD = "add"
    REPLACE = "replace"


@dataclass(frozen=True)
class Change:
    """One edit as a list shows it, with its size effect."""

    kind: ChangeKind
    path: bytes
    entry_kind: EntryKind
    entries: int
    """Paths it touches (a folder counts everything below it)."""
    bytes_removed: int
    bytes_added: int

    def describe(self) -> str:
        text = f"{self.kind.value} {shown(self.path)}"
        if self.entry_kind is EntryKind.DIR and self.entries > 1:
            text += f" ({self.entries - 1} entries)"
        return text


def _subtree(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if n.children:
            stack.extend(n.children.values())


def _bytes(node: Node) -> tuple[int, int]:
    """(entries, bytes of non-folders) of a subtree."""
    count = size = 0
    for n in _subtree(node):
        count += 1
        if n.children is None and n.entry.kind in _FILES:
            size += n.entry.size
    return count, size


def list_changes(sandbox: Sandbox) -> list[Change]:
    """Deletions, additions (a folder with everything in it is one change) and replacements,
    sorted by path."""
    base, deleted, added = sandbox.base, sandbox.deleted, sandbox.added
    out: list[Change] = []
    for p in deleted - added.keys():
        node = base.get(p)
        assert node is not None
        count, size = _bytes(node)
        out.append(Change(ChangeKind.DELETE, p, node.entry.kind, count, size, 0))
    for p, entry in ((p, a.entry) for p, a in added.items()):
        if any(a in added for a in ancestors(p)):
            continue
        count = size = 0
        for q, a in added.items():
            if is_under(q, p):
                count += 1
                size += a.entry.size if a.entry.kind is EntryKind.FILE else 0
        old = base.get(p)
        removed = 0
        if p in deleted and old is not None:
            removed = _bytes(old)[1]
        elif old is not None and not old.is_dir and sandbox.base_visible(p):
            removed = old.entry.size if old.entry.kind in _FILES else 0
        replaces = old is not None and (p in deleted or sandbox.base_visible(p))
        kind = ChangeKind.REPLACE if replaces else ChangeKind.ADD
        out.append(Change(kind, p, entry.kind, count, removed, size))
    return sorted(out, key=lambda c: c.path.split(b"/"))


def describe_changes(changes: list[Change], limit: int = 400) -> str:
    """``delete /a, /b; add /c (2 entries)``, cut to about ``limit`` characters."""
    groups: dict[ChangeKind, list[str]] = {}
    for c in changes:
        groups.setdefault(c.kind, []).append(c.describe().split(" ", 1)[1])
    parts = [f"{kind.value} {', '.join(paths)}" for kind, paths in groups.items()]
    text = "; ".join(parts) or "no filesystem changes"
    if len(text) > limit:
        text = text[:limit - 20].rsplit(" ", 1)[0] + f" ... ({len(changes)} changes)"
    return text
