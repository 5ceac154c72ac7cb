"""The layer reader's numbers (mtime, gid, size, uid) read from libarchive's entry memory
are the ones its getters return, wide values included."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from explorer.core.fs import libarchive_ffi as la
from explorer.core.fs.entry import FileEntry
from explorer.core.inspection import inspect_path
from tests.core.factories import DockerArchive

WIDE = 2**40 + 5
"""Wider than the 32 bits of ``struct stat``'s uid and gid."""


def _layer(fmt: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for name, uid, gid, mtime, data in [
            ("a", WIDE, WIDE + 1, 2**35, b"x" * 3),   # past 2038, 64-bit ids
            ("b", 1000, 1000, 1_700_000_000, b""),
            ("c", 0, 2**31, 0, b"hello"),
        ]:
            info = tarfile.TarInfo(name)
            info.uid, info.gid, info.mtime, info.size = uid, gid, mtime, len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _entries(path: Path) -> dict[bytes, FileEntry]:
    with inspect_path(str(path)) as ins:
        return {e.path: e for e in ins.indexes[0].entries}


def test_this_libarchive_uses_the_memory_read() -> None:
    assert la._memory_layout_is_ours(), (
        "libarchive's struct archive_entry differs from _EntryHead: the reader falls back "
        "to one getter call per field (correct, about 1.3 µs per entry slower)")
    assert la.numbers_reader is la._numbers_from_memory


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT], ids=["pax", "gnu"])
def test_memory_read_equals_the_getters(tmp_path: Path, fmt: int,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = DockerArchive([_layer(fmt)]).write(tmp_path / "img.tar")
    fast = _entries(path)
    monkeypatch.setattr(la, "numbers_reader", la._numbers_from_getters)
    slow = _entries(path)
    assert fast == slow
    a = fast[b"a"]
    assert (a.uid, a.gid, a.mtime, a.size) == (WIDE, WIDE + 1, 2**35, 3)
    assert (fast[b"c"].gid, fast[b"c"].size) == (2**31, 5)
