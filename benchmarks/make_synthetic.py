"""Synthetic benchmark images written by our own writer (deterministic, no Docker needed).

``many``: a base layer of BASE files plus LAYERS layers, each touching TOUCH paths of the base
(a third edited, a third added, a fifth of them deleted by whiteouts), like the dive-killer
image in the speed issue.  ``wide``: 1 M entries, one directory with 100 k children.

Usage::

    .venv/bin/python benchmarks/make_synthetic.py many OUT.tar [--layers 50] [--base 100000]
        [--touch 20000]
    .venv/bin/python benchmarks/make_synthetic.py wide OUT.tar
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tarfile
import time
from pathlib import Path

from explorer.core.archive.image_writer import write_image_archive
from explorer.core.digest import Digest

MTIME = 1_700_000_000


def _tar(entries: list[tuple[str, bytes | None]]) -> bytes:
    """A plain layer tar: (name, data) for files, data None for directories."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = MTIME
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tf.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def many_layers(layers: int, base: int, touch: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    dirs = [f"d{i:03d}" for i in range(max(1, base // 1000))]
    files = [f"{dirs[i % len(dirs)]}/f{i:07d}" for i in range(base)]
    out = [_tar([(d, None) for d in dirs] + [(f, b"base %d\n" % i)
                                             for i, f in enumerate(files)])]
    alive = set(files)
    for n in range(1, layers + 1):
        entries: list[tuple[str, bytes | None]] = []
        picked = rng.sample(sorted(alive), min(touch * 2 // 3, len(alive)))
        deletes = picked[: touch // 5]
        edits = picked[touch // 5:]
        for f in edits:
            entries.append((f, b"layer %d edit %s\n" % (n, f.encode())))
        for j in range(touch // 3):
            name = f"{dirs[j % len(dirs)]}/n{n:03d}_{j:06d}"
            entries.append((name, b"added in %d\n" % n))
            alive.add(name)
        for f in deletes:
            parent, _, base_name = f.rpartition("/")
            entries.append((f"{parent}/.wh.{base_name}", b""))
            alive.discard(f)
        entries.sort()
        out.append(_tar(entries))
    return out


def wide() -> list[bytes]:
    entries: list[tuple[str, bytes | None]] = [("wide", None)]
    entries += [(f"wide/f{i:06d}", b"x") for i in range(100_000)]
    for d in range(10):
        entries.append((f"d{d}", None))
        for j in range(90):
            entries.append((f"d{d}/s{j:03d}", None))
            entries += [(f"d{d}/s{j:03d}/f{k:03d}", b"") for k in range(999)]
    return [_tar(entries)]


def write(layers: list[bytes], out: str, tag: str) -> None:
    diff_ids = [str(Digest.of_bytes(t)) for t in layers]
    config = {
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"synthetic layer {i}"}
                    for i in range(len(layers))],
    }
    raw = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    write_image_archive(out, config=raw, layers=layers, tags=[tag])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=["many", "wide"])
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=50)
    ap.add_argument("--base", type=int, default=100_000)
    ap.add_argument("--touch", type=int, default=20_000)
    args = ap.parse_args(argv)
    start = time.perf_counter()
    if args.kind == "many":
        layers = many_layers(args.layers, args.base, args.touch)
        tag = f"synthetic/many:{args.layers}x{args.touch}"
    else:
        layers = wide()
        tag = "synthetic/wide:1m"
    write(layers, args.out, tag)
    size = Path(args.out).stat().st_size
    print(f"{args.out}: {len(layers)} layers, {size / 1e6:.0f} MB, "
          f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
