"""The single entry point: open an archive or layout folder, list its images, load one."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from explorer.core.archive.source import DirSource, Source, TarSource, open_source, read_capped
from explorer.core.archive.tarindex import MemberKind
from explorer.core.digest import Digest, chain_ids
from explorer.core.errors import (
    DigestMismatch,
    FormatError,
    ImageSelectionError,
    NotAnImageError,
)
from explorer.core.image.config import map_history, parse_config
from explorer.core.image.docker_archive import (
    config_digest_from_name,
    digest_from_blob_name,
    parse_manifest_json,
)
from explorer.core.image.model import Image, ImageRef, LayerInfo
from explorer.core.limits import DEFAULT_LIMITS, Limits
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress

_ROOTFS_DIRS = ("etc", "bin", "usr", "lib", "var", "sbin", "root", "home", "tmp")


@dataclass
class Archive:
    """An opened input: its format, the images it lists, and what was noticed on the way."""

    path: str
    source: Source
    format: str
    refs: list[ImageRef]
    warnings: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    limits: Limits = DEFAULT_LIMITS

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.source.close()

    def select(self, selector: str | int | None = None) -> ImageRef:
        """Pick an image by list index, tag (exact or familiar) or digest prefix."""
        if not self.refs:
            raise ImageSelectionError(f"{self.path} lists no images.")
        if selector is None or selector == "":
            if len(self.refs) == 1:
                return self.refs[0]
            raise ImageSelectionError(
                f"{self.path} holds {len(self.refs)} images; choose one with --image "
                "NAME|INDEX: " + ", ".join(f"{r.index}: {r.name}" for r in self.refs)
            )
        if isinstance(selector, int) or (isinstance(selector, str) and selector.isdigit()):
            i = int(selector)
            if 0 <= i < len(self.refs):
                return self.refs[i]
            raise ImageSelectionError(
                f"Image index {i} is out of range: {self.path} holds {len(self.refs)} images "
                f"(0-{len(self.refs) - 1})."
            )
        wanted = familiar(selector)
        matches = [r for r in self.refs if any(familiar(t) == wanted for t in r.tags)]
        if not matches:
            matches = [
                r for r in self.refs
                if r.manifest is not None and str(r.manifest.digest).startswith(selector)
            ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise ImageSelectionError(
                f"No image named {selector!r} in {self.path}; it holds: "
                + ", ".join(f"{r.index}: {r.name}" for r in self.refs)
            )
        raise ImageSelectionError(
            f"{len(matches)} images match {selector!r}; choose by index: "
            + ", ".join(f"{r.index}: {r.name} ({r.platform})" for r in matches)
        )

    def load(self, ref: ImageRef | None = None) -> Image:
        """Read the chosen image's config and describe its layers (no layer bytes yet)."""
        return load_image(self, ref or self.select())


def familiar(name: str) -> str:
    """``docker.io/library/app:latest`` and ``app`` name the same image."""
    n = name.strip()
    if "@" not in n and ":" not in n.rsplit("/", 1)[-1]:
        n += ":latest"
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/",
                   "index.docker.io/"):
        if n.startswith(prefix):
            n = n[len(prefix):]
            break
    if n.startswith("library/"):
        n = n[len("library/"):]
    return n


def open_archive(
    path: str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> Archive:
    """Open ``path`` (tar, compressed tar or OCI layout folder) and list its images.

    Raises NotAnImageError, FormatError, TruncatedError, LimitExceeded, MissingBlobError,
    UnsafePath, DigestMismatch, Cancelled.
    """
    source = open_source(path, limits=limits, progress=progress, cancel=cancel)
    try:
        return _classify(path, source, limits)
    except BaseException:
        source.close()
        raise


def _classify(path: str, source: TarSource | DirSource, limits: Limits) -> Archive:
    kinds = {n: source.kind(n) for n in ("oci-layout", "index.json", "manifest.json",
                                         "repositories")}
    if isinstance(source, TarSource):
        for control in kinds:
            first, last = source.index.first.get(control), source.index.last.get(control)
            if first is not None and first is not last:
                raise FormatError(
                    f"The archive holds {control} twice; Docker, containerd and podman would "
                    "read different copies, so it is refused."
                )
    has_oci = kinds["oci-layout"] is not None and kinds["index.json"] is not None
    has_manifest = kinds["manifest.json"] is not None
    warnings = list(source.warnings)
    hidden: list[str] = []
    if has_oci:
        from explorer.core.image.oci_layout import list_layout  # not needed by older archives

        listing = list_layout(source, limits=limits)
        warnings += listing.warnings
        hidden += listing.hidden
        refs = listing.refs
        if has_manifest:
            docker_refs, w = parse_manifest_json(source, limits=limits)
            warnings += w
            refs = _merge_hybrid(refs, docker_refs, warnings)
            fmt = "Docker 25+ archive (OCI layout + manifest.json)"
        elif isinstance(source, DirSource):
            fmt = "OCI layout folder"
        else:
            fmt = "OCI archive" if source.compression.value == "none" else (
                f"OCI archive ({source.compression.value}-compressed)")
    elif has_manifest:
        refs, w = parse_manifest_json(source, limits=limits)
        warnings += w
        fmt = _docker_flavour(refs)
        if isinstance(source, TarSource) and source.compression.value != "none":
            fmt += f" ({source.compression.value}-compressed)"
    else:
        raise _not_an_image(path, source, kinds)
    refs = [dataclasses.replace(r, index=i) for i, r in enumerate(refs)]
    refs = [_with_platform(source, r, limits) for r in refs]
    archive = Archive(path, source, fmt, refs, warnings, hidden, limits)
    if not refs:
        raise NotAnImageError(f"{path} is an image archive ({fmt}) that lists no images.")
    return archive


def _docker_flavour(refs: list[ImageRef]) -> str:
    names = [n for r in refs for n in r.layer_names]
    if any(n.endswith("/layer.tar") for n in names):
        return "docker-archive (docker save, legacy layout)"
    if any(n.startswith("blobs/") for n in names):
        return "docker-archive (Docker 25+ paths)"
    if any(n.endswith(".tar.gz") for n in names):
        return "docker-archive (go-containerregistry tarball)"
    return "docker-archive (podman/skopeo)"


def _merge_hybrid(
    oci: list[ImageRef], docker: list[ImageRef], warnings: list[str]
) -> list[ImageRef]:
    """index.json is authoritative (containerd); manifest.json adds tags and missing images."""
    if not oci:
        return docker
    merged = list(oci)
    for d in docker:
        match = next(
            (i for i, o in enumerate(merged)
             if o.config_name == d.config_name and o.layer_names == d.layer_names),
            None,
        )
        if match is None:
            match = next((i for i, o in enumerate(merged) if o.config_name == d.config_name), None)
            if match is not None:
                warnings.append(
                    f"manifest.json and index.json list different layer blobs for image "
                    f"{d.config_name}; index.json is used (as containerd does)."
                )
        if match is None:
            warnings.append(
                f"manifest.json lists image {d.name} that index.json does not (moby#51389)."
            )
            merged.append(d)
            continue
        o = merged[match]
        by_name: dict[str, str] = {}
        for tag in (*d.tags, *o.tags):
            by_name.setdefault(familiar(tag), tag)
        tags = tuple(by_name.values())
        merged[match] = dataclasses.replace(o, tags=tags, origin="index.json + manifest.json")
    return merged


def _with_platform(source: Source, ref: ImageRef, limits: Limits) -> ImageRef:
    if ref.platform is not None:
        return ref
    try:
        raw = read_capped(source, ref.config_name, limits.blob_json, what="image config",
                          limit_name="blob_json")
        cfg = parse_config(raw, limits=limits)
    except FormatError:
        return ref
    return dataclasses.replace(ref, platform=cfg.platform)


def _not_an_image(path: str, source: Source, kinds: dict[str, MemberKind | None]) -> FormatError:
    names = sorted(source.names())
    files = [n for n in names if source.kind(n) is MemberKind.FILE]
    if kinds["repositories"] is not None and any(
        re.fullmatch(r"[a-f0-9]{64}/json", n) for n in names
    ):
        return NotAnImageError(
            f"{path} is a pre-Docker-1.10 image archive (no manifest.json, only repositories and "
            "v1 layer folders). This format is obsolete (Docker 29 cannot load it either); "
            "re-save the image with a current docker or skopeo."
        )
    if not names:
        return NotAnImageError(f"{path} is an empty tar archive, not a container image.")
    tops = {n.split("/", 1)[0] for n in names}
    if sum(1 for d in _ROOTFS_DIRS if d in tops) >= 2 or any(
        n.startswith(".wh.") or "/.wh." in n for n in names
    ):
        return NotAnImageError(
            f"{path} looks like a container filesystem or a single layer (it has "
            f"{', '.join(sorted(d + '/' for d in _ROOTFS_DIRS if d in tops)) or 'whiteouts'}), "
            "not an image archive: it has no manifest.json or index.json. A `docker export` "
            "tar can be turned into an image with `docker import`."
        )
    shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    return NotAnImageError(
        f"{path} is a tar archive but not a container image: it holds {len(files)} file(s) "
        f"({shown or 'no files'}) and no manifest.json, index.json or oci-layout."
    )


def load_image(archive: Archive, ref: ImageRef) -> Image:
    """Read the chosen image's config and describe its layers (no layer bytes yet). Raises
    DigestMismatch, FormatError, MissingBlobError, LimitExceeded."""
    source, limits = archive.source, archive.limits
    warnings: list[str] = []
    if ref.config_descriptor is not None:
        from explorer.core.image.oci_layout import read_blob

        raw = read_blob(source, ref.config_descriptor, cap=limits.blob_json, what="image config")
    else:
        raw = read_capped(source, ref.config_name, limits.blob_json, what="image config",
                          limit_name="blob_json")
        expected = config_digest_from_name(ref.config_name)
        actual = Digest.of_bytes(raw)
        if expected is not None and expected != actual:
            if digest_from_blob_name(ref.config_name) is not None:
                raise DigestMismatch(
                    f"The image config {ref.config_name} does not match its digest: expected "
                    f"{expected}, got {actual}.",
                    expected=str(expected), actual=str(actual), what="image config",
                )
            warnings.append(
                f"The config file name {ref.config_name} does not match its content ({actual})."
            )
    config = parse_config(raw, limits=limits)
    if len(config.diff_ids) != ref.layer_count:
        raise FormatError(
            f"The image lists {ref.layer_count} layer blobs but its config has "
            f"{len(config.diff_ids)} diff_ids (inconsistent layer count)."
        )
    seen: dict[str, Digest] = {}
    for name, diff_id in zip(ref.layer_names, config.diff_ids, strict=True):
        if name in seen and seen[name] != diff_id:
            raise FormatError(
                f"The layer file {name} is used for two different diff_ids ({seen[name]} and "
                f"{diff_id})."
            )
        seen[name] = diff_id
    if ref.layer_count > limits.layers_warn:
        warnings.append(
            f"The image has {ref.layer_count} layers; Docker refuses more than "
            f"{limits.layers_warn}."
        )
    per_layer, before, trailing, hist_warning = map_history(config.history, ref.layer_count)
    if hist_warning:
        warnings.append(hist_warning)
    chains = chain_ids(list(config.diff_ids))
    layers = tuple(
        LayerInfo(
            index=i,
            blob_name=ref.layer_names[i],
            media_type=ref.layer_media_types[i],
            digest=ref.layer_digests[i],
            compressed_size=ref.layer_sizes[i],
            diff_id=config.diff_ids[i],
            chain_id=chains[i],
            history=per_layer[i],
            empty_before=before[i],
        )
        for i in range(ref.layer_count)
    )
    return Image(ref=ref, config=config, layers=layers, trailing_empty=trailing,
                 format=archive.format, warnings=tuple(warnings))
