"""The Qt binding itself must not corrupt the interpreter.

PySide6 6.12.0 on Python 3.11 drops a reference to ``None`` on every call of a method that
returns void (``QLabel.setText``, ``QFont.setItalic``, ...); after enough calls the process
aborts with "deallocating None".  pyproject.toml excludes that release; this test catches a
future one with the same bug.
"""

from __future__ import annotations

import sys

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot


def test_void_methods_keep_the_reference_count_of_none(qtbot: QtBot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    font = QFont()
    before = sys.getrefcount(None)
    for _ in range(500):
        label.setText("x")
        font.setItalic(True)
    assert sys.getrefcount(None) - before > -100, "the Qt binding leaks references to None"
