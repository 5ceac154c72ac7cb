"""Parse an image config and map its history onto layers."""

from __future__ import annotations

from typing import Any

from explorer.core.digest import Digest
from explorer.core.errors import FormatError
from explorer.core.image.model import HistoryEntry, ImageConfig
from explorer.core.jsonsafe import expect_dict, expect_list, load_json, opt_str, str_list
from explorer.core.limits import DEFAULT_LIMITS, Limits


def _opt_cmd(value: Any, *, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return str_list(value, what=what)


def _history(value: Any) -> tuple[HistoryEntry, ...]:
    out = []
    for i, item in enumerate(expect_list(value, what="config history", allow_null=True)):
        h = expect_dict(item, what=f"config history[{i}]")
        out.append(
            HistoryEntry(
                created=opt_str(h.get("created"), what=f"history[{i}].created"),
                created_by=opt_str(h.get("created_by"), what=f"history[{i}].created_by"),
                author=opt_str(h.get("author"), what=f"history[{i}].author"),
                comment=opt_str(h.get("comment"), what=f"history[{i}].comment"),
                empty_layer=bool(h.get("empty_layer", False)),
            )
        )
    return tuple(out)


def parse_config(raw: bytes, *, limits: Limits = DEFAULT_LIMITS) -> ImageConfig:
    """Build an ImageConfig from the exact config bytes (the image id is their digest).

    Raises FormatError.
    """
    doc = expect_dict(load_json(raw, what="image config", limits=limits), what="image config")
    rootfs = expect_dict(doc.get("rootfs"), what="config rootfs")
    if rootfs.get("type") != "layers":
        raise FormatError(
            f"The image config's rootfs.type is {rootfs.get('type')!r}; only 'layers' is valid."
        )
    diff_ids = tuple(
        Digest.parse(d, what=f"config rootfs.diff_ids[{i}]")
        for i, d in enumerate(expect_list(rootfs.get("diff_ids"), what="rootfs.diff_ids",
                                          allow_null=True))
    )
    c = doc.get("config") or doc.get("container_config") or {}
    c = expect_dict(c, what="config.config")
    labels_raw = c.get("Labels") or {}
    labels = tuple(
        sorted((str(k), str(v)) for k, v in expect_dict(labels_raw, what="Labels").items())
    )
    ports = tuple(sorted(expect_dict(c.get("ExposedPorts") or {}, what="ExposedPorts")))
    volumes = tuple(sorted(expect_dict(c.get("Volumes") or {}, what="Volumes")))
    return ImageConfig(
        raw=raw,
        digest=Digest.of_bytes(raw),
        architecture=opt_str(doc.get("architecture"), what="architecture"),
        os=opt_str(doc.get("os"), what="os"),
        variant=opt_str(doc.get("variant"), what="variant"),
        created=opt_str(doc.get("created"), what="created"),
        author=opt_str(doc.get("author"), what="author"),
        env=str_list(c.get("Env"), what="Env"),
        cmd=_opt_cmd(c.get("Cmd"), what="Cmd"),
        entrypoint=_opt_cmd(c.get("Entrypoint"), what="Entrypoint"),
        workdir=opt_str(c.get("WorkingDir"), what="WorkingDir"),
        user=opt_str(c.get("User"), what="User"),
        labels=labels,
        exposed_ports=ports,
        volumes=volumes,
        stop_signal=opt_str(c.get("StopSignal"), what="StopSignal"),
        diff_ids=diff_ids,
        history=_history(doc.get("history")),
        document=doc,
    )


def map_history(
    history: tuple[HistoryEntry, ...], layer_count: int
) -> tuple[list[HistoryEntry | None], list[tuple[HistoryEntry, ...]], tuple[HistoryEntry, ...],
           str | None]:
    """Pair non-empty history entries with layers in order.

    Returns (entry per layer, empty entries before each layer, empty entries after the top,
    warning).  When the counts disagree no layer gets a guessed label: every layer is
    "unknown command" and the empty entries are kept in order after the top.
    """
    non_empty = [h for h in history if not h.empty_layer]
    if len(non_empty) != layer_count:
        warning = None
        if history:
            warning = (
                f"The config history has {len(non_empty)} non-empty entries for {layer_count} "
                "layers; layer commands are shown as unknown."
            )
        return [None] * layer_count, [()] * layer_count, history, warning
    per_layer: list[HistoryEntry | None] = []
    before: list[tuple[HistoryEntry, ...]] = []
    pending: list[HistoryEntry] = []
    for h in history:
        if h.empty_layer:
            pending.append(h)
        else:
            per_layer.append(h)
            before.append(tuple(pending))
            pending = []
    return per_layer, before, tuple(pending), None
