"""Comparisons: any layer or image against any other, and what open images share."""

from explorer.core.compare.digests import DigestMemo
from explorer.core.compare.endpoints import Endpoint
from explorer.core.compare.images import (
    FieldChange,
    HistoryRow,
    ImageComparison,
    LayerRow,
    LayerSide,
    SharedPrefix,
    compare_images,
)
from explorer.core.compare.sharing import ImageSharing, SharedRun, SharingReport, shared_layers
from explorer.core.compare.text import DEFAULT_TEXT_LIMIT, SideBySideRow, TextDiff, text_diff
from explorer.core.compare.trees import (
    Change,
    ChangedEntry,
    CompareSummary,
    Comparison,
    MarkerChanges,
    compare_trees,
    entry_changes,
)

__all__ = [
    "DEFAULT_TEXT_LIMIT",
    "Change",
    "ChangedEntry",
    "CompareSummary",
    "Comparison",
    "DigestMemo",
    "Endpoint",
    "FieldChange",
    "HistoryRow",
    "ImageComparison",
    "ImageSharing",
    "LayerRow",
    "LayerSide",
    "MarkerChanges",
    "SharedPrefix",
    "SharedRun",
    "SharingReport",
    "SideBySideRow",
    "TextDiff",
    "compare_images",
    "compare_trees",
    "entry_changes",
    "shared_layers",
    "text_diff",
]
