"""The stable JSON schema of ``layer-explorer inspect --json`` and ``ls --json``.

Schema ``layer-explorer/inspect/v1``; fields are only ever added, never renamed.
"""

from __future__ import annotations

import math
from typing import Any

from explorer.core.fs.entry import FileEntry, display_path
from explorer.core.fs.union import UnionTree
from explorer.core.image.loader import Archive
from explorer.core.image.model import HistoryEntry
from explorer.core.inspection import Inspection

SCHEMA = "layer-explorer/inspect/v1"


def _num(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else x


def images_json(archive: Archive) -> list[dict[str, Any]]:
    return [
        {
            "index": r.index,
            "tags": list(r.tags),
            "platform": str(r.platform) if r.platform else None,
            "layers": r.layer_count,
            "compressed_size": sum(r.layer_sizes),
            "manifest_digest": str(r.manifest.digest) if r.manifest else None,
        }
        for r in archive.refs
    ]


def _history(h: HistoryEntry, layer: int | None) -> dict[str, Any]:
    return {"created": h.created, "created_by": h.created_by, "author": h.author,
            "comment": h.comment, "empty_layer": h.empty_layer, "layer": layer}


def inspection_json(insp: Inspection) -> dict[str, Any]:
    img, cfg, eff = insp.image, insp.image.config, insp.efficiency
    history: list[dict[str, Any]] = []
    for layer in img.layers:
        history += [_history(h, None) for h in layer.empty_before]
        if layer.history is not None:
            history.append(_history(layer.history, layer.index))
    history += [_history(h, None) for h in img.trailing_empty]
    return {
        "schema": SCHEMA,
        "archive": {
            "path": insp.archive.path,
            "format": insp.archive.format,
            "images": images_json(insp.archive),
            "hidden": list(insp.archive.hidden),
        },
        "image": {
            "index": img.ref.index,
            "tags": list(img.tags),
            "id": str(img.id),
            "created": cfg.created,
            "author": cfg.author,
            "platform": str(cfg.platform),
            "config": {
                "env": list(cfg.env),
                "entrypoint": list(cfg.entrypoint) if cfg.entrypoint is not None else None,
                "cmd": list(cfg.cmd) if cfg.cmd is not None else None,
                "workdir": cfg.workdir,
                "user": cfg.user,
                "labels": dict(cfg.labels),
                "exposed_ports": list(cfg.exposed_ports),
                "volumes": list(cfg.volumes),
                "stop_signal": cfg.stop_signal,
            },
            "history": history,
        },
        "layers": [
            {
                "index": layer.index,
                "command": layer.command,
                "created": layer.history.created if layer.history else "",
                "digest": str(ix.blob_digest),
                "diff_id": str(layer.diff_id),
                "chain_id": str(layer.chain_id),
                "media_type": layer.media_type,
                "compression": ix.compression.value,
                "compressed_size": ix.blob_size,
                "uncompressed_size": ix.tar_size,
                "size": ix.size,
                "entries": len(ix.entries),
                "whiteouts": len(ix.whiteouts),
                "opaque_dirs": len(ix.opaque_dirs),
            }
            for layer, ix in zip(img.layers, insp.indexes, strict=True)
        ],
        "analysis": {
            "size": eff.size,
            "user_size": eff.user_size,
            "efficiency": eff.score,
            "wasted_bytes": eff.wasted,
            "user_wasted_ratio": _num(eff.user_wasted_ratio),
            "reclaimable_bytes": eff.reclaimable,
            "inefficient_files": [
                {"path": display_path(u.path), "count": u.count, "size": u.size}
                for u in eff.inefficient
            ],
        },
        "warnings": insp.warnings,
    }


def entry_json(entry: FileEntry, layer: int) -> dict[str, Any]:
    return {
        "path": display_path(entry.path),
        "type": entry.kind.name.lower(),
        "mode": entry.mode_string,
        "uid": entry.uid,
        "gid": entry.gid,
        "size": entry.size,
        "mtime": entry.mtime,
        "link": display_path(entry.link) if entry.link else None,
        "layer": layer,
        "xattrs": {k.decode("utf-8", "backslashreplace"): v.decode("utf-8", "backslashreplace")
                   for k, v in entry.xattrs} or None,
    }


def tree_json(tree: UnionTree) -> list[dict[str, Any]]:
    return [entry_json(node.entry, node.layer) for _path, node in tree.walk()]
