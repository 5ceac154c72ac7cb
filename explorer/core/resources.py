"""Where bundled files (demo recipe, icons) are: installed package, frozen app or checkout.

One accessor, so the GUI's icons and the CLI's demo are found the same way everywhere.
"""

from __future__ import annotations

import importlib.resources
import sys
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """The bundled file ``resources/<parts>``; raises FileNotFoundError naming the places."""
    tried = []
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        candidate = Path(frozen, "explorer", "resources", *parts)
        tried.append(candidate)
        if candidate.exists():
            return candidate
    try:
        packaged = importlib.resources.files("explorer").joinpath("resources", *parts)
        if isinstance(packaged, Path):
            tried.append(packaged)
            if packaged.exists():
                return packaged
    except (ModuleNotFoundError, OSError):
        pass
    checkout = Path(__file__).resolve().parents[2].joinpath("resources", *parts)
    tried.append(checkout)
    if checkout.exists():
        return checkout
    raise FileNotFoundError(f"Bundled file {'/'.join(parts)} is missing (looked in: "
                            + ", ".join(str(t) for t in tried) + ").")
