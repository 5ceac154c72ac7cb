#!/usr/bin/env python3
"""Side-by-side benchmark: Layer Explorer's core analysis vs dive vs a "floor".

Not a test.  For every archive given on the command line it runs, ``--rounds`` times each
(rounds are interleaved: ours, dive, floor, ours, dive, floor, ...), as child processes of
this one process:

* ``ours (API)``  - ``<venv python> -c <script>``: ``inspect_path`` (open, load, index every
  layer, verify every digest) -> ``efficiency``, prints ``score wasted``;
* ``ours (CLI)``  - ``<venv python> -m explorer.app.cli ci ARCHIVE``, only when
  ``python -m explorer.app.cli --help`` exits 0 (the CLI may not exist yet);
* ``dive``        - ``dive --ci --source docker-archive ARCHIVE`` with ``CI=true`` (exit 1 means
  a CI rule failed, which is fine; the exit code is recorded);
* ``floor``       - the cost of only *reading* the layer blobs: ``cat ARCHIVE > /dev/null``
  when every layer is a plain tar; otherwise each layer blob is spliced out of the archive
  (no temp files) into ``gzip -dc > /dev/null`` / ``zstd -dc > /dev/null`` (plain layers
  are read and dropped).  One blob at a time unless ``--floor-jobs N``.  It includes a
  small Python driver's start-up and a ``tarfile`` listing of the outer archive;
* ``floor (zlib)`` - only for archives with gzip layers: the same, but gzip blobs are
  inflated in the driver with zlib (the library libarchive uses), which is much faster than
  gzip(1)'s own inflate - the tighter floor for gzip.

Measured per run: wall time (``time.perf_counter`` around Popen + ``os.wait4``), peak RSS
(``ru_maxrss`` from ``wait4``: on Linux KiB, the largest single process among the child and
its reaped descendants - not the sum of the tree; taken through GNU ``/usr/bin/time`` as a
tiny launcher when present, because a child forked straight from this Python process is
charged this process's own RSS, see ``run_measured``), and CPU time (user+sys of the child
and its reaped descendants).  Before the first round each archive is read once (``cat``) so all
tools see a warm page cache.

Usage::

    .venv/bin/python benchmarks/bench_core.py [--rounds 3] [--json OUT] ARCHIVE...
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

OURS_API_SCRIPT = """\
import sys
from explorer.core.inspection import inspect_path
with inspect_path(sys.argv[1]) as ins:
    eff = ins.efficiency
    print(eff.score, eff.wasted)
"""

# The floor driver: runs as its own child process (so its start-up is part of the floor).
FLOOR_SCRIPT = r'''
import json, os, subprocess, sys, tarfile, threading, zlib

path = sys.argv[1]
jobs = max(1, int(sys.argv[2]))
mode = sys.argv[3] if len(sys.argv) > 3 else "cli"   # cli | zlib | kinds
GZ, ZST = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"

def norm(n):
    while n.startswith("./"):
        n = n[2:]
    return n.lstrip("/")

members = {}
with tarfile.open(path, "r:") as tf:
    for m in tf:
        if m.isreg():
            members[norm(m.name)] = (m.offset_data, m.size)

def read_member(name):
    off, size = members[norm(name)]
    with open(path, "rb") as f:
        f.seek(off)
        return f.read(size)

def layer_names():
    """Layer blob names of the first image, from manifest.json or index.json."""
    if "manifest.json" in members:
        man = json.loads(read_member("manifest.json"))
        return list(dict.fromkeys(man[0]["Layers"]))
    if "index.json" in members:
        def blob(d):
            algo, hexd = d.split(":", 1)
            return "blobs/%s/%s" % (algo, hexd)
        doc = json.loads(read_member("index.json"))
        while "manifests" in doc:
            doc = json.loads(read_member(blob(doc["manifests"][0]["digest"])))
        return list(dict.fromkeys(blob(l["digest"]) for l in doc["layers"]))
    raise SystemExit("floor: no manifest.json or index.json in " + path)

layers = layer_names()
kinds = []
with open(path, "rb") as f:
    for name in layers:
        off, size = members[norm(name)]
        f.seek(off)
        head = f.read(4)
        kinds.append("gzip" if head[:2] == GZ else "zstd" if head == ZST else "plain")

if mode == "kinds":
    print(" ".join(kinds))
    sys.exit(0)

if all(k == "plain" for k in kinds):
    # plain layers: reading the archive's bytes is all there is to it
    with open(os.devnull, "wb") as null:
        rc = subprocess.run(["cat", path], stdout=null, check=False).returncode
    print("cat", len(layers), "plain layers")
    sys.exit(rc)

def pump(src_fd, off, size, dst_fd):
    """Copy size bytes at off of src_fd into dst_fd (a pipe) without a user-space copy."""
    left = size
    while left:
        try:
            n = os.splice(src_fd, dst_fd, left, offset_src=off)
        except (AttributeError, OSError):
            n = os.sendfile(dst_fd, src_fd, off, left)
        if n <= 0:
            raise SystemExit("floor: short read")
        off += n
        left -= n

null = open(os.devnull, "wb")
src = os.open(path, os.O_RDONLY)
running = []
rc = 0
def finish(p, t):
    global rc
    t.join()
    rc = rc or (p.wait() if p is not None else 0)

def inflate(off, size):
    """zlib (the library libarchive uses) instead of gzip(1); zlib drops the GIL."""
    d = zlib.decompressobj(31)
    while size:
        chunk = os.pread(src, min(size, 1 << 20), off)
        off += len(chunk)
        size -= len(chunk)
        while chunk:
            d.decompress(chunk)
            chunk = d.unused_data          # a following gzip member
            if chunk:
                d = zlib.decompressobj(31)
for name, kind in zip(layers, kinds):
    off, size = members[norm(name)]
    if kind == "plain":
        os.lseek(src, off, 0)
        left = size
        while left:
            left -= len(os.read(src, min(left, 1 << 20)))
        continue
    if kind == "gzip" and mode == "zlib":
        t = threading.Thread(target=inflate, args=(off, size))
        t.start()
        running.append((None, t))
        if len(running) >= jobs:
            finish(*running.pop(0))
        continue
    cmd = ["gzip", "-dc"] if kind == "gzip" else ["zstd", "-dc", "-q"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=null)
    def feed(p=p, off=off, size=size):
        try:
            pump(src, off, size, p.stdin.fileno())
        finally:
            p.stdin.close()
    t = threading.Thread(target=feed)
    t.start()
    running.append((p, t))
    if len(running) >= jobs:
        finish(*running.pop(0))
for p, t in running:
    finish(p, t)
print(" ".join("%s" % k for k in kinds))
sys.exit(rc)
'''


def gnu_time() -> str | None:
    """/usr/bin/time if it is GNU time (used as a small launcher, see run_measured)."""
    path = shutil.which("time", path="/usr/bin:/bin") or None
    if not path:
        return None
    try:
        r = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return path if "GNU" in (r.stdout + r.stderr) else None


def run_measured(cmd: list[str], env: dict[str, str], cwd: Path,
                 launcher: str | None) -> dict[str, object]:
    """Run cmd, return wall s, peak RSS KiB, cpu s, rc and its output's tail.

    ru_maxrss of a forked child also counts the memory it shared with this (Python) parent
    before exec, so a child smaller than this process would be reported at this process's
    size.  With GNU time as launcher, the command is forked from that ~2 MB process instead,
    and time's own wait4 figure for its child (``%M``) is the peak RSS reported; the wait4
    figure of the launcher is kept as ``maxrss_wait4_kib``.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as tfile:
        full = [launcher, "-f", "%M", "-o", tfile.name, *cmd] if launcher else cmd
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             env=env, cwd=cwd)
        _pid, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        maxrss = ru.ru_maxrss
        if launcher:
            lines = tfile.read().split()
            if lines and lines[-1].isdigit():
                maxrss = int(lines[-1])
    return {
        "wall_s": wall,
        "maxrss_kib": maxrss,
        "maxrss_wait4_kib": ru.ru_maxrss,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "rc": p.returncode,
        "stdout": stdout,
        "stderr_tail": stderr[-2000:],
    }


def parse_result(tool: str, run: dict[str, object]) -> dict[str, object]:
    """Pull the efficiency score / wasted bytes out of a tool's output, for a sanity check."""
    out = str(run["stdout"])
    if tool == "ours (API)":
        parts = out.split()
        if len(parts) == 2:
            return {"score": float(parts[0]), "wasted": int(parts[1])}
    elif tool in ("dive", "ours (CLI)", "ours (CLI, --no-verify)"):
        res: dict[str, object] = {}
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("efficiency:"):
                res["score"] = float(line.split()[1]) / 100
            elif line.startswith("wastedBytes:"):
                res["wasted"] = int(line.split()[1])
        return res
    return {}


def layer_kinds(path: str) -> list[str]:
    """plain / gzip / zstd for each layer blob, as the floor driver sees them."""
    r = subprocess.run([sys.executable, "-c", FLOOR_SCRIPT, path, "1", "kinds"],
                       capture_output=True, text=True, check=False)
    return r.stdout.split()


def cli_available(python: str, env: dict[str, str]) -> bool:
    try:
        r = subprocess.run([python, "-m", "explorer.app.cli", "--help"], env=env, cwd=REPO,
                           capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def warm(path: str) -> None:
    with open(path, "rb") as f:
        while f.read(1 << 22):
            pass


def fmt_ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "-"
    return f"{a / b:.2f}x"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("archives", nargs="+")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", metavar="OUT", help="write raw numbers as JSON")
    ap.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python"),
                    help="interpreter for ours (default: the repo's .venv)")
    ap.add_argument("--dive", default=None, help="dive binary (default: .venv/bin/dive or PATH)")
    ap.add_argument("--floor-jobs", type=int, default=1,
                    help="decompress up to N layer blobs at once in the floor (default 1)")
    ap.add_argument("--tools", default="ours,cli,noverify,dive,floor,floorzlib",
                    help="comma list of: ours, cli, noverify (the CLI with --no-verify: no "
                    "digests checked, as dive), dive, floor, floorzlib")
    ap.add_argument("--no-time-launcher", action="store_true",
                    help="take peak RSS from this process's wait4 alone (see run_measured)")
    args = ap.parse_args(argv)
    launcher = None if args.no_time_launcher else gnu_time()
    if not launcher and not args.no_time_launcher:
        print("note: GNU time not found (apt-get install time); peak RSS below ~this "
              "process's own size is overstated", file=sys.stderr)

    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"]
                                     if env.get("PYTHONPATH") else "")
    # Measure what a user runs: an installed package has its bytecode compiled (pip does it),
    # while PYTHONDONTWRITEBYTECODE (set in some sandboxes) would make every run compile the
    # whole package again, about 0.08 s of each of our rows.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([args.python, "-m", "compileall", "-q", str(REPO / "explorer")], env=env,
                   check=True)
    dive = args.dive or (str(REPO / ".venv" / "bin" / "dive")
                         if (REPO / ".venv" / "bin" / "dive").exists() else shutil.which("dive"))
    wanted = set(args.tools.split(","))
    use_cli = "cli" in wanted and cli_available(args.python, env)
    if "cli" in wanted and not use_cli:
        print("note: `python -m explorer.app.cli --help` failed; no 'ours (CLI)' row",
              file=sys.stderr)

    def commands(path: str) -> list[tuple[str, list[str], dict[str, str]]]:
        cmds = []
        if "ours" in wanted:
            cmds.append(("ours (API)", [args.python, "-c", OURS_API_SCRIPT, path], env))
        if use_cli:
            cmds.append(("ours (CLI)", [args.python, "-m", "explorer.app.cli", "ci", path],
                         {**env, "CI": "true"}))
        if use_cli and "noverify" in wanted:
            cmds.append(("ours (CLI, --no-verify)", [args.python, "-m", "explorer.app.cli", "ci",
                                                     "--no-verify", path], {**env, "CI": "true"}))
        if "dive" in wanted and dive:
            cmds.append(("dive", [dive, "--ci", "--source", "docker-archive", path],
                         {**env, "CI": "true"}))
        if "floor" in wanted:
            cmds.append(("floor", [sys.executable, "-c", FLOOR_SCRIPT, path,
                                   str(args.floor_jobs), "cli"], env))
        if "floorzlib" in wanted and "gzip" in layer_kinds(path):
            cmds.append(("floor (zlib)", [sys.executable, "-c", FLOOR_SCRIPT, path,
                                          str(args.floor_jobs), "zlib"], env))
        return cmds

    results: dict[str, object] = {
        "machine": machine_facts(),
        "rounds": args.rounds,
        "floor_jobs": args.floor_jobs,
        "rss_launcher": launcher,
        "archives": {},
    }
    rows = []
    for path in args.archives:
        size = os.path.getsize(path)
        print(f"== {path} ({size / 1e6:.1f} MB)", file=sys.stderr)
        warm(path)
        load0 = os.getloadavg()
        cmds = commands(path)
        runs: dict[str, list[dict[str, object]]] = {name: [] for name, _, _ in cmds}
        for rnd in range(args.rounds):
            for name, cmd, cenv in cmds:
                r = run_measured(cmd, cenv, REPO, launcher)
                r["parsed"] = parse_result(name, r)
                r["stdout_tail"] = str(r.pop("stdout"))[-1500:]
                runs[name].append(r)
                print(f"   round {rnd + 1} {name:11s} {r['wall_s']:8.3f} s "
                      f"{int(r['maxrss_kib']) / 1024:8.1f} MB rc={r['rc']}", file=sys.stderr)
        print(f"   load average {load0[0]:.2f} -> {os.getloadavg()[0]:.2f} (1 min)",
              file=sys.stderr)
        summary = {}
        for name, rs in runs.items():
            walls = [float(r["wall_s"]) for r in rs]
            rss = [int(r["maxrss_kib"]) for r in rs]
            cpu = [float(r["cpu_s"]) for r in rs]
            summary[name] = {
                "wall_median_s": statistics.median(walls),
                "wall_min_s": min(walls),
                "wall_max_s": max(walls),
                "rss_median_mb": statistics.median(rss) / 1024,
                "cpu_median_s": statistics.median(cpu),
                "rcs": sorted({int(r["rc"]) for r in rs}),
                "parsed": [r["parsed"] for r in rs],
            }
        results["archives"][path] = {"size_bytes": size, "runs": runs, "summary": summary,
                                     "loadavg_before": load0, "loadavg_after": os.getloadavg()}
        rows.append((path, summary))

    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
        print(f"raw numbers: {args.json}", file=sys.stderr)
    return 0


def print_table(rows: list[tuple[str, dict[str, dict[str, object]]]]) -> None:
    print("| archive | tool | median wall s | min / max s | median CPU s | median peak RSS MB"
          " | rc | score / wasted |")
    print("|---|---|---:|---:|---:|---:|---|---|")
    for path, summary in rows:
        for name, s in summary.items():
            seen = []
            for p in s["parsed"]:
                v = (f"{p['score']:.4f} / {p['wasted']}"
                     if isinstance(p, dict) and "score" in p and "wasted" in p else "")
                if v and v not in seen:
                    seen.append(v)
            check = "; ".join(seen)
            print(f"| {Path(path).name} | {name} | {s['wall_median_s']:.3f} | "
                  f"{s['wall_min_s']:.3f} / {s['wall_max_s']:.3f} | {s['cpu_median_s']:.2f} | "
                  f"{s['rss_median_mb']:.1f} | {','.join(map(str, s['rcs']))} | {check} |")
    print()
    print("| archive | ours/dive wall | ours/floor wall | ours/floor (zlib) wall | ours/dive RSS"
          " | ours/floor RSS |")
    print("|---|---:|---:|---:|---:|---:|")
    for path, summary in rows:
        for ours in ("ours (API)", "ours (CLI)", "ours (CLI, --no-verify)"):
            if ours not in summary:
                continue
            o = summary[ours]
            d = summary.get("dive", {})
            f = summary.get("floor", {})
            z = summary.get("floor (zlib)", {})
            label = Path(path).name + {"ours (API)": "", "ours (CLI)": " (CLI)"}.get(
                ours, " (CLI, --no-verify)")
            if d and not any("score" in p for p in d["parsed"]):
                d = {}  # dive could not read this archive: no ratio against it
            print(f"| {label} | {fmt_ratio(o['wall_median_s'], d.get('wall_median_s'))} | "
                  f"{fmt_ratio(o['wall_median_s'], f.get('wall_median_s'))} | "
                  f"{fmt_ratio(o['wall_median_s'], z.get('wall_median_s'))} | "
                  f"{fmt_ratio(o['rss_median_mb'], d.get('rss_median_mb'))} | "
                  f"{fmt_ratio(o['rss_median_mb'], f.get('rss_median_mb'))} |")


def machine_facts() -> dict[str, object]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_total": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


if __name__ == "__main__":
    sys.exit(main())
