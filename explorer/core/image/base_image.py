"""Which bottom layers came from the base image (the ``FROM`` line).

Images rarely say so: OCI's ``org.opencontainers.image.base.*`` annotations name the base but
not its layer count.  The history does: a base image's history ends with its ``CMD`` or
``ENTRYPOINT`` (an empty layer), and the derived image's own steps follow.
"""

from __future__ import annotations

from explorer.core.image.model import Image

_ENDINGS = ("CMD ", "CMD[", "ENTRYPOINT ", "ENTRYPOINT[")


def _ends_an_image(created_by: str) -> bool:
    text = created_by.replace("/bin/sh -c #(nop)", "").strip()
    return text.startswith(_ENDINGS)


def base_layer_count(image: Image) -> int:
    """The number of bottom layers the base image brought; 0 when the history can't tell."""
    for layer in image.layers[1:]:
        if any(_ends_an_image(h.created_by) for h in layer.empty_before):
            return layer.index
    return 0
