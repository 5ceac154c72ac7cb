"""PyInstaller runtime hook: use the libarchive bundled next to the app, not the system's.

libarchive-c reads ``LIBARCHIVE`` when it is first imported; this hook runs before any of
the app's code. The bundled library's own dependencies (zlib, liblzma, libzstd, libbz2, ...)
sit in the same folder, which the bootloader puts on the library search path.
"""

import glob
import os
import sys

_found = sorted(glob.glob(os.path.join(sys._MEIPASS, "libarchive.so*")))  # type: ignore[attr-defined]
if _found:
    os.environ["LIBARCHIVE"] = _found[0]
