"""The main window, driven as a user would: open, pick, select, filter, switch modes, fail."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from explorer.core.fs.diff import DiffKind
from explorer.core.inspection import Inspection
from explorer.qt import session as session_module
from explorer.qt.jobs import Job
from explorer.qt.models.diff_tree import Column
from explorer.qt.models.layer_table import LayerRole
from explorer.ui.main_window import MainWindow
from explorer.ui.tree_panel import Mode
from tests.core.factories import DockerArchive, layer_tar
from tests.ui.conftest import generated

FORMATS = [
    "mini-webapp.docker.tar", "mini-webapp.oci.tar", "mini-webapp.oci-zstd.tar",
    "mini-webapp.oci-layout.tar", "mini-webapp.containerd.tar",
    "mini-webapp.oci-uncompressed.tar",
]


def _rows(window: MainWindow) -> list[str]:
    model = window.tree.model
    return [model.data(model.index(r, 0)) for r in range(model.rowCount())]


def _open(window: MainWindow, qtbot: QtBot, path: str) -> Inspection:
    with qtbot.waitSignal(window.loaded, timeout=30_000) as blocker:
        window.open_path(path)
    inspection: Inspection = blocker.args[0]
    return inspection


def test_without_an_image_the_start_page_says_what_to_do(window: MainWindow) -> None:
    assert window.pages.currentWidget() is window.start
    assert not window.start.recent.isVisible()


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_opens_into_the_layer_stack_and_tree(window: MainWindow, qtbot: QtBot,
                                                          name: str) -> None:
    inspection = _open(window, qtbot, generated(name))
    assert window.pages.currentWidget() is window.splitter
    layers = window.layers.model
    numbers = [layers.data(layers.index(r, 0), LayerRole) for r in range(layers.rowCount())]
    numbers = [n for n in numbers if n is not None]
    assert numbers == [6, 5, 4, 3, 2, 1, 0], "the container layer, then the top layer first"
    assert len(inspection.image.layers) == 6
    assert layers.data(layers.index(0, 2)).startswith("container layer (writable)")
    assert window.layers.current_layer() == 5
    assert window.tree.layer == 5 and window.tree.model.rowCount() > 0
    assert "efficiency 97.76 %" in window.status_text.text()
    assert window.recent_files()[0] == generated(name)


def test_selecting_a_layer_shows_its_changes(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, qtbot, generated("mini-webapp-nodocs.docker.tar"))
    window.layers.select_layer(6)
    window.tree.set_mode(Mode.LAYER)
    assert window.tree.select_path(b"usr/local/tomcat/webapps/docs")
    node = window.tree.model.node(window.tree.view.currentIndex())
    assert node is not None and node.kind is DiffKind.REMOVED
    assert "layer 2: added" in window.details.file_view.toPlainText()
    assert "layer 6: removed" in window.details.file_view.toPlainText()
    window.layers.select_layer(2)
    assert window.tree.layer == 2
    assert "Layer\n2 of 7" in window.details.layer_view.toPlainText().replace("\t", "\n")


def test_filter_keeps_matches_and_their_ancestors(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, qtbot, generated("mini-webapp.docker.tar"))
    window.tree.set_mode(Mode.MERGED)
    window.tree.filter_edit.setText("*/bin/catalina.sh")
    window.tree.refresh()
    assert _rows(window) == ["usr"]
    index = window.tree.model.index_of(b"usr/local/tomcat/bin/catalina.sh")
    assert index.isValid()
    window.tree.filter_edit.setText("re:[")
    window.tree.refresh()
    assert window.tree.filter_error.isVisibleTo(window)


def test_focusing_the_filter_box_lists_the_tree_ahead_of_the_filter(
        window: MainWindow, qtbot: QtBot) -> None:
    """Heading for the filter box (click or Ctrl+F) starts listing the shown tree, so the
    first filter of a big tree does not start from scratch; the filter reuses the listing."""
    from explorer.core.fs import tree_filter

    _open(window, qtbot, generated("mini-webapp.docker.tar"))
    window.tree.set_mode(Mode.MERGED)
    root = window.tree._root
    assert root is not None and root not in tree_filter._flat
    window.activateWindow()
    window.tree.focus_filter()
    qtbot.waitUntil(lambda: root in tree_filter._flat, timeout=10_000)
    listing = tree_filter._flat[root]
    window.tree.filter_edit.setText("catalina")
    window.tree.refresh()
    assert window.tree._root is root and tree_filter._flat[root] is listing
    assert _rows(window) == ["usr"]


def test_hide_toggles_and_modes(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, qtbot, generated("mini-webapp-nodocs.docker.tar"))
    window.tree.set_mode(Mode.MERGED)
    merged = _rows(window)
    assert {"bin", "etc", "usr"} <= set(merged)
    window.tree.set_mode(Mode.LAYER)
    assert _rows(window) == ["usr"], "layer 6 only touched /usr"
    window.tree.kind_buttons[DiffKind.REMOVED].setChecked(False)
    assert window.tree.model.index_of(b"usr/local/tomcat/webapps/docs").isValid() is False
    window.tree.set_mode(Mode.AGGREGATED)
    assert window.tree.model.rowCount() > 0


def test_largest_first_sorts_by_dive_size(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, qtbot, generated("mini-webapp.docker.tar"))
    window.tree.set_mode(Mode.MERGED)
    window.tree.sort_button.setChecked(True)
    model = window.tree.model
    sizes = [model.size_of(model.node(model.index(r, 0))) for r in range(model.rowCount())]
    assert sizes == sorted(sizes, reverse=True)
    assert model.data(model.index(0, Column.SIZE), Qt.ItemDataRole.ToolTipRole).endswith("bytes")


def test_an_archive_with_several_images_asks_which(window: MainWindow, qtbot: QtBot) -> None:
    window.open_path(generated("mini-multi.podman.docker.tar"))
    picker = window._picker
    assert picker.isVisible() and picker.table.rowCount() >= 2
    with qtbot.waitSignal(window.loaded, timeout=30_000):
        picker.table.selectRow(1)
        picker.done(QDialog.DialogCode.Accepted)
    assert window.image is not None and window.image.ref.index == 1


def test_a_file_that_is_not_an_image_shows_a_message(window: MainWindow, qtbot: QtBot,
                                                     tmp_path: Path) -> None:
    bad = tmp_path / "notes.tar"
    bad.write_bytes(b"this is not a tar archive at all" * 40)
    with qtbot.waitSignal(window.load_failed):
        window.open_path(str(bad))
    assert window.last_message is not None
    assert "Traceback" not in window.last_message.text
    assert window.pages.currentWidget() is window.start
    box = window._message_box
    assert box is not None and box.isVisible()
    box.close()
    _open(window, qtbot, generated("mini-base.docker.tar"))  # still usable


def test_dropping_a_file_opens_it(window: MainWindow, qtbot: QtBot) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(generated("mini-base.oci.tar"))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.loaded, timeout=30_000):
        window.dropEvent(event)
    assert window.image is not None


def test_loading_in_the_background_can_be_cancelled(qtbot: QtBot, settings: object) -> None:
    win = MainWindow(settings=settings)  # type: ignore[arg-type]
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.idle, timeout=30_000):
        win.open_path(generated("mini-webapp.oci.tar"))
        win.cancel_loading()
    assert win.inspection is None
    with qtbot.waitSignal(win.loaded, timeout=30_000):
        win.open_path(generated("mini-webapp.oci.tar"))
    assert win.inspection is not None


def test_recent_files_drop_missing_ones(window: MainWindow, tmp_path: Path) -> None:
    gone = tmp_path / "gone.tar"
    window.settings.setValue("recent", [str(gone), generated("mini-base.docker.tar")])
    assert window.recent_files() == [generated("mini-base.docker.tar")]


def test_screenshot_command_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "explorer.app.cli", generated("mini-webapp-nodocs.docker.tar"),
         "--screenshot", str(out), "--layer", "-1", "--mode", "layer", "--select",
         "/usr/local/tomcat/webapps/docs"],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"\x89PNG")
    bad = subprocess.run([sys.executable, "-m", "explorer.app.cli", str(tmp_path / "nope.tar"),
                          "--screenshot", str(tmp_path / "bad.png")], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 2 and "error" in bad.stderr


def test_lower_layers_show_before_the_upper_ones_are_read(
        qtbot: QtBot, settings: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Indexing is held after layers 0 and 1: their trees are browsable, layer 5 waits."""
    release = threading.Event()
    real = session_module.index_layers

    def held(archive, image, *, on_layer, **kwargs):  # type: ignore[no-untyped-def]
        indexes = real(archive, image, **kwargs)
        on_layer(1, indexes[1])
        on_layer(0, indexes[0])
        release.wait(30)
        return indexes

    monkeypatch.setattr(session_module, "index_layers", held)
    win = MainWindow(settings=settings)  # type: ignore[arg-type]
    qtbot.addWidget(win)
    win.open_path(generated("mini-webapp.docker.tar"))
    qtbot.waitUntil(lambda: win.partial is not None and len(win.partial.indexes) == 2,
                    timeout=30_000)
    assert win.inspection is None
    assert win.tree.inspection is None, "the top layer is not read yet"
    assert "being read" in win.tree.summary.text()
    win.layers.select_layer(1)
    assert win.tree.inspection is win.partial and win.tree.model.rowCount() > 0
    with qtbot.waitSignal(win.loaded, timeout=30_000):
        release.set()
    assert win.tree.inspection is win.inspection


def test_clicking_an_inefficient_file_shows_it_in_the_merged_tree(
        window: MainWindow, qtbot: QtBot) -> None:
    inspection = _open(window, qtbot, generated("mini-webapp.docker.tar"))
    table = window.details.inefficient
    model = window.details.inefficient_model
    assert model.total == len(inspection.efficiency.inefficient) > 0
    assert window.details.inefficient_label.text().endswith(f": {model.total:,}")
    first = inspection.efficiency.inefficient[0].path
    assert model.data(model.index(0, 2)) == first.decode()
    table.clicked.emit(model.index(0, 2))
    assert window.tree.mode is Mode.MERGED
    assert window.tree.view.currentIndex() == window.tree.model.index_of(first.lstrip(b"/"))
    assert window.tree.view.currentIndex().isValid()


def test_a_burst_of_read_layers_builds_one_partial_view_at_a_time(
        qtbot: QtBot, settings: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Layers from the cache arrive all at once: the partial views are built one after the
    other (not one job per layer, fighting for the GIL), and the final stack reuses their
    trees instead of building them again."""
    release = threading.Event()
    real = session_module.index_layers
    partial_jobs: list[str] = []
    real_launch = Job.launch

    def counting(job: Job, *, sync: bool) -> None:
        if job.name == "partial":
            partial_jobs.append(job.name)
        real_launch(job, sync=sync)

    def burst(archive, image, *, on_layer, **kwargs):  # type: ignore[no-untyped-def]
        indexes = real(archive, image, **kwargs)
        for i, index in enumerate(indexes):
            on_layer(i, index)
        release.wait(30)
        return indexes

    monkeypatch.setattr(Job, "launch", counting)
    monkeypatch.setattr(session_module, "index_layers", burst)
    win = MainWindow(settings=settings)  # type: ignore[arg-type]
    qtbot.addWidget(win)
    win.open_path(generated("mini-webapp.docker.tar"))
    layers = len(win.image.layers) if win.image is not None else 6
    qtbot.waitUntil(lambda: win.partial is not None and len(win.partial.indexes) == layers,
                    timeout=30_000)
    assert 1 <= len(partial_jobs) < layers
    partial = win.partial
    assert partial.stack.top.root in partial.dir_sizes, "sized off the GUI thread"
    with qtbot.waitSignal(win.loaded, timeout=30_000):
        release.set()
    assert win.inspection is not None and partial is not None
    assert all(win.inspection.stack.at(i) is partial.stack.at(i) for i in range(layers))
    assert win.inspection.dir_sizes is partial.dir_sizes


def test_a_digest_mismatch_is_a_message_naming_the_layer(window: MainWindow, qtbot: QtBot,
                                                         tmp_path: Path) -> None:
    archive = DockerArchive([[("etc", None, "dir"), ("etc/a", b"one", "file")],
                             [("etc/b", b"two", "file")]])
    archive.layer_blobs[1] = layer_tar([("etc/b", b"TWO", "file")])  # same size, other bytes
    with qtbot.waitSignal(window.load_failed):
        window.open_path(str(archive.write(tmp_path / "tampered.tar")))
    message = window.last_message
    assert message is not None and message.title == "The image does not match its digests"
    assert "layer 1" in message.text


def test_integrity_warnings_are_listed_in_their_panel(window: MainWindow, qtbot: QtBot,
                                                      tmp_path: Path) -> None:
    archive = DockerArchive([[("etc", None, "dir"), ("etc/a", b"one", "file"),
                              ("etc/a", b"two", "file")]])
    _open(window, qtbot, str(archive.write(tmp_path / "twice.tar")))
    texts = [window.warnings.item(i).text() for i in range(window.warnings.count())]
    assert any("more than once" in t for t in texts)
    assert window.warnings_dock.isVisibleTo(window)
