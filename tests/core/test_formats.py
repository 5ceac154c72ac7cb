"""Every real save format in the corpus opens, lists its images and reads its layers."""

from __future__ import annotations

import pytest

from explorer.core.errors import NotAnImageError, TruncatedError
from explorer.core.image.loader import familiar, open_archive
from explorer.core.inspection import inspect_path
from tests.conftest import corpus_path

# archive -> (format word, [(tag or None, layer count)])
EXPECTED = {
    "generated/mini-webapp.docker.tar": ("docker-archive", [("docker.io/corpus/mini-webapp:latest", 6)]),
    "generated/mini-webapp.multitag.docker.tar": ("docker-archive", [("docker.io/corpus/mini-webapp:latest", 6)]),
    "generated/mini-multi.podman.docker.tar": ("docker-archive", [
        ("docker.io/corpus/mini-base:latest", 1), ("docker.io/corpus/mini-webapp:latest", 6),
        ("docker.io/corpus/mini-webapp-nodocs:latest", 7),
        ("docker.io/corpus/mini-webapp-opaque:latest", 8)]),
    "generated/mini-webapp.oci.tar": ("OCI archive", [("corpus/mini-webapp:latest", 6)]),
    "generated/mini-webapp.oci-zstd.tar": ("OCI archive", [("corpus/mini-webapp:latest", 6)]),
    "generated/mini-webapp.oci-uncompressed.tar": ("OCI archive", [("corpus/mini-webapp:latest", 6)]),
    "generated/mini-webapp.oci-layout.tar": ("OCI archive", [("corpus/mini-webapp:latest", 6)]),
    "generated/mini-all.oci-layout.tar": ("OCI archive", [
        ("corpus/mini-base:latest", 1), ("corpus/mini-webapp:latest", 6),
        ("corpus/mini-webapp-nodocs:latest", 7), ("corpus/mini-webapp-opaque:latest", 8)]),
    "generated/mini-webapp.containerd.tar": ("Docker 25+", [("docker.io/corpus/mini-webapp:latest", 6)]),
    "generated/mini-webapp-nodocs.containerd.tar": ("Docker 25+", [
        ("docker.io/corpus/mini-webapp-nodocs:latest", 7)]),
    "generated/mini-multi.containerd.tar": ("Docker 25+", [
        ("docker.io/corpus/mini-base:latest", 1), ("docker.io/corpus/mini-webapp:latest", 6),
        ("docker.io/corpus/mini-webapp-nodocs:latest", 7),
        ("docker.io/corpus/mini-webapp-opaque:latest", 8)]),
    "generated/quirks/mini-webapp.mislabeled-gzip.oci.tar": ("OCI archive", [
        ("corpus/mini-webapp:latest", 6)]),
    "generated/mini-webapp-opaque.podman.oci.tar": ("OCI archive", [
        ("docker.io/corpus/mini-webapp-opaque:latest", 8)]),
    "docker25/hello-world-v25.tar": ("Docker 25+", [(None, 1)]),
    "dive/test-docker-image.tar": ("legacy", [("dive-test:latest", 14)]),
    "dive/test-kaniko-image.tar": ("go-containerregistry", [("dive-test:kaniko-latest", 14)]),
    "dive/test-oci-estargz-image.tar": ("OCI archive", [(None, 1)]),
    "dive/test-oci-zstd-image.tar": ("OCI archive", [(None, 1)]),
    "ggcr/tarball/test_bundle.tar": ("legacy", [("test_image_2", 1), ("test_image_1", 1)]),
    "ggcr/tarball/test_link.tar": ("legacy", [("bazel/v1/tarball:test_image_1", 1),
                                              ("bazel/v1/tarball:test_image_3", 2)]),
    "ggcr/mutate/whiteout_dir.tar": ("go-containerregistry", [("localhost:5000/whiteout:latest", 4)]),
    "ggcr/layout/test_index_one_image": ("OCI layout folder", [(None, 1)]),
    "scalibr/layerscanning_image__symlink-attack.tar": ("legacy", [("symlink-attack:latest", 1)]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_archive_lists_its_images_and_every_layer_reads_and_verifies(name: str) -> None:
    fmt_word, images = EXPECTED[name]
    path = corpus_path(*name.split("/"))
    with open_archive(str(path)) as archive:
        assert fmt_word in archive.format
        listed = [(familiar(r.tags[0]) if r.tags else None, r.layer_count) for r in archive.refs]
        assert listed == [(familiar(t) if t else None, n) for t, n in images]
    for index in range(len(images)):
        with inspect_path(str(path), str(index)) as insp:
            assert len(insp.indexes) == images[index][1]
            for layer, ix in zip(insp.image.layers, insp.indexes, strict=True):
                assert ix.diff_id == layer.diff_id  # verified while streaming


def test_multitag_archive_keeps_both_tags() -> None:
    path = corpus_path("generated", "mini-webapp.multitag.docker.tar")
    with open_archive(str(path)) as archive:
        assert archive.refs[0].tags == ("docker.io/corpus/mini-webapp:latest",
                                        "docker.io/corpus/mini-webapp:9.0")


def test_images_are_selected_by_familiar_name_or_index() -> None:
    path = corpus_path("generated", "mini-multi.podman.docker.tar")
    with open_archive(str(path)) as archive:
        assert archive.select("corpus/mini-webapp-nodocs").layer_count == 7
        assert archive.select("docker.io/corpus/mini-base:latest").index == 0
        assert archive.select("3").layer_count == 8


def test_docker25_null_manifests_is_a_warning_not_an_error() -> None:
    path = corpus_path("docker25", "hello-world-v25.tar")
    with open_archive(str(path)) as archive:
        assert any('"manifests": null' in w for w in archive.warnings)


def test_layer_compression_is_detected_from_bytes_not_media_type() -> None:
    path = corpus_path("generated", "quirks", "mini-webapp.mislabeled-gzip.oci.tar")
    with inspect_path(str(path)) as insp:
        assert insp.image.layers[0].media_type.endswith("+gzip")
        assert insp.indexes[0].compression.value == "none"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("dive/test-gzip-image.tar", "README.md"),
        ("scalibr/layerscanning_image__empty.tar", "empty"),
        ("ggcr/tarball/no_manifest.tar", "pre-Docker-1.10"),
        ("container-diff/testTars/la-croix1.tar", "not a container image"),
    ],
)
def test_tars_that_are_not_images_say_what_they_are(name: str, words: str) -> None:
    with pytest.raises(NotAnImageError, match=words):
        open_archive(str(corpus_path(*name.split("/"))))


def test_a_tar_without_its_end_marker_is_reported_truncated() -> None:
    """scalibr's escape fixture was written by Go's archive/tar without Close(): no end
    blocks.  That is also what a download cut between two members looks like (BAD-INPUT A2)."""
    with pytest.raises(TruncatedError, match="end-of-archive marker"):
        open_archive(str(corpus_path("scalibr", "unpack__escape.tar")))


SAME_IMAGE = [
    "mini-webapp-opaque.docker.tar",
    "mini-webapp-opaque.oci.tar",
    "mini-webapp-opaque.oci-zstd.tar",
    "mini-webapp-opaque.oci-uncompressed.tar",
    "mini-webapp-opaque.oci-layout.tar",
    "mini-webapp-opaque.podman.oci.tar",
]


def test_the_same_image_in_every_format_gives_identical_figures() -> None:
    figures = []
    for name in SAME_IMAGE:
        with inspect_path(str(corpus_path("generated", name))) as insp:
            eff = insp.efficiency
            figures.append((
                [str(layer.diff_id) for layer in insp.image.layers],
                [ix.size for ix in insp.indexes],
                eff.score, eff.wasted, eff.reclaimable,
                [(u.path, u.count, u.size) for u in eff.inefficient],
                sorted(p for p, _ in insp.merged().walk()),
            ))
    assert all(f == figures[0] for f in figures[1:])
