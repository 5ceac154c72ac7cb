"""The frozen app (PyInstaller, packaging/build.sh): starts offscreen, opens the demo in the
window, reads corpus images through its bundled libarchive, and installs its desktop files.

The build takes about half a minute: it is made once per session and kept in
build/frozen-test/ with the hash of everything that goes into it, so an unchanged tree
reuses it. The tests skip (visibly) only when PyInstaller cannot run here at all.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import explorer
from explorer.app.main import APP_ID
from tests.conftest import REPO, corpus_path

pytestmark = pytest.mark.frozen
CACHE = REPO / "build" / "frozen-test"
INPUTS = ("explorer", "resources", "packaging", "pyproject.toml", "setup.py")


def source_hash() -> str:
    digest = hashlib.sha256()
    for top in INPUTS:
        path = REPO / top
        for f in sorted(path.rglob("*") if path.is_dir() else [path]):
            if f.is_file() and "__pycache__" not in f.parts and f.name != "README.md":
                digest.update(f.relative_to(REPO).as_posix().encode() + b"\0" + f.read_bytes())
    for dist in sorted(f"{d.metadata['Name']}=={d.version}"
                       for d in importlib.metadata.distributions()):
        digest.update(dist.encode() + b"\n")
    return digest.hexdigest()


@pytest.fixture(scope="session")
def frozen_app() -> Path:
    if not sys.platform.startswith("linux"):
        pytest.skip("the frozen build is made for Linux only")
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed (pip install -e .[freeze]): the FROZEN APP "
                    "WAS NOT BUILT OR TESTED")
    app = CACHE / "dist" / "layer-explorer"
    stamp = CACHE / "source.sha256"
    wanted = source_hash()
    if not (stamp.exists() and stamp.read_text() == wanted and (app / "layer-explorer").exists()):
        stamp.unlink(missing_ok=True)
        env = {**os.environ, "LAYER_EXPLORER_VENV": sys.prefix}
        build = subprocess.run(["bash", str(REPO / "packaging" / "build.sh"), str(CACHE)],
                               check=False, capture_output=True, text=True, env=env,
                               timeout=1200)
        assert build.returncode == 0, build.stdout + build.stderr
        stamp.write_text(wanted)
    return app


def run(app: Path, cwd: Path, *argv: str, program: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["LIBARCHIVE"] = "/nonexistent/libarchive.so"  # the runtime hook must win
    return subprocess.run([str(program or app / "layer-explorer"), *argv], check=False,
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_bundle_holds_qt_plugins_libarchive_and_resources(frozen_app: Path) -> None:
    internal = frozen_app / "_internal"
    platforms = internal / "PySide6" / "Qt" / "plugins" / "platforms"
    for name in ("libqxcb.so", "libqoffscreen.so", "libqwayland.so"):
        assert (platforms / name).exists(), name
    assert (internal / "PySide6" / "Qt" / "plugins" / "iconengines" / "libqsvgicon.so").exists()
    for lib in ("libarchive.so.13", "libzstd.so.1", "liblzma.so.5", "libz.so.1", "libbz2.so.1.0",
                "libxcb-cursor.so.0", "libxkbcommon-x11.so.0"):
        assert (internal / lib).exists(), lib
    assert (internal / "explorer" / "resources" / "demo" / "recipe.json").exists()
    assert (frozen_app / "share" / "applications" / f"{APP_ID}.desktop").exists()
    dangling = [p for p in frozen_app.rglob("*") if p.is_symlink() and not p.exists()]
    assert not dangling


def test_frozen_app_starts_opens_the_demo_and_inspects_corpus_images(
        frozen_app: Path, tmp_path: Path) -> None:
    version = run(frozen_app, tmp_path, "--version")
    assert (version.returncode, version.stdout) == (0, f"layer-explorer {explorer.__version__}\n")

    shot = run(frozen_app, tmp_path, "--demo", "--screenshot", "demo.png", "--size", "900x600")
    assert shot.returncode == 0, shot.stderr
    assert (tmp_path / "demo.png").stat().st_size > 10_000

    for name, layers in (("mini-webapp.docker.tar", 6), ("mini-base.oci-zstd.tar", 1),
                         ("mini-webapp-nodocs.oci.tar", 7)):
        result = run(frozen_app, tmp_path, "inspect", "--json",
                     str(corpus_path("generated", name)))
        assert result.returncode == 0, result.stderr
        doc = json.loads(result.stdout)
        assert doc["schema"] == "layer-explorer/inspect/v1"
        assert len(doc["layers"]) == layers and not doc["warnings"], name

    bad = run(frozen_app, tmp_path, "inspect", str(tmp_path / "missing.tar"))
    assert bad.returncode == 2 and bad.stderr.startswith("layer-explorer: error:")


def test_frozen_app_installs_its_desktop_integration(frozen_app: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    subprocess.run(["bash", str(frozen_app / "install.sh"), "--prefix", str(prefix)],
                   check=True, capture_output=True, text=True)
    link = prefix / "bin" / "layer-explorer"
    assert link.resolve() == (frozen_app / "layer-explorer").resolve()
    entry = (prefix / "share" / "applications" / f"{APP_ID}.desktop").read_text()
    assert f'Exec="{link}" %F' in entry
    assert run(frozen_app, tmp_path, "--version", program=link).returncode == 0
