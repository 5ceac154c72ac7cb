"""``pip install .``: the wheel and the sdist carry the code *and* the bundled files.

The wheel is built (sdist first, then the wheel from the unpacked sdist, as ``python -m
build`` does) into a temporary folder and installed into a fresh venv; every command then
runs from outside the checkout, so nothing can come from it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import explorer
from tests.conftest import REPO

RESOURCES = sorted(p.relative_to(REPO / "resources").as_posix()
                   for p in (REPO / "resources").rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
                   check=True, capture_output=True, text=True)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


@pytest.fixture(scope="module")
def venv(dists: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel installed; the (large) dependencies are borrowed
    from the test venv through a path entry, which does not run its editable-install hook."""
    root = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    py = root / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q",
                    "--no-deps", "--no-index", "--disable-pip-version-check", str(dists[0])],
                   check=True, capture_output=True, text=True)
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "_borrowed_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return root


def run(venv: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return subprocess.run([str(venv / "bin" / argv[0]), *argv[1:]], check=False, cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def test_wheel_ships_resources_inside_the_package(dists: tuple[Path, Path]) -> None:
    names = set(zipfile.ZipFile(dists[0]).namelist())
    assert RESOURCES and {"demo/recipe.json", "icons/layer-explorer.svg"} <= set(RESOURCES)
    assert {f"explorer/resources/{r}" for r in RESOURCES} <= names
    assert "explorer/app/cli.py" in names and "explorer/ui/main_window.py" in names
    assert not [n for n in names if n.startswith(("resources/", "tests/", "packaging/"))]
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(dists[0]).read(meta).decode()
    assert f"Version: {explorer.__version__}\n" in text
    assert "Requires-Dist: libarchive-c" in text


def test_sdist_holds_the_resources_and_the_build_files(dists: tuple[Path, Path]) -> None:
    top = f"layer_explorer-{explorer.__version__}"
    names = set(tarfile.open(dists[1]).getnames())
    assert {f"{top}/resources/{r}" for r in RESOURCES} <= names
    assert {f"{top}/setup.py", f"{top}/pyproject.toml", f"{top}/README.md"} <= names


def test_installed_wheel_runs_from_its_own_files(venv: Path, tmp_path: Path) -> None:
    probe = run(venv, tmp_path, "python", "-c",
                "import explorer; from explorer.core.resources import resource_path; "
                "print(explorer.__file__); print(resource_path('icons', 'layer-explorer.svg'))")
    assert probe.returncode == 0, probe.stderr
    module, icon = probe.stdout.split()
    assert Path(module).is_relative_to(venv) and Path(icon).is_relative_to(venv)

    version = run(venv, tmp_path, "layer-explorer", "--version")
    assert (version.returncode, version.stdout) == (0, f"layer-explorer {explorer.__version__}\n")

    demo = run(venv, tmp_path, "layer-explorer", "inspect", "--demo", "--json")
    assert demo.returncode == 0, demo.stderr
    doc = json.loads(demo.stdout)
    assert doc["schema"] == "layer-explorer/inspect/v1" and doc["layers"]


def test_installed_wheel_opens_the_window_with_its_icons(venv: Path, tmp_path: Path) -> None:
    shot = run(venv, tmp_path, "layer-explorer", "--demo", "--screenshot", "shot.png",
               "--size", "800x500")
    assert shot.returncode == 0, shot.stderr
    assert (tmp_path / "shot.png").stat().st_size > 10_000
