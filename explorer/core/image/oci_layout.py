"""OCI image layouts (``oci-layout`` + ``index.json`` + ``blobs/``), nested indexes included."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from explorer.core.archive.source import Source, read_capped
from explorer.core.digest import Digest
from explorer.core.errors import DigestMismatch, ExplorerError, FormatError, MissingBlobError
from explorer.core.image import mediatypes as mt
from explorer.core.image.model import Descriptor, ImageRef, Platform
from explorer.core.jsonsafe import expect_dict, expect_list, load_json, nonneg_int, opt_str
from explorer.core.limits import DEFAULT_LIMITS, Limits


def parse_descriptor(value: Any, *, what: str) -> Descriptor:
    """One OCI descriptor, checked field by field. Raises FormatError."""
    d = expect_dict(value, what=what)
    platform = None
    if isinstance(d.get("platform"), dict):
        p = d["platform"]
        platform = Platform(
            os=opt_str(p.get("os"), what=f"{what}.platform.os"),
            architecture=opt_str(p.get("architecture"), what=f"{what}.platform.architecture"),
            variant=opt_str(p.get("variant"), what=f"{what}.platform.variant"),
            os_version=opt_str(p.get("os.version"), what=f"{what}.platform.os.version"),
        )
    annotations = d.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise FormatError(f"The {what}.annotations must be an object.")
    urls = d.get("urls") or []
    return Descriptor(
        media_type=opt_str(d.get("mediaType"), what=f"{what}.mediaType"),
        digest=Digest.parse(d.get("digest"), what=f"{what}.digest"),
        size=nonneg_int(d.get("size"), what=f"{what}.size"),
        annotations=tuple(sorted((str(k), str(v)) for k, v in annotations.items())),
        platform=platform,
        urls=tuple(str(u) for u in urls) if isinstance(urls, list) else (),
    )


def read_blob(source: Source, desc: Descriptor, *, cap: int, what: str) -> bytes:
    """Read a small blob, checking size before and digest after (spec descriptor.md).

    Raises DigestMismatch, FormatError, MissingBlobError, LimitExceeded.
    """
    name = desc.digest.blob_path
    entry = source.entry(name, what=what)
    if entry.size != desc.size:
        raise FormatError(
            f"The {what} {desc.digest} is {entry.size} bytes but its descriptor says {desc.size}."
        )
    data = read_capped(source, name, cap, what=what, limit_name="blob_json")
    actual = hashlib.new(desc.digest.algorithm, data).hexdigest()
    if actual != desc.digest.encoded:
        raise DigestMismatch(
            f"The {what} does not match its digest: expected {desc.digest}, "
            f"got {desc.digest.algorithm}:{actual}.",
            expected=str(desc.digest),
            actual=f"{desc.digest.algorithm}:{actual}",
            what=what,
        )
    return data


@dataclass
class LayoutListing:
    refs: list[ImageRef] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    """Attestation and other non-image manifests, shown as metadata only."""
    manifests_null: bool = False


def check_layout_marker(source: Source, limits: Limits = DEFAULT_LIMITS) -> None:
    """The ``oci-layout`` file must name a version we read. Raises FormatError."""
    raw = read_capped(source, "oci-layout", 4096, what="oci-layout file", limit_name="blob_json")
    doc = expect_dict(load_json(raw, what="oci-layout file", limits=limits), what="oci-layout")
    version = doc.get("imageLayoutVersion")
    if version != "1.0.0":
        raise FormatError(
            f"Unsupported OCI layout version {version!r} (only 1.0.0 exists; containerd refuses "
            "others)."
        )


def list_layout(source: Source, *, limits: Limits = DEFAULT_LIMITS) -> LayoutListing:
    """Walk ``index.json`` (and nested indexes) to the image manifests it names.

    Raises FormatError, DigestMismatch, LimitExceeded.
    """
    check_layout_marker(source, limits)
    raw = read_capped(source, "index.json", limits.blob_json, what="index.json",
                      limit_name="blob_json")
    doc = expect_dict(load_json(raw, what="index.json", limits=limits), what="index.json")
    out = LayoutListing()
    if "manifests" in doc and doc["manifests"] is None:
        out.manifests_null = True
        out.warnings.append('index.json has "manifests": null (moby#47210); treated as empty.')
    if "layers" in doc or "config" in doc:
        raise FormatError("index.json is ambiguous: it has both manifests and layers/config "
                          "(CVE-2021-41190).")
    walker = _Walker(source, limits, out)
    first_error: ExplorerError | None = None
    for i, item in enumerate(expect_list(doc.get("manifests"), what="index.json manifests",
                                         allow_null=True)):
        where = f"index.json manifests[{i}]"
        try:
            desc = parse_descriptor(item, what=where)
            walker.visit(desc, depth=1, names=_names(desc), where=where)
        except (FormatError, DigestMismatch) as exc:
            # One bad entry must not hide the good ones; it is listed, never used.
            first_error = first_error or exc
            out.warnings.append(f"Skipped {where}: {exc}")
    if not out.refs and first_error is not None:
        raise first_error
    return out


def _names(desc: Descriptor) -> tuple[str, ...]:
    full = desc.annotation(mt.ANNOTATION_IMAGE_NAME)
    ref = desc.annotation(mt.ANNOTATION_REF_NAME)
    if full:
        return (full,)
    return (ref,) if ref else ()


@dataclass
class _Walker:
    source: Source
    limits: Limits
    out: LayoutListing
    visited: set[Digest] = field(default_factory=set)

    def visit(self, desc: Descriptor, *, depth: int, names: tuple[str, ...], where: str) -> None:
        if desc.annotation(mt.ATTESTATION_REF_TYPE) == "attestation-manifest":
            self.out.hidden.append(f"attestation manifest {desc.digest} for "
                                   f"{desc.annotation('vnd.docker.reference.digest')}")
            return
        if desc.media_type in mt.INDEXES:
            self._index(desc, depth=depth, names=names, where=where)
        elif desc.media_type in mt.MANIFESTS:
            self._manifest(desc, names=names, where=where)
        else:
            self.out.warnings.append(
                f"Skipped {where}: unknown media type {desc.media_type!r} ({desc.digest})."
            )

    def _fetch(self, desc: Descriptor, what: str) -> dict[str, Any] | None:
        try:
            data = read_blob(self.source, desc, cap=self.limits.blob_json, what=what)
        except MissingBlobError:
            self.out.warnings.append(f"The {what} {desc.digest} is not present in the archive.")
            return None
        doc = expect_dict(load_json(data, what=what, limits=self.limits), what=what)
        declared = doc.get("mediaType")
        if declared is not None and declared != desc.media_type:
            raise FormatError(
                f"The {what} {desc.digest} declares media type {declared!r} but was referenced "
                f"as {desc.media_type!r} (CVE-2021-41190)."
            )
        if "manifests" in doc and ("layers" in doc or "config" in doc):
            raise FormatError(
                f"The {what} {desc.digest} is ambiguous: it has both manifests and "
                "layers/config (CVE-2021-41190)."
            )
        return doc

    def _index(self, desc: Descriptor, *, depth: int, names: tuple[str, ...], where: str) -> None:
        if depth > self.limits.index_depth:
            raise FormatError(
                f"Image indexes nest deeper than {self.limits.index_depth} levels (index_depth)."
            )
        if desc.digest in self.visited:
            self.out.warnings.append(f"Index {desc.digest} is referenced twice; skipped.")
            return
        self.visited.add(desc.digest)
        doc = self._fetch(desc, "image index")
        if doc is None:
            return
        children = expect_list(doc.get("manifests"), what="index manifests", allow_null=True)
        for i, item in enumerate(children):
            child = parse_descriptor(item, what=f"{where} > manifests[{i}]")
            self.visit(child, depth=depth + 1, names=names or _names(child),
                       where=f"{where} > manifests[{i}]")

    def _manifest(self, desc: Descriptor, *, names: tuple[str, ...], where: str) -> None:
        doc = self._fetch(desc, "image manifest")
        if doc is None:
            return
        if "manifests" in doc:
            raise FormatError(f"The image manifest {desc.digest} has a manifests list.")
        config = parse_descriptor(doc.get("config"), what=f"manifest {desc.digest} config")
        if config.media_type not in mt.CONFIGS:
            self.out.hidden.append(
                f"artifact manifest {desc.digest} (config type {config.media_type})"
            )
            return
        platform = desc.platform
        if platform and platform.os == "unknown" and platform.architecture == "unknown":
            self.out.hidden.append(f"manifest {desc.digest} for platform unknown/unknown")
            return
        layers = [
            parse_descriptor(item, what=f"manifest {desc.digest} layers[{i}]")
            for i, item in enumerate(expect_list(doc.get("layers"), what="manifest layers",
                                                 allow_null=True))
        ]
        for layer in layers:
            if layer.media_type not in mt.LAYERS:
                self.out.warnings.append(
                    f"Layer {layer.digest} has unknown media type {layer.media_type!r}; "
                    "its compression is detected from its bytes."
                )
        annotations = doc.get("annotations") or {}
        self.out.refs.append(
            ImageRef(
                index=len(self.out.refs),
                tags=names,
                platform=platform,
                layer_count=len(layers),
                config_name=config.digest.blob_path,
                layer_names=tuple(layer.digest.blob_path for layer in layers),
                layer_media_types=tuple(layer.media_type for layer in layers),
                layer_digests=tuple(layer.digest for layer in layers),
                layer_sizes=tuple(layer.size for layer in layers),
                manifest=desc,
                config_descriptor=config,
                manifest_annotations=tuple(
                    sorted((str(k), str(v)) for k, v in annotations.items())
                ) if isinstance(annotations, dict) else (),
                origin="index.json",
            )
        )


__all__ = ["LayoutListing", "list_layout", "parse_descriptor", "read_blob"]
