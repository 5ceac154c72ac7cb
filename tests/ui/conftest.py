"""The real main window, with settings in a temporary file (never the user's)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from explorer.ui.main_window import MainWindow
from tests.conftest import corpus_path


@pytest.fixture(autouse=True, scope="session")
def _own_cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The window caches layer indexes in the user's cache folder: not the tester's."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


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
    win = MainWindow(settings=settings, run_sync=True, sandbox_folder=str(sandbox_folder),
                     index_folder=str(sandbox_folder.parent / "indexes"))
    qtbot.addWidget(win)
    win.resize(1400, 860)
    win.show()
    yield win
    win.close_image()


def generated(name: str) -> str:
    return str(corpus_path("generated", name))
