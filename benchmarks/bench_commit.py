#!/usr/bin/env python3
"""Benchmark: committing a small change on a big image vs copying the file with ``cp``.

Not a test.  A commit copies every unchanged layer blob byte for byte, so its floor is a
file copy.  Per round (rounds interleaved, after one ``cat`` of the input to warm the page
cache), into a scratch folder (never next to the input):

* ``cp``            - ``cp ARCHIVE OUT`` (coreutils: ``copy_file_range``, no fsync);
* ``cp + sync``     - ``cp`` then ``sync OUT`` (the same durability as a commit, which
                      fsyncs before its rename);
* ``commit (API)``  - ``explorer.core.commit.commit`` on an image that is already open (what
                      the wizard does): the new layer (delete one file, add one small host
                      file), every blob copied, fsync, re-read and every digest verified,
                      rename;
* ``commit (CLI)``  - ``layer-explorer commit ARCHIVE --delete P --add F:/ -t ... -o OUT`` as
                      a child process: start-up, opening and indexing the image (every
                      digest verified) and the commit.

Reported: median / min / max wall seconds and the ratios of the commit medians to ``cp``
and to ``cp + sync``; ``--json OUT`` keeps every run.  The output is removed after each run.

Usage::

    .venv/bin/python benchmarks/bench_commit.py [--rounds 5] [--scratch DIR] [--json OUT]
        [ARCHIVE]   # default /work/corpus-large/large.docker.tar
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_ARCHIVE = "/work/corpus-large/large.docker.tar"
TAG = "bench/commit:1"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")


def pick_file(top: object) -> bytes:
    """A small regular file of the image to delete (the first one under etc/ or anywhere)."""
    from explorer.core.fs.entry import EntryKind

    fallback = None
    for path, node in top.walk():  # type: ignore[attr-defined]
        if node.children is None and node.entry.kind is EntryKind.FILE and node.entry.size:
            if path.startswith(b"etc/"):
                return bytes(path)
            fallback = fallback or bytes(path)
    if fallback is None:
        raise SystemExit("the image has no regular file to delete")
    return fallback


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", nargs="?", default=DEFAULT_ARCHIVE)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scratch", help="folder for the outputs (default: a temp folder)")
    parser.add_argument("--json", help="write every run's numbers here")
    args = parser.parse_args()

    from explorer.core.commit import CommitOptions, commit
    from explorer.core.inspection import inspect_path
    from explorer.core.sandbox import Sandbox, snapshot_host

    archive = Path(args.archive).resolve()
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bench-commit-")).resolve()
    if scratch.is_relative_to(archive.parent):
        raise SystemExit(f"choose a scratch folder outside {archive.parent}")
    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / "out.tar"
    note = scratch / "bench-note.txt"
    note.write_bytes(b"added by bench_commit.py\n")

    print(f"warming the page cache: {archive} ({archive.stat().st_size / 1e6:.0f} MB)",
          file=sys.stderr)
    run(["sh", "-c", f"cat '{archive}' > /dev/null"])
    open_s = timed(lambda: None)
    start = time.perf_counter()
    insp = inspect_path(str(archive))
    open_s = time.perf_counter() - start
    victim = pick_file(insp.merged())
    sandbox = Sandbox.over(insp).delete(victim).add(snapshot_host(note), "/bench-note.txt")
    options = CommitOptions(tag=TAG, message="bench", timestamp=0)
    cli = [sys.executable, "-m", "explorer.app.cli", "commit", str(archive), "--delete",
           "/" + victim.decode("utf-8", "surrogateescape"), "--add", f"{note}:/",
           "-t", TAG, "-o", str(out)]

    def api() -> None:
        commit(insp, sandbox, out, options)

    rows: dict[str, Callable[[], object]] = {
        "cp": lambda: run(["cp", str(archive), str(out)]),
        "cp + sync": lambda: run(["sh", "-c", f"cp '{archive}' '{out}' && sync '{out}'"]),
        "commit (API)": api,
        "commit (CLI)": lambda: run(cli),
    }
    times: dict[str, list[float]] = {name: [] for name in rows}
    for r in range(args.rounds):
        for name, fn in rows.items():
            times[name].append(timed(fn))
            out.unlink(missing_ok=True)
            print(f"round {r + 1}/{args.rounds} {name}: {times[name][-1]:.2f} s",
                  file=sys.stderr)
    insp.close()
    shutil.rmtree(scratch, ignore_errors=True) if not args.scratch else note.unlink()

    med = {name: statistics.median(v) for name, v in times.items()}
    print(f"\nInput: `{archive.name}` ({archive.stat().st_size / 1e6:.0f} MB, "
          f"{len(insp.image.layers)} layers); change: delete `/{victim.decode()}`, add one "
          f"25-byte file; {args.rounds} rounds, warm page cache; opening + indexing the image "
          f"(not in the API row): {open_s:.2f} s.\n")
    print("| run | median s | min s | max s | × cp | × cp+sync |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, v in times.items():
        print(f"| {name} | {med[name]:.2f} | {min(v):.2f} | {max(v):.2f} | "
              f"{med[name] / med['cp']:.2f} | {med[name] / med['cp + sync']:.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "archive": str(archive), "rounds": args.rounds, "times": times, "median": med,
            "open_seconds": open_s, "machine": {"cpus": os.cpu_count(),
                                                "python": platform.python_version(),
                                                "platform": platform.platform()},
        }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
