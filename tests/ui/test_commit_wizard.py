"""The tomcat story through the wizard: delete webapps/docs, commit as tqk/tomcat02:1.0,
open the new image: docs gone, the original file byte-identical."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from explorer.core.errors import Cancelled
from explorer.core.inspection import inspect_path
from explorer.ui import commit_wizard as cw
from explorer.ui.main_window import MainWindow
from explorer.ui.tree_panel import Mode

DOCS = b"usr/local/tomcat/webapps/docs"


def _open_demo(window: MainWindow, qtbot: QtBot, tmp_path: Path) -> str:
    from explorer.core.demo import build_demo

    demo = str(tmp_path / "demo.tar")
    build_demo(demo)
    with qtbot.waitSignal(window.loaded, timeout=30_000):
        window.open_path(demo)
    return demo


def test_the_tomcat_story(window: MainWindow, qtbot: QtBot, tmp_path: Path) -> None:
    demo = _open_demo(window, qtbot, tmp_path)
    before = hashlib.sha256(Path(demo).read_bytes()).hexdigest()
    window.tree.set_mode(Mode.MERGED)
    assert window.tree.select_path(DOCS)
    window.edits.delete_selected()
    wizard = window.edits.open_wizard()
    assert wizard is not None
    assert wizard.currentId() == cw.REVIEW
    assert "1 removed" in wizard.currentPage().subTitle() or "removed" in \
        wizard.currentPage().subTitle()
    wizard.next()
    meta = wizard.metadata
    meta.tag.setText("Not A Valid:Tag!")
    assert not meta.isComplete() and meta.tag_error.isVisible()
    meta.tag.setText("tqk/tomcat02:1.0")
    meta.message.setText("no docs")
    meta.author.setText("tqk")
    meta.changes.setPlainText("CMD [\"catalina.sh\", \"run\"]\nBOGUS thing")
    assert not meta.isComplete() and "line 2" in meta.changes_error.text()
    meta.changes.setPlainText('ENV DOCS=gone')
    assert meta.isComplete()
    assert '"DOCS=gone"' in meta.preview.toPlainText()
    wizard.next()
    out = tmp_path / "tomcat02.tar"
    wizard.output.path.setText(demo)
    assert not wizard.output.isComplete(), "never over the input"
    wizard.output.path.setText(str(out))
    wizard.output.timestamp.setText("1700000000")
    with qtbot.waitSignal(wizard.committed, timeout=60_000):
        wizard.next()
    assert wizard.currentId() == cw.WRITING and wizard.writing.isComplete()
    wizard.next()
    assert wizard.currentId() == cw.SUMMARY
    assert "tqk/tomcat02:1.0" in wizard.summary_page.text.toPlainText()
    wizard.summary_page.compare_button.click()  # the original (A) against the new image (B)
    compare = window.compare_window
    assert compare is not None
    qtbot.waitUntil(lambda: compare.comparison is not None, timeout=60_000)
    node = compare.model.node(compare.model.index_of(DOCS))
    assert node is not None and node.kind.value == "removed"
    compare.close()
    with qtbot.waitSignal(window.loaded, timeout=30_000):
        wizard.summary_page.open_button.click()
    assert window.inspection is not None
    assert window.inspection.merged().get(DOCS) is None, "docs gone in the new image"
    assert window.inspection.image.tags[0].endswith("tqk/tomcat02:1.0")
    assert hashlib.sha256(Path(demo).read_bytes()).hexdigest() == before
    with inspect_path(demo) as original:
        assert original.merged().get(DOCS) is not None, "the original still has them"


def test_closing_the_wizard_while_writing_cancels_the_commit(
        window: MainWindow, qtbot: QtBot, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancel reaches the core's commit (which then leaves no file: tests/core/test_commit)."""
    seen: list[str] = []

    def slow_commit(_ins, _sb, _dest, _options, *, progress, cancel):  # type: ignore[no-untyped-def]
        while not cancel.cancelled:
            time.sleep(0.01)
        seen.append("cancelled")
        raise Cancelled("commit cancelled")

    monkeypatch.setattr(cw, "commit", slow_commit)
    _open_demo(window, qtbot, tmp_path)
    window.tree.set_mode(Mode.MERGED)
    window.tree.select_path(DOCS)
    window.edits.delete_selected()
    assert window.inspection is not None and window.edits.session is not None
    wizard = cw.CommitWizard(window.inspection, window.edits.session.sandbox, run_sync=False,
                             parent=window)
    wizard.show()
    wizard.next()
    wizard.metadata.tag.setText("tqk/tomcat02:1.0")
    wizard.next()
    wizard.output.path.setText(str(tmp_path / "never.tar"))
    wizard.next()  # starts writing in the background
    job = wizard.job
    assert job is not None and not wizard.writing.isComplete()
    with qtbot.waitSignal(job.cancelled, timeout=30_000):
        wizard.reject()
    assert seen == ["cancelled"]
    assert "nothing was written" in wizard.writing.status.text()
