"""Preview and extract from the window: text with "Load more", hex, images, links, copies."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QColor, QGuiApplication, QImage
from pytestqt.qtbot import QtBot

from explorer.core.limits import Limits
from explorer.ui import preview_panel
from explorer.ui.main_window import MainWindow
from explorer.ui.tree_panel import Mode
from tests.core.factories import DockerArchive, OciArchive


def _png() -> bytes:
    image = QImage(8, 6, QImage.Format.Format_RGB32)
    image.fill(QColor("orange"))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data().data())


LONG = b"".join(b"line %06d of a long log file\n" % i for i in range(12_000))  # ~350 kB
FILES = [
    ("etc", None, "dir"), ("etc/app.conf", b"# settings\nport = 8080\nname = 'demo'\n", "file"),
    ("var", None, "dir"), ("var/log.txt", LONG, "file"),
    ("usr", None, "dir"), ("usr/blob.bin", bytes(range(256)) * 8, "file"),
    ("usr/logo.png", _png(), "file"), ("usr/page.svg", b"<svg xmlns='x'><script/></svg>", "file"),
    ("usr/conf", "../etc/app.conf", "symlink"),
]


@pytest.fixture(params=["docker-plain", "oci-gzip"])
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "docker-plain":
        return str(DockerArchive([FILES]).write(tmp_path / "img.tar"))
    return str(OciArchive([FILES], compression="gzip").write(tmp_path / "img.tar"))


def _select(window: MainWindow, qtbot: QtBot, archive: str, path: bytes) -> str:
    with qtbot.waitSignal(window.loaded, timeout=30_000):
        window.open_path(archive)
    window.tree.set_mode(Mode.MERGED)
    with qtbot.waitSignal(window.preview.shown, timeout=30_000) as blocker:
        assert window.tree.select_path(path)
    return str(blocker.args[0])


def test_text_is_shown_capped_with_load_more(window: MainWindow, qtbot: QtBot,
                                             archive: str) -> None:
    assert _select(window, qtbot, archive, b"var/log.txt") == "text"
    shown = window.preview.text.toPlainText()
    assert shown.startswith("line 000000") and len(shown) == preview_panel.TEXT_STEP
    assert window.preview.more.isVisibleTo(window)
    window.preview.load_more()
    assert window.preview.text.toPlainText().encode() == LONG
    assert not window.preview.more.isVisibleTo(window)


def test_the_preview_holds_at_most_preview_bytes(window: MainWindow, qtbot: QtBot,
                                                 archive: str) -> None:
    """The image's ``preview_bytes`` limit caps the text held and the images decoded."""
    cap = preview_panel.TEXT_STEP + 1000
    with qtbot.waitSignal(window.loaded, timeout=30_000):
        window.open_path(archive, limits=Limits(preview_bytes=cap))
    window.tree.set_mode(Mode.MERGED)
    with qtbot.waitSignal(window.preview.shown, timeout=30_000):
        assert window.tree.select_path(b"var/log.txt")
    assert window.preview.more.isEnabled()
    window.preview.load_more()
    assert window.preview.text.toPlainText().encode() == LONG[:cap]
    more = window.preview.more
    assert more.isVisibleTo(window) and not more.isEnabled()
    assert more.text() == "Preview limit reached"
    assert "not shown" in more.toolTip() and "preview_bytes" in more.toolTip()
    window.preview.load_more()  # nothing more is read
    assert window.preview.text.toPlainText().encode() == LONG[:cap]
    with qtbot.waitSignal(window.preview.shown, timeout=30_000) as blocker:
        window.tree.select_path(b"usr/logo.png")
    assert blocker.args[0] == "image"  # a small PNG is under the cap
    window.close_all()
    with qtbot.waitSignal(window.loaded, timeout=30_000):
        window.open_path(archive, limits=Limits(preview_bytes=40))
    window.tree.set_mode(Mode.MERGED)
    with qtbot.waitSignal(window.preview.shown, timeout=30_000) as blocker:
        window.tree.select_path(b"usr/logo.png")
    assert blocker.args[0] == "message"
    assert "larger than the preview limit" in window.preview.message.text()


def test_binary_is_shown_in_hex(window: MainWindow, qtbot: QtBot, archive: str) -> None:
    assert _select(window, qtbot, archive, b"usr/blob.bin") == "binary"
    assert window.preview.hex.toPlainText().startswith("00000000  00 01 02 03")


def test_images_are_decoded_but_svg_is_text(window: MainWindow, qtbot: QtBot,
                                            archive: str) -> None:
    assert _select(window, qtbot, archive, b"usr/logo.png") == "image"
    assert window.preview.image.pixmap().width() == 8
    with qtbot.waitSignal(window.preview.shown, timeout=30_000) as blocker:
        window.tree.select_path(b"usr/page.svg")
    assert blocker.args[0] == "text"


def test_a_symlink_leads_to_its_target(window: MainWindow, qtbot: QtBot, archive: str) -> None:
    assert _select(window, qtbot, archive, b"usr/conf") == "message"
    assert "→ ../etc/app.conf" in window.preview.message.text()
    with qtbot.waitSignal(window.preview.shown, timeout=30_000):
        window.preview.follow.click()
    node = window.tree.model.node(window.tree.view.currentIndex())
    assert node is not None and node.path == b"etc/app.conf"


def test_extract_copies_a_folder_into_the_chosen_one(window: MainWindow, qtbot: QtBot,
                                                     archive: str, tmp_path: Path) -> None:
    _select(window, qtbot, archive, b"etc/app.conf")
    dest = tmp_path / "out"
    dest.mkdir()
    before = hashlib.sha256(Path(archive).read_bytes()).hexdigest()
    window.files.extract_paths([b"etc", b"usr/conf"], str(dest))
    assert (dest / "etc" / "app.conf").read_bytes().startswith(b"# settings")
    assert window.last_extract.files >= 1
    assert hashlib.sha256(Path(archive).read_bytes()).hexdigest() == before
    assert window._message_box is not None and "Extracted" in window._message_box.text()


def test_copy_sha256_puts_the_digest_on_the_clipboard(window: MainWindow, qtbot: QtBot,
                                                      archive: str) -> None:
    _select(window, qtbot, archive, b"usr/blob.bin")
    node = window.tree.model.node(window.tree.view.currentIndex())
    assert node is not None
    window.files.copy_sha256(node)
    expected = hashlib.sha256(bytes(range(256)) * 8).hexdigest()
    assert QGuiApplication.clipboard().text() == f"sha256:{expected}"
