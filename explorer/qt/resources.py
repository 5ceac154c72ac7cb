"""Icons for the GUI, through the one resource accessor the core uses too."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from explorer.core.resources import resource_path

APP_ICON = "layer-explorer"


@cache
def icon(name: str) -> QIcon:
    """``resources/icons/<name>.svg`` as a QIcon (empty when missing: never fatal)."""
    try:
        return QIcon(str(resource_path("icons", f"{name}.svg")))
    except FileNotFoundError:
        return QIcon()
