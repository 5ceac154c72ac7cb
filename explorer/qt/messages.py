"""One way to turn any failure into words for the user: a title, a sentence, details."""

from __future__ import annotations

import dataclasses
import traceback
from dataclasses import dataclass

from explorer.core.errors import (
    Cancelled,
    DigestMismatch,
    ExplorerError,
    LimitExceeded,
    MissingBlobError,
    NotAnImageError,
    TruncatedError,
    UnsafePath,
)
from explorer.core.limits import Limits

TITLES: list[tuple[type[BaseException], str]] = [
    (NotAnImageError, "Not a container image"),
    (TruncatedError, "The archive is truncated"),
    (DigestMismatch, "The image does not match its digests"),
    (MissingBlobError, "Part of the image is missing"),
    (UnsafePath, "Unsafe path refused"),
    (LimitExceeded, "The archive exceeds a safety limit"),
    (Cancelled, "Cancelled"),
    (ExplorerError, "Cannot open the image"),
    (OSError, "Cannot read the file"),
]


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    details: str


def describe(exc: BaseException, *, path: str = "") -> Message:
    """Typed core errors say what is wrong in their message; anything else is a bug, shown
    plainly with the traceback in the details (never as the main text)."""
    title = next((t for cls, t in TITLES if isinstance(exc, cls)), "Unexpected error")
    where = f"{path}\n\n" if path else ""
    if isinstance(exc, ExplorerError | OSError):
        return Message(title, str(exc), where + type(exc).__name__)
    details = "".join(traceback.format_exception(exc))
    return Message(title, f"Something went wrong that Layer Explorer did not foresee: {exc}",
                   where + details)


RAISE_FACTOR = 4


def raised_limits(exc: BaseException, limits: Limits) -> tuple[str, Limits] | None:
    """For a limit the input hit: a button label and the limits to retry with (that one
    raised fourfold), so the user can open an archive they trust; None for other errors."""
    if not isinstance(exc, LimitExceeded):
        return None
    name = exc.limit_name
    current = getattr(limits, name, None)
    if not isinstance(current, int):
        return None
    value = max(current, exc.limit) * RAISE_FACTOR
    return f"Open with {name} = {value:,}", dataclasses.replace(limits, **{name: value})
