"""dive's inefficient files, as a lazy table: batches of rows, dive's order, raw paths."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester

from explorer.core.analysis.efficiency import PathUse
from explorer.qt.models import inefficient_files
from explorer.qt.models.inefficient_files import Column, InefficientFilesModel, PathRole

USES = tuple(PathUse(b"/dir/f%d\xff" % i, count=2 + i % 3, size=1000 * (50 - i), min_size=1)
             for i in range(50))


def _model(monkeypatch: pytest.MonkeyPatch, batch: int = 20) -> InefficientFilesModel:
    monkeypatch.setattr(inefficient_files, "BATCH", batch)
    model = InefficientFilesModel()
    model.set_uses(USES)
    return model


def test_it_passes_the_model_tester(qtmodeltester: ModelTester,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked once, then watched while it grows and is reset."""
    model = _model(monkeypatch)
    qtmodeltester.check(model, force_py=True)
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    model.set_uses(USES[:3])
    model.set_uses(())
    assert model.rowCount() == 0 and not model.canFetchMore(QModelIndex())


def test_rows_arrive_in_batches_in_the_order_given(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(monkeypatch)
    assert model.rowCount() == 20 and model.total == 50
    model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 50 and not model.canFetchMore(QModelIndex())
    texts = [model.data(model.index(r, Column.PATH)) for r in range(50)]
    assert texts[0] == "/dir/f0\\xff" and texts[49] == "/dir/f49\\xff"


def test_cells_show_dive_s_figures_and_keep_the_raw_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(monkeypatch)
    row = 1  # f1: 3 copies, 49,000 bytes
    assert model.data(model.index(row, Column.COUNT)) == "3"
    assert model.data(model.index(row, Column.SIZE)) == "49 kB"
    tip = model.data(model.index(row, Column.SIZE), Qt.ItemDataRole.ToolTipRole)
    assert tip == "49,000 bytes in 3 layers"
    assert model.data(model.index(row, Column.PATH), PathRole) == b"dir/f1\xff"
    assert model.path_at(row) == b"dir/f1\xff" and model.path_at(20) is None
    assert model.data(model.index(row, Column.COUNT), Qt.ItemDataRole.TextAlignmentRole)
    assert model.data(model.index(row, Column.PATH),
                      Qt.ItemDataRole.TextAlignmentRole) is None
