"""Fast sizes and counts equal the diff tree's own, on every layer of real images."""

from __future__ import annotations

import pytest

from explorer.core.fs.diff import diff_trees, summarize
from explorer.core.fs.sizes import DirSizes, count_changes
from explorer.core.inspection import inspect_path
from tests.conftest import corpus_path

IMAGES = ["mini-webapp.docker.tar", "mini-webapp-opaque.oci.tar",
          "mini-webapp-nodocs.oci-zstd.tar"]


@pytest.mark.parametrize("name", IMAGES)
def test_counts_and_sizes_equal_the_diff_trees(name: str) -> None:
    with inspect_path(str(corpus_path("generated", name))) as ins:
        sizes = DirSizes()
        for layer in range(len(ins.indexes)):
            for lower, upper in ((ins.merged(layer - 1), ins.merged(layer)),
                                 (ins.merged(0), ins.merged(layer))):
                root = diff_trees(lower, upper)
                assert count_changes(lower, upper) == summarize(root)
                rows = [root, *root.walk()]
                assert [sizes.size(r) for r in rows] == [r.size() for r in rows]
