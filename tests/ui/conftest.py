"""The real main window, with settings in a temporary file (never the user's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from explorer.ui.main_window import MainWindow
from tests.conftest import corpus_path


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def sandbox_folder(tmp_path: Path) -> Path:
    """Where the window saves container layers (never the user's data folder in tests)."""
    return tmp_path / "sandboxes"


@pytest.fixture
def window(qtbot: QtBot, settings: QSettings, sandbox_folder: Path) -> Iterator[MainWindow]:
    """Jobs run synchronously so each step is done when the call returns."""
    win = MainWindow(settings=settings, run_sync=True, sandbox_folder=str(sandbox_folder))
    qtbot.addWidget(win)
    win.resize(1400, 860)
    win.show()
    yield win
    win.close_image()


def generated(name: str) -> str:
    return str(corpus_path("generated", name))
