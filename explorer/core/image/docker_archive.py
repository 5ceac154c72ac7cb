"""``manifest.json`` (docker save, podman/skopeo docker-archive, crane, Docker 25+)."""

from __future__ import annotations

import re

from explorer.core.archive.source import Source, check_relative_name, read_capped
from explorer.core.digest import Digest
from explorer.core.errors import ExplorerError, FormatError
from explorer.core.image.model import ImageRef
from explorer.core.jsonsafe import expect_dict, expect_list, load_json, str_list
from explorer.core.limits import DEFAULT_LIMITS, Limits

_BLOB = re.compile(r"^blobs/(sha256|sha512)/([a-f0-9]+)$")
_HEX_NAME = re.compile(r"^(?:sha256:)?([a-f0-9]{64})(?:\.json)?$")


def digest_from_blob_name(name: str) -> Digest | None:
    """``blobs/sha256/<hex>`` names its content's digest; other layouts don't promise one."""
    m = _BLOB.match(name)
    if not m:
        return None
    try:
        return Digest.parse(f"{m.group(1)}:{m.group(2)}")
    except FormatError:
        return None


def config_digest_from_name(name: str) -> Digest | None:
    """Config names in every docker-archive flavour carry the image id (its digest)."""
    d = digest_from_blob_name(name)
    if d is not None:
        return d
    m = _HEX_NAME.match(name.rsplit("/", 1)[-1])
    return Digest("sha256", m.group(1)) if m else None


def parse_manifest_json(
    source: Source, *, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[ImageRef], list[str]]:
    """List the images ``manifest.json`` describes (not reading any layer)."""
    raw = read_capped(
        source, "manifest.json", limits.manifest_json, what="manifest.json",
        limit_name="manifest_json",
    )
    doc = load_json(raw, what="manifest.json", limits=limits)
    items = expect_list(doc, what="manifest.json")
    refs: list[ImageRef] = []
    warnings: list[str] = []
    for i, item in enumerate(items):
        entry = expect_dict(item, what=f"manifest.json[{i}]")
        config_name = check_relative_name(str(entry.get("Config") or ""),
                                          what=f"manifest.json[{i}].Config")
        layers = tuple(
            check_relative_name(name, what=f"manifest.json[{i}].Layers[{j}]")
            for j, name in enumerate(expect_list(entry.get("Layers"), what="Layers",
                                                 allow_null=True))
        )
        tags = str_list(entry.get("RepoTags"), what=f"manifest.json[{i}].RepoTags")
        sizes = []
        for name in layers:
            try:
                sizes.append(source.entry(name, what="layer").size)
            except ExplorerError:
                sizes.append(0)
        refs.append(
            ImageRef(
                index=i,
                tags=tags,
                platform=None,
                layer_count=len(layers),
                config_name=config_name,
                layer_names=layers,
                layer_media_types=("",) * len(layers),
                layer_digests=tuple(digest_from_blob_name(n) for n in layers),
                layer_sizes=tuple(sizes),
                origin="manifest.json",
            )
        )
    return refs, warnings
