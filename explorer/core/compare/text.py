"""The text diff of one path of a comparison: unified lines and side-by-side rows.

Reading and diffing are capped (``limit`` bytes per side) because difflib is quadratic in the
worst case and a GUI row per line must stay affordable; larger or binary files get sizes and
content hashes only (xxh3-128, the digest the comparison itself uses).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

import xxhash

from explorer.core.compare.endpoints import Endpoint
from explorer.core.compare.trees import Comparison
from explorer.core.fs.entry import EntryKind, display_path
from explorer.core.fs.file_content import NotARegularFile, decode_text, read_file, sniff_kind
from explorer.core.fs.union import UnionTree
from explorer.core.tasks import NEVER_CANCELLED, CancelToken

DEFAULT_TEXT_LIMIT = 512 * 1024
TextDiffKind = Literal["text", "binary", "too_large", "not_a_file"]
RowTag = Literal["equal", "replace", "delete", "insert"]


@dataclass(frozen=True)
class SideBySideRow:
    """One row of a two-column view: A's line (or None) next to B's (or None)."""

    tag: RowTag
    a_line: int | None
    """1-based line number in A."""
    a_text: str | None
    b_line: int | None
    b_text: str | None


@dataclass(frozen=True)
class FileSide:
    exists: bool
    size: int | None
    digest: str | None
    """xxh3-128 of the content, hex; None when unknown (too large and never hashed)."""


@dataclass(frozen=True)
class TextDiff:
    path: bytes
    kind: TextDiffKind
    a: FileSide
    b: FileSide
    unified: tuple[str, ...] = ()
    """``difflib.unified_diff`` lines without line ends (``---``/``+++`` headers first)."""
    rows: tuple[SideBySideRow, ...] = ()
    """Every line of both files, aligned (empty unless ``kind == "text"``)."""
    message: str = ""
    """Why there are no lines (binary, too large, not a regular file)."""

    @property
    def identical(self) -> bool:
        return self.a.digest is not None and self.a.digest == self.b.digest


def text_diff(comparison: Comparison, path: bytes, *, limit: int = DEFAULT_TEXT_LIMIT,
              context: int = 3, cancel: CancelToken = NEVER_CANCELLED) -> TextDiff:
    """A's ``path`` against B's (a side without it counts as an empty file).

    Raises BlobChanged, Cancelled, OSError when a blob cannot be read."""
    data_a, side_a, why_a = _read(comparison.a, comparison.tree_a, path, limit, cancel)
    data_b, side_b, why_b = _read(comparison.b, comparison.tree_b, path, limit, cancel)
    why = why_a or why_b
    if why:
        return TextDiff(path, "not_a_file", side_a, side_b, message=why)
    if data_a is None or data_b is None:
        return TextDiff(path, "too_large", side_a, side_b,
                        message=f"Larger than {limit} bytes: compared by size and hash only.")
    name = path.rsplit(b"/", 1)[-1]
    if any(d and sniff_kind(d[:8192], name) != "text" for d in (data_a, data_b)):
        return TextDiff(path, "binary", side_a, side_b,
                        message="Binary content: compared by size and hash only.")
    lines_a = decode_text(data_a).splitlines()
    lines_b = decode_text(data_b).splitlines()
    shown = display_path(path)
    unified = tuple(difflib.unified_diff(
        lines_a, lines_b, fromfile=f"a/{shown}" if side_a.exists else "/dev/null",
        tofile=f"b/{shown}" if side_b.exists else "/dev/null", n=context, lineterm=""))
    return TextDiff(path, "text", side_a, side_b, unified, _rows(lines_a, lines_b))


def _read(end: Endpoint, tree: UnionTree, path: bytes, limit: int, cancel: CancelToken
          ) -> tuple[bytes | None, FileSide, str]:
    """(bytes or None when over ``limit``, the side, why it is not a regular file)."""
    node = tree.get(path)
    if node is None:
        return b"", FileSide(False, None, None), ""
    entry = node.entry
    known = entry.digest.hex() if entry.digest is not None else None
    if node.children is not None or entry.kind not in (EntryKind.FILE, EntryKind.HARDLINK):
        return None, FileSide(True, None, None), (
            f"{display_path(path)} is not a regular file on {end.label}'s side.")
    if entry.size > limit:
        return None, FileSide(True, entry.size, known), ""
    try:
        content = read_file(end.inspection, end.index, path, limit=limit + 1, cancel=cancel)
    except NotARegularFile as exc:
        return None, FileSide(True, None, None), exc.message
    digest = xxhash.xxh3_128(content.data).hexdigest()
    return content.data, FileSide(True, content.size, digest), ""


def _rows(a: list[str], b: list[str]) -> tuple[SideBySideRow, ...]:
    rows: list[SideBySideRow] = []
    matcher = difflib.SequenceMatcher(None, a, b)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            in_a, in_b = i < i2, j < j2
            row_tag: RowTag = "equal" if tag == "equal" else (
                "replace" if in_a and in_b else ("delete" if in_a else "insert"))
            rows.append(SideBySideRow(row_tag, i + 1 if in_a else None, a[i] if in_a else None,
                                      j + 1 if in_b else None, b[j] if in_b else None))
    return tuple(rows)
