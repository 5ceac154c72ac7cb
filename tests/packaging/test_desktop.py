"""Desktop integration files: valid, consistent with each other and with the app."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import explorer
from explorer.app.main import APP_ID
from tests.conftest import REPO, corpus_path

LINUX = REPO / "packaging" / "linux"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
MIME = LINUX / f"{APP_ID}.mime.xml"
ICONS = REPO / "packaging" / "icons" / "hicolor"
SIZES = (16, 32, 48, 64, 128, 256, 512)


def desktop_entry(path: Path = DESKTOP) -> dict[str, str]:
    lines = path.read_text().splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if line and not line.startswith("#"))


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian: see scripts/run-tests)")
    return path


def test_desktop_entry_is_valid_and_launches_the_app() -> None:
    result = subprocess.run([tool("desktop-file-validate"), str(DESKTOP)], check=False,
                            capture_output=True, text=True)
    assert result.returncode == 0 and "error" not in result.stdout, result.stdout
    entry = desktop_entry()
    assert entry["Exec"] == "layer-explorer %F" and entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"


def test_metainfo_is_valid_and_names_this_version() -> None:
    result = subprocess.run([tool("appstreamcli"), "validate", "--no-net", str(METAINFO)],
                            check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    releases = root.findall("releases/release")
    assert releases[0].get("version") == explorer.__version__, "add a <release> for the version"
    provided = [m.text for m in root.findall("provides/mediatype")]
    assert provided == desktop_entry()["MimeType"].rstrip(";").split(";")


def test_icons_in_every_size_rendered_from_the_svg() -> None:
    for size in SIZES:
        png = (ICONS / f"{size}x{size}" / "apps" / f"{APP_ID}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == (size, size)
    svg = ICONS / "scalable" / "apps" / f"{APP_ID}.svg"
    assert svg.read_bytes() == (REPO / "resources" / "icons" / "layer-explorer.svg").read_bytes()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    check = subprocess.run([sys.executable, str(REPO / "packaging" / "render_icons.py"),
                            "--check"], check=False, capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stdout + check.stderr


MIME_PROBE = """
import sys
from PySide6.QtCore import QMimeDatabase
db = QMimeDatabase()
print(db.mimeTypeForName("application/x-oci-archive").inherits("application/x-tar"))
for f in sys.argv[1:]:
    print(db.mimeTypeForFile(f).name())
"""


def test_oci_archives_get_their_own_type_and_other_tars_stay_tars(tmp_path: Path) -> None:
    update = tool("update-mime-database")
    share = tmp_path / "share"
    (share / "mime" / "packages").mkdir(parents=True)
    shutil.copyfile(MIME, share / "mime" / "packages" / f"{APP_ID}.xml")
    subprocess.run([update, str(share / "mime")], check=True, capture_output=True,
                   env={**os.environ, "XDG_DATA_HOME": str(share)})
    generated = corpus_path("generated")
    files = [generated / "mini-webapp.oci.tar"]  # by name (*.oci.tar)
    for name in ("mini-webapp.oci.tar", "mini-webapp.oci-layout.tar",
                 "mini-webapp.containerd.tar", "mini-webapp.docker.tar"):
        nameless = tmp_path / name.replace(".", "_")  # by content alone
        shutil.copyfile(generated / name, nameless)
        files.append(nameless)
    files.append(generated / "mini-webapp.oci-layout.tar")  # *.tar: the glob decides
    env = {**os.environ, "XDG_DATA_HOME": str(share), "XDG_DATA_DIRS": "/usr/share",
           "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", MIME_PROBE, *map(str, files)], check=True,
                         capture_output=True, text=True, env=env).stdout.split()
    oci, tar = "application/x-oci-archive", "application/x-tar"
    assert out == ["True", oci, oci, oci, oci, tar, tar]


def test_install_script_adds_and_removes_the_desktop_integration(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    program = Path(sys.executable).with_name("layer-explorer")
    script = REPO / "packaging" / "install.sh"
    subprocess.run(["bash", str(script), "--prefix", str(prefix), "--exec", str(program)],
                   check=True, capture_output=True, text=True)
    share = prefix / "share"
    installed = share / "applications" / DESKTOP.name
    assert desktop_entry(installed)["Exec"] == f'"{program}" %F'
    assert (share / "metainfo" / METAINFO.name).exists()
    assert (share / "icons" / "hicolor" / "48x48" / "apps" / f"{APP_ID}.png").exists()
    if shutil.which("update-mime-database"):
        assert re.search(r"application/x-oci-archive",
                         (share / "mime" / "types").read_text())
    subprocess.run(["bash", str(script), "--prefix", str(prefix), "--uninstall"],
                   check=True, capture_output=True, text=True)
    assert not installed.exists()
    assert not (share / "icons" / "hicolor" / "48x48" / "apps" / f"{APP_ID}.png").exists()
