"""dive 0.13.1 is the oracle: on every corpus archive it reads, our numbers equal its numbers.

dive reads archives that have a manifest.json (its first image).  On OCI archives without one
it orders layers at random (a known dive bug), so those are checked against the same image's
docker-archive copy in test_formats.py instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.core.inspection import inspect_path
from tests.conftest import CORPUS
from tests.core.dive_oracle import (
    assert_same_figures,
    dive_figures,
    our_dive_figures,
    run_dive,
    run_dive_ci,
    run_our_ci,
)

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


@pytest.mark.parametrize("name", DIVE_READS)
def test_our_figures_equal_dives(name: str, tmp_path: Path) -> None:
    archive = CORPUS / name
    if not archive.exists():
        pytest.skip(f"{archive} not available")
    theirs = dive_figures(run_dive(archive, tmp_path))
    with inspect_path(str(archive), "0") as insp:
        ours = our_dive_figures(insp)
    assert_same_figures(ours, theirs)  # the inefficient files in dive's order too: its Go sort


@pytest.mark.parametrize("name", ["dive/test-docker-image.tar", "generated/mini-webapp.docker.tar"])
def test_ci_report_equals_dives_ci_output(name: str) -> None:
    archive = CORPUS / name
    if not archive.exists():
        pytest.skip(f"{archive} not available")
    assert run_our_ci(archive) == run_dive_ci(archive)  # exit code and report body
