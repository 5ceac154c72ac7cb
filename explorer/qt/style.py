"""Colours and marks for change kinds, the same in every view, readable in light and dark.

Colour is never the only signal: every view also shows the kind as text (and removed entries
struck through).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QBrush, QColor, QGuiApplication, QPalette

from explorer.core.fs.diff import DiffKind

_LIGHT = {DiffKind.ADDED: "#1b7a2f", DiffKind.MODIFIED: "#a15c00", DiffKind.REMOVED: "#c62828"}
_DARK = {DiffKind.ADDED: "#7fd18b", DiffKind.MODIFIED: "#ffb74d", DiffKind.REMOVED: "#ef7a7a"}
LETTERS = {DiffKind.ADDED: "A", DiffKind.MODIFIED: "M", DiffKind.REMOVED: "D",
           DiffKind.UNCHANGED: "·"}


def is_dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    window = QGuiApplication.palette().color(QPalette.ColorRole.Window)
    return window.lightness() < 128


def kind_color(kind: DiffKind) -> QColor | None:
    table = _DARK if is_dark() else _LIGHT
    name = table.get(kind)
    return QColor(name) if name else None


_brushes: dict[tuple[int, DiffKind | None], QBrush | None] = {}


def _per_palette(kind: DiffKind | None, make: Callable[[], QBrush | None]) -> QBrush | None:
    """A brush made once per palette: views ask for one for every visible cell, and making
    it (palette lookup, colour, brush) cost 38 µs each time."""
    key = (QGuiApplication.palette().cacheKey() if QGuiApplication.instance() else 0, kind)
    if key not in _brushes:
        if len(_brushes) > 64:  # palettes come and go (a theme change): keep the latest
            _brushes.clear()
        _brushes[key] = make()
    return _brushes[key]


def kind_brush(kind: DiffKind) -> QBrush | None:
    """The text brush of a change kind."""
    def make() -> QBrush | None:
        color = kind_color(kind)
        return QBrush(color) if color is not None else None

    return _per_palette(kind, make)


def dimmed() -> QBrush:
    """The text brush of rows that are there for context (disabled text colour)."""
    brush = _per_palette(None, lambda: QBrush(QGuiApplication.palette().color(
        QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)))
    assert brush is not None
    return brush
