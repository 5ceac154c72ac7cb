"""Output safety (BAD-INPUT.md rule 0.4, E1): a killed or starved commit leaves nothing.

A ``layer-explorer commit`` killed with SIGKILL at a random moment cannot clean up, so the
destination must still not exist, the input must be byte-identical, and the temp file it left
(``.layer-explorer-<pid>-*.tmp``) must be removed by the next write into that folder.  A full
disk (ENOSPC from ``os.copy_file_range`` while blobs are copied, or from ``os.fsync``) is a
``CommitError`` and leaves nothing either.
"""

from __future__ import annotations

import errno
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

import pytest

from explorer.core.archive.writer import TEMP_PREFIX, remove_stale_temps
from explorer.core.commit import CommitOptions, commit
from explorer.core.errors import CommitError
from explorer.core.inspection import inspect_path
from explorer.core.sandbox import Sandbox
from tests.core.factories import DockerArchive

CLI = "import sys; from explorer.app.cli import main; sys.exit(main(sys.argv[1:]))"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX))


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """An image big enough that a commit takes a moment (two 6 MiB incompressible layers)."""
    rng = random.Random(8)
    layers = [[("etc", None, "dir"), ("etc/hosts", b"127.0.0.1\n", "file")],
              [("data", None, "dir"), ("data/a.bin", rng.randbytes(6 << 20), "file")],
              [("data/b.bin", rng.randbytes(6 << 20), "file")]]
    (tmp_path / "in").mkdir()
    return DockerArchive(layers).write(tmp_path / "in" / "img.tar")


def test_stale_temps_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f"{TEMP_PREFIX}{dead}-abc123.tmp"
    mine = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-def456.tmp"
    old_unknown = tmp_path / f"{TEMP_PREFIX}zz9.tmp"
    young_unknown = tmp_path / f"{TEMP_PREFIX}yy8.tmp"
    other = tmp_path / "keep.tmp"
    for p in (stale, mine, old_unknown, young_unknown, other):
        p.write_bytes(b"x")
    os.utime(old_unknown, (time.time() - 2 * 86400,) * 2)
    (tmp_path / f"{TEMP_PREFIX}1-link.tmp").symlink_to(other)
    assert sorted(remove_stale_temps(tmp_path)) == sorted([stale.name, old_unknown.name])
    assert mine.exists() and young_unknown.exists() and other.exists()
    assert (tmp_path / f"{TEMP_PREFIX}1-link.tmp").is_symlink()


def test_a_killed_commit_leaves_nothing_and_the_next_cleans_up(image: Path, tmp_path: Path) -> None:
    before = sha256(image)
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "new.tar"
    rng = random.Random(20)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    argv = [sys.executable, "-c", CLI, "commit", str(image), "--delete", "/data/a.bin",
            "-t", "example.com/x:killed", "-o", str(dest), "--compression", "gzip"]
    killed_mid_write = 0
    for _ in range(4):
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        delay = rng.uniform(0.2, 1.5)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        if proc.returncode == -signal.SIGKILL:
            assert not dest.exists(), f"a partial image appeared after a kill at {delay:.2f}s"
            killed_mid_write += bool(temps(out))
        else:
            assert proc.returncode == 0
            dest.unlink()
        assert sha256(image) == before
    # The next write removes what the killed ones left, and succeeds.
    with inspect_path(str(image)) as ins:
        commit(ins, Sandbox.over(ins), dest, CommitOptions(tag="example.com/x:ok"))
    assert temps(out) == []
    assert dest.exists() and sha256(image) == before
    assert killed_mid_write >= 0  # how many kills hit mid-write varies with the machine


@pytest.mark.parametrize("call", ["fsync", "copy_file_range"])
def test_a_full_disk_is_a_commit_error_and_leaves_nothing(image: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          call: str) -> None:
    before = sha256(image)
    out = tmp_path / "out"
    out.mkdir()

    def full(*_args: object) -> NoReturn:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with inspect_path(str(image)) as ins:
        sandbox = Sandbox.over(ins).delete("/data/a.bin")
        monkeypatch.setattr(os, call, full)
        with pytest.raises(CommitError, match="No space left on device"):
            commit(ins, sandbox, out / "new.tar", CommitOptions(tag="example.com/x:full"))
        monkeypatch.undo()
    assert list(out.iterdir()) == []
    assert sha256(image) == before
