"""Copy files and folders of one layer's merged filesystem into a folder the user chose.

This is the only code that writes image content to disk (BAD-INPUT D3), so it trusts nothing:

- Each selected item lands in ``dest_dir`` under its own name or, when that name is taken,
  the first free ``name (2)``, ``name (3)``... (``ExtractReport.names``): nothing that existed
  is written into, replaced or followed.  Every path is made by ``*at`` calls from a
  descriptor of ``dest_dir``; folders are opened ``O_NOFOLLOW``; files are written to an
  ``O_EXCL`` temp file in their folder, then linked into place (``link``, unlike ``rename``,
  refuses an existing name).
- A symlink is recreated only when its target, followed through the links this extraction
  makes, stays inside what the extraction creates; other links, devices, FIFOs and sockets
  are skipped with a warning.  Hardlinks become copies.  Modes keep the owner's bits (plus
  owner read/write) and group/other read and execute, within the umask: never setuid,
  setgid, sticky or group/other write.  Owners and times are not applied.
- Cancel or any error removes everything this call created, so ``dest_dir`` is as it was.
- Each layer blob is read at most once (uncompressed layers by offset, in order, the others in
  one streaming pass), and every file is checked against what indexing saw.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import BinaryIO

import xxhash

from explorer.core.archive.writer import _current_umask, check_not_input, temp_prefix
from explorer.core.errors import CommitError, ExplorerError
from explorer.core.fs.entry import EntryKind, FileEntry, display_path
from explorer.core.fs.file_content import (
    BlobChanged,
    ContentSource,
    FileNotInLayer,
    LayerStream,
    LinkResolver,
    NotARegularFile,
    check_tar_header,
    clean_image_path,
)
from explorer.core.fs.union import Node
from explorer.core.inspection import Inspection
from explorer.core.tasks import NEVER_CANCELLED, CancelToken, Progress, no_progress

CHUNK = 1 << 20
MAX_NAME_TRIES = 1000
DIR_CACHE = 64
"""Folder descriptors kept open (opening a deep path again costs one ``openat`` per level)."""
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_ENTRY_ERRNOS = {errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL}
"""Errors that concern one name only: that entry is skipped, the extraction goes on."""
_NO_HARDLINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK}

Rel = tuple[bytes, ...]
Chunk = bytes | memoryview


class ExtractError(ExplorerError):
    """Extraction failed; what it had created was removed again."""


@dataclass
class ExtractReport:
    dest_dir: str
    files: int = 0
    dirs: int = 0
    symlinks: int = 0
    bytes_written: int = 0
    skipped: int = 0
    names: list[tuple[bytes, str]] = field(default_factory=list)
    """Each selected image path and the name it got in ``dest_dir``."""
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Item:
    rel: Rel
    """Path below ``dest_dir``."""
    kind: EntryKind
    mode: int
    path: bytes
    link: bytes = b""
    source: ContentSource | None = None


def extract(
    inspection: Inspection,
    layer_index: int,
    paths: list[bytes],
    dest_dir: str,
    *,
    progress: Progress = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    durable: bool = True,
) -> ExtractReport:
    """Copy ``paths`` (files or folders, recursively; ``b""`` is the whole filesystem) as the
    merged view at ``layer_index`` shows them into the existing folder ``dest_dir``.

    ``progress(bytes_written, bytes_total)``; ``durable`` fsyncs each file before it is put
    in place.  Raises FileNotInLayer, ExtractError, BlobChanged, Cancelled, and then leaves
    nothing it created behind."""
    tree = inspection.merged(layer_index)
    found: dict[bytes, Node] = {}
    for path in sorted({clean_image_path(p) for p in paths}):
        node = tree.get(path)
        if node is None:
            raise FileNotInLayer(f"{display_path(path)} does not exist at layer {tree.top}.")
        found[path] = node
    nodes = [(p, n) for p, n in found.items() if not any(_inside(p, q) for q in found if q != p)]
    try:
        check_not_input(dest_dir, [inspection.archive.path])
        root_fd = os.open(dest_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (OSError, CommitError) as exc:
        raise ExtractError(f"Cannot extract into {dest_dir}: {_said(exc)}.") from exc
    job = _Extraction(inspection, _Dirs(root_fd), ExtractReport(dest_dir), progress=progress,
                      cancel=cancel, durable=durable)
    try:
        job.plan(nodes)
        job.run()
    except BaseException as exc:
        left = job.rollback()
        if isinstance(exc, OSError):
            tail = f"{left} item(s) it made could not be removed" if left else "nothing was left"
            raise ExtractError(f"Extracting into {dest_dir} failed ({_said(exc)}); {tail}.") \
                from exc
        raise
    finally:
        job.dirs.close()
    return job.report


def _inside(path: bytes, folder: bytes) -> bool:
    return not folder or path.startswith(folder + b"/")


def _said(exc: BaseException) -> str:
    return (getattr(exc, "strerror", None) or str(exc)).rstrip(".")


class _Dirs:
    """Descriptors of the folders being written, opened level by level with ``O_NOFOLLOW``.
    A few stay open; callers take one right before each call and never keep it."""

    def __init__(self, root_fd: int) -> None:
        self.root = root_fd
        self._open: OrderedDict[Rel, int] = OrderedDict()

    def fd(self, rel: Rel) -> int:
        if not rel:
            return self.root
        if rel in self._open:
            self._open.move_to_end(rel)
            return self._open[rel]
        depth = len(rel) - 1
        while depth and rel[:depth] not in self._open:
            depth -= 1
        fd = self._open[rel[:depth]] if depth else self.root
        for i in range(depth, len(rel)):
            parent = fd
            try:
                fd = os.open(rel[i], _DIR_FLAGS, dir_fd=parent)
            finally:
                if i > depth:
                    os.close(parent)
        self._open[rel] = fd
        while len(self._open) > max(DIR_CACHE, 1):
            os.close(self._open.popitem(last=False)[1])
        return fd

    def close(self) -> None:
        for fd in [*self._open.values(), self.root]:
            os.close(fd)
        self._open.clear()


class _Out:
    """One file being written: a temp file in its final folder, linked in when complete."""

    def __init__(self, dirs: _Dirs, item: _Item) -> None:
        self.item = item
        self.parent = item.rel[:-1]
        self.tmp = (temp_prefix() + secrets.token_hex(8) + ".tmp").encode()
        self.fd = os.open(self.tmp, _NEW_FILE, 0o600, dir_fd=dirs.fd(self.parent))

    def write(self, data: Chunk) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class _Extraction:
    def __init__(self, ins: Inspection, dirs: _Dirs, report: ExtractReport, *,
                 progress: Progress, cancel: CancelToken, durable: bool) -> None:
        self.ins = ins
        self.dirs = dirs
        self.report = report
        self.progress = progress
        self.cancel = cancel
        self.durable = durable
        self.umask = _current_umask()
        self.items: list[_Item] = []
        self.planned: dict[Rel, _Item] = {}
        self.failed: set[Rel] = set()
        """Folders that could not be made: their contents are skipped."""
        self.created: list[tuple[Rel, bool]] = []
        self.pending: list[_Out] = []
        self.done = 0
        self.total = 0

    # ------------------------------------------------------------------ planning

    def plan(self, nodes: list[tuple[bytes, Node]]) -> None:
        """Decide every path to create and vet the symlinks; nothing is written yet."""
        tops: list[tuple[bytes, Node]] = []
        for path, node in nodes:
            tops += [(path, node)] if path else node.sorted_children()
        taken: set[bytes] = set()
        resolver = LinkResolver(self.ins)
        for path, node in tops:
            base = path.rsplit(b"/", 1)[-1]
            name = self._free_name(base, node.is_dir, taken)
            taken.add(name)
            self.report.names.append((path, os.fsdecode(name)))
            if name != base:
                self.report.warnings.append(
                    f"{os.fsdecode(base)!r} already exists in {self.report.dest_dir}: "
                    f"{display_path(path)} was extracted as {os.fsdecode(name)!r}.")
            self._plan_tree(path, node, (name,), resolver)
        limit = self.ins.archive.limits.link_hops
        refused = set()
        for item in self.items:
            problem = item.kind is EntryKind.SYMLINK and _link_problem(item, self.planned, limit)
            if problem:
                refused.add(item.rel)
                self._skip(item.path, f"a symlink to {display_path(item.link)}: {problem}")
        self.items = [i for i in self.items if i.rel not in refused]
        self.total = sum(i.source.entry.size for i in self.items if i.source is not None)
        with contextlib.suppress(OSError):
            free = shutil.disk_usage(self.report.dest_dir).free
            if free < self.total:
                raise ExtractError(f"Not enough free space in {self.report.dest_dir}: "
                                   f"{self.total} bytes are needed, {free} are free.")

    def _free_name(self, name: bytes, is_dir: bool, taken: set[bytes]) -> bytes:
        """``name``, else ``name (2)`` (``stem (2).ext`` for files): the first one free in
        ``dest_dir``, where anything, even a dangling symlink, counts as taken."""
        stem, dot, ext = name.rpartition(b".")
        if is_dir or not stem:
            stem, dot, ext = name, b"", b""
        for n in range(1, MAX_NAME_TRIES):
            candidate = name if n == 1 else stem + b" (%d)" % n + dot + ext
            if candidate not in taken:
                try:
                    os.stat(candidate, dir_fd=self.dirs.root, follow_symlinks=False)
                except FileNotFoundError:
                    return candidate
        raise ExtractError(f"No free name for {display_path(name)} in {self.report.dest_dir}.")

    def _plan_tree(self, path: bytes, node: Node, rel: Rel, resolver: LinkResolver) -> None:
        stack = [(path, node, rel)]
        while stack:
            path, node, rel = stack.pop()
            if len(self.items) & 1023 == 0:
                self.cancel.check()
            entry = node.entry
            if entry.kind is EntryKind.DIR:
                self._add(_Item(rel, entry.kind, self._mode(entry.mode, 0o700), path))
                stack += [(path + b"/" + name, child, (*rel, name))
                          for name, child in reversed(node.sorted_children())]
            elif entry.kind in (EntryKind.FILE, EntryKind.HARDLINK):
                try:
                    source = resolver.source(node.layer, entry)
                except NotARegularFile as exc:
                    self._skip(path, exc.message.rstrip("."))
                    continue
                self._add(_Item(rel, EntryKind.FILE, self._mode(entry.mode, 0o600), path,
                                source=source))
            elif entry.kind is EntryKind.SYMLINK:
                self._add(_Item(rel, entry.kind, 0o777, path, link=entry.link))
            else:
                self._skip(path, f"a {_KIND_NAMES[entry.kind]} (never created on disk)")

    def _add(self, item: _Item) -> None:
        name = item.rel[-1]  # union names are normalised; checked again as this is the writer
        if name in (b"", b".", b"..") or b"/" in name or b"\0" in name:
            self._skip(item.path, "its name is not a safe file name")
            return
        self.items.append(item)
        self.planned[item.rel] = item

    def _mode(self, mode: int, owner: int) -> int:
        """Owner bits (at least ``owner``), group/other read and execute, within the umask."""
        return ((mode & 0o700) | owner | (mode & 0o055)) & ~self.umask | owner

    def _skip(self, path: bytes, why: str) -> None:
        self.report.skipped += 1
        self.report.warnings.append(f"Skipped {display_path(path)}: {why}.")

    # ------------------------------------------------------------------ writing

    def run(self) -> None:
        """Folders and symlinks first, then file contents grouped by the layer holding them."""
        by_layer: dict[int, dict[bytes, list[_Item]]] = {}
        for item in self.items:
            self.cancel.check()
            parent = item.rel[:-1]
            if parent in self.failed:  # its folder could not be made (already reported)
                self.failed.add(item.rel)
                self.report.skipped += 1
            elif item.kind is EntryKind.DIR:
                if self.place(item, partial(self._mkdir, parent, item.mode)):
                    self.report.dirs += 1
                else:
                    self.failed.add(item.rel)
            elif item.kind is EntryKind.SYMLINK:
                if self.place(item, partial(self._symlink, parent, item.link)):
                    self.report.symlinks += 1
            else:
                assert item.source is not None
                by_layer.setdefault(item.source.layer, {}).setdefault(
                    item.source.entry.path, []).append(item)
        for layer in sorted(by_layer):
            self._write_layer(layer, by_layer[layer])
        self.progress(self.done, self.total)

    def place(self, item: _Item, make: Callable[[bytes], None]) -> bool:
        """Create ``item`` with ``make(name)``, never over an existing name; False when it is
        skipped (a name this filesystem cannot hold, or a case-insensitive clash)."""
        try:
            make(item.rel[-1])
        except FileExistsError:
            if len(item.rel) == 1:  # free when planned: someone else is writing here
                raise ExtractError(f"{os.fsdecode(item.rel[0])!r} appeared in "
                                   f"{self.report.dest_dir} during the extraction.") from None
            self._skip(item.path, "another entry has that name on this filesystem")
            return False
        except OSError as exc:
            if exc.errno not in _ENTRY_ERRNOS:
                raise
            self._skip(item.path, f"it cannot be created here ({_said(exc)})")
            return False
        self.created.append((item.rel, item.kind is EntryKind.DIR))
        return True

    def _write_layer(self, layer: int, wanted: dict[bytes, list[_Item]]) -> None:
        """Every file whose bytes this layer's blob holds, in one pass over the blob."""
        entries: dict[bytes, FileEntry] = {}
        for path, items in wanted.items():
            assert items[0].source is not None
            entries[path] = items[0].source.entry
        for path in [p for p, e in entries.items() if e.size == 0]:
            self._copy(wanted.pop(path), [], None, "")
        direct = sorted((p for p in wanted if entries[p].data_offset >= 0),
                        key=lambda p: entries[p].data_offset)
        if direct:
            info = self.ins.image.layers[layer]
            what = f"Layer {layer} ({info.blob_name})"
            with self.ins.archive.source.open(info.blob_name) as window:
                for path in direct:
                    entry = entries[path]
                    check_tar_header(window, entry, self.ins.indexes[layer].blob_size, what)
                    window.seek(entry.data_offset)
                    self._copy(wanted.pop(path), _window_chunks(window, entry.size), entry, what)
        if wanted:
            with LayerStream(self.ins, layer, cancel=self.cancel) as tar:
                while wanted and (header := tar.next_file()) is not None:
                    path, size = header
                    if path in wanted and size == entries[path].size and self._copy(
                            wanted[path], tar.chunks(), entries[path], tar.what, retry=True):
                        del wanted[path]
                if wanted:
                    raise tar.missing(sorted(wanted))

    def _copy(self, items: list[_Item], chunks: Iterable[Chunk], entry: FileEntry | None,
              what: str, *, retry: bool = False) -> bool:
        """Write one content to each of ``items`` and check it against the index.  With
        ``retry``, wrong bytes return False (a path a layer records twice: the last counts)."""
        outs = []
        for item in items:
            if item.rel[:-1] in self.failed:
                self.report.skipped += 1
                continue
            outs.append(_Out(self.dirs, item))
            self.pending.append(outs[-1])
        h = xxhash.xxh3_128()
        size = 0
        for chunk in chunks:
            self.cancel.check()
            h.update(chunk)
            size += len(chunk)
            for out in outs:
                out.write(chunk)
            self.done += len(chunk) * len(outs)
            self.progress(self.done, self.total)
        if entry is not None and (size != entry.size or (
                entry.digest is not None and h.digest() != entry.digest)):
            for out in outs:
                self._discard(out)
            self.done -= size * len(outs)
            if retry:
                return False
            raise BlobChanged(f"{what} changed since it was opened: {display_path(entry.path)} "
                              "no longer has the indexed content. Open the image again.")
        for out in outs:
            os.fchmod(out.fd, out.item.mode)
            if self.durable:
                os.fsync(out.fd)
            out.close()
            if self.place(out.item, partial(self._link_in, out)):
                self.report.files += 1
                self.report.bytes_written += size
            self._discard(out)
        return True

    def _mkdir(self, parent: Rel, mode: int, name: bytes) -> None:
        os.mkdir(name, 0o700, dir_fd=self.dirs.fd(parent))
        try:
            os.fchmod(self.dirs.fd((*parent, name)), mode)  # also drops an inherited setgid
        except BaseException:
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=self.dirs.fd(parent))
            raise

    def _symlink(self, parent: Rel, target: bytes, name: bytes) -> None:
        os.symlink(target, name, dir_fd=self.dirs.fd(parent))

    def _link_in(self, out: _Out, name: bytes) -> None:
        """Filesystems without hardlinks get a checked rename instead (in our own folder)."""
        fd = self.dirs.fd(out.parent)
        try:
            os.link(out.tmp, name, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in _NO_HARDLINKS:
                raise
            try:
                os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                os.rename(out.tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
                return
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST)) from None

    def _discard(self, out: _Out) -> None:
        out.close()
        with contextlib.suppress(OSError):
            os.unlink(out.tmp, dir_fd=self.dirs.fd(out.parent))
        if out in self.pending:
            self.pending.remove(out)

    def rollback(self) -> int:
        """Remove temp files and everything created, newest first, never following links;
        returns how many created items could not be removed."""
        for out in list(self.pending):
            self._discard(out)
        left = 0
        for rel, is_dir in reversed(self.created):
            try:
                fd = self.dirs.fd(rel[:-1])
                if is_dir:
                    os.rmdir(rel[-1], dir_fd=fd)
                else:
                    os.unlink(rel[-1], dir_fd=fd)
            except OSError:
                left += 1
        self.created.clear()
        return left


def _window_chunks(window: BinaryIO, size: int) -> Iterator[bytes]:
    """``size`` bytes from the window's position (fewer if the blob ends early)."""
    while size > 0:
        data = window.read(min(CHUNK, size))
        if not data:
            return
        size -= len(data)
        yield data


_KIND_NAMES = {EntryKind.CHAR: "character device", EntryKind.BLOCK: "block device",
               EntryKind.FIFO: "FIFO", EntryKind.SOCKET: "socket"}


def _link_problem(item: _Item, planned: dict[Rel, _Item], limit: int) -> str | None:
    """Why the symlink ``item`` may not be made, or None when following it, through the
    links this extraction makes (all of them, made or not: the safe side), ends inside
    something this extraction creates.  Names it does not create are never looked up."""
    if not item.link:
        return "its target is empty"
    if item.link.startswith(b"/"):
        return "its target is an absolute path"
    cur = list(item.rel[:-1])
    todo = item.link.split(b"/")[::-1]
    hops = 0
    while todo:
        part = todo.pop()
        if part in (b"", b"."):
            continue
        if part == b"..":
            if not cur:
                return "its target leaves the destination folder"
            cur.pop()
            continue
        hit = planned.get((*cur, part))
        if hit is None and not cur:
            return "its target is outside what this extraction creates"
        if hit is not None and hit.kind is EntryKind.SYMLINK:
            hops += 1
            if hops > limit:
                return f"its target is a symlink loop or a chain of more than {limit} links"
            if hit.link.startswith(b"/"):
                return "its target goes through a symlink to an absolute path"
            todo += hit.link.split(b"/")[::-1]
            continue
        cur.append(part)
    return None if cur else "its target is the destination folder itself"
