"""Save a sandbox with the user's session and open it again (a small JSON document).

The file lives wherever the caller says (next to the user's data, never next to the image).
It records the image it belongs to (config digest), the deleted paths and the added entries
with their host sources and content hashes, not file contents.  Raw byte paths survive:
names are stored as text with undecodable bytes as lone surrogates (JSON ``\\udcXX``).
Loading checks the image and every path again, so a hand-edited or foreign file is refused
rather than trusted.
"""

from __future__ import annotations

import json
from typing import Any

from explorer.core.archive.writer import StrPath, atomic_output
from explorer.core.errors import ExplorerError, FormatError, SandboxError
from explorer.core.fs.entry import EntryKind, FileEntry
from explorer.core.fs.union import UnionTree
from explorer.core.jsonsafe import expect_dict, expect_list
from explorer.core.sandbox.host import HostFile
from explorer.core.sandbox.model import Added, Sandbox
from explorer.core.sandbox.paths import ancestors, image_path, shown

SCHEMA = "layer-explorer/sandbox/v1"
MAX_SESSION_BYTES = 64 * 1024 * 1024
_KINDS = {"file": EntryKind.FILE, "dir": EntryKind.DIR, "symlink": EntryKind.SYMLINK}
_NAMES = {v: k for k, v in _KINDS.items()}


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _raw(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise FormatError(f"Sandbox session: {what} must be a string.")
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise FormatError(f"Sandbox session: {what} is not a valid name.") from exc


def _int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FormatError(f"Sandbox session: {what} must be a non-negative integer.")
    return value


def sandbox_document(sandbox: Sandbox) -> dict[str, Any]:
    """The JSON-ready document of a sandbox (sorted, so equal sandboxes give equal files)."""
    added = []
    for path in sorted(sandbox.added, key=lambda p: p.split(b"/")):
        a = sandbox.added[path]
        e = a.entry
        item: dict[str, Any] = {"path": _text(path), "type": _NAMES[e.kind],
                                "mode": e.mode, "uid": e.uid, "gid": e.gid, "mtime": e.mtime}
        if e.kind is EntryKind.SYMLINK:
            item["link"] = _text(e.link)
        if e.xattrs:
            item["xattrs"] = [[_text(k), _text(v)] for k, v in e.xattrs]
        if a.source is not None:
            item["source"] = {"root": _text(a.source.root), "path": _text(a.source.rel),
                              "size": a.source.size, "xxh3_128": a.source.digest.hex()}
        added.append(item)
    return {"schema": SCHEMA, "image": sandbox.image_id,
            "deleted": [_text(p) for p in sorted(sandbox.deleted, key=lambda p: p.split(b"/"))],
            "added": added}


def save_sandbox(sandbox: Sandbox, path: StrPath) -> None:
    """Write the session file atomically (temp file, fsync, rename).

    Raises CommitError (the file cannot be written).
    """
    data = json.dumps(sandbox_document(sandbox), indent=1, ensure_ascii=True).encode()
    with atomic_output(path) as fh:
        fh.write(data + b"\n")


def _added(item: Any, i: int) -> Added:
    d = expect_dict(item, what=f"sandbox added[{i}]")
    path = image_path(_raw(d.get("path"), f"added[{i}].path"))
    kind = _KINDS.get(str(d.get("type")))
    if kind is None:
        raise FormatError(f"Sandbox session: added[{i}].type must be file, dir or symlink.")
    mode, uid, gid, mtime = (_int(d.get(k), f"added[{i}].{k}")
                             for k in ("mode", "uid", "gid", "mtime"))
    xattrs = []
    for pair in expect_list(d.get("xattrs"), what="xattrs", allow_null=True):
        if not isinstance(pair, list) or len(pair) != 2:
            raise FormatError(f"Sandbox session: added[{i}].xattrs holds [name, value] pairs.")
        xattrs.append((_raw(pair[0], "xattr name"), _raw(pair[1], "xattr value")))
    link = _raw(d.get("link"), f"added[{i}].link") if kind is EntryKind.SYMLINK else b""
    if kind is EntryKind.SYMLINK and not link:
        raise FormatError(f"Sandbox session: the symlink {shown(path)} has no target.")
    source = None
    if kind is EntryKind.FILE:
        s = expect_dict(d.get("source"), what=f"added[{i}].source")
        try:
            digest = bytes.fromhex(str(s.get("xxh3_128")))
        except ValueError:
            digest = b""
        if len(digest) != 16:
            raise FormatError(f"Sandbox session: added[{i}].source.xxh3_128 is not a hash.")
        source = HostFile(_raw(s.get("root"), "source.root"), _raw(s.get("path"), "source.path"),
                          _int(s.get("size"), "source.size"), digest)
        if not source.root.startswith(b"/") or b".." in source.rel.split(b"/"):
            raise FormatError(f"Sandbox session: the source of {shown(path)} is not a clean "
                              "host path.")
    entry = FileEntry(path, kind, mode & 0o7777, uid, gid, source.size if source else 0,
                      mtime, link=link, digest=source.digest if source else None,
                      xattrs=tuple(xattrs))
    return Added(entry, source)


def _check(sandbox: Sandbox) -> None:
    """Refuse a state the edits could not have made (every path checked against the image)."""
    base, deleted, added = sandbox.base, sandbox.deleted, sandbox.added
    for p in deleted:
        if base.get(p) is None:
            raise SandboxError(f"The session deletes {shown(p)}, which is not in the image.")
        if any(a in deleted and a not in added for a in ancestors(p)):
            raise SandboxError(f"The session deletes {shown(p)} twice (a folder above it is "
                               "deleted too).")
    for p in added:
        for a in ancestors(p):
            made = added.get(a)
            if made is not None:
                ok = made.entry.kind is EntryKind.DIR
            else:
                node = base.get(a)
                ok = node is not None and node.is_dir and a not in deleted
            if not ok:
                raise SandboxError(f"The session adds {shown(p)} but {shown(a)} is not a "
                                   "folder there.")


def load_sandbox(path: StrPath, base: UnionTree, *, image_id: str = "") -> Sandbox:
    """Read a session file for the image whose top merged tree is ``base`` (and whose config
    digest is ``image_id``, when given).  Raises FormatError (not a session file, damaged)
    or SandboxError (it belongs to another image, or does not fit this one)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SESSION_BYTES + 1)
    except OSError as exc:
        raise FormatError(f"Cannot read the sandbox session {path}: {exc.strerror or exc}.") \
            from exc
    if len(raw) > MAX_SESSION_BYTES:
        raise FormatError(f"The sandbox session {path} is larger than {MAX_SESSION_BYTES} "
                          "bytes.")
    try:
        doc = expect_dict(json.loads(raw), what="sandbox session")
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"The sandbox session {path} is not valid JSON: {exc}.") from exc
    if doc.get("schema") != SCHEMA:
        raise FormatError(f"{path} is not a Layer Explorer sandbox session ({SCHEMA}).")
    recorded = doc.get("image")
    if image_id and recorded and recorded != image_id:
        raise SandboxError(f"The sandbox session {path} belongs to image {recorded}, not to "
                           f"the open image {image_id}.")
    try:
        deleted = frozenset(image_path(_raw(p, "deleted path"))
                            for p in expect_list(doc.get("deleted"), what="deleted",
                                                 allow_null=True))
        added = {}
        for i, item in enumerate(expect_list(doc.get("added"), what="added", allow_null=True)):
            a = _added(item, i)
            added[a.entry.path] = a
    except ExplorerError as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"Sandbox session {path}: {exc.message}") from exc
    sandbox = Sandbox(base, image_id=image_id or str(recorded or ""), deleted=deleted,
                      added=added, description="open session")
    _check(sandbox)
    return sandbox
