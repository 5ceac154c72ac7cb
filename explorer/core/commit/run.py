"""Commit a sandbox: the image plus one new layer, written as a new archive.

Steps (progress and Cancel throughout; nothing is left behind on failure or Cancel):

1. check everything that can be checked before writing: the sandbox belongs to this image,
   the tag, the ``--change`` lines, the destination is not the input, every input layer is
   present and has an OCI media type;
2. write the new layer to an unnamed temp file next to the destination (``layer.py``);
3. build the config (``config.py``);
4. write the archive (``write_image_archive``): unchanged layer blobs are copied byte for byte
   from the input archive, streamed (kernel ``copy_file_range`` where possible), never
   re-tarred or recompressed; the temp file is fsynced, re-opened and verified by our own
   reader (``verify.py``), and only then renamed over the destination.

Same image + same edits + same timestamp (``CommitOptions.timestamp`` or SOURCE_DATE_EPOCH)
give byte-identical output.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.core.archive.compression import SNIFF_BYTES, Compression, sniff
from explorer.core.archive.image_writer import (
    ArchiveFormat,
    BlobSource,
    ImageName,
    layer_media_type,
    write_image_archive,
)
from explorer.core.archive.writer import StrPath, check_not_input
from explorer.core.commit.changes import ConfigChange, parse_change
from explorer.core.commit.config import (
    NEW_LAYER_PLACEHOLDER,
    build_config,
    commit_time,
    config_bytes,
    default_created_by,
)
from explorer.core.commit.layer import WRITABLE, NewLayer, build_layer
from explorer.core.commit.reference import reference_error
from explorer.core.commit.verify import Expected, verify_written
from explorer.core.digest import Digest
from explorer.core.errors import CommitError, ExplorerError
from explorer.core.fs.diff import DiffSummary
from explorer.core.humanize import human_bytes
from explorer.core.inspection import Inspection
from explorer.core.sandbox.changes import Change
from explorer.core.sandbox.model import Sandbox
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress


@dataclass(frozen=True)
class CommitOptions:
    """What ``docker commit -m -a -c`` and ``docker save -o`` would be told."""

    tag: str | None = None
    """repository[:tag]; None writes an untagged image."""
    message: str = ""
    """``-m``: the history entry's comment."""
    author: str = ""
    """``-a``: the config's and the history entry's author."""
    changes: tuple[str, ...] = ()
    """``-c`` lines (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)."""
    fmt: ArchiveFormat = "docker"
    """"docker": Docker 25+ hybrid (docker, podman, containerd load it); "oci": oci-archive."""
    compression: Compression = Compression.NONE
    """Of the new layer only (none, gzip, zstd); the others are copied as they are."""
    timestamp: int | None = None
    """Seconds since 1970 for ``created`` (and clamping added mtimes); None:
    SOURCE_DATE_EPOCH, else now.  Fixed timestamp = reproducible output."""
    created_by: str | None = None
    """The history entry's created_by; None describes the edits."""


@dataclass(frozen=True)
class CommittedLayer:
    index: int
    digest: Digest
    diff_id: Digest
    size: int
    """Stored bytes of the blob."""
    media_type: str
    command: str
    new: bool = False


@dataclass(frozen=True)
class CommitResult:
    """What the summary page (and the CLI) show; ``path`` can be opened right away."""

    path: str
    image_id: Digest
    manifest_digest: Digest
    tags: tuple[str, ...]
    format: ArchiveFormat
    created: str
    created_by: str
    layers: tuple[CommittedLayer, ...]
    new_layer: CommittedLayer | None
    """None for an empty change (an ``empty_layer`` history entry, no layer)."""
    archive_size: int
    config: dict[str, Any] = field(repr=False)
    summary: DiffSummary | None = None
    changes: tuple[Change, ...] = ()
    verified: bool = True

    @property
    def empty_layer(self) -> bool:
        return self.new_layer is None

    def lines(self) -> list[str]:
        out = [f"Wrote:     {self.path} ({human_bytes(self.archive_size)}, {self.format})",
               f"Image ID:  {self.image_id}",
               f"Tag:       {', '.join(self.tags) or '(none)'}",
               f"Created:   {self.created}",
               f"Command:   {self.created_by}"]
        if self.new_layer is None:
            out.append("New layer: none (no filesystem changes: an empty_layer history entry)")
        for layer in self.layers:
            mark = "new " if layer.new else "    "
            out.append(f"  {mark}{layer.index:>3}  {layer.digest}  {human_bytes(layer.size):>9}"
                       f"  {layer.media_type.rsplit('.', 1)[-1]}")
        out.append("Verified:  every digest re-read from the written file")
        return out


def _input_layer(ins: Inspection, i: int) -> BlobSource:
    layer = ins.image.layers[i]
    index = ins.indexes[i]
    source = ins.archive.source
    try:
        entry = source.entry(layer.blob_name, what=f"layer {i} blob")
        with source.open(entry.name) as fh:
            kind = sniff(fh.read(SNIFF_BYTES))
    except ExplorerError as exc:
        raise CommitError(f"Layer {i} cannot be copied: {exc.message}") from exc
    if kind not in WRITABLE:
        raise CommitError(f"Layer {i} is {kind.value}-compressed; OCI archives have no media "
                          "type for that, so the image cannot be written with it.")
    digest = layer.digest or index.blob_digest
    name = entry.name
    return BlobSource(digest, entry.size, layer_media_type(kind), layer.diff_id,
                      lambda: source.open(name))


def _changes(options: CommitOptions) -> list[ConfigChange]:
    return [parse_change(text) for text in options.changes]


def _check_options(ins: Inspection, sandbox: Sandbox, options: CommitOptions) -> None:
    if sandbox.image_id and sandbox.image_id != str(ins.image.id):
        raise CommitError(f"The container layer was made over image {sandbox.image_id}, not "
                          f"over the open image {ins.image.id}.")
    if options.tag is not None:
        error = reference_error(options.tag)
        if error:
            raise CommitError(f"Invalid tag {options.tag!r}: {error}")
    if options.compression not in WRITABLE:
        raise CommitError(f"The new layer can be stored plain, gzip or zstd, not "
                          f"{options.compression.value}.")
    if options.fmt not in ("docker", "oci"):
        raise CommitError(f"Unknown output format {options.fmt!r}: docker or oci.")


def preview_config(ins: Inspection, sandbox: Sandbox | None, options: CommitOptions
                   ) -> dict[str, Any]:
    """The config document a commit would write (for the wizard's preview): the new
    diff_id is a placeholder, ``created`` the time it would get now.  Raises ChangeError
    for a bad ``--change`` line."""
    changes = _changes(options)
    _seconds, created = commit_time(options.timestamp)
    empty = sandbox is None or sandbox.layer().is_empty
    description = sandbox.describe() if sandbox is not None and not empty else ""
    return build_config(ins.image.config.raw, diff_id=None if empty else NEW_LAYER_PLACEHOLDER,
                        created=created, author=options.author, comment=options.message,
                        created_by=options.created_by or default_created_by(description,
                                                                            changes),
                        changes=changes)


def commit(
    ins: Inspection,
    sandbox: Sandbox,
    dest: StrPath,
    options: CommitOptions = CommitOptions(),
    *,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> CommitResult:
    """Write ``ins``'s image plus ``sandbox`` as a new image archive at ``dest``.

    Raises CommitError (with nothing written: bad tag or change, input as output, a host
    file that changed, a failed verification, no space...), ChangeError, Cancelled."""
    _check_options(ins, sandbox, options)
    changes = _changes(options)
    path = str(Path(dest).absolute())
    check_not_input(path, [ins.archive.path])
    if os.path.isdir(path):
        raise CommitError(f"Cannot write {path}: it is a folder.")
    seconds, created = commit_time(options.timestamp)
    sources = [_input_layer(ins, i) for i in range(len(ins.image.layers))]
    layer_view = sandbox.layer()
    count = len(sources) + (0 if layer_view.is_empty else 1)
    limit = ins.archive.limits.layers_warn
    if options.fmt == "docker" and count > limit:
        raise CommitError(f"The new image would have {count} layers; docker load refuses "
                          f"more than {limit} (layers_warn). Write an OCI archive instead.")
    host_bytes = sum(f.size for f in layer_view.sources.values())
    blob_bytes = sum(s.size for s in sources)
    total = host_bytes + 2 * blob_bytes
    offset = 0

    def report(done: int, _total: int) -> None:
        progress(min(offset + done, total), total)

    new: NewLayer | None = None
    try:
        if not layer_view.is_empty:
            new = build_layer(sandbox, compression=options.compression, mtime=seconds,
                              folder=os.path.dirname(path), progress=report, cancel=cancel)
            total += 2 * new.size
        offset = host_bytes
        description = "" if layer_view.is_empty else sandbox.describe()
        created_by = options.created_by or default_created_by(description, changes)
        doc = build_config(ins.image.config.raw, diff_id=new.diff_id if new else None,
                           created=created, created_by=created_by, author=options.author,
                           comment=options.message, changes=changes)
        config = config_bytes(doc)
        layers: Sequence[BlobSource] = [*sources, *([new.source()] if new else [])]
        tag = ImageName.parse(options.tag).familiar if options.tag else None
        expected = Expected(
            config_digest=Digest.of_bytes(config),
            layer_digests=tuple(s.digest for s in layers),
            layer_sizes=tuple(s.size for s in layers),
            new_layer=len(sources) if new else None,
            tag=tag,
        )

        def verify(tmp: str) -> None:
            nonlocal offset
            offset = host_bytes + blob_bytes + (new.size if new else 0)
            verify_written(tmp, expected, progress=report, cancel=cancel)

        written = write_image_archive(path, config=config, layers=layers,
                                      tags=[tag] if tag else [], fmt=options.fmt,
                                      inputs=[ins.archive.path], cancel=cancel,
                                      progress=report, verify=verify)
    finally:
        if new is not None:
            new.close()
    progress(total, total)
    commands = [layer.command for layer in ins.image.layers] + [created_by]
    summary = [CommittedLayer(i, s.digest, s.diff_id, s.size, s.media_type, commands[i],
                              new=new is not None and i == len(sources))
               for i, s in enumerate(layers)]
    return CommitResult(
        path=written.path, image_id=written.image_id, manifest_digest=written.manifest_digest,
        tags=written.tags, format=options.fmt, created=created, created_by=created_by,
        layers=tuple(summary), new_layer=summary[-1] if new is not None else None,
        archive_size=written.size, config=doc,
        summary=None if layer_view.is_empty else sandbox.summary(),
        changes=tuple(sandbox.changes()),
    )
