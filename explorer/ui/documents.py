"""Each open image of the window: how far it is loaded, its container layer, its view."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from explorer.core.fs.layer_index import LayerIndex
from explorer.core.image.model import Image
from explorer.core.inspection import Inspection
from explorer.core.limits import DEFAULT_LIMITS, Limits
from explorer.qt.sandbox_session import SandboxSession
from explorer.qt.session import Session
from explorer.ui.tree_panel import Mode


@dataclass(eq=False)
class ImageDoc:
    path: str
    selector: str | None = None
    limits: Limits = DEFAULT_LIMITS
    """The safety limits it was opened with (the user may have raised one)."""
    session: Session | None = None
    image: Image | None = None
    """Known once the config is read (the layer stack can be shown)."""
    inspection: Inspection | None = None
    """Known once every layer is read."""
    partial: Inspection | None = None
    """The bottom layers read so far, while the others are still being read."""
    ready: dict[int, LayerIndex] = field(default_factory=dict)
    partial_wanted: int = 0
    """How many bottom layers are read (all below are): what the next partial view shows."""
    partial_busy: bool = False
    """A partial view is being built: the next one starts when it is done (one at a time,
    or a burst of layers read from the cache starts as many jobs fighting for the GIL)."""
    sandbox: SandboxSession | None = None
    """Its container layer (each open image has its own)."""
    layer: int | None = None
    """The layer selected when the user last looked at it."""
    mode: Mode = Mode.LAYER
    shared: dict[int, str] = field(default_factory=dict)
    """Layer number -> which other open images share it ("web:1.0 (layers 0-3)")."""

    @property
    def title(self) -> str:
        if self.image is not None:
            return self.image.ref.name
        return os.path.basename(self.path.rstrip("/")) or self.path
