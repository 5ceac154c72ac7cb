"""Build small, valid image archives in memory, so a test can break exactly one thing.

A *layer* is either a prebuilt layer tar (``bytes``) or a list of entries
``(name, data, kind)``:

- ``name``: ``str`` or raw ``bytes`` (bytes allow non-UTF-8 names); written as given, so
  ``"../x"``, ``"."`` or ``".wh.x"`` end up in the tar verbatim;
- ``data``: the content of a ``"file"``, the target of a ``"symlink"`` / ``"hardlink"``,
  ``None`` for a ``"dir"`` or ``"fifo"``;
- ``kind``: ``"file"``, ``"dir"``, ``"symlink"``, ``"hardlink"`` or ``"fifo"``.

``DockerArchive`` (skopeo/podman docker-archive: ``<diffid>.tar`` layers, ``<id>.json``
config, ``manifest.json``) and ``OciArchive`` (``oci-layout``, ``index.json``, ``blobs/``)
compute every digest from the bytes they store.  Everything is a plain attribute or a hook
that a test changes before calling ``members()`` / ``write()``; digests of the *parents* of
what was changed are recomputed, so only the intended rule is broken.  Changing a stored
blob after construction (``layer_blobs[i] = ...``) keeps the descriptor and diff_id of the
original, which is how a digest mismatch is made.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import zstandard

LayerEntry = tuple[str | bytes, bytes | str | None, str]
LayerSpec = Sequence[LayerEntry] | bytes
Compression = Literal["gzip", "zstd"] | None

MTIME = 1_700_000_000
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest(data: bytes) -> str:
    return "sha256:" + sha256_hex(data)


def _text(name: str | bytes) -> str:
    # tarfile wants str; surrogateescape carries arbitrary bytes through unchanged.
    return os.fsdecode(name) if isinstance(name, bytes) else name


def _bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    return data.encode() if isinstance(data, str) else data


_TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "fifo": tarfile.FIFOTYPE,
}


def layer_tar(entries: Sequence[LayerEntry], *, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A layer tar holding ``entries`` in the given order (duplicates allowed)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8",
                      errors="surrogateescape") as tf:
        for name, data, kind in entries:
            info = tarfile.TarInfo(_text(name))
            info.type = _TYPES[kind]
            info.mtime = MTIME
            info.uid = info.gid = 0
            info.mode = 0o755 if kind == "dir" else (0o777 if kind == "symlink" else 0o644)
            payload = None
            if kind == "file":
                payload = _bytes(data)
                info.size = len(payload)
            elif kind in ("symlink", "hardlink"):
                info.linkname = _text(data if isinstance(data, (str, bytes)) else "")
            tf.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return buf.getvalue()


def as_layer(spec: LayerSpec) -> bytes:
    return spec if isinstance(spec, bytes) else layer_tar(spec)


def compress(data: bytes, kind: Compression) -> bytes:
    if kind == "gzip":
        return gzip.compress(data, mtime=0)
    if kind == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


# --------------------------------------------------------------------------- outer tar


@dataclass
class Member:
    """One member of the outer tar."""

    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""


def outer_tar(members: Sequence[Member]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.type = m.type
            info.mtime = MTIME
            info.mode = 0o755 if m.type == tarfile.DIRTYPE else 0o644
            info.linkname = m.linkname
            if m.type == tarfile.REGTYPE:
                info.size = len(m.data)
                tf.addfile(info, io.BytesIO(m.data))
            else:
                tf.addfile(info)
    return buf.getvalue()


def write_archive(path: Path, members: Sequence[Member], *,
                  compression: Compression = None) -> Path:
    path.write_bytes(compress(outer_tar(members), compression))
    return path


def _config(diff_ids: list[str]) -> dict[str, Any]:
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"layer {i}"}
                    for i in range(len(diff_ids))],
    }


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _noop(_doc: Any) -> None:
    return None


class _Builder:
    def __init__(self, layers: Sequence[LayerSpec], compression: Compression) -> None:
        self.plain_layers = [as_layer(spec) for spec in layers]
        self.diff_ids = [digest(t) for t in self.plain_layers]
        self.layer_blobs = [compress(t, compression) for t in self.plain_layers]
        """The stored layer bytes; replace one to make its digests wrong."""
        self.config: dict[str, Any] = _config(self.diff_ids)
        self.config_raw: bytes | None = None
        """Exact config bytes to use instead of ``config`` (named by *their* digest)."""
        self.config_stored: bytes | None = None
        """Bytes stored in place of the config, under the original config's name."""
        self.extra: list[Member] = []
        """Members appended after the regular ones."""
        self.omit: set[str] = set()
        """Member names to leave out."""

    def config_bytes(self) -> bytes:
        return self.config_raw if self.config_raw is not None else _dumps(self.config)

    def members(self) -> list[Member]:
        raise NotImplementedError

    def write(self, path: Path, *, compression: Compression = None) -> Path:
        """Write the outer tar (optionally gzip- or zstd-compressed as a whole)."""
        return write_archive(path, self.members(), compression=compression)


class DockerArchive(_Builder):
    """A docker-archive as skopeo and podman write it (one image)."""

    def __init__(self, layers: Sequence[LayerSpec], *, compression: Compression = None,
                 tags: Sequence[str] = ("example.com/test/img:latest",)) -> None:
        super().__init__(layers, compression)
        self.tags = list(tags)
        self.layer_names = [f"{sha256_hex(t)}.tar" for t in self.plain_layers]
        self.edit_manifest: Callable[[list[dict[str, Any]]], None] = _noop
        """Called with the manifest.json document before it is serialised."""
        self.manifest_raw: bytes | None = None
        """Exact manifest.json bytes to use instead."""

    @property
    def config_name(self) -> str:
        return f"{sha256_hex(self.config_bytes())}.json"

    def manifest_bytes(self) -> bytes:
        if self.manifest_raw is not None:
            return self.manifest_raw
        doc = [{"Config": self.config_name, "RepoTags": list(self.tags),
                "Layers": list(self.layer_names)}]
        self.edit_manifest(doc)
        return _dumps(doc)

    def members(self) -> list[Member]:
        config = self.config_bytes()
        stored = self.config_stored if self.config_stored is not None else config
        out: list[Member] = []
        seen: set[str] = set()
        for name, blob in zip(self.layer_names, self.layer_blobs, strict=True):
            if name not in seen:
                seen.add(name)
                out.append(Member(name, blob))
        out.append(Member(self.config_name, stored))
        out.append(Member("manifest.json", self.manifest_bytes()))
        out = [m for m in out if m.name not in self.omit]
        return out + self.extra


class OciArchive(_Builder):
    """An oci-archive (an OCI image layout, tarred) holding one image."""

    def __init__(self, layers: Sequence[LayerSpec], *, compression: Compression = None,
                 ref_name: str = "example.com/test/img:latest") -> None:
        super().__init__(layers, compression)
        self.ref_name = ref_name
        media = OCI_LAYER_GZIP if compression == "gzip" else (
            OCI_LAYER + "+zstd" if compression == "zstd" else OCI_LAYER)
        self.layer_descs: list[dict[str, Any]] = [
            {"mediaType": media, "digest": digest(b), "size": len(b)} for b in self.layer_blobs
        ]
        """Layer descriptors, computed from the original blobs."""
        self.edit_manifest: Callable[[dict[str, Any]], None] = _noop
        self.edit_index: Callable[[dict[str, Any]], None] = _noop

    def config_descriptor(self) -> dict[str, Any]:
        raw = self.config_bytes()
        return {"mediaType": OCI_CONFIG, "digest": digest(raw), "size": len(raw)}

    def manifest_bytes(self) -> bytes:
        doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
               "config": self.config_descriptor(), "layers": [dict(d) for d in self.layer_descs]}
        self.edit_manifest(doc)
        return _dumps(doc)

    def members(self) -> list[Member]:
        config = self.config_bytes()
        stored_config = self.config_stored if self.config_stored is not None else config
        manifest = self.manifest_bytes()
        index = {"schemaVersion": 2, "manifests": [{
            "mediaType": OCI_MANIFEST, "digest": digest(manifest), "size": len(manifest),
            "annotations": {"org.opencontainers.image.ref.name": self.ref_name}}]}
        self.edit_index(index)
        blobs: dict[str, bytes] = {}
        for desc, blob in zip(self.layer_descs, self.layer_blobs, strict=True):
            blobs.setdefault(desc["digest"], blob)
        blobs.setdefault(digest(config), stored_config)
        blobs.setdefault(digest(manifest), manifest)
        out = [
            Member("oci-layout", _dumps({"imageLayoutVersion": "1.0.0"})),
            Member("index.json", _dumps(index)),
            *(Member("blobs/sha256/" + d.split(":", 1)[1], b) for d, b in blobs.items()),
        ]
        out = [m for m in out if m.name not in self.omit]
        return out + self.extra
