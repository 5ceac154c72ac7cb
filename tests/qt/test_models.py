"""Every item model follows Qt's rules (pytest-qt's modeltester) and stays lazy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex
from pytestqt.modeltest import ModelTester

from explorer.core.fs.diff import DiffKind
from explorer.core.inspection import Inspection, inspect_path
from explorer.qt.models import diff_tree
from explorer.qt.models.diff_tree import DiffTreeModel, SortOrder
from explorer.qt.models.layer_table import LayerRole, LayerTableModel
from explorer.ui.tree_panel import Mode, diff_for
from tests.conftest import corpus_path


@pytest.fixture(scope="module")
def inspection() -> Iterator[Inspection]:
    with inspect_path(str(corpus_path("generated", "mini-webapp-nodocs.docker.tar"))) as ins:
        yield ins


def _fetch_all(model: DiffTreeModel, parent: QModelIndex = QModelIndex()) -> int:
    while model.canFetchMore(parent):
        model.fetchMore(parent)
    count = model.rowCount(parent)
    return count + sum(_fetch_all(model, model.index(r, 0, parent)) for r in range(count))


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("sort", list(SortOrder))
def test_diff_tree_model_passes_the_model_tester(qtmodeltester: ModelTester,
                                                 inspection: Inspection, mode: Mode,
                                                 sort: SortOrder) -> None:
    model = DiffTreeModel()
    model.run_sync = True
    model.set_tree(diff_for(inspection, 6, mode), sort=sort)
    qtmodeltester.check(model, force_py=True)
    assert _fetch_all(model) > 100
    qtmodeltester.check(model, force_py=True)


def test_big_directories_arrive_in_batches(monkeypatch: pytest.MonkeyPatch,
                                          inspection: Inspection) -> None:
    monkeypatch.setattr(diff_tree, "BATCH", 3)
    model = DiffTreeModel()
    model.set_tree(diff_for(inspection, 6, Mode.MERGED))
    assert model.rowCount() == 3 and model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 6


def test_hidden_kinds_and_filters_limit_the_rows(inspection: Inspection) -> None:
    model = DiffTreeModel()
    model.set_tree(diff_for(inspection, 6, Mode.LAYER),
                   hidden=frozenset({DiffKind.UNCHANGED, DiffKind.REMOVED}))
    assert model.rowCount() == 1  # /usr, modified
    model.set_tree(diff_for(inspection, 6, Mode.LAYER), visible={b"usr", b"usr/local"})
    assert _fetch_all(model) == 2


def test_layer_table_model_passes_the_model_tester(qtmodeltester: ModelTester,
                                                   inspection: Inspection) -> None:
    model = LayerTableModel()
    model.set_image(inspection.image)
    qtmodeltester.check(model, force_py=True)
    model.set_indexes(inspection.indexes)
    model.set_top_down(False)
    qtmodeltester.check(model, force_py=True)
    first = model.row(0)
    assert first is not None and (first.layer is None or first.layer.index == 0)


def test_a_big_directory_is_built_in_a_job(qtbot: object, monkeypatch: pytest.MonkeyPatch,
                                           inspection: Inspection) -> None:
    """The GUI thread never builds a huge directory's rows: a job does, then they appear."""
    monkeypatch.setattr(diff_tree, "BIG_DIRECTORY", 3)
    model = DiffTreeModel()
    model.set_tree(diff_for(inspection, 6, Mode.MERGED))
    etc = model.index_of(b"etc")
    assert model.canFetchMore(etc)
    with qtbot.waitSignal(model.directory_loaded, timeout=10_000):  # type: ignore[attr-defined]
        model.fetchMore(etc)
        assert not model.canFetchMore(etc), "no second job while the first one runs"
    assert model.rowCount(etc) > 3


def test_sorting_by_size_computes_the_sizes_in_a_job(qtbot: object,
                                                     inspection: Inspection) -> None:
    model = DiffTreeModel()
    with qtbot.waitSignal(model.directory_loaded, timeout=10_000):  # type: ignore[attr-defined]
        model.set_tree(diff_for(inspection, 6, Mode.MERGED), sort=SortOrder.SIZE)
    sizes = [model.size_of(model.node(model.index(r, 0))) for r in range(model.rowCount())]
    assert sizes == sorted(sizes, reverse=True) and len(sizes) > 3


def test_a_dragged_layer_row_names_its_archive_image_and_layer(
        inspection: Inspection) -> None:
    from explorer.qt.mime import LayerRef

    model = LayerTableModel()
    model.set_source("/images/web.tar")
    model.set_image(inspection.image)
    row = model.row_of_layer(3)
    mime = model.mimeData([model.index(row, 0)])
    assert mime is not None
    ref = LayerRef.decode(mime)
    assert ref is not None and (ref.path, ref.image, ref.layer) == ("/images/web.tar", 0, 3)
    empty = next(r for r in range(model.rowCount()) if model.data(
        model.index(r, 0), LayerRole) is None)
    assert model.mimeData([model.index(empty, 0)]) is None, "history-only rows don't drag"
