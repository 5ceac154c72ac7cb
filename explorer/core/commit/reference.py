"""repository:tag names checked against Docker's reference grammar, with messages a form can
show next to the field (distribution/reference ``reference.go``, what ``docker load`` and
skopeo accept for RepoTags)."""

from __future__ import annotations

import re

from explorer.core.archive.image_writer import ImageName

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_HOST = re.compile(r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
                   r"(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_HEX64 = re.compile(r"[a-f0-9]{64}")
NAME_MAX = 255
EXAMPLE = "tqk/tomcat02:1.0"


def _split(text: str) -> tuple[str, str, str | None]:
    """(domain or "", path, tag or None) the way Docker splits a reference."""
    repo, tag = text, None
    if ":" in text.rsplit("/", 1)[-1]:
        repo, tag = text.rsplit(":", 1)
    first, sep, rest = repo.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return first, rest, tag
    return "", repo, tag


def reference_error(text: str) -> str | None:
    """Why ``text`` is not a valid ``repository[:tag]``, or None when it is.

    Meant for inline form errors: one sentence naming the offending part."""
    if not text:
        return f"Enter a name such as {EXAMPLE}."
    if any(c.isspace() for c in text):
        return "A name cannot contain spaces."
    if "@" in text:
        return "A digest (@sha256:...) cannot be used here; give repository:tag."
    domain, path, tag = _split(text)
    if tag is not None:
        if not tag:
            return "The tag after ':' is empty."
        if not _TAG.fullmatch(tag):
            return (f"The tag {tag!r} may only hold letters, digits, '_', '.' and '-', must not "
                    "start with '.' or '-', and is at most 128 characters.")
    if domain and not _HOST.fullmatch(domain):
        return f"{domain!r} is not a valid registry host (host[:port])."
    if not path:
        return "The repository name is empty."
    for part in path.split("/"):
        if not part:
            return "The repository name has an empty part (a doubled or trailing '/')."
        if part != part.lower():
            return f"Repository names must be lowercase ({part!r})."
        if not _COMPONENT.fullmatch(part):
            return (f"{part!r} is not a valid name part: use lowercase letters and digits, "
                    "joined by '.', '_', '__' or '-' (not at the start or end).")
    if not domain and _HEX64.fullmatch(path):
        return "A repository name cannot be 64 hexadecimal digits (it looks like an image ID)."
    if len(domain) + bool(domain) + len(path) > NAME_MAX:
        return f"The repository name is longer than {NAME_MAX} characters."
    try:
        ImageName.parse(text)
    except ValueError as exc:  # the writer's own check must agree
        return str(exc)
    return None


def normalize_reference(text: str) -> str:
    """``app`` -> ``app:latest``, ``docker.io/library/app:1`` -> ``app:1`` (RepoTags form).
    Raises ValueError with :func:`reference_error`'s message."""
    error = reference_error(text)
    if error:
        raise ValueError(error)
    return ImageName.parse(text).familiar
