"""Two images as a whole (config, history, layers, shared base), sharing among open images,
and layer indexes read once for all the images that share them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from explorer.core.analysis.index_cache import LayerIndexCache
from explorer.core.compare import compare_images, shared_layers
from explorer.core.inspection import Inspection, inspect_path
from tests.conftest import corpus_path


def _open(name: str) -> Iterator[Inspection]:
    with inspect_path(str(corpus_path("generated", name))) as ins:
        yield ins


@pytest.fixture(scope="module")
def base() -> Iterator[Inspection]:
    yield from _open("mini-base.docker.tar")


@pytest.fixture(scope="module")
def webapp() -> Iterator[Inspection]:
    yield from _open("mini-webapp.docker.tar")


@pytest.fixture(scope="module")
def nodocs() -> Iterator[Inspection]:
    yield from _open("mini-webapp-nodocs.oci.tar")


@pytest.fixture(scope="module")
def opaque() -> Iterator[Inspection]:
    yield from _open("mini-webapp-opaque.docker.tar")


def test_config_differences_are_keyed_added_removed_changed(base: Inspection,
                                                             webapp: Inspection) -> None:
    changes = {c.key: c for c in compare_images(base, webapp).config}
    assert changes["cmd"].kind == "changed"
    assert (changes["cmd"].before, changes["cmd"].after) == ('["sh"]', '["catalina.sh", "run"]')
    assert changes["env.PATH"].kind == "changed"
    assert changes["env.CATALINA_HOME"].kind == "added"
    assert changes["exposed_ports.8080/tcp"].kind == "added"
    assert changes["workdir"].after == "/usr/local/tomcat"
    assert changes["labels.org.opencontainers.image.title"].after == "mini-webapp"
    assert "created" not in changes and "platform" not in changes


def test_labels_and_dates_of_a_buildah_commit(webapp: Inspection, opaque: Inspection) -> None:
    changes = {c.key: c.kind for c in compare_images(webapp, opaque).config}
    assert changes == {"created": "changed", "labels.io.buildah.version": "added"}


def test_history_aligns_the_common_steps_and_lists_the_new_ones(
        webapp: Inspection, opaque: Inspection) -> None:
    rows = compare_images(webapp, opaque).history
    assert [r.kind for r in rows].count("same") == len(webapp.image.config.history)
    added = [r for r in rows if r.kind == "added"]
    assert [r.b_index for r in added] == [12, 13]
    assert added[1].b is not None and "webapps/docs" in added[1].b.created_by


def test_shared_prefix_of_an_image_and_its_child(webapp: Inspection,
                                                 nodocs: Inspection) -> None:
    cmp = compare_images(webapp, nodocs)
    assert cmp.shared.layers == 6, "nodocs is mini-webapp plus one layer"
    assert cmp.shared.compressed_bytes == sum(ix.blob_size for ix in webapp.indexes)
    assert [r.shared for r in cmp.layers] == [True] * 6 + [False]
    assert cmp.layers[6].a is None and cmp.layers[6].b is not None
    assert cmp.layers[0].a is not None and cmp.layers[0].b is not None
    assert cmp.layers[0].a.size == cmp.layers[0].b.size  # gzip or not, same layer
    assert not cmp.same_config and not cmp.history_equal and not cmp.layers_equal


def test_same_image_in_two_formats_has_the_same_metadata(webapp: Inspection) -> None:
    for other in _open("mini-webapp.oci-zstd.tar"):
        cmp = compare_images(webapp, other)
        assert cmp.config == () and cmp.history_equal and cmp.layers_equal and cmp.same_config


def test_sharing_among_open_images_labels_each_layer(base: Inspection, webapp: Inspection,
                                                     nodocs: Inspection) -> None:
    report = shared_layers([("base", base.image), ("web", webapp.image),
                            ("nodocs", nodocs.image)])
    b, w, n = report.images
    assert [r.label for r in w.runs] == ["shared with nodocs, layers 0-5",
                                         "shared with base, layer 0"]
    assert w.layer_label(0) == "shared with nodocs, base"
    assert w.layer_label(3) == "shared with nodocs"
    assert n.layer_label(6) == ""
    assert b.label == "shared with web, layer 0; shared with nodocs, layer 0"
    # every later copy of a layer (same chain id) is a blob not stored again
    assert report.saved_bytes == webapp.image.layers[0].compressed_size + sum(
        layer.compressed_size for layer in nodocs.image.layers[:6])


def test_an_index_cache_reads_shared_layers_once() -> None:
    cache = LayerIndexCache()
    web = inspect_path(str(corpus_path("generated", "mini-webapp.docker.tar")), cache=cache)
    assert cache.hits == 0 and len(cache) == 6
    nodocs = inspect_path(str(corpus_path("generated", "mini-webapp-nodocs.docker.tar")),
                          cache=cache)
    gz = inspect_path(str(corpus_path("generated", "mini-webapp.oci.tar")), cache=cache)
    try:
        assert cache.hits == 6, "nodocs reuses web's six layers"
        assert all(nodocs.indexes[i] is web.indexes[i] for i in range(6))
        assert not any(gz.indexes[i] is web.indexes[i] for i in range(6)), \
            "a gzip blob has other offsets: read again"
        assert nodocs.efficiency.size == inspect_path(  # same figures as without the cache
            str(corpus_path("generated", "mini-webapp-nodocs.docker.tar"))).efficiency.size
    finally:
        for ins in (web, nodocs, gz):
            ins.close()
