"""GUI responsiveness while an image loads: time to the layer stack, to the trees, and the
longest event-loop stall (a 10 ms QTimer probe, offscreen), then common actions.

Usage: ``.venv/bin/python benchmarks/bench_gui.py IMAGE.tar [IMAGE.tar ...]``
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication


def measure(app: QApplication, path: str, index_folder: str) -> dict[str, float]:
    from explorer.ui.main_window import MainWindow
    from explorer.ui.tree_panel import Mode

    settings = QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, index_folder=index_folder)
    window.resize(1400, 860)
    window.show()
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    start = time.perf_counter()
    marks: dict[str, float] = {}
    window.image_shown.connect(lambda *_: marks.setdefault("stack_s", time.perf_counter() - start))

    def loaded(*_: object) -> None:
        marks["trees_s"] = time.perf_counter() - start
        marks["max_stall_during_load_s"] = max(gaps, default=0.0)
        for mode in (Mode.MERGED, Mode.AGGREGATED, Mode.LAYER):
            t = time.perf_counter()
            window.tree.set_mode(mode)
            app.processEvents()
            marks[f"mode_{mode.value}_s"] = time.perf_counter() - t
        t = time.perf_counter()
        window.layers.select_layer(0)
        app.processEvents()
        marks["select_layer_0_s"] = time.perf_counter() - t
        QTimer.singleShot(100, app.quit)

    window.loaded.connect(loaded)
    window.load_failed.connect(lambda exc: (print("failed:", exc), app.quit()))
    QTimer.singleShot(0, lambda: window.open_path(path))
    app.exec()
    timer.stop()
    window.close()
    return marks


def main() -> int:
    app = QApplication([sys.argv[0]])
    for path in sys.argv[1:]:
        folder = tempfile.mkdtemp(prefix="index-cache-")  # first open: nothing cached
        marks = measure(app, path, folder)
        print(os.path.basename(path), " ".join(f"{k}={v:.3f}" for k, v in marks.items()))
        again = measure(app, path, folder)  # re-open: the layer indexes come from disk
        print(f"{os.path.basename(path)} (re-open) trees_s={again['trees_s']:.3f} "
              f"ratio={again['trees_s'] / marks['trees_s']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
