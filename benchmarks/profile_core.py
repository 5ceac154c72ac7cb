"""The benchmark's "ours (API)" pipeline, with the layers read on the main thread.

Profilers such as pyinstrument sample only the main thread, and ``index_layers`` reads the
layers in a thread pool, so this script does the same work as ``bench_core.py``'s inline
script - open, load, read (and verify) every unique layer, union, efficiency - but calls
``read_layer`` directly, one layer after another.  Usage::

    .venv/bin/pyinstrument -r text -o /work/notes/profile-large.txt \\
        benchmarks/profile_core.py /work/corpus-large/large.docker.tar
"""

from __future__ import annotations

import sys

from explorer.core.analysis.efficiency import analyze_efficiency
from explorer.core.fs.layer_reader import read_layer
from explorer.core.fs.union import UnionStack
from explorer.core.image.loader import open_archive


def main(path: str) -> None:
    with open_archive(path) as a:
        im = a.load()
        done = {}
        for layer in im.layers:
            key = str(layer.diff_id)
            if key not in done:
                done[key] = read_layer(a.source, layer, limits=a.limits)
        ix = [done[str(layer.diff_id)] for layer in im.layers]
        eff = analyze_efficiency(ix, UnionStack(ix).top)
        print(eff.score, eff.wasted)


if __name__ == "__main__":
    main(sys.argv[1])
