"""Render the app icon (resources/icons/layer-explorer.svg) into the hicolor sizes.

    python packaging/render_icons.py [OUTDIR]     (default: packaging/icons/hicolor)
    python packaging/render_icons.py --check      (exit 1 when the committed PNGs are stale)

Writes OUTDIR/<N>x<N>/apps/<ID>.png for the sizes desktops use and copies the SVG to
OUTDIR/scalable/apps/<ID>.svg. Qt renders offscreen; no display needed.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

APP_ID = "io.github.layerexplorer.LayerExplorer"
SIZES = (16, 32, 48, 64, 128, 256, 512)
ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "icons" / "layer-explorer.svg"


def render(out: Path) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {SVG}")
    written = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        path = out / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path), "PNG"):
            raise SystemExit(f"cannot write {path}")
        written.append(path)
    scalable = out / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SVG, scalable)
    return [*written, scalable]


def check(committed: Path) -> list[str]:
    """Committed icons that differ from a fresh render (beyond antialiasing noise)."""
    import tempfile

    from PySide6.QtGui import QImage

    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        for fresh in render(Path(tmp)):
            old = committed / fresh.relative_to(tmp)
            if fresh.suffix == ".svg":
                if not old.exists() or old.read_bytes() != fresh.read_bytes():
                    stale.append(str(old))
                continue
            a, b = QImage(str(fresh)), QImage(str(old))
            if a.size() != b.size() or max(
                    abs(x - y) for px, py in ((a.pixel(i, j), b.pixel(i, j))
                                              for i in range(a.width()) for j in range(a.height()))
                    for x, y in zip(px.to_bytes(4), py.to_bytes(4), strict=True)) > 8:
                stale.append(str(old))
    return stale


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        bad = check(ROOT / "packaging" / "icons" / "hicolor")
        print("\n".join(f"stale: {b}" for b in bad) or "icons up to date")
        sys.exit(1 if bad else 0)
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "packaging" / "icons" / "hicolor"
    for p in render(target):
        print(p)
