"""Two images side by side: config, history, layer table and the shared base.

Keys of config changes are stable strings (``env.PATH``, ``labels.maintainer``,
``exposed_ports.8080/tcp``, ``cmd``, ...) so the CLI's JSON and the GUI's table agree.
Layers are shared from the base up while their chain ids agree (a chain id names a layer
*and* everything below it, so the same diff_id on a different base is not shared).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Literal

from explorer.core.fs.layer_index import LayerIndex
from explorer.core.image.model import HistoryEntry, ImageConfig, LayerInfo
from explorer.core.inspection import Inspection

ChangeKind = Literal["added", "removed", "changed"]
HistoryKind = Literal["same", "changed", "added", "removed"]


@dataclass(frozen=True)
class FieldChange:
    key: str
    kind: ChangeKind
    before: str | None
    after: str | None


@dataclass(frozen=True)
class HistoryRow:
    """One history step aligned across A and B (by command, ``difflib`` style)."""

    kind: HistoryKind
    a_index: int | None
    """Position in A's config history."""
    b_index: int | None
    a: HistoryEntry | None
    b: HistoryEntry | None


@dataclass(frozen=True)
class LayerSide:
    diff_id: str
    chain_id: str
    command: str
    size: int
    """dive's layer size."""
    compressed_size: int
    """The stored blob."""
    uncompressed_size: int


@dataclass(frozen=True)
class LayerRow:
    index: int
    a: LayerSide | None
    b: LayerSide | None
    shared: bool
    """Same chain id: this layer and all below it are the same on both sides."""


@dataclass(frozen=True)
class SharedPrefix:
    layers: int
    """Layers 0..layers-1 are the same in both images (same chain id)."""
    compressed_bytes: int
    """What storing them once instead of twice saves on disk (A's blobs)."""
    uncompressed_bytes: int


@dataclass(frozen=True)
class ImageComparison:
    config: tuple[FieldChange, ...]
    history: tuple[HistoryRow, ...]
    layers: tuple[LayerRow, ...]
    shared: SharedPrefix
    same_config: bool
    """Byte-identical config (same image id)."""

    @property
    def history_equal(self) -> bool:
        return all(r.kind == "same" for r in self.history)

    @property
    def layers_equal(self) -> bool:
        return all(r.shared for r in self.layers)


def compare_images(a: Inspection, b: Inspection) -> ImageComparison:
    """Config, history and per-layer differences of two read images, and their shared prefix.
    Raises nothing: both images are already read."""
    la, lb = a.image.layers, b.image.layers
    shared = shared_prefix(la, lb)
    rows = tuple(
        LayerRow(i, _side(la[i], a.indexes[i]) if i < len(la) else None,
                 _side(lb[i], b.indexes[i]) if i < len(lb) else None, i < shared)
        for i in range(max(len(la), len(lb)))
    )
    prefix = SharedPrefix(shared, sum(ix.blob_size for ix in a.indexes[:shared]),
                          sum(ix.tar_size for ix in a.indexes[:shared]))
    return ImageComparison(config_changes(a.image.config, b.image.config),
                           history_rows(a.image.config.history, b.image.config.history),
                           rows, prefix, a.image.id == b.image.id)


def shared_prefix(a: tuple[LayerInfo, ...], b: tuple[LayerInfo, ...]) -> int:
    """How many layers from the base up have the same chain id."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x.chain_id != y.chain_id:
            break
        n += 1
    return n


def _side(layer: LayerInfo, index: LayerIndex) -> LayerSide:
    return LayerSide(str(layer.diff_id), str(layer.chain_id), layer.command, index.size,
                     index.blob_size, index.tar_size)


def _words(value: tuple[str, ...] | None) -> str | None:
    return None if value is None else json.dumps(list(value), ensure_ascii=False)


def _env(env: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in env:
        name, _, value = item.partition("=")
        out[name] = value
    return out


def config_changes(a: ImageConfig, b: ImageConfig) -> tuple[FieldChange, ...]:
    """Added, removed and changed config values, in a fixed key order."""
    out: list[FieldChange] = []

    def scalar(key: str, x: str | None, y: str | None) -> None:
        x, y = x or None, y or None
        if x == y:
            return
        kind: ChangeKind = "added" if x is None else "removed" if y is None else "changed"
        out.append(FieldChange(key, kind, x, y))

    def mapping(prefix: str, x: dict[str, str], y: dict[str, str]) -> None:
        for k in sorted(x.keys() | y.keys()):
            if k not in y:
                out.append(FieldChange(f"{prefix}.{k}", "removed", x[k], None))
            elif k not in x:
                out.append(FieldChange(f"{prefix}.{k}", "added", None, y[k]))
            elif x[k] != y[k]:
                out.append(FieldChange(f"{prefix}.{k}", "changed", x[k], y[k]))

    scalar("platform", str(a.platform), str(b.platform))
    scalar("created", a.created, b.created)
    scalar("author", a.author, b.author)
    scalar("user", a.user, b.user)
    scalar("workdir", a.workdir, b.workdir)
    scalar("entrypoint", _words(a.entrypoint), _words(b.entrypoint))
    scalar("cmd", _words(a.cmd), _words(b.cmd))
    scalar("stop_signal", a.stop_signal, b.stop_signal)
    mapping("env", _env(a.env), _env(b.env))
    mapping("labels", dict(a.labels), dict(b.labels))
    mapping("exposed_ports", {p: p for p in a.exposed_ports}, {p: p for p in b.exposed_ports})
    mapping("volumes", {v: v for v in a.volumes}, {v: v for v in b.volumes})
    return tuple(out)


def _key(h: HistoryEntry) -> tuple[str, bool]:
    return (h.created_by, h.empty_layer)


def history_rows(a: tuple[HistoryEntry, ...], b: tuple[HistoryEntry, ...]
                 ) -> tuple[HistoryRow, ...]:
    """A's history aligned with B's by command; same command with another date, author or
    comment is ``changed``."""
    rows: list[HistoryRow] = []
    matcher = difflib.SequenceMatcher(None, [_key(h) for h in a], [_key(h) for h in b],
                                      autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                rows.append(HistoryRow("same" if a[i] == b[j] else "changed", i, j, a[i], b[j]))
            continue
        rows.extend(HistoryRow("removed", i, None, a[i], None) for i in range(i1, i2))
        rows.extend(HistoryRow("added", None, j, None, b[j]) for j in range(j1, j2))
    return tuple(rows)
