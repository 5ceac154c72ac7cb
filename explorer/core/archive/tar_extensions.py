"""Check a tar entry's raw extension headers for parser differentials (BAD-INPUT A7).

libarchive and ``tarfile`` apply PAX and GNU extension headers before we see an entry, so
what other readers would do differently is invisible afterwards: a PAX path cut at a NUL, a
PAX ``size`` that overrides a different ustar size, two extension headers in a row.  The tar
readers hand this module the raw bytes from the end of the previous entry to the end of this
entry's own header (only when there is more than the header, which is rare) and list what the
bytes say.  Anything that does not parse is left alone: the reader has already judged it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

BLOCK = 512
_OCTAL = re.compile(rb"[0-7]+")
_KINDS = {
    b"x": "a PAX header",
    b"X": "a PAX header",
    b"g": "a PAX global header",
    b"L": "a GNU long-name header",
    b"K": "a GNU long-link header",
}


def check_extension_headers(raw: bytes) -> list[str]:
    """Problems in ``raw`` (extension headers, their data, then the entry's own header)."""
    problems: list[str] = []
    pos = 0
    previous: bytes | None = None
    pax_size: int | None = None
    while pos + BLOCK <= len(raw):
        header = raw[pos:pos + BLOCK]
        size = _number(header[124:136])
        if size is None or not _checksum_ok(header):
            return problems
        typeflag = header[156:157]
        kind = _KINDS.get(typeflag)
        if kind is None:  # the entry's own header
            if pax_size is not None and size not in (0, pax_size):
                problems.append(f"its PAX size ({pax_size}) differs from its tar header's "
                                f"size ({size}); the PAX size is used, as Go and containerd "
                                "do")
            return problems
        if previous in (b"x", b"X"):
            problems.append(f"a PAX header is followed by {kind}; tar readers disagree on "
                            "which one applies")
        data = raw[pos + BLOCK:pos + BLOCK + size]
        if typeflag in (b"x", b"X") and len(data) == size:
            for key, value in _records(data):
                if key in (b"path", b"linkpath") and b"\0" in value:
                    problems.append(f"its PAX {key.decode()} holds a NUL byte (malformed; "
                                    "other tar readers cut the name there)")
                elif key == b"size" and value.isdigit():
                    pax_size = int(value)
        previous = typeflag
        pos += BLOCK + (size + BLOCK - 1) // BLOCK * BLOCK  # size >= 0: always advances
    return problems


def _records(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """``"%d %s=%s\\n"`` records, where the length counts the whole record."""
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos, pos + 20)
        if space < 0 or not data[pos:space].isdigit():
            return
        end = pos + int(data[pos:space])
        if end <= space or end > len(data) or data[end - 1:end] != b"\n":
            return
        key, eq, value = data[space + 1:end - 1].partition(b"=")
        if not eq:
            return
        yield key, value
        pos = end


def _number(field: bytes) -> int | None:
    """A ustar numeric field: octal digits, or GNU base-256 when the top bit is set; None
    for anything else (``int()`` alone would take "\n-1000" as -512)."""
    if field[:1] and field[0] & 0x80:
        value = int.from_bytes(field[1:], "big")
        return value if field[0] == 0x80 else None  # negative base-256: not a size
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    if _OCTAL.fullmatch(text) is None:
        return None
    return int(text, 8)


def _checksum_ok(header: bytes) -> bool:
    """The unsigned sum, or the signed one some old tars wrote."""
    stored = _number(header[148:156])
    unsigned = sum(header[:148]) + 8 * 32 + sum(header[156:])
    high = sum(1 for b in header[:148] + header[156:] if b & 0x80)
    return stored in (unsigned, unsigned - 256 * high)
