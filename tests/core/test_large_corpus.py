"""The large corpus: real Debian-based images, as skopeo, podman and containerd save them.

Opt-in: ``LAYER_EXPLORER_LARGE_CORPUS=DIR pytest -m large`` where DIR was built (as root) by
``../shared/corpus/make-corpus.sh --large DIR``; without it every test here skips, saying so.
The archives are only read.  What must hold:

* every archive opens, lists the images the corpus index lists, and every layer of every image
  reads with its blob digest and diff_id verified;
* the index's facts (digests, history, per-layer sizes and entry counts, the merged tree's
  counts), found by ``inspect-archive.py`` with Python's ``tarfile``, are ours too;
* dive 0.13.1 gives our figures and our ``ci`` report on every archive it reads (those with a
  manifest.json; on the others dive orders layers at random);
* every copy of an image, whatever its format, gives the figures of its docker-archive copy;
* ``umoci unpack`` puts our merged tree on disk for the four Debian images.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from explorer.core.image.loader import familiar, open_archive
from explorer.core.inspection import inspect_path
from tests.core.dive_oracle import (
    assert_same_figures,
    dive_figures,
    run_dive,
    run_dive_ci,
    run_our_ci,
)
from tests.core.large_corpus import (
    ENV_VAR,
    LAYOUT_DIR,
    IndexedArchive,
    copies,
    corpus_index,
    figures,
    image_name,
    layout_refs,
    params,
    root,
    unavailable_reason,
)
from tests.core.umoci_oracle import (
    assert_same_tree,
    check_whiteouts,
    disk_tree,
    our_tree,
    require_tools,
    skopeo_umoci_rootfs,
)

pytestmark = pytest.mark.large

FORMAT_WORDS = {
    "docker-archive (legacy)": "docker-archive",
    "docker-archive (Docker 25+ hybrid: OCI layout + manifest.json)": "Docker 25+",
    "oci-archive (OCI image layout in a tar)": "OCI archive",
    "oci-layout tar (./-prefixed)": "OCI archive",
}
"""The index's format name -> the word our format name must contain."""

MEMBER_KINDS = ("regular", "dirs", "symlinks", "hardlinks", "fifos", "devices")
LAYER_STATS = (*MEMBER_KINDS, "whiteouts", "opaque_dirs", "xattrs", "setuid_or_setgid")
UMOCI_IMAGES = ["debian-base", "webapp", "webapp-nodocs", "webapp-opaque"]


def archives(keep: Callable[[IndexedArchive], bool] = lambda _: True) -> list[str]:
    if unavailable_reason() is not None:
        return []
    return sorted(a.file for a in corpus_index().values() if keep(a))


def images_with_a_docker_archive() -> list[str]:
    if unavailable_reason() is not None:
        return []
    return sorted(name for name in copies() if f"{name}.docker.tar" in corpus_index())


def expected_listing(name: str) -> tuple[str, list[tuple[tuple[str, ...], int]]]:
    """(format word, [(familiar tags, layer count)]) as the corpus says; the umoci-layout
    folder's images are tagged with their bare names."""
    if name == LAYOUT_DIR:
        counts = {image_name(img.tags[0]): len(img.layers)
                  for a in corpus_index().values() for img in a.images}
        return "OCI layout folder", [((familiar(ref),), counts[ref]) for ref in layout_refs()]
    entry = corpus_index()[name]
    return FORMAT_WORDS[entry.format], [(tuple(familiar(t) for t in img.tags), len(img.layers))
                                        for img in entry.images]


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


# --------------------------------------------------------------------------- opening


@pytest.mark.parametrize("name", params([*archives(), LAYOUT_DIR]))
def test_every_image_opens_and_every_layer_verifies(name: str) -> None:
    word, listing = expected_listing(name)
    with open_archive(str(root() / name)) as archive:
        assert word in archive.format
        assert [(tuple(familiar(t) for t in r.tags), r.layer_count) for r in archive.refs] == \
            listing  # every tag, in order: multi-tag and multi-image archives too
    for i, ((tag, *_), count) in enumerate(listing):
        ours = figures(name, str(i))
        assert len(ours.layers) == count, tag
        for n, layer in enumerate(ours.layers):
            assert layer.read_diff_id == layer.declared_diff_id, f"{tag} layer {n}: diff_id"
            if word.startswith(("OCI", "Docker 25+")):
                assert layer.declared_digest is not None, f"{tag} layer {n}: blob digest named"
            if layer.declared_digest is not None:
                assert layer.read_digest == layer.declared_digest, f"{tag} layer {n}: digest"
        assert ours.warnings == (), tag


@pytest.mark.parametrize("name", params(archives()))
def test_images_and_layers_have_the_facts_the_corpus_index_lists(name: str) -> None:
    for i, indexed in enumerate(corpus_index()[name].images):
        ours = figures(name, str(i))
        assert ours.config_digest == indexed.config_digest
        if indexed.manifest_digest is not None:
            assert ours.manifest_digest == indexed.manifest_digest
        assert ours.history == (indexed.history, indexed.empty_layer_history)
        for n, (layer, facts) in enumerate(zip(ours.layers, indexed.layers, strict=True)):
            where = f"image {i} layer {n} ({facts['path']})"
            assert facts["diff_id_ok"] is True and facts["digest_ok"] in (True, None), \
                f"{where}: the corpus itself is unsound"
            assert layer.compression == facts["compression"], where  # sniffed, not media type
            if facts["media_type"] is not None:
                assert layer.media_type == facts["media_type"], where
            assert (layer.blob_size, layer.tar_size) == \
                (facts["blob_size"], facts["uncompressed_size"]), where
            # Every tar member is one of our entries, whiteouts or opaque markers, except a
            # "./" member for the root directory, which names no path.
            members = sum(layer.stats.get(k, 0) for k in (*MEMBER_KINDS, "whiteouts",
                                                          "opaque_dirs"))
            root_member = facts["entries"] - members
            assert root_member in (0, 1), f"{where}: {members} members, index says {facts['entries']}"
            expected = {k: facts[k] for k in LAYER_STATS}
            expected["dirs"] -= root_member
            assert nonzero(layer.stats) == nonzero(expected), where
        assert nonzero(ours.merged_kinds) == nonzero(indexed.merged), f"image {i}: merged tree"


# --------------------------------------------------------------------------- dive


@pytest.mark.dive
@pytest.mark.parametrize("name", params(archives(lambda a: a.has_manifest_json)))
def test_our_figures_equal_dives(name: str, tmp_path: Path) -> None:
    theirs = dive_figures(run_dive(root() / name, tmp_path))  # dive reads the first image
    assert_same_figures(figures(name, "0").dive, theirs, name)


@pytest.mark.dive
@pytest.mark.parametrize("name", params(archives(lambda a: a.has_manifest_json)))
def test_our_ci_report_equals_dives(name: str) -> None:
    archive = root() / name
    assert run_our_ci(archive, image="0") == run_dive_ci(archive)  # exit code and report


# ------------------------------------------------------- the same image in every format


@pytest.mark.parametrize("image", params(images_with_a_docker_archive()))
def test_every_copy_of_an_image_gives_the_figures_of_its_docker_archive(image: str) -> None:
    reference = f"{image}.docker.tar"
    expected = figures(reference, "0")
    held = copies()[image]
    assert len(held) > 1, f"{image} has no other copy than {reference}"
    for archive, index in held:
        ours = figures(archive, index)
        what = f"{archive} image {index}"
        assert [lay.read_diff_id for lay in ours.layers] == \
            [lay.read_diff_id for lay in expected.layers], what
        assert_same_figures(ours.dive, expected.dive, what)  # sizes, commands, efficiency...
        assert ours.reclaimable == expected.reclaimable, what
        assert_same_tree(ours.tree, expected.tree, what, name=reference)


# --------------------------------------------------------------------------- umoci


@pytest.mark.tools
@pytest.mark.parametrize("image", params(UMOCI_IMAGES))
def test_merged_top_layer_matches_umoci_unpack(image: str, tmp_path: Path) -> None:
    require_tools()
    archive = root() / f"{image}.oci.tar"  # gzip layers, copied by skopeo as they are
    rootfs = skopeo_umoci_rootfs(f"oci-archive:{archive}", tmp_path)
    with inspect_path(str(archive)) as insp:
        ours = our_tree(insp)
        disk = disk_tree(rootfs)
        assert len(ours) > 5000, "a Debian root filesystem"
        assert_same_tree(ours, disk, archive.name)
        check_whiteouts(image, insp, ours, disk)


# --------------------------------------------------------------------------- opting in


def test_without_the_corpus_the_skip_reason_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    reason = unavailable_reason()
    assert reason is not None
    assert ENV_VAR in reason and "make-corpus.sh --large OUTDIR" in reason
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing"))
    reason = unavailable_reason()
    assert reason is not None and str(tmp_path / "missing") in reason
    [skipped] = params(["anything"])
    assert skipped.marks[0].kwargs["reason"] == reason
