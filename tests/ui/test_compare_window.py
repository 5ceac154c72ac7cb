"""Comparing layers and images in the window: slots, drops, text diff, swap."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from explorer.core.fs.diff import DiffKind
from explorer.ui.compare_window import CompareWindow
from explorer.ui.main_window import MainWindow
from tests.ui.conftest import generated

DOCS = b"usr/local/tomcat/webapps/docs"


def _open(window: MainWindow, qtbot: QtBot, name: str) -> None:
    with qtbot.waitSignal(window.loaded, timeout=30_000):
        window.open_path(generated(name))


def _kind(compare: CompareWindow, path: bytes) -> DiffKind | None:
    index = compare.model.index_of(path)
    node = compare.model.node(index)
    return node.kind if node is not None else None


def test_an_image_against_its_nodocs_copy_shows_docs_removed(window: MainWindow,
                                                             qtbot: QtBot) -> None:
    _open(window, qtbot, "mini-webapp.docker.tar")
    compare = window.open_compare()
    qtbot.addWidget(compare)
    with qtbot.waitSignal(compare.compared, timeout=60_000):
        compare.load("B", generated("mini-webapp-nodocs.docker.tar"))
    assert _kind(compare, DOCS) is DiffKind.REMOVED
    assert "removed" in compare.summary.text()
    assert "Shared layers" in compare.image_view.toPlainText()
    with qtbot.waitSignal(compare.compared, timeout=60_000):
        compare.swap()
    assert _kind(compare, DOCS) is DiffKind.ADDED


def test_a_layer_row_dropped_on_a_slot_is_compared(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, qtbot, "mini-webapp.docker.tar")
    compare = window.open_compare()
    qtbot.addWidget(compare)
    model = window.layers.model
    mime = model.mimeData([model.index(model.row_of_layer(5), 0)])
    with qtbot.waitSignal(compare.compared, timeout=60_000):
        compare.slots["B"].accept_mime(mime)
    assert "are the same" in compare.summary.text(), "the top layer against itself"


def test_a_modified_text_file_shows_its_diff(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, qtbot, "mini-webapp.docker.tar")
    assert window.inspection is not None
    compare = CompareWindow(run_sync=True)
    qtbot.addWidget(compare)
    compare.set_side("A", window.inspection, 2)
    with qtbot.waitSignal(compare.compared, timeout=60_000):
        compare.set_side("B", window.inspection, 5)
    index = compare.model.index_of(b"usr/local/tomcat/conf/server.xml")
    assert index.isValid()
    compare.tree.setCurrentIndex(index)
    text = compare.text.toPlainText()
    assert text.startswith("--- a/usr/local/tomcat/conf/server.xml")
    assert any(line.startswith("+") and not line.startswith("+++")
               for line in text.splitlines())
    assert "content" in compare.details.text()


def test_the_comparison_filters_and_hides_like_the_main_tree(window: MainWindow,
                                                             qtbot: QtBot) -> None:
    _open(window, qtbot, "mini-webapp.docker.tar")
    compare = window.open_compare()
    qtbot.addWidget(compare)
    with qtbot.waitSignal(compare.compared, timeout=60_000):
        compare.load("B", generated("mini-webapp-opaque.docker.tar"))
    compare.filter_edit.setText("*.conf")
    compare.filter_edit.returnPressed.emit()
    assert compare.model.index_of(b"etc/resolv.conf").isValid()
    assert not compare.model.index_of(DOCS).isValid()
    compare.filter_edit.clear()
    assert compare.model.index_of(DOCS).isValid()
    compare.kind_boxes[DiffKind.REMOVED].setChecked(False)
    assert not compare.model.index_of(DOCS).isValid()
