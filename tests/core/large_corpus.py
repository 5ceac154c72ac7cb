"""The large corpus (``make-corpus.sh --large``): where it is, what its index says, and our
figures for each image, computed once per test session.

The corpus is never committed (it is gigabytes); ``LAYER_EXPLORER_LARGE_CORPUS`` names the
folder.  ``index.json`` in it is written by ``shared/corpus/inspect-archive.py`` (Python's
``tarfile``, ``hashlib``, ``gzip`` and the ``zstd`` tool: not our code); ``INDEX.md`` is the
same facts as a table.  ``umoci-layout/`` is the OCI layout folder every archive was exported
from; it is not in the index.
"""

from __future__ import annotations

import functools
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from explorer.core.fs.entry import EntryKind
from explorer.core.inspection import inspect_path
from tests.core.dive_oracle import DiveFigures, our_dive_figures
from tests.core.umoci_oracle import Tree, our_tree

ENV_VAR = "LAYER_EXPLORER_LARGE_CORPUS"
BUILD = "../shared/corpus/make-corpus.sh --large OUTDIR"
LAYOUT_DIR = "umoci-layout"


def unavailable_reason() -> str | None:
    """Why the large-corpus tests cannot run, or None when they can."""
    how = f"build it as root with `{BUILD}` and set {ENV_VAR}=OUTDIR"
    value = os.environ.get(ENV_VAR)
    if not value:
        return f"{ENV_VAR} is not set: the large corpus is opt-in ({how})"
    if not Path(value, "index.json").is_file():
        return f"{ENV_VAR}={value} is not a large corpus folder with an index.json ({how})"
    return None


def root() -> Path:
    return Path(os.environ[ENV_VAR])


def params(values: list[str]) -> list[Any]:
    """Test parameters, or one skipped placeholder saying why there are none."""
    reason = unavailable_reason()
    if reason is not None:
        return [pytest.param(None, id="no-large-corpus", marks=pytest.mark.skip(reason=reason))]
    return [pytest.param(v, id=v) for v in values]


# --------------------------------------------------------------------------- the index


class IndexedImage(NamedTuple):
    tags: list[str]
    config_digest: str
    manifest_digest: str | None
    history: int
    empty_layer_history: int
    layers: list[dict[str, Any]]
    merged: dict[str, int]


class IndexedArchive(NamedTuple):
    file: str
    format: str
    images: list[IndexedImage]

    @property
    def has_manifest_json(self) -> bool:
        """docker-archive, legacy or Docker 25+ hybrid: the archives dive reads."""
        return self.format.startswith("docker-archive")


def _config_digest(image: dict[str, Any]) -> str:
    if "config_digest" in image:
        return str(image["config_digest"])
    # docker-archive: "<hex>.json" or "blobs/sha256/<hex>"
    return "sha256:" + str(image["config"]).rsplit("/", 1)[-1].removesuffix(".json")


@functools.cache
def corpus_index() -> dict[str, IndexedArchive]:
    """index.json by archive file name (relative to the corpus folder)."""
    doc = json.loads((root() / "index.json").read_text())
    return {
        item["file"]: IndexedArchive(item["file"], item["format"], [
            IndexedImage(img["tags"], _config_digest(img), img.get("manifest_digest"),
                         img["history"], img["empty_layer_history"], img["layers"],
                         img["merged"])
            for img in item["images"]
        ])
        for item in doc
    }


def layout_refs() -> list[str]:
    """The ref.name annotations of umoci-layout/index.json, in order (image names)."""
    index = json.loads((root() / LAYOUT_DIR / "index.json").read_text())
    return [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]


def image_name(tag: str) -> str:
    """``docker.io/corpus/webapp-nodocs:latest`` -> ``webapp-nodocs``."""
    return tag.rsplit("/", 1)[-1].split(":", 1)[0]


@functools.cache
def copies() -> dict[str, list[tuple[str, str]]]:
    """Image name -> every (archive, image index) holding it, umoci-layout included."""
    out: dict[str, list[tuple[str, str]]] = {}
    for archive in corpus_index().values():
        for i, img in enumerate(archive.images):
            out.setdefault(image_name(img.tags[0]), []).append((archive.file, str(i)))
    for i, ref in enumerate(layout_refs()):
        out.setdefault(ref, []).append((LAYOUT_DIR, str(i)))
    return out


# --------------------------------------------------------------------------- our figures


class LayerFacts(NamedTuple):
    declared_diff_id: str
    read_diff_id: str
    declared_digest: str | None
    read_digest: str
    media_type: str
    compression: str
    blob_size: int
    tar_size: int
    stats: dict[str, int]
    """Counts named as in index.json: regular, dirs, ..., whiteouts, opaque_dirs, xattrs."""


_MEMBER = {EntryKind.FILE: "regular", EntryKind.DIR: "dirs", EntryKind.SYMLINK: "symlinks",
           EntryKind.HARDLINK: "hardlinks", EntryKind.FIFO: "fifos", EntryKind.CHAR: "devices",
           EntryKind.BLOCK: "devices", EntryKind.SOCKET: "sockets"}
_MERGED = {EntryKind.FILE: "file", EntryKind.DIR: "dir", EntryKind.SYMLINK: "symlink",
           EntryKind.HARDLINK: "hardlink", EntryKind.FIFO: "fifo", EntryKind.CHAR: "device",
           EntryKind.BLOCK: "device", EntryKind.SOCKET: "socket"}


@dataclass(frozen=True)
class Figures:
    """Everything the large-corpus tests compare, for one image of one archive."""

    format: str
    tags: tuple[str, ...]
    manifest_digest: str | None
    config_digest: str
    history: tuple[int, int]
    """(history entries, of which empty_layer)."""
    layers: tuple[LayerFacts, ...]
    warnings: tuple[str, ...]
    dive: DiveFigures
    reclaimable: int
    merged_kinds: dict[str, int]
    """The top merged tree's entries by kind, named as in index.json, plus ``total``."""
    tree: Tree


@functools.cache
def figures(archive: str, image: str) -> Figures:
    """Our figures for image ``image`` (an index) of ``archive``, digests verified."""
    with inspect_path(str(root() / archive), image, verify=True) as insp:
        layers = []
        for layer, ix in zip(insp.image.layers, insp.indexes, strict=True):
            stats = Counter(_MEMBER[e.kind] for e in ix.entries if not e.implicit)
            stats.update(
                whiteouts=len(ix.whiteouts), opaque_dirs=len(ix.opaque_dirs),
                xattrs=sum(1 for e in ix.entries if e.xattrs),
                setuid_or_setgid=sum(1 for e in ix.entries
                                     if e.mode & 0o6000 and e.kind is not EntryKind.DIR),
            )
            layers.append(LayerFacts(
                str(layer.diff_id), str(ix.diff_id),
                str(layer.digest) if layer.digest is not None else None, str(ix.blob_digest),
                layer.media_type, ix.compression.value, ix.blob_size, ix.tar_size, dict(stats)))
        merged = Counter(_MERGED[node.entry.kind] for _, node in insp.merged().walk())
        merged["total"] = sum(merged.values())
        ref = insp.image.ref
        return Figures(
            format=insp.archive.format, tags=ref.tags,
            manifest_digest=str(ref.manifest.digest) if ref.manifest else None,
            config_digest=str(insp.image.config.digest),
            history=(len(insp.image.config.history),
                     sum(1 for h in insp.image.config.history if h.empty_layer)),
            layers=tuple(layers), warnings=tuple(insp.warnings),
            dive=our_dive_figures(insp), reclaimable=insp.efficiency.reclaimable,
            merged_kinds=dict(merged), tree=our_tree(insp),
        )
