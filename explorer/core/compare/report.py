"""``layer-explorer diff``: the JSON schema ``layer-explorer/diff/v1`` and the text lines.

Fields are only ever added, never renamed or removed.  Sections appear only for the
``--type``s asked for:

``schema``; ``a``/``b`` (``path``, ``image``, ``layer``, ``layers``, ``only_layer``);
``types``; ``equal``; ``files`` (``summary``: ``added``, ``modified``, ``removed``,
``bytes_added``, ``bytes_removed``; ``changes[]``: ``path``, ``kind`` added/removed/modified,
``changes`` (type, mode, owner, link, size, content, device, mtime, xattrs), ``type_before``,
``type_after``, ``size_before``, ``size_after``, ``entries`` (an added or removed folder's
contents); ``markers`` with ``--only-layer``); ``metadata[]`` (``key``, ``kind``, ``before``,
``after``); ``history[]`` (``kind`` same/changed/added/removed, ``a_index``, ``b_index``,
``a``, ``b``: ``created``, ``created_by``, ``author``, ``comment``, ``empty_layer``);
``size`` (``layers[]``: ``index``, ``shared``, ``a``/``b``: ``diff_id``, ``chain_id``,
``command``, ``size``, ``compressed_size``, ``uncompressed_size``; ``shared_prefix``:
``layers``, ``compressed_bytes``, ``uncompressed_bytes``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from explorer.core.compare.digests import DigestMemo
from explorer.core.compare.endpoints import Endpoint
from explorer.core.compare.images import ImageComparison, compare_images
from explorer.core.compare.trees import ChangedEntry, Comparison, compare_trees
from explorer.core.fs.diff import DiffKind
from explorer.core.fs.entry import display_path
from explorer.core.humanize import human_bytes
from explorer.core.image.model import HistoryEntry
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress

SCHEMA = "layer-explorer/diff/v1"
TYPES = ("files", "metadata", "history", "size")


def _end(end: Endpoint) -> dict[str, Any]:
    return {"path": end.inspection.archive.path, "image": end.name, "layer": end.index,
            "layers": end.layer_count, "only_layer": end.only_layer}


def _history(h: HistoryEntry | None) -> dict[str, Any] | None:
    return None if h is None else asdict(h)


def _change(c: ChangedEntry) -> dict[str, Any]:
    return {
        "path": display_path(c.path), "kind": c.kind.value, "changes": c.changes.words,
        "type_before": c.before.kind.name.lower() if c.before is not None else None,
        "type_after": c.after.kind.name.lower() if c.after is not None else None,
        "size_before": c.size_before, "size_after": c.size_after, "entries": c.entries,
    }


@dataclass(frozen=True)
class DiffResult:
    """Everything ``layer-explorer diff`` reports, for the ``--type``s asked for."""

    a: Endpoint
    b: Endpoint
    types: tuple[str, ...]
    files: Comparison | None
    images: ImageComparison | None

    @property
    def equal(self) -> bool:
        """No difference in any section asked for (the CLI's exit status 0)."""
        if self.files is not None and not self.files.equal:
            return False
        if self.images is None:
            return True
        return not any((
            "metadata" in self.types and self.images.config,
            "history" in self.types and not self.images.history_equal,
            "size" in self.types and not self.images.layers_equal,
        ))


def diff_endpoints(a: Endpoint, b: Endpoint, types: tuple[str, ...] = TYPES, *,
                   memo: DigestMemo | None = None, progress: Progress = no_progress,
                   cancel: CancelToken = NEVER_CANCELLED) -> DiffResult:
    """Compare A and B for ``types`` (files: the filesystems at the endpoints; metadata,
    history, size: the two images as a whole).

    Raises ValueError (an unknown section), IndexError (a missing layer), Cancelled, OSError."""
    unknown = set(types) - set(TYPES)
    if unknown:
        raise ValueError(f"unknown diff types: {', '.join(sorted(unknown))}")
    files = (compare_trees(a, b, memo=memo, progress=progress, cancel=cancel)
             if "files" in types else None)
    images = (compare_images(a.inspection, b.inspection)
              if set(types) & {"metadata", "history", "size"} else None)
    return DiffResult(a, b, tuple(t for t in TYPES if t in types), files, images)


def diff_json(result: DiffResult) -> dict[str, Any]:
    a, b, types = result.a, result.b, result.types
    cmp, images = result.files, result.images
    doc: dict[str, Any] = {"schema": SCHEMA, "a": _end(a), "b": _end(b), "types": list(types),
                           "equal": result.equal}
    if cmp is not None:
        s = cmp.summary()
        m = cmp.markers
        doc["files"] = {
            "summary": {"added": s.added, "modified": s.modified, "removed": s.removed,
                        "bytes_added": s.bytes_added, "bytes_removed": s.bytes_removed},
            "changes": [_change(c) for c in cmp.changed_entries()],
            "markers": {k: [display_path(p) for p in v] for k, v in asdict(m).items()},
        }
    if images is not None:
        if "metadata" in types:
            doc["metadata"] = [asdict(c) for c in images.config]
        if "history" in types:
            doc["history"] = [{"kind": r.kind, "a_index": r.a_index, "b_index": r.b_index,
                               "a": _history(r.a), "b": _history(r.b)} for r in images.history]
        if "size" in types:
            doc["size"] = {"layers": [{"index": r.index, "shared": r.shared,
                                       "a": asdict(r.a) if r.a else None,
                                       "b": asdict(r.b) if r.b else None}
                                      for r in images.layers],
                           "shared_prefix": asdict(images.shared)}
    return doc


def _size_text(c: ChangedEntry) -> str:
    if c.kind is DiffKind.ADDED:
        return human_bytes(c.size_after or 0)
    if c.kind is DiffKind.REMOVED:
        return human_bytes(c.size_before or 0)
    delta = (c.size_after or 0) - (c.size_before or 0)
    return f"{'+' if delta >= 0 else '-'}{human_bytes(abs(delta))}" if delta else ""


def diff_lines(result: DiffResult) -> Iterator[str]:
    a, b, types = result.a, result.b, result.types
    cmp, images = result.files, result.images
    yield f"A: {a.inspection.archive.path} ({a.label})"
    yield f"B: {b.inspection.archive.path} ({b.label})"
    if cmp is not None:
        s = cmp.summary()
        yield ""
        yield (f"Files: {s.added} added, {s.removed} removed, {s.modified} modified "
               f"(+{human_bytes(s.bytes_added)}, -{human_bytes(s.bytes_removed)})")
        for c in cmp.changed_entries():
            path = "/" + display_path(c.path)
            is_dir = (c.after or c.before) is not None and (c.after or c.before).is_dir  # type: ignore[union-attr]
            what = ", ".join(c.changes.words)
            if c.kind is not DiffKind.MODIFIED and is_dir:
                what = f"folder, {c.entries} entries"
            entry = c.after or c.before
            if entry is not None and entry.link and not c.changes:
                what = f"-> {display_path(entry.link)}"
            size = _size_text(c)
            extra = "; ".join(x for x in (what, size) if x)
            yield f"{c.kind.letter} {path}{'/' if is_dir else ''}" + (f"  ({extra})" if extra
                                                                      else "")
        m = cmp.markers
        for label, paths in (("whiteout only in A", m.whiteouts_removed),
                             ("whiteout only in B", m.whiteouts_added),
                             ("opaque only in A", m.opaque_removed),
                             ("opaque only in B", m.opaque_added)):
            for p in paths:
                yield f"  {label}: /{display_path(p)}"
    if images is None:
        return
    if "metadata" in types:
        yield ""
        yield "Metadata:" + ("" if images.config else " same")
        sign = {"added": "+", "removed": "-", "changed": "~"}
        for f in images.config:
            if f.kind == "changed":
                yield f"  {sign[f.kind]} {f.key}: {f.before} -> {f.after}"
            else:
                yield f"  {sign[f.kind]} {f.key}: {f.after if f.before is None else f.before}"
    if "history" in types:
        yield ""
        yield "History:" + (" same" if images.history_equal else "")
        if not images.history_equal:
            sign = {"same": " ", "changed": "~", "added": "+", "removed": "-"}
            for hr in images.history:
                h = hr.b or hr.a
                assert h is not None
                empty = " (empty layer)" if h.empty_layer else ""
                yield f"  {sign[hr.kind]} {h.created_by[:100]}{empty}"
    if "size" in types:
        yield ""
        yield "Layers:           A            B  shared"
        for r in images.layers:
            sa = human_bytes(r.a.size) if r.a else "-"
            sb = human_bytes(r.b.size) if r.b else "-"
            yield f"  {r.index:>3}  {sa:>11}  {sb:>11}  {'yes' if r.shared else ''}"
        shared = images.shared
        yield (f"Shared prefix: {shared.layers} layers "
               f"({human_bytes(shared.compressed_bytes)} stored once)")
