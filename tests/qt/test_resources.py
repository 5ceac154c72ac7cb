"""Bundled files are found through the one accessor, from this checkout too."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from explorer.core.resources import resource_path
from explorer.qt.resources import APP_ICON, icon


@pytest.mark.parametrize("name", [APP_ICON, "open", "folder", "demo", "cancel", "filter"])
def test_every_icon_the_window_uses_exists(qtbot: QtBot, name: str) -> None:
    assert not icon(name).isNull()
    assert resource_path("icons", f"{name}.svg").is_file()


def test_a_missing_resource_names_where_it_looked() -> None:
    with pytest.raises(FileNotFoundError, match="looked in"):
        resource_path("icons", "no-such-icon.svg")
