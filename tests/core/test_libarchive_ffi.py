"""Which libarchive the bindings load: the one libarchive-c would, without importing it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from explorer.core.fs import libarchive_ffi as la


def test_libarchive_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIBARCHIVE", "/opt/bundle/libarchive.so.13")
    assert la._library() == "/opt/bundle/libarchive.so.13"


def test_the_same_library_as_libarchive_c(monkeypatch: pytest.MonkeyPatch) -> None:
    from libarchive import ffi

    monkeypatch.delenv("LIBARCHIVE", raising=False)
    assert la._library() == ffi.libarchive_path


def test_another_soname_falls_back_to_libarchive_c(monkeypatch: pytest.MonkeyPatch) -> None:
    from libarchive import ffi

    monkeypatch.delenv("LIBARCHIVE", raising=False)
    monkeypatch.setattr(la, "SONAME", "libarchive.so.999")
    assert la._library() == ffi.libarchive_path


def test_the_layer_reader_does_not_import_libarchive_c() -> None:
    code = ("import sys, explorer.core.inspection\n"
            "sys.exit('libarchive' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
