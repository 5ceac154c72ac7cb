"""Drag payloads: a layer (or a whole image) of an opened archive, for comparisons.

The payload names the archive file, the image in it and the layer, so a drop target can
reopen it on its own; it never carries image data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from PySide6.QtCore import QMimeData

LAYER_MIME = "application/x-layer-explorer-layer"


@dataclass(frozen=True)
class LayerRef:
    path: str
    """The archive file or OCI layout folder."""
    image: int
    """The image's index in the archive (``Archive.refs``)."""
    layer: int | None
    """The layer number; None for the whole image (its top layer)."""
    label: str = ""

    def encode(self) -> QMimeData:
        mime = QMimeData()
        doc = {"path": self.path, "image": self.image, "layer": self.layer, "label": self.label}
        mime.setData(LAYER_MIME, json.dumps(doc).encode())
        mime.setText(self.label or self.path)
        return mime

    @classmethod
    def decode(cls, mime: QMimeData) -> LayerRef | None:
        """The layer a drop carries, or None when it carries something else (or garbage)."""
        if not mime.hasFormat(LAYER_MIME):
            return None
        try:
            doc = json.loads(bytes(mime.data(LAYER_MIME).data()).decode())
            layer = doc.get("layer")
            return cls(str(doc["path"]), int(doc["image"]),
                       None if layer is None else int(layer), str(doc.get("label", "")))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None
