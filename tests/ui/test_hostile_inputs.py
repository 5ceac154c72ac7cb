"""Hostile and broken archives in the real window: a message or a warning, never a traceback,
and the window stays usable (issue 8, ../shared/docs/BAD-INPUT.md).

Every fixture is generated here from tests/core/factories.py; none is downloaded.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from explorer.ui.main_window import MainWindow
from tests.core.factories import DockerArchive, Member, OciArchive, outer_tar
from tests.core.test_bad_input import BASE, TOP, _broken_deflate
from tests.ui.conftest import generated


def _truncated_outer_tar(path: Path) -> None:
    data = outer_tar(DockerArchive([BASE, TOP]).members())
    path.write_bytes(data[: len(data) // 2 + 100])


def _corrupt_gzip_layer(path: Path) -> None:
    _broken_deflate().write(path)


def _digest_mismatch(path: Path) -> None:
    archive = OciArchive([BASE, TOP], compression="gzip")
    archive.layer_blobs[1] = OciArchive([BASE, [("usr/evil", b"evil\n", "file")]],
                                        compression="gzip").layer_blobs[1]
    archive.write(path)


def _path_escape(path: Path) -> None:
    DockerArchive([BASE, [("../x", b"escaped\n", "file"), ("usr/ok", b"ok\n", "file")]]
                  ).write(path)


def _outer_symlink_loop(path: Path) -> None:
    archive = DockerArchive([BASE])
    archive.edit_manifest = lambda doc: doc[0].__setitem__("Layers", ["l1/layer.tar"])
    archive.extra = [Member("l1/layer.tar", type=tarfile.SYMTYPE, linkname="../l2/layer.tar"),
                     Member("l2/layer.tar", type=tarfile.SYMTYPE, linkname="../l1/layer.tar")]
    archive.write(path)


def _huge_declared_size(path: Path) -> None:
    """The first member's size field says one terabyte (base-256), checksum fixed."""
    data = bytearray(outer_tar(DockerArchive([BASE]).members()))
    with tarfile.open(fileobj=io.BytesIO(bytes(data))) as tf:
        off = tf.getmembers()[0].offset
    data[off + 124:off + 136] = b"\x80" + (1 << 40).to_bytes(11, "big")
    data[off + 148:off + 156] = b" " * 8
    data[off + 148:off + 156] = b"%06o\x00 " % sum(data[off:off + 512])
    path.write_bytes(bytes(data))


def _not_an_image(path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("holiday/photo.jpg")
        info.size = 4
        tf.addfile(info, io.BytesIO(b"\xff\xd8\xff\xe0"))
    path.write_bytes(buf.getvalue())


HOSTILE: dict[str, Callable[[Path], None]] = {
    "truncated-outer-tar": _truncated_outer_tar,
    "corrupt-gzip-layer": _corrupt_gzip_layer,
    "digest-mismatch": _digest_mismatch,
    "path-escape": _path_escape,
    "outer-symlink-loop": _outer_symlink_loop,
    "huge-declared-size": _huge_declared_size,
    "not-an-image": _not_an_image,
}
EXPECTED: dict[str, tuple[str, str]] = {
    "truncated-outer-tar": ("failed", "truncated"),
    "corrupt-gzip-layer": ("failed", "corrupt gzip"),
    "digest-mismatch": ("failed", "does not match its digest"),
    "path-escape": ("loaded", "leaves the root"),
    "outer-symlink-loop": ("failed", "link loop"),
    "huge-declared-size": ("failed", "truncated"),
    "not-an-image": ("failed", "not a container image"),
}
"""What the catalogue asks for: refused with a clear message, or opened with a warning."""


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> Iterator[MainWindow]:
    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                     run_sync=True, sandbox_folder=str(tmp_path / "sb"),
                     index_folder=str(tmp_path / "idx"))
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    yield win
    win.close_image()


def _open(window: MainWindow, qtbot: QtBot, path: str) -> str:
    """Open ``path``; return "loaded" or "failed" (whichever signal came)."""
    outcome: list[str] = []
    window.loaded.connect(lambda *_: outcome.append("loaded"))
    window.load_failed.connect(lambda *_: outcome.append("failed"))
    window.open_path(path)
    qtbot.waitUntil(lambda: bool(outcome), timeout=30_000)
    return outcome[0]


def _warnings(window: MainWindow) -> list[str]:
    return [window.warnings.item(i).text() for i in range(window.warnings.count())]


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_archive_shows_a_message_or_a_warning_and_the_window_stays_usable(
        window: MainWindow, qtbot: QtBot, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.tar"
    HOSTILE[name](path)
    before = path.read_bytes()
    outcome = _open(window, qtbot, str(path))
    expected, fragment = EXPECTED[name]
    assert outcome == expected
    if outcome == "failed":
        message = window.last_message
        assert message is not None
        assert message.text.strip(), "the message says something"
        assert "Traceback" not in message.text + message.details, "a typed error, not a bug"
        assert fragment in message.text
        box = window._message_box
        assert box is not None and box.isVisible()
        assert "Traceback" not in box.text() + box.informativeText() + box.detailedText()
        box.close()
    else:
        warnings = _warnings(window)
        assert warnings, "an image that opens despite the damage lists what was wrong"
        assert not any("Traceback" in w for w in warnings)
        assert any(fragment in w for w in warnings)
        assert window.warnings_dock.isVisible()
    assert path.read_bytes() == before, "opening never changes the input"
    assert _open(window, qtbot, generated("mini-base.docker.tar")) == "loaded"
    assert window.image is not None


def test_a_refused_archive_keeps_the_image_already_open(window: MainWindow, qtbot: QtBot,
                                                       tmp_path: Path) -> None:
    assert _open(window, qtbot, generated("mini-base.docker.tar")) == "loaded"
    bad = tmp_path / "bad.tar"
    _digest_mismatch(bad)
    assert _open(window, qtbot, str(bad)) == "failed"
    assert window._message_box is not None
    window._message_box.close()
    assert window.image is not None, "the image shown before is still there"
    assert window.pages.currentWidget() is window.splitter


@pytest.mark.parametrize("name", ["path-escape"])
def test_a_path_escape_is_never_shown_as_a_file_outside_the_root(
        window: MainWindow, qtbot: QtBot, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.tar"
    HOSTILE[name](path)
    assert _open(window, qtbot, str(path)) == "loaded"
    assert any("'../x'" in w for w in _warnings(window))
    inspection = window.inspection
    assert inspection is not None
    paths = [p for p, _ in inspection.merged().walk()]
    assert b"usr/ok" in paths
    assert not any(p.startswith(b"..") or b"/../" in p for p in paths)
    assert not (tmp_path.parent / "x").exists()


def test_a_limit_the_archive_hits_can_be_raised_from_the_message(
        window: MainWindow, qtbot: QtBot, tmp_path: Path) -> None:
    """A trusted archive over a safety limit opens after one click on the offered button;
    other errors offer no such button."""
    archive = DockerArchive([BASE, TOP])
    archive.manifest_raw = archive.manifest_bytes() + b" " * (1024 * 1024)
    path = str(archive.write(tmp_path / "big-manifest.tar"))
    assert _open(window, qtbot, path) == "failed"
    box = window._message_box
    assert box is not None and "manifest_json" in box.text()
    button = box.findChild(QPushButton, "raiseLimit")
    assert button is not None and button.text() == "Open with manifest_json = 4,194,304"
    with qtbot.waitSignal(window.loaded, timeout=30_000):
        button.click()
    assert window.doc is not None and window.doc.limits.manifest_json == 4 * 1024 * 1024
    assert window.inspection is not None and len(window.inspection.image.layers) == 2

    HOSTILE["truncated-outer-tar"](tmp_path / "cut.tar")
    assert _open(window, qtbot, str(tmp_path / "cut.tar")) == "failed"
    assert window._message_box.findChild(QPushButton, "raiseLimit") is None
