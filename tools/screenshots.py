"""Take the screenshots that document the window, headless (``--screenshot``).

Usage: ``.venv/bin/python tools/screenshots.py OUTDIR [IMAGE.tar]`` (default: the demo image).
Writes start.png, layer.png, aggregated.png, merged.png, preview.png and error.png; look at
them after any change to the window.  The README shows ``docs/screenshot.png`` (= preview.png
of the demo).
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
