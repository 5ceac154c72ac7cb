"""The new image config, made like ``docker commit`` makes it (FORMATS.md §4.1).

A copy of the base config document, key order and unknown fields kept, with: ``created`` set
to the commit time; ``author`` set from ``-a`` (and removed without it, as the classic docker
store does: the base image's author did not write this change); the ``--change`` edits
applied to ``config``; ``rootfs.diff_ids`` += the new layer's diff_id; and one ``history``
entry ``{created, author, created_by, comment, empty_layer}`` (moby's field order, empty
fields left out; ``empty_layer: true`` when the change had no filesystem edits).
``container`` and ``container_config`` describe the base image's build container, not this
commit, so they are dropped (docker commit overwrites them with its own container).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any

from explorer.core.commit.changes import ConfigChange, apply_changes
from explorer.core.digest import Digest
from explorer.core.errors import CommitError
from explorer.core.jsonsafe import expect_dict, load_json

PRODUCER = "layer-explorer commit"
NEW_LAYER_PLACEHOLDER = "<diff_id of the new layer>"


def rfc3339(seconds: int, nanos: int = 0) -> str:
    """Go's RFC3339Nano in UTC: trailing zeros of the fraction dropped, none when zero."""
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"


def commit_time(explicit: int | None = None) -> tuple[int, str]:
    """(seconds, RFC 3339 text) of a commit: ``explicit``, else SOURCE_DATE_EPOCH, else now
    (with nanoseconds, as docker records it).  The seconds also clamp added files' mtimes.

    Raises CommitError (a timestamp out of range)."""
    if explicit is None:
        env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
        if env:
            if not env.isdigit():
                raise CommitError(f"SOURCE_DATE_EPOCH must be a number of seconds, not {env!r}.")
            explicit = int(env)
    if explicit is not None:
        if explicit < 0:
            raise CommitError("The commit timestamp cannot be before 1970.")
        return explicit, rfc3339(explicit)
    now = time.time_ns()
    return now // 1_000_000_000, rfc3339(now // 1_000_000_000, now % 1_000_000_000)


def default_created_by(description: str, changes: Sequence[ConfigChange]) -> str:
    """``layer-explorer commit: delete /a; add /b`` (what dive and docker history show)."""
    parts = [description] if description else []
    parts += [c.text for c in changes]
    return f"{PRODUCER}: {'; '.join(parts)}" if parts else PRODUCER


def build_config(
    base: bytes,
    *,
    diff_id: Digest | str | None,
    created: str,
    created_by: str,
    author: str = "",
    comment: str = "",
    changes: Sequence[ConfigChange] = (),
) -> dict[str, Any]:
    """The new config document (``diff_id`` None: an empty change, no new layer)."""
    doc = expect_dict(load_json(base, what="image config"), what="image config")
    section = doc.get("config")
    if changes:
        doc["config"] = apply_changes(section if isinstance(section, dict) else {}, changes)
    if isinstance(doc.get("config"), dict):
        doc.pop("container", None)
        doc.pop("container_config", None)
    doc["created"] = created
    if author:
        doc["author"] = author
    else:
        doc.pop("author", None)
    entry: dict[str, Any] = {"created": created}
    if author:
        entry["author"] = author
    entry["created_by"] = created_by
    if comment:
        entry["comment"] = comment
    if diff_id is None:
        entry["empty_layer"] = True
    doc["history"] = [*(doc.get("history") or []), entry]
    rootfs = expect_dict(doc.get("rootfs"), what="config rootfs")
    if diff_id is not None:
        rootfs["diff_ids"] = [*(rootfs.get("diff_ids") or []), str(diff_id)]
    return doc


def config_bytes(doc: dict[str, Any]) -> bytes:
    """Compact JSON, UTF-8, key order as built: the image ID is the sha256 of these bytes."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
