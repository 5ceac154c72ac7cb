"""Write an image archive that Docker, containerd and podman all load (FORMATS.md §4.3).

``fmt="docker"`` is the Docker 25+ hybrid: an OCI layout (``oci-layout``, ``index.json``,
``blobs/sha256/*``) plus the legacy ``manifest.json`` and ``repositories``, so the classic
store, the containerd store and containers/image all accept it.  ``fmt="oci"`` is a plain
oci-archive (for podman/skopeo/containerd; the classic ``docker load`` needs manifest.json).

Why so careful: the archive is a content-addressed document.  Every blob is written once under
its own sha256, the JSON is compact and key order fixed, the tar records are PAX with mode
0644/0755, uid/gid 0 and mtime 0, in a fixed order.  The same inputs give the same bytes.
Nothing is written when a check fails, and the output replaces the destination atomically.

A layer is given either as bytes or as a :class:`BlobSource` (an opener of a blob of known
digest, size and diff_id, e.g. a layer of the input archive): sources are copied in bounded
chunks, by the kernel (``copy_file_range``) where it can, so a 700 MB layer never sits in
memory.  Their digests are checked by the caller's ``verify`` hook, which re-reads the
finished temp file before it is renamed into place.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from explorer.core.archive.compression import SNIFF_BYTES, Compression, Decompressor, sniff
from explorer.core.archive.layer_builder import END_OF_ARCHIVE, make_info, write_member
from explorer.core.archive.writer import StrPath, atomic_output, start_writeback
from explorer.core.digest import Digest
from explorer.core.errors import CommitError, FormatError
from explorer.core.image import mediatypes as mt
from explorer.core.limits import DEFAULT_LIMITS
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress

ArchiveFormat = Literal["docker", "oci"]

OCI_LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'
_CHUNK = 1 << 20
_KERNEL_CHUNK = 64 << 20
"""Bytes per ``copy_file_range`` call: between two calls a Cancel is noticed."""
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF,
                   errno.ETXTBSY, errno.EPERM}

_LAYER_TYPES = {
    Compression.NONE: mt.OCI_LAYER,
    Compression.GZIP: mt.OCI_LAYER_GZIP,
    Compression.ZSTD: mt.OCI_LAYER_ZSTD,
}

# distribution/reference grammar (the subset docker load and skopeo accept for tags).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = (r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
           r"(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?")
_PATH_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_DOMAIN_RE = re.compile(_DOMAIN)
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
_MAX_NAME = 255


def layer_media_type(kind: Compression) -> str:
    """The OCI layer media type for a blob compressed with ``kind``."""
    try:
        return _LAYER_TYPES[kind]
    except KeyError:
        raise ValueError(f"No OCI layer media type for {kind.value} compression.") from None


def _json(doc: object) -> bytes:
    """Compact, deterministic JSON (dict order is insertion order, which we fix)."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True, slots=True)
class ImageName:
    """A tagged image reference split the way Docker normalises it."""

    domain: str
    path: str
    tag: str

    @classmethod
    def parse(cls, text: str) -> ImageName:
        """``app:1`` -> docker.io/library/app:1; raises ValueError for what docker refuses."""
        name = text.strip()
        if not name or "@" in name:
            raise ValueError(f"Invalid tag {text!r}: expected NAME[:TAG] (no digest).")
        repo, tag = name, "latest"
        last = name.rsplit("/", 1)[-1]
        if ":" in last:
            repo, tag = name.rsplit(":", 1)
        first, sep, rest = repo.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost"
                    or first != first.lower()):
            domain, path = first, rest
        else:
            domain, path = "docker.io", repo
        if domain in ("index.docker.io", "docker.io"):
            domain = "docker.io"
            if "/" not in path:
                path = "library/" + path
        if not _DOMAIN_RE.fullmatch(domain) or not _PATH_RE.fullmatch(path):
            raise ValueError(
                f"Invalid tag {text!r}: the repository name must be lowercase letters, digits "
                "and separators (. _ __ -) in '/'-separated parts."
            )
        if not _TAG_RE.fullmatch(tag):
            raise ValueError(f"Invalid tag {text!r}: a tag is up to 128 of [A-Za-z0-9_.-].")
        if len(domain) + 1 + len(path) > _MAX_NAME:
            raise ValueError(f"Invalid tag {text!r}: the name is longer than {_MAX_NAME}.")
        return cls(domain, path, tag)

    @property
    def full(self) -> str:
        """``docker.io/library/app:1`` (io.containerd.image.name)."""
        return f"{self.domain}/{self.path}:{self.tag}"

    @property
    def familiar_repo(self) -> str:
        """``app`` for docker.io/library/app, ``corpus/x`` for docker.io/corpus/x."""
        if self.domain != "docker.io":
            return f"{self.domain}/{self.path}"
        return self.path.removeprefix("library/")

    @property
    def familiar(self) -> str:
        """``app:1``: what ``docker save`` writes in RepoTags."""
        return f"{self.familiar_repo}:{self.tag}"


@dataclass(frozen=True, slots=True)
class WrittenImage:
    """What was written: enough to report success and re-open the result."""

    path: str
    config_digest: Digest
    manifest_digest: Digest
    size: int
    tags: tuple[str, ...]

    @property
    def image_id(self) -> Digest:
        """Docker's image ID is the config digest."""
        return self.config_digest


@dataclass(frozen=True, slots=True)
class BlobSource:
    """A layer blob copied byte for byte from somewhere else (never loaded whole).

    ``digest``, ``size`` and ``diff_id`` are what the caller knows the blob to be (for an
    input layer: what indexing verified); ``open`` gives a fresh stream positioned at the
    blob's first byte (a ``FileWindow`` or a regular file, for kernel-side copies)."""

    digest: Digest
    size: int
    media_type: str
    diff_id: Digest
    open: Callable[[], BinaryIO]


Layer = bytes | BlobSource


def _size(layer: Layer) -> int:
    return layer.size if isinstance(layer, BlobSource) else len(layer)


def _descriptor(media_type: str, data: bytes | int, digest: Digest | None = None
                ) -> dict[str, Any]:
    if isinstance(data, int):
        assert digest is not None
        return {"mediaType": media_type, "digest": str(digest), "size": data}
    return {"mediaType": media_type, "digest": str(digest or Digest.of_bytes(data)),
            "size": len(data)}


def _diff_id(blob: bytes, cancel: CancelToken) -> Digest:
    """sha256 of the uncompressed layer, whatever the blob's compression."""
    kind = sniff(blob[:SNIFF_BYTES])
    if kind is Compression.NONE:
        return Digest.of_bytes(blob)
    dec = Decompressor(kind)
    digest = hashlib.sha256()
    view = memoryview(blob)
    for start in range(0, len(blob), _CHUNK):
        cancel.check()
        digest.update(dec.feed(bytes(view[start:start + _CHUNK])))
    dec.finish()
    return Digest.from_hasher(digest)


def _check_config(config: bytes, layers: Sequence[Layer], cancel: CancelToken) -> None:
    """Refuse a config that loaders would reject (FORMATS.md §4.2, BAD-INPUT.md E4)."""
    if len(config) > DEFAULT_LIMITS.blob_json:
        raise CommitError(f"The image config is {len(config)} bytes; loaders refuse more than "
                          f"{DEFAULT_LIMITS.blob_json} (blob_json).")
    try:
        doc = json.loads(config)
    except (ValueError, RecursionError) as exc:
        raise CommitError(f"The image config is not valid JSON: {exc}.") from exc
    if not isinstance(doc, dict):
        raise CommitError("The image config must be a JSON object.")
    for key in ("architecture", "os"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise CommitError(f"The image config has no {key!r}; docker load needs it.")
    rootfs = doc.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers" or not isinstance(
            diff_ids, list):
        raise CommitError('The image config needs rootfs {"type":"layers","diff_ids":[...]}.')
    if len(diff_ids) != len(layers):
        raise CommitError(f"The config lists {len(diff_ids)} diff_ids for {len(layers)} "
                          "layer blobs (inconsistent layer count).")
    for i, (text, blob) in enumerate(zip(diff_ids, layers, strict=True)):
        try:
            expected = Digest.parse(text, what=f"diff_id {i}")
            actual = blob.diff_id if isinstance(blob, BlobSource) else _diff_id(blob, cancel)
        except FormatError as exc:
            raise CommitError(f"Layer {i}: {exc}") from exc
        if actual != expected:
            raise CommitError(f"Layer {i} does not match its diff_id: the config says "
                              f"{expected}, the content hashes to {actual}.")


def _parse_tags(tags: Sequence[str]) -> list[ImageName]:
    names: dict[str, ImageName] = {}
    for tag in tags:
        try:
            name = ImageName.parse(tag)
        except ValueError as exc:
            raise CommitError(str(exc)) from exc
        names.setdefault(name.full, name)
    return list(names.values())


def _write_blob(fh: BinaryIO, name: str, data: bytes, cancel: CancelToken) -> int:
    cancel.check()
    info = make_info(name.encode(), tarfile.REGTYPE, mode=0o644, size=len(data))
    return write_member(fh, info, data)


def _extent(src: BinaryIO) -> tuple[int, int] | None:
    """(descriptor, offset) of a stream's current position, when the kernel can copy it."""
    extent = getattr(src, "extent", None)
    if extent is not None:
        fd, offset, _left = extent()
        return int(fd), int(offset)
    try:
        return src.fileno(), src.tell()
    except (OSError, ValueError, AttributeError):
        return None


def copy_exactly(src: BinaryIO, dst: BinaryIO, size: int, *, cancel: CancelToken,
                 on_chunk: Callable[[int], None]) -> None:
    """Copy ``size`` bytes from ``src`` to ``dst`` in bounded chunks: ``copy_file_range``
    between the two files when both are real files, else a 1 MiB buffer.  Raises
    CommitError when ``src`` ends early."""
    left = size
    where = _extent(src)
    if where is not None and left > 0:
        src_fd, src_off = where
        start = src.tell()
        dst.flush()
        dst_off = dst.tell()
        try:
            while left > 0:
                cancel.check()
                n = os.copy_file_range(src_fd, dst.fileno(), min(left, _KERNEL_CHUNK),
                                       src_off, dst_off)
                if n == 0:
                    break
                start_writeback(dst.fileno(), dst_off, n)
                src_off += n
                dst_off += n
                left -= n
                on_chunk(n)
        except OSError as exc:
            if exc.errno not in _NO_KERNEL_COPY:
                raise
        dst.seek(dst_off)
        src.seek(start + size - left)
    while left > 0:
        cancel.check()
        chunk = src.read(min(_CHUNK, left))
        if not chunk:
            raise CommitError(f"A blob ended {left} bytes early while it was copied: the "
                              "input changed since it was opened.")
        dst.write(chunk)
        left -= len(chunk)
        on_chunk(len(chunk))
    if left:
        raise CommitError(f"A blob ended {left} bytes early while it was copied: the input "
                          "changed since it was opened.")


def _write_source(fh: BinaryIO, name: str, blob: BlobSource, cancel: CancelToken,
                  on_chunk: Callable[[int], None]) -> int:
    cancel.check()
    info = make_info(name.encode(), tarfile.REGTYPE, mode=0o644, size=blob.size)
    header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    fh.write(header)
    with blob.open() as src:
        copy_exactly(src, fh, blob.size, cancel=cancel, on_chunk=on_chunk)
    pad = -blob.size % tarfile.BLOCKSIZE
    fh.write(b"\0" * pad)
    return len(header) + blob.size + pad


def write_image_archive(
    dest: StrPath,
    *,
    config: bytes,
    layers: Sequence[Layer],
    layer_media_types: Sequence[str] | None = None,
    tags: Sequence[str] = (),
    fmt: ArchiveFormat = "docker",
    inputs: Sequence[StrPath] = (),
    cancel: CancelToken = NEVER_CANCELLED,
    progress: Progress = no_progress,
    verify: Callable[[str], None] | None = None,
) -> WrittenImage:
    """Write one image as a Docker 25+ hybrid (``"docker"``) or an oci-archive (``"oci"``).

    ``config`` is written byte-for-byte (its sha256 is the image ID).  ``layers`` are the
    stored blobs (bytes or BlobSource), already compressed or not; media types default to
    what the bytes show (a BlobSource says its own).  Every layer is checked against the
    config's diff_ids before anything is written (a BlobSource by the diff_id it declares).
    ``verify(temp_path)`` runs on the complete file before it replaces ``dest``.
    Raises CommitError (nothing written) or Cancelled.
    """
    if fmt not in ("docker", "oci"):
        raise ValueError(f"Unknown archive format {fmt!r}: expected 'docker' or 'oci'.")
    if layer_media_types is None:
        layer_media_types = [b.media_type if isinstance(b, BlobSource)
                             else layer_media_type(sniff(b[:SNIFF_BYTES])) for b in layers]
    if len(layer_media_types) != len(layers):
        raise ValueError("layer_media_types must have one entry per layer.")
    names = _parse_tags(tags)
    _check_config(config, layers, cancel)

    config_digest = Digest.of_bytes(config)
    layer_digests = [b.digest if isinstance(b, BlobSource) else Digest.of_bytes(b)
                     for b in layers]
    manifest = _json({
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": _descriptor(mt.OCI_CONFIG, config, config_digest),
        "layers": [_descriptor(t, _size(b), d)
                   for t, b, d in zip(layer_media_types, layers, layer_digests, strict=True)],
    })
    if len(manifest) > DEFAULT_LIMITS.blob_json:
        raise CommitError(f"The manifest would be {len(manifest)} bytes; loaders refuse more "
                          f"than {DEFAULT_LIMITS.blob_json} (blob_json).")
    manifest_digest = Digest.of_bytes(manifest)
    entries: list[dict[str, Any]] = []
    for image_name in names:
        entry = _descriptor(mt.OCI_MANIFEST, manifest, manifest_digest)
        entry["annotations"] = {mt.ANNOTATION_IMAGE_NAME: image_name.full,
                                mt.ANNOTATION_REF_NAME: image_name.tag}
        entries.append(entry)
    if not entries:  # untagged: one descriptor without names, as docker save writes it
        entries.append(_descriptor(mt.OCI_MANIFEST, manifest, manifest_digest))
    files: dict[str, bytes] = {
        "index.json": _json({"schemaVersion": 2, "mediaType": mt.OCI_INDEX,
                             "manifests": entries}),
        "oci-layout": OCI_LAYOUT,
    }
    if fmt == "docker":
        files["manifest.json"] = _json([{
            "Config": config_digest.blob_path,
            "RepoTags": [n.familiar for n in names],
            "Layers": [d.blob_path for d in layer_digests],
        }])
        if len(files["manifest.json"]) > DEFAULT_LIMITS.manifest_json:
            raise CommitError("manifest.json would exceed 1 MiB (manifest_json); use fewer tags.")
        if names and layers:
            top = json.loads(config)["rootfs"]["diff_ids"][-1].split(":", 1)[1]
            repos: dict[str, dict[str, str]] = {}
            for n in names:
                repos.setdefault(n.familiar_repo, {})[n.tag] = top
            files["repositories"] = _json(repos)

    blobs: dict[str, Layer] = {config_digest.blob_path: config,
                               manifest_digest.blob_path: manifest}
    for digest, blob in zip(layer_digests, layers, strict=True):
        blobs.setdefault(digest.blob_path, blob)
    total = sum(_size(b) for b in blobs.values())
    path = str(Path(dest).absolute())
    size = 0
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        progress(done, total)

    with atomic_output(path, inputs=inputs, expected_size=total + 64 * 1024,
                       verify=verify) as fh:
        for dirname in ("blobs", "blobs/sha256"):
            size += write_member(fh, make_info(dirname.encode(), tarfile.DIRTYPE, mode=0o755))
        for blob_name in sorted(blobs):
            blob = blobs[blob_name]
            if isinstance(blob, BlobSource):
                size += _write_source(fh, blob_name, blob, cancel, advance)
            else:
                size += _write_blob(fh, blob_name, blob, cancel)
                advance(len(blob))
        for file_name in sorted(files):
            size += _write_blob(fh, file_name, files[file_name], cancel)
        fh.write(END_OF_ARCHIVE)
        size += len(END_OF_ARCHIVE)
        cancel.check()
    return WrittenImage(path=path, config_digest=config_digest, manifest_digest=manifest_digest,
                        size=size, tags=tuple(n.familiar for n in names))
