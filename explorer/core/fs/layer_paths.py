"""Names of layer entries as the index keeps them: relative, normalised, raw bytes.

The layer reader runs these on every tar entry, so the common name (already normal) is
decided by the cheapest tests that are exact; the rest goes through ``posixpath``.
"""

from __future__ import annotations

import posixpath
import re

_SLASH, _DOT = ord("/"), ord(".")
_odd_part = re.compile(rb"//|/\.").search
has_wh = re.compile(rb"\.wh\.").search
"""``b".wh." in path`` costs 0.6 µs in Python 3.11 (bytes ``in`` first tries the needle as
an int, raising and clearing a TypeError); the regex 0.2 µs."""


def needs_normalizing(p: bytes) -> bool:
    """Whether ``normalize_layer_path`` might change ``p`` (a leading '/' or '.', a trailing
    '/', '//' or '/.'); the common names pass untouched.  Byte tests and a two-way regex:
    one regex with all four cases cost 1.9 µs per typical path (sre tries the alternatives
    at every position), this 0.7 µs."""
    return ((p != b"" and (p[0] == _SLASH or p[0] == _DOT or p[-1] == _SLASH))
            or _odd_part(p) is not None)


def normalize_layer_path(raw: bytes) -> bytes | None:
    """``./a//b/`` -> ``a/b``; ``b""`` for the root; None when it would leave the root."""
    p = raw.lstrip(b"/")
    while p.startswith(b"./"):  # './', '/./', './/./': leading parts that name the root
        p = p[2:].lstrip(b"/")
    if p.endswith(b"/") and not needs_normalizing(p[:-1]):
        # ``dir/``, as most tars write directories: normpath would only drop the slash
        # (no '.', '..' or empty part), and it costs 7 µs on one entry in ten.
        return p[:-1]
    if b"//" in p or b"/./" in p or b".." in p or p.endswith((b"/", b"/.")) or p == b".":
        p = posixpath.normpath(b"/" + p).lstrip(b"/")
        if p == b".":
            p = b""
        parts = raw.split(b"/")
        if b".." in parts:
            # Reject rather than clamp: '../x' is hostile however an engine reads it (C1).
            depth = 0
            for part in parts:
                if part == b"..":
                    depth -= 1
                    if depth < 0:
                        return None
                elif part not in (b"", b"."):
                    depth += 1
    return p
