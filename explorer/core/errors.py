"""The core's typed error hierarchy.

Every failure the user can cause (a bad file, a cancelled job) is an ``ExplorerError``;
anything else escaping the core is a bug.  Messages are complete sentences meant for people.
"""

from __future__ import annotations


class ExplorerError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class FormatError(ExplorerError):
    """The input is not a readable image archive, or breaks a rule of its format."""


class NotAnImageError(FormatError):
    """The input is a valid tar but not an image (a rootfs export, a plain archive)."""


class TruncatedError(FormatError):
    """The archive or a layer ends before its structure does."""


class LimitExceeded(FormatError):
    """A named safety limit was exceeded (JSON size, header size, nesting, entry count)."""

    def __init__(self, message: str, *, limit_name: str, limit: int, detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.limit_name = limit_name
        self.limit = limit


class MissingBlobError(FormatError):
    """A referenced blob or file is not in the archive."""


class DigestMismatch(ExplorerError):
    """Content does not hash to the digest that describes it."""

    def __init__(self, message: str, *, expected: str, actual: str, what: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual
        self.what = what


class UnsafePath(ExplorerError):
    """A path would escape the folder or archive it must stay in."""


class ImageSelectionError(ExplorerError):
    """The archive holds several images (or none matches) and the choice is ambiguous."""


class SandboxError(ExplorerError):
    """A sandbox edit that cannot be made (missing path, wrong type, name clash)."""


class CommitError(ExplorerError):
    """Writing a new image failed; nothing was left at the destination."""


class Cancelled(ExplorerError):
    """The user cancelled a long-running job."""

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message)
