"""Take the screenshots that document the window, headless (``--screenshot``).

Usage: ``.venv/bin/python tools/screenshots.py OUTDIR [IMAGE.tar]`` (default: the demo image).
Writes start.png, layer.png, aggregated.png, merged.png, preview.png and error.png through
``--screenshot``, then drives the window itself for sandbox.png (webapps/docs deleted in the
container layer), wizard-*.png (the commit wizard's pages) and compare.png (the image
against its committed copy); look at them after any change to the window.  The README
shows ``docs/screenshot.png`` (= preview.png of the demo).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def shot(out: Path, *args: str) -> None:
    cmd = [sys.executable, "-m", "explorer.app.cli", *args, "--screenshot", str(out)]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    status = "ok" if done.returncode == 0 else f"exit {done.returncode}"
    print(f"{out.name}: {status} {done.stderr.strip()[:200]}")


def main() -> int:
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    outdir.mkdir(parents=True, exist_ok=True)
    if len(sys.argv) > 2:
        image = sys.argv[2]
    else:
        from explorer.core.demo import default_demo_path

        image = default_demo_path()
    shot(outdir / "start.png")
    shot(outdir / "layer.png", image, "--layer", "-1", "--mode", "layer")
    shot(outdir / "aggregated.png", image, "--layer", "-1", "--mode", "aggregated")
    shot(outdir / "merged.png", image, "--layer", "-1", "--mode", "merged")
    shot(outdir / "preview.png", image, "--layer", "-1", "--mode", "merged", "--select",
         "/usr/local/tomcat/conf/server.xml")
    with tempfile.NamedTemporaryFile(suffix=".tar") as bad:
        bad.write(b"not an image archive\n" * 100)
        bad.flush()
        shot(outdir / "error.png", bad.name)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, __file__, "--window", str(outdir), image], env=env,
                          capture_output=True, text=True, check=False)
    print(f"sandbox, wizard, compare: exit {done.returncode} {done.stderr.strip()[-300:]}")
    return 0


def window_shots(outdir: Path, image: str) -> int:
    """The states ``--screenshot`` cannot reach: edits, the wizard, a comparison."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from explorer.ui.main_window import MainWindow
    from explorer.ui.tree_panel import Mode

    app = QApplication([sys.argv[0]])
    scratch = Path(tempfile.mkdtemp(prefix="layer-explorer-shots-"))
    settings = QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, run_sync=True, sandbox_folder=str(scratch / "sb"))
    window.resize(1400, 860)
    window.show()
    window.open_path(image)
    window.tree.set_mode(Mode.MERGED)
    window.tree.select_path(b"usr/local/tomcat/webapps/docs")
    window.edits.delete_selected()
    app.processEvents()
    window.grab().save(str(outdir / "sandbox.png"))
    wizard = window.edits.open_wizard()
    assert wizard is not None
    app.processEvents()
    wizard.grab().save(str(outdir / "wizard-review.png"))
    wizard.next()
    wizard.metadata.tag.setText("tqk/tomcat02:1.0")
    wizard.metadata.message.setText("no docs")
    app.processEvents()
    wizard.grab().save(str(outdir / "wizard-metadata.png"))
    wizard.next()
    wizard.output.path.setText(str(scratch / "tomcat02.tar"))
    wizard.next()
    wizard.next()
    app.processEvents()
    wizard.grab().save(str(outdir / "wizard-summary.png"))
    wizard.summary_page.compare_button.click()
    compare = window.compare_window
    assert compare is not None
    compare.resize(1200, 780)
    app.processEvents()
    compare.grab().save(str(outdir / "compare.png"))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--window":
        sys.exit(window_shots(Path(sys.argv[2]), sys.argv[3]))
    sys.exit(main())
