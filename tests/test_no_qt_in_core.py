"""explorer.core and the CLI never import Qt (ARCHITECTURE.md): checked in a fresh process."""

from __future__ import annotations

import subprocess
import sys


def test_core_and_cli_import_without_pyside6() -> None:
    code = (
        "import sys, pkgutil, importlib, explorer.core, explorer.app.cli\n"
        "for m in pkgutil.walk_packages(explorer.core.__path__, 'explorer.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
