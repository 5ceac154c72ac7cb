"""GUI responsiveness while an image loads: time to the layer stack, to the trees, and the
longest event-loop stall (a 10 ms QTimer probe, offscreen), then common actions.

Usage: ``.venv/bin/python benchmarks/bench_gui.py [--stacks] IMAGE.tar [IMAGE.tar ...]``

``--stacks`` prints what every thread was running during each stall over 50 ms (a watcher
thread samples ``sys._current_frames()``; it needs the GIL, so a C call that holds it shows
as the line right after it).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import traceback

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication


class StallWatcher:
    """Samples every thread's stack while the GUI thread has not ticked for a while."""

    def __init__(self, last: list[float], threshold: float = 0.05) -> None:
        self.last = last
        self.threshold = threshold
        self.stalls: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._main = threading.main_thread().ident
        self._thread.start()

    def _run(self) -> None:
        seen = 0.0
        while not self._stop.wait(0.005):
            tick = self.last[0]
            gap = time.perf_counter() - tick
            if gap > self.threshold and tick != seen:
                seen = tick
                frames = sys._current_frames()
                names = {t.ident: t.name for t in threading.enumerate()}
                text = []
                for ident, frame in frames.items():
                    if ident == self._thread.ident:
                        continue
                    stack = "".join(traceback.format_stack(frame)[-6:])
                    main = " (GUI)" if ident == self._main else ""
                    text.append(f"--- {names.get(ident, ident)}{main}\n{stack}")
                self.stalls.append((tick, "\n".join(text)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


FILTER = "*/x9999*"
"""A glob on the full path that matches a handful of entries in the synthetic images."""


def widest_directory(window: object) -> tuple[bytes, int] | None:
    """(path, children) of the merged tree's widest directory (searched outside the timing)."""
    inspection = window.inspection  # type: ignore[attr-defined]
    if inspection is None:
        return None
    best: tuple[bytes, int] | None = None
    stack = [inspection.merged().root]
    while stack:
        node = stack.pop()
        kids = node.children
        if kids is None:
            continue
        if node.entry.path and (best is None or len(kids) > best[1]):
            best = (node.entry.path, len(kids))
        stack.extend(kids.values())
    return best


def measure(app: QApplication, path: str, index_folder: str,
            stacks: bool = False) -> dict[str, float]:
    from explorer.qt.models.diff_tree import BIG_DIRECTORY
    from explorer.ui.main_window import MainWindow
    from explorer.ui.tree_panel import Mode

    settings = QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, index_folder=index_folder)
    window.resize(1400, 860)
    window.show()
    gaps: list[float] = []
    last = [time.perf_counter()]

    ticks: list[float] = []

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now
        ticks.append(now)

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    watcher = StallWatcher(last) if stacks else None
    start = time.perf_counter()
    marks: dict[str, float] = {}
    window.image_shown.connect(lambda *_: marks.setdefault("stack_s", time.perf_counter() - start))

    def loaded(*_: object) -> None:
        marks["trees_s"] = time.perf_counter() - start
        # The gap still open counts too: work done on the GUI thread just before ``loaded``
        # (filling the details, say) has not let the probe tick yet.
        marks["max_stall_during_load_s"] = max([*gaps, marks["trees_s"] + start - last[0]])
        for mode in (Mode.MERGED, Mode.AGGREGATED, Mode.LAYER):
            t = time.perf_counter()
            window.tree.set_mode(mode)
            app.processEvents()
            marks[f"mode_{mode.value}_s"] = time.perf_counter() - t
        t = time.perf_counter()
        window.layers.select_layer(0)
        app.processEvents()
        marks["select_layer_0_s"] = time.perf_counter() - t
        window.tree.set_mode(Mode.MERGED)
        app.processEvents()
        wide = widest_directory(window)
        if wide is not None:
            marks["widest_children"] = float(wide[1])
            t = time.perf_counter()
            window.tree.model.directory_loaded.connect(
                lambda *_: marks.setdefault("expand_widest_s", time.perf_counter() - t))
            index = window.tree.model.index_of(wide[0])
            window.tree.view.expand(index)
            app.processEvents()
            if wide[1] <= BIG_DIRECTORY:  # built right away, no signal
                marks.setdefault("expand_widest_s", time.perf_counter() - t)
            while "expand_widest_s" not in marks and time.perf_counter() - t < 60:
                app.processEvents()
        # The user clicks into the filter box (the listing starts), then types a pattern.
        window.activateWindow()
        t = time.perf_counter()
        window.tree.focus_filter()
        while window.tree._listing_job is not None and time.perf_counter() - t < 120:
            app.processEvents()
        marks["listing_on_focus_s"] = time.perf_counter() - t
        for name, pattern in (("filter_first_s", FILTER), ("filter_again_s", FILTER + "9")):
            done: list[float] = []
            window.tree.filtering.connect(lambda busy, d=done: None if busy else d.append(1.0))
            window.tree.filter_edit.blockSignals(True)
            window.tree.filter_edit.setText(pattern)
            window.tree.filter_edit.blockSignals(False)
            t = time.perf_counter()
            window.tree.refresh()
            while not done and time.perf_counter() - t < 60:
                app.processEvents()
            app.processEvents()
            marks[name] = time.perf_counter() - t
        QTimer.singleShot(100, app.quit)

    window.loaded.connect(loaded)
    window.load_failed.connect(lambda exc: (print("failed:", exc), app.quit()))
    QTimer.singleShot(0, lambda: window.open_path(path))
    app.exec()
    timer.stop()
    if watcher is not None:
        watcher.stop()
        for tick, text in watcher.stalls:
            end = next((t for t in ticks if t > tick), tick)
            after = "trees_s" in marks and tick - start > marks["trees_s"]
            print(f"=== stall from {tick - start:.3f} s, {(end - tick) * 1000:.0f} ms"
                  f"{' (after loading)' if after else ''}\n{text}")
    window.index_cache.flush()  # the next measure re-opens from these files
    window.close()
    return marks


def main() -> int:
    app = QApplication([sys.argv[0]])
    args = sys.argv[1:]
    stacks = "--stacks" in args
    for path in [a for a in args if a != "--stacks"]:
        folder = tempfile.mkdtemp(prefix="index-cache-")  # first open: nothing cached
        marks = measure(app, path, folder, stacks)
        print(os.path.basename(path), " ".join(f"{k}={v:.3f}" for k, v in marks.items()))
        again = measure(app, path, folder)  # re-open: the layer indexes come from disk
        print(f"{os.path.basename(path)} (re-open) trees_s={again['trees_s']:.3f} "
              f"ratio={again['trees_s'] / marks['trees_s']:.2f} "
              f"max_stall_during_load_s={again['max_stall_during_load_s']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
