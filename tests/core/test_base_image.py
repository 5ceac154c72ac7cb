"""The base image's layers are found from the history, where the history tells."""

from __future__ import annotations

from explorer.core.image.base_image import base_layer_count
from explorer.core.image.loader import open_archive
from tests.conftest import corpus_path


def test_a_derived_image_starts_after_the_base_images_cmd() -> None:
    with open_archive(str(corpus_path("generated", "mini-webapp.docker.tar"))) as archive:
        image = archive.load()
    # busybox rootfs + CMD ["sh"], then the webapp's own steps
    assert base_layer_count(image) == 1


def test_an_image_whose_history_does_not_tell_has_no_known_base() -> None:
    with open_archive(str(corpus_path("generated", "mini-base.docker.tar"))) as archive:
        image = archive.load()
    assert base_layer_count(image) == 0
