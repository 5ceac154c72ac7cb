"""``layer-explorer [IMAGE ...]``: the desktop window (and its headless screenshot mode)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Sequence
from types import TracebackType

from explorer import __version__

SCREENSHOT_TIMEOUT_MS = 600_000
APP_ID = "io.github.layerexplorer.LayerExplorer"
"""The desktop entry's name (packaging/linux/APP_ID.desktop): ties the window to its launcher
and icon on Wayland."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="layer-explorer",
        description="Open container image archives in the Layer Explorer window. Headless "
        "commands: layer-explorer inspect|ls|ci|demo --help.",
    )
    p.add_argument("images", nargs="*", metavar="IMAGE", help="archive or OCI layout folder")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--demo", action="store_true", help="open the bundled demo image")
    p.add_argument("--image", metavar="NAME|INDEX", help="image of a multi-image archive")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="open offscreen, wait until loaded, save a PNG of the window, exit")
    p.add_argument("--layer", type=int, metavar="N", help="select layer N (negative: from top)")
    p.add_argument("--mode", choices=["layer", "aggregated", "merged"], help="tree mode")
    p.add_argument("--select", metavar="PATH", help="select PATH in the tree")
    p.add_argument("--size", default="1400x860", metavar="WxH", help="window size for "
                   "--screenshot")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.screenshot and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from explorer.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Layer Explorer")
    app.setOrganizationName("LayerExplorer")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    if not args.screenshot:
        sys.excepthook = _excepthook
    settings = None
    scratch = ""
    if args.screenshot:  # a fresh window: neither read nor change the user's settings
        scratch = tempfile.mkdtemp(prefix="layer-explorer-shot-")
        settings = QSettings(os.path.join(scratch, "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings,
                        index_folder=os.path.join(scratch, "indexes") if scratch else None)
    path = args.images[0] if args.images else None
    if args.demo and path is None:
        from explorer.core.demo import default_demo_path

        path = default_demo_path()
    if args.screenshot:
        code = _screenshot(app, window, path, args)
        _dispose(window)
        shutil.rmtree(scratch, ignore_errors=True)
        return code
    window.show()
    paths = list(args.images) or ([path] if path is not None else [])
    for each in paths:  # every image given opens (the Images list switches between them)
        QTimer.singleShot(0, lambda p=each: window.open_path(p, args.image))
    code = int(app.exec())
    _dispose(window)
    return code


def _dispose(window: object) -> None:
    """Delete the window while Python is still whole: PySide objects with Python slots
    destroyed during interpreter shutdown can crash it."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QWidget

    assert isinstance(window, QWidget)
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _screenshot(app: object, window: object, path: str | None,
                args: argparse.Namespace) -> int:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from explorer.ui.main_window import MainWindow
    from explorer.ui.tree_panel import Mode

    assert isinstance(window, MainWindow)
    width, _, height = args.size.partition("x")
    window.resize(int(width), int(height))
    window.show()
    outcome: dict[str, object] = {}
    if path is not None:
        loop = QEventLoop()
        window.loaded.connect(lambda ins: (outcome.setdefault("ok", ins), loop.quit()))
        window.load_failed.connect(lambda exc: (outcome.setdefault("error", exc), loop.quit()))
        window.idle.connect(loop.quit)
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, loop.quit)
        QTimer.singleShot(0, lambda: window.open_path(path, args.image))
        loop.exec()
        if "error" in outcome and window.last_message is not None:
            print(f"layer-explorer: error: {window.last_message.text}", file=sys.stderr)
        if "ok" not in outcome:
            _save(window, args.screenshot)
            return 2
        count = len(window.inspection.indexes) if window.inspection else 0
        if args.layer is not None:
            layer = args.layer + count if args.layer < 0 else args.layer
            window.layers.select_layer(layer)
        if args.mode:
            window.tree.set_mode(Mode(args.mode))
        if args.select:
            window.tree.filter_edit.clear()
            window.tree.refresh()
            if not window.tree.select_path(args.select.strip("/").encode()):
                print(f"layer-explorer: warning: {args.select} is not in this tree",
                      file=sys.stderr)
    for _ in range(5):
        QApplication.processEvents()
    _save(window, args.screenshot)
    window.close()
    return 0


def _save(window: object, out: str) -> None:
    """The window as it looks, with an open message box painted where it would sit."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QPainter
    from PySide6.QtWidgets import QWidget

    from explorer.ui.main_window import MainWindow

    assert isinstance(window, MainWindow)
    shot = window.grab()
    box: QWidget | None = window._message_box
    if box is not None and box.isVisible():
        box.adjustSize()
        picture = box.grab()
        painter = QPainter(shot)
        painter.drawPixmap(QPoint((shot.width() - picture.width()) // 2,
                                  (shot.height() - picture.height()) // 3), picture)
        painter.end()
    if not shot.save(out):
        print(f"layer-explorer: error: cannot write {out}", file=sys.stderr)


def _excepthook(kind: type[BaseException], exc: BaseException,
                tb: TracebackType | None) -> None:
    """A bug in a slot must not kill the app silently: say so, keep the window."""
    traceback.print_exception(kind, exc, tb)
    try:
        from PySide6.QtWidgets import QApplication, QMessageBox

        from explorer.qt.messages import describe

        if QApplication.instance() is not None:
            message = describe(exc)
            box = QMessageBox(QMessageBox.Icon.Critical, message.title, message.text)
            box.setDetailedText(message.details)
            box.exec()
    except Exception:  # the hook must never raise
        traceback.print_exc()
