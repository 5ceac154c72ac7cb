"""The container layer in the window: delete, restore, undo/redo, add by drop, autosave."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QUrl
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from explorer.core.fs.diff import DiffKind
from explorer.core.sandbox import PathState
from explorer.ui.main_window import MainWindow
from explorer.ui.tree_panel import Mode
from tests.ui.conftest import generated

DOCS = b"usr/local/tomcat/webapps/docs"


def _open(window: MainWindow, qtbot: QtBot, name: str = "mini-webapp.docker.tar") -> None:
    with qtbot.waitSignal(window.loaded, timeout=30_000):
        window.open_path(generated(name))


def _delete(window: MainWindow, path: bytes) -> None:
    window.tree.set_mode(Mode.MERGED)
    assert window.tree.select_path(path)
    window.edits.delete_selected()


def test_an_opened_image_gets_an_empty_container_layer_on_top(window: MainWindow,
                                                              qtbot: QtBot) -> None:
    _open(window, qtbot)
    model = window.layers.model
    assert model.data(model.index(0, 2)) == "container layer (writable) · no changes"
    assert not window.edits.undo_action.isEnabled()


def test_deleting_shows_the_entry_struck_in_the_container_layer(window: MainWindow,
                                                                qtbot: QtBot) -> None:
    _open(window, qtbot)
    with qtbot.waitSignal(window.sandbox_changed):
        _delete(window, DOCS)
    assert window.tree.on_sandbox, "the edit is shown where it happened"
    node = window.tree.model.node(window.tree.view.currentIndex())
    assert node is not None and node.path == DOCS and node.kind is DiffKind.REMOVED
    model = window.layers.model
    assert model.data(model.index(0, 2)) == "container layer (writable) · 1 change"
    assert window.edits.state_of(DOCS) is PathState.DELETED
    assert "Undo delete" in window.edits.undo_action.text()
    window.tree.kind_buttons[DiffKind.REMOVED].setChecked(False)  # hide what is deleted
    assert not window.tree.model.index_of(DOCS).isValid()


def test_undo_redo_and_restore(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, qtbot)
    _delete(window, DOCS)
    window.edits.undo()
    assert window.edits.state_of(DOCS) is not PathState.DELETED
    window.edits.redo()
    assert window.edits.state_of(DOCS) is PathState.DELETED
    assert window.tree.select_path(DOCS)
    window.edits.restore_selected()
    assert window.edits.state_of(DOCS) is not PathState.DELETED
    assert window.edits.session is not None and window.edits.session.sandbox.is_empty


def test_files_dropped_on_a_folder_are_added_there(window: MainWindow, qtbot: QtBot,
                                                   tmp_path: Path) -> None:
    _open(window, qtbot)
    host = tmp_path / "notes.txt"
    host.write_text("hello from the host\n")
    window.tree.set_mode(Mode.MERGED)
    index = window.tree.model.index_of(b"usr/local/tomcat/conf")
    window.tree.view.scrollTo(index)
    pos = window.tree.view.visualRect(index).center()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(host))])
    with qtbot.waitSignal(window.sandbox_changed):
        window.edits.drop_files(mime.urls(), QPoint(pos.x(), pos.y()))
    assert window.edits.state_of(b"usr/local/tomcat/conf/notes.txt") is PathState.ADDED
    assert window.tree.select_path(b"usr/local/tomcat/conf/notes.txt")
    assert "Added in the container layer" in window.preview.message.text()


def test_new_folder(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, qtbot)
    window.tree.set_mode(Mode.MERGED)
    window.tree.select_path(b"etc")
    window.edits.new_folder("app.d")
    assert window.edits.state_of(b"etc/app.d") is PathState.ADDED


def test_edits_are_saved_and_offered_back_next_time(window: MainWindow, qtbot: QtBot,
                                                    sandbox_folder: Path) -> None:
    _open(window, qtbot)
    _delete(window, DOCS)
    assert list(sandbox_folder.glob("*.json")), "saved in the user's data folder"
    window.close_image()
    _open(window, qtbot)
    box = window._message_box
    assert box is not None and box.objectName() == "restoreBox" and box.isVisible()
    box.done(QMessageBox.StandardButton.Yes)
    assert window.edits.state_of(DOCS) is PathState.DELETED
