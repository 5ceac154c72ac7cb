"""The raw extension-header check behind BAD-INPUT A7 reads what tar readers already applied."""

from __future__ import annotations

import tarfile

from hypothesis import given
from hypothesis import strategies as st

from explorer.core.archive.tar_extensions import BLOCK, check_extension_headers


def _pax(records: dict[str, str]) -> bytes:
    return tarfile.TarInfo._create_pax_generic_header(  # type: ignore[attr-defined,no-any-return]
        records, tarfile.XHDTYPE, "utf-8")


def _header(name: str = "f", size: int = 0) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def test_a_plain_pax_header_is_fine() -> None:
    assert check_extension_headers(_pax({"path": "a" * 200, "mtime": "1.25"}) + _header()) == []


def test_nul_in_path_and_linkpath_are_named() -> None:
    raw = _pax({"path": "a\0b", "linkpath": "c\0"}) + _header()
    assert check_extension_headers(raw) == [
        "its PAX path holds a NUL byte (malformed; other tar readers cut the name there)",
        "its PAX linkpath holds a NUL byte (malformed; other tar readers cut the name there)",
    ]


def test_a_pax_size_counts_only_against_a_non_zero_header_size() -> None:
    assert check_extension_headers(_pax({"size": "9"}) + _header(size=0)) == []
    assert check_extension_headers(_pax({"size": "9"}) + _header(size=9)) == []
    [problem] = check_extension_headers(_pax({"size": "9"}) + _header(size=4))
    assert problem.startswith("its PAX size (9) differs from its tar header's size (4)")


def test_an_extension_header_after_a_pax_header_is_named() -> None:
    long_name = tarfile.TarInfo("n" * 150).tobuf(format=tarfile.GNU_FORMAT)
    [problem] = check_extension_headers(_pax({"mtime": "1"}) + long_name)
    assert problem == ("a PAX header is followed by a GNU long-name header; tar readers "
                       "disagree on which one applies")


def test_gnu_base256_sizes_are_read() -> None:
    header = bytearray(_header(size=4))
    header[124:136] = b"\x80" + (4).to_bytes(11, "big")
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    [problem] = check_extension_headers(_pax({"size": "5"}) + bytes(header))
    assert "header's size (4)" in problem


def test_a_bad_checksum_or_cut_data_stops_the_check_quietly() -> None:
    bad = bytearray(_pax({"path": "a\0"}))
    bad[0] ^= 1
    assert check_extension_headers(bytes(bad) + _header()) == []
    assert check_extension_headers(_pax({"path": "a\0" * 400})[:BLOCK + 10]) == []


@given(st.binary(max_size=4 * BLOCK))
def test_any_bytes_give_a_list_never_an_exception(raw: bytes) -> None:
    assert isinstance(check_extension_headers(raw), list)


def test_a_size_field_that_is_not_octal_digits_stops_the_check() -> None:
    """``int(b"\\n-1000", 8)`` is -512: taken as a size, the walk would never advance."""
    bad = bytearray(_pax({"path": "a\0"}))
    bad[124:136] = b"\n-1000\0\0\0\0\0\0"
    bad[148:156] = b" " * 8
    bad[148:156] = b"%06o\0 " % sum(bad[:512])
    assert check_extension_headers(bytes(bad) + _header()) == []
