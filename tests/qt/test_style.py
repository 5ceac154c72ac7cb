"""Change-kind colours: readable on light and dark palettes, made once per palette."""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette
from pytestqt.qtbot import QtBot

from explorer.core.fs.diff import DiffKind
from explorer.qt.style import dimmed, kind_brush


def test_a_kind_s_brush_is_made_once_per_palette(qtbot: QtBot) -> None:
    del qtbot  # (the application)
    app = QGuiApplication.instance()
    assert isinstance(app, QGuiApplication)
    light = kind_brush(DiffKind.ADDED)
    assert light is not None and light is kind_brush(DiffKind.ADDED)
    assert kind_brush(DiffKind.UNCHANGED) is None
    saved = QGuiApplication.palette()
    dark = QPalette(saved)
    dark.setColor(QPalette.ColorRole.Window, QColor("#202020"))
    app.setPalette(dark)
    try:
        on_dark = kind_brush(DiffKind.ADDED)
        assert on_dark is not None and on_dark.color() != light.color()
        assert on_dark.color().lightness() > light.color().lightness()
    finally:
        app.setPalette(saved)
    assert kind_brush(DiffKind.ADDED).color() == light.color()  # type: ignore[union-attr]


def test_the_dimmed_brush_follows_the_palette_s_disabled_text(qtbot: QtBot) -> None:
    del qtbot
    app = QGuiApplication.instance()
    assert isinstance(app, QGuiApplication)
    saved = QGuiApplication.palette()
    first = dimmed()
    assert first is dimmed()
    assert first.color() == saved.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    other = QPalette(saved)
    other.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#123456"))
    app.setPalette(other)
    try:
        assert dimmed().color() == QColor("#123456")
    finally:
        app.setPalette(saved)
