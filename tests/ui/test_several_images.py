"""Several images open at once: the Images list, switching, sharing, separate edits."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from pytestqt.qtbot import QtBot

from explorer.ui.main_window import MainWindow
from explorer.ui.tree_panel import Mode
from tests.ui.conftest import generated

WEB, NODOCS = "mini-webapp.docker.tar", "mini-webapp-nodocs.oci.tar"
DOCS = b"usr/local/tomcat/webapps/docs"


def _open(window: MainWindow, qtbot: QtBot, name: str) -> None:
    with qtbot.waitSignal(window.loaded, timeout=30_000):
        window.open_path(generated(name))


def _container_row(window: MainWindow) -> str:
    model = window.layers.model
    return str(model.data(model.index(0, 2)))


def test_two_images_are_listed_and_shown_one_at_a_time(window: MainWindow,
                                                       qtbot: QtBot) -> None:
    _open(window, qtbot, WEB)
    assert not window.image_list.isVisibleTo(window), "one image: no list needed"
    _open(window, qtbot, NODOCS)
    assert window.image_list.isVisibleTo(window) and window.image_list.count() == 2
    assert window.image is not None and window.image.ref.name.endswith("nodocs:latest")
    window.image_list.setCurrentRow(0)
    assert window.image is not None and window.image.ref.name.endswith("mini-webapp:latest")
    assert window.tree.inspection is window.inspection
    assert len(window.inspection.indexes) == 6  # type: ignore[union-attr]


def test_shared_base_layers_are_marked_in_each_stack(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, qtbot, WEB)
    _open(window, qtbot, NODOCS)
    model = window.layers.model
    assert model.shared_label(0).startswith("shared with docker.io/corpus/mini-webapp")
    assert model.shared_label(6) == "", "the nodocs layer is its own"
    row = model.row_of_layer(0)
    assert "⇄" in model.data(model.index(row, 0))
    assert window.shared_bytes > 0
    assert window.layers.shared_note.isVisibleTo(window)
    assert "6 layers shared" in window.layers.shared_note.text()
    window.close_image()
    assert model.shared_label(0) == "", "nothing left to share with"


def test_each_image_keeps_its_own_container_layer(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, qtbot, WEB)
    window.tree.set_mode(Mode.MERGED)
    assert window.tree.select_path(DOCS)
    window.edits.delete_selected()
    assert _container_row(window).endswith("1 change")
    _open(window, qtbot, NODOCS)
    assert _container_row(window).endswith("no changes")
    window.image_list.setCurrentRow(0)
    assert _container_row(window).endswith("1 change")


def test_closing_shows_the_remaining_image_then_the_start_page(window: MainWindow,
                                                               qtbot: QtBot) -> None:
    _open(window, qtbot, WEB)
    _open(window, qtbot, NODOCS)
    window.close_image()
    assert window.image_list.count() == 1 and window.image is not None
    assert window.image.ref.name.endswith("mini-webapp:latest")
    window.close_image()
    assert window.pages.currentWidget() is window.start and window.doc is None


def test_dropping_two_archives_opens_both(window: MainWindow, qtbot: QtBot) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(generated(WEB)), QUrl.fromLocalFile(generated(NODOCS))])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.image_list.count() == 2
    assert all(d.inspection is not None for d in window.docs)


def test_layers_another_open_image_read_are_not_read_again(window: MainWindow,
                                                           qtbot: QtBot) -> None:
    _open(window, qtbot, WEB)
    before = window.index_cache.hits
    _open(window, qtbot, "mini-webapp-nodocs.docker.tar")  # same base layers, same blobs
    assert window.index_cache.hits - before >= 6


def test_a_layer_dropped_on_another_images_layer_compares_them(window: MainWindow,
                                                               qtbot: QtBot) -> None:
    _open(window, qtbot, WEB)
    _open(window, qtbot, NODOCS)
    window.image_list.setCurrentRow(0)  # drag web's top layer ...
    model = window.layers.model
    mime = model.mimeData([model.index(model.row_of_layer(5), 0)])
    assert mime is not None
    window.image_list.setCurrentRow(1)  # ... onto nodocs' top layer
    target = window.layers.view.visualRect(
        window.layers.model.index(window.layers.model.row_of_layer(6), 0)).center()
    assert window.layers.drop_layer(mime, target)
    compare = window.compare_window
    assert compare is not None
    qtbot.addWidget(compare)
    qtbot.waitUntil(lambda: compare.comparison is not None, timeout=30_000)
    node = compare.model.node(compare.model.index_of(DOCS))
    assert node is not None and node.kind.value == "removed"


def test_an_image_dropped_on_another_image_compares_their_tops(window: MainWindow,
                                                               qtbot: QtBot) -> None:
    _open(window, qtbot, WEB)
    _open(window, qtbot, NODOCS)
    mime = window.image_list.mimeData([window.image_list.item(1)])  # nodocs ...
    assert window.image_list.drop_on_row(mime, 0)                  # ... onto web
    compare = window.compare_window
    assert compare is not None
    qtbot.addWidget(compare)
    qtbot.waitUntil(lambda: compare.comparison is not None, timeout=30_000)
    node = compare.model.node(compare.model.index_of(DOCS))
    assert node is not None and node.kind.value == "added", "A = nodocs, B = web"


def test_an_image_read_before_opens_from_the_index_cache(window: MainWindow,
                                                         qtbot: QtBot) -> None:
    _open(window, qtbot, WEB)
    window.close_image()
    window.index_cache.flush()  # written on the cache's own thread
    window.index_cache.clear()  # as in a new session: only the files on disk remain
    _open(window, qtbot, WEB)
    assert window.index_cache.disk_hits == 6
