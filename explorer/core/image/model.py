"""Frozen image models: descriptors, config, history, layers.

Values only; the loaders build them and nothing mutates them.  Mutation (the commit issue)
returns a new image that wraps the old one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from explorer.core.digest import Digest

UNKNOWN_COMMAND = "unknown command"


@dataclass(frozen=True, slots=True)
class Platform:
    """What an image runs on, as an OCI index or image config names it."""

    os: str = ""
    architecture: str = ""
    variant: str = ""
    os_version: str = ""

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}" if self.os or self.architecture else "unknown"
        return f"{text}/{self.variant}" if self.variant else text


@dataclass(frozen=True, slots=True)
class Descriptor:
    """An OCI content descriptor: what a manifest or index says about a blob it names."""

    media_type: str
    digest: Digest
    size: int
    annotations: tuple[tuple[str, str], ...] = ()
    platform: Platform | None = None
    urls: tuple[str, ...] = ()

    def annotation(self, key: str) -> str:
        return dict(self.annotations).get(key, "")


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One ``history`` entry of an image config (``empty_layer``: it made no layer)."""

    created: str = ""
    created_by: str = ""
    author: str = ""
    comment: str = ""
    empty_layer: bool = False


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an image config people look at; ``raw`` keeps the exact bytes."""

    raw: bytes
    digest: Digest
    architecture: str
    os: str
    variant: str
    created: str
    author: str
    env: tuple[str, ...]
    cmd: tuple[str, ...] | None
    entrypoint: tuple[str, ...] | None
    workdir: str
    user: str
    labels: tuple[tuple[str, str], ...]
    exposed_ports: tuple[str, ...]
    volumes: tuple[str, ...]
    stop_signal: str
    diff_ids: tuple[Digest, ...]
    history: tuple[HistoryEntry, ...]
    document: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def platform(self) -> Platform:
        return Platform(self.os, self.architecture, self.variant)


@dataclass(frozen=True, slots=True)
class LayerInfo:
    """One filesystem layer of an image, bottom (0) to top, before its content is read."""

    index: int
    blob_name: str
    """Name of the blob inside the archive or layout folder."""
    media_type: str
    digest: Digest | None
    """Digest of the stored blob when the format names it; else learnt while streaming."""
    compressed_size: int
    diff_id: Digest
    chain_id: Digest
    history: HistoryEntry | None
    """The non-empty history entry this layer maps to (None when counts don't match)."""
    empty_before: tuple[HistoryEntry, ...] = ()
    """``empty_layer`` history entries recorded between the previous layer and this one."""

    @property
    def command(self) -> str:
        if self.history is None:
            return UNKNOWN_COMMAND
        return self.history.created_by or UNKNOWN_COMMAND


@dataclass(frozen=True)
class ImageRef:
    """One image an archive holds, as listed to the user before choosing."""

    index: int
    tags: tuple[str, ...]
    platform: Platform | None
    layer_count: int
    config_name: str
    layer_names: tuple[str, ...]
    layer_media_types: tuple[str, ...]
    layer_digests: tuple[Digest | None, ...]
    layer_sizes: tuple[int, ...]
    manifest: Descriptor | None = None
    config_descriptor: Descriptor | None = None
    manifest_annotations: tuple[tuple[str, str], ...] = ()
    origin: str = ""
    """Which document listed it: manifest.json, index.json or both."""

    @property
    def name(self) -> str:
        if self.tags:
            return self.tags[0]
        if self.manifest is not None:
            return f"<untagged> @{self.manifest.digest}"
        return f"<untagged> #{self.index}"


@dataclass(frozen=True)
class Image:
    """A chosen image: its config and its layers, with what was noticed while reading."""

    ref: ImageRef
    config: ImageConfig
    layers: tuple[LayerInfo, ...]
    trailing_empty: tuple[HistoryEntry, ...]
    """``empty_layer`` history entries above the top layer (CMD, ENV, ...)."""
    format: str
    warnings: tuple[str, ...] = ()

    @property
    def id(self) -> Digest:
        return self.config.digest

    @property
    def tags(self) -> tuple[str, ...]:
        return self.ref.tags
