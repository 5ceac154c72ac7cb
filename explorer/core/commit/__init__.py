"""Commit a sandbox as a new image (``docker commit`` + ``docker save``), Qt-free.

Public API::

    commit(inspection, sandbox, dest, CommitOptions(tag=, message=, author=, changes=,
           fmt="docker"|"oci", compression=Compression.*, timestamp=),
           progress=, cancel=) -> CommitResult
    preview_config(inspection, sandbox, options) -> dict      # the config it would write
    reference_error("repo:tag") -> str | None                 # inline form error
    change_error("CMD ...") -> str | None; parse_change(text) -> ConfigChange
"""

from explorer.core.commit.changes import (
    SUPPORTED,
    ChangeError,
    ConfigChange,
    apply_changes,
    change_error,
    parse_change,
)
from explorer.core.commit.config import build_config, commit_time
from explorer.core.commit.reference import normalize_reference, reference_error
from explorer.core.commit.run import (
    CommitOptions,
    CommitResult,
    CommittedLayer,
    commit,
    preview_config,
)

__all__ = [
    "SUPPORTED",
    "ChangeError",
    "CommitOptions",
    "CommitResult",
    "CommittedLayer",
    "ConfigChange",
    "apply_changes",
    "build_config",
    "change_error",
    "commit",
    "commit_time",
    "normalize_reference",
    "parse_change",
    "preview_config",
    "reference_error",
]
