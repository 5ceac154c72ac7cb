"""Named safety limits (BAD-INPUT.md §0.5).  Errors name the limit they hit."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Upper bounds applied to untrusted input; raise them per call where it makes sense."""

    manifest_json: int = 1 * MiB
    """``manifest.json`` of a docker-archive (containers/image MaxTarFileManifestSize)."""
    blob_json: int = 4 * MiB
    """A config, manifest or index blob (MaxConfigBodySize / MaxManifestBodySize)."""
    json_hard: int = 20 * MiB
    """Any JSON document at all (containerd importer jsonLimit)."""
    tar_ext_header: int = 1 * MiB
    """One PAX or GNU long-name header in the outer tar (Go archive/tar, CVE-2022-2879)."""
    outer_members: int = 1_000_000
    """Members of the outer archive."""
    index_depth: int = 8
    """Nested OCI index depth."""
    layers_warn: int = 125
    """Layers per image above which Docker refuses to load (moby maxLayerDepth)."""
    outer_link_hops: int = 2
    """Symlink hops followed inside the outer archive (legacy layer.tar links)."""
    entries_per_layer: int = 2_000_000
    """Entries in one layer tar."""
    path_bytes: int = 4096
    """Length of one path inside a layer (Linux PATH_MAX)."""
    name_bytes: int = 255
    """Length of one path component inside a layer (Linux NAME_MAX); longer ones warn."""
    link_hops: int = 40
    """Hardlink or symlink hops followed inside an image's filesystem (Linux MAXSYMLINKS)."""
    preview_bytes: int = 32 * MiB
    """Bytes of one file a preview holds: larger images are not decoded, and "Load more"
    stops there for text (extracting the file gives all of it)."""
    decompression_ratio: int = 100
    """Plain bytes per compressed byte above which a layer is reported (a possible bomb)."""
    ratio_min_bytes: int = 4 * MiB
    """Layers smaller than this once decompressed are never reported for their ratio
    (an empty or tiny tar compresses well beyond 100:1)."""


DEFAULT_LIMITS = Limits()
