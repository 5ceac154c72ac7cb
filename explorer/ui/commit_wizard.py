"""The commit wizard: the container layer becomes a new image file (``docker commit`` +
``docker save``): review, metadata, output, progress with Cancel, summary."""

from __future__ import annotations

import json
import os

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTextBrowser,
    QTreeView,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from explorer.core.archive.compression import Compression
from explorer.core.commit import (
    ChangeError,
    CommitOptions,
    CommitResult,
    change_error,
    commit,
    preview_config,
    reference_error,
)
from explorer.core.fs.diff import DiffKind
from explorer.core.humanize import dive_bytes
from explorer.core.inspection import Inspection
from explorer.core.sandbox import Sandbox
from explorer.core.tasks import CancelToken, Progress
from explorer.qt.jobs import Job
from explorer.qt.messages import describe
from explorer.qt.models.diff_tree import DiffTreeModel

REVIEW, METADATA, OUTPUT, WRITING, SUMMARY = range(5)


def _error_label(parent: QWidget, name: str) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    label.setStyleSheet("color: #c62828;")
    label.setWordWrap(True)
    label.hide()
    return label


class _Review(QWizardPage):
    def __init__(self, wizard: CommitWizard) -> None:
        super().__init__(wizard)
        self.setTitle("Review the new layer")
        sandbox = wizard.sandbox
        summary = sandbox.summary()
        self.setSubTitle(f"{summary.added} added · {summary.modified} modified · "
                         f"{summary.removed} removed · +{dive_bytes(summary.bytes_added)} / "
                         f"−{dive_bytes(summary.bytes_removed)}. The image you opened is "
                         "not changed; a new file is written.")
        self.model = DiffTreeModel(self)
        self.model.set_tree(sandbox.diff(), hidden=frozenset({DiffKind.UNCHANGED}),
                            sizer=wizard.inspection.dir_sizes.size)
        view = QTreeView(self)
        view.setObjectName("reviewTree")
        view.setModel(self.model)
        view.expandToDepth(4)
        view.setColumnWidth(0, 320)
        layout = QVBoxLayout(self)
        layout.addWidget(view)
        if sandbox.is_empty:
            layout.addWidget(QLabel("No file changes: the new image gets an empty history "
                                    "entry (config changes only), like docker commit.", self))


class _Metadata(QWizardPage):
    def __init__(self, wizard: CommitWizard) -> None:
        super().__init__(wizard)
        self.wizard_ = wizard
        self.setTitle("Name and describe the new image")
        self.setSubTitle("As docker commit -m MESSAGE -a AUTHOR -c CHANGE REPOSITORY:TAG.")
        self.tag = QLineEdit(self)
        self.tag.setObjectName("tagEdit")
        self.tag.setPlaceholderText("repository:tag, e.g. tqk/tomcat02:1.0")
        self.tag_error = _error_label(self, "tagError")
        self.message = QLineEdit(self)
        self.message.setObjectName("messageEdit")
        self.author = QLineEdit(self)
        self.author.setObjectName("authorEdit")
        self.changes = QPlainTextEdit(self)
        self.changes.setObjectName("changesEdit")
        self.changes.setPlaceholderText('One per line, e.g.\nCMD ["catalina.sh", "run"]\n'
                                        "ENV JAVA_OPTS=-Xmx512m\nEXPOSE 8443")
        self.changes.setMaximumHeight(90)
        self.changes_error = _error_label(self, "changesError")
        self.preview = QPlainTextEdit(self)
        self.preview.setObjectName("configPreview")
        self.preview.setReadOnly(True)
        form = QFormLayout(self)
        form.addRow("Repository:tag", self.tag)
        form.addRow("", self.tag_error)
        form.addRow("Message (-m)", self.message)
        form.addRow("Author (-a)", self.author)
        form.addRow("Config changes (-c)", self.changes)
        form.addRow("", self.changes_error)
        form.addRow("Resulting config", self.preview)
        for edit in (self.tag, self.message, self.author):
            edit.textChanged.connect(self._validate)
        self.changes.textChanged.connect(self._validate)
        self._validate()

    def change_lines(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in self.changes.toPlainText().splitlines()
                     if line.strip())

    def _validate(self) -> None:
        tag_problem = reference_error(self.tag.text().strip())
        self.tag_error.setText(tag_problem or "")
        self.tag_error.setVisible(bool(tag_problem) and bool(self.tag.text()))
        problems = [f"line {i}: {err}" for i, line in enumerate(self.change_lines(), start=1)
                    if (err := change_error(line))]
        self.changes_error.setText("\n".join(problems))
        self.changes_error.setVisible(bool(problems))
        if not problems:
            try:
                doc = preview_config(self.wizard_.inspection, self.wizard_.sandbox,
                                     self.wizard_.options(self))
                self.preview.setPlainText(json.dumps(doc, indent=2, sort_keys=True))
            except ChangeError as exc:
                self.changes_error.setText(exc.message)
                self.changes_error.show()
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return (reference_error(self.tag.text().strip()) is None
                and not self.changes_error.isVisible())


class _Output(QWizardPage):
    def __init__(self, wizard: CommitWizard) -> None:
        super().__init__(wizard)
        self.setTitle("Where to write it")
        self.path = QLineEdit(self)
        self.path.setObjectName("outputEdit")
        folder = os.path.dirname(os.path.abspath(wizard.inspection.archive.path))
        self.path.setText(os.path.join(folder, "committed.tar"))
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        self.docker = QRadioButton("Docker archive (OCI layout + manifest.json: loads in "
                                   "docker, podman, containerd)", self)
        self.docker.setObjectName("formatDocker")
        self.oci = QRadioButton("OCI archive (skopeo oci-archive:, podman)", self)
        self.oci.setObjectName("formatOci")
        self.docker.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.docker)
        group.addButton(self.oci)
        self.compression = QComboBox(self)
        self.compression.setObjectName("compressionBox")
        for kind in (Compression.NONE, Compression.GZIP, Compression.ZSTD):
            self.compression.addItem(kind.value, kind)
        self.timestamp = QLineEdit(self)
        self.timestamp.setObjectName("timestampEdit")
        self.timestamp.setPlaceholderText("now (or $SOURCE_DATE_EPOCH): seconds since 1970 "
                                          "make the file reproducible")
        self.error = _error_label(self, "outputError")
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("File", row)
        form.addRow("Format", self.docker)
        form.addRow("", self.oci)
        form.addRow("New layer compression", self.compression)
        form.addRow("Timestamp", self.timestamp)
        form.addRow("", self.error)
        self.path.textChanged.connect(self._validate)
        self.timestamp.textChanged.connect(self._validate)
        self._input = os.path.realpath(wizard.inspection.archive.path)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Write the new image to", self.path.text(),
                                              "Image archives (*.tar)")
        if path:
            self.path.setText(path)

    def _validate(self) -> None:
        self.completeChanged.emit()

    def problem(self) -> str | None:
        path = self.path.text().strip()
        if not path:
            return "Choose a file to write."
        if os.path.realpath(path) == self._input:
            return "That is the image you opened: it is never overwritten."
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            return "That folder does not exist."
        stamp = self.timestamp.text().strip()
        if stamp and not stamp.isdigit():
            return "The timestamp is a number of seconds since 1970."
        return None

    def isComplete(self) -> bool:
        problem = self.problem()
        self.error.setText(problem or "")
        self.error.setVisible(bool(problem) and bool(self.path.text()))
        return problem is None


class _Writing(QWizardPage):
    def __init__(self, wizard: CommitWizard) -> None:
        super().__init__(wizard)
        self.wizard_ = wizard
        self.setTitle("Writing the new image")
        self.setSubTitle("Unchanged layers are copied byte for byte; the result is checked "
                         "by reading it back before it is put in place.")
        self.bar = QProgressBar(self)
        self.bar.setObjectName("commitProgress")
        self.status = QLabel(self)
        self.status.setObjectName("commitStatus")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.done = False

    def initializePage(self) -> None:
        self.done = False
        self.wizard_.start_commit(self)

    def isComplete(self) -> bool:
        return self.done


class _Summary(QWizardPage):
    def __init__(self, wizard: CommitWizard) -> None:
        super().__init__(wizard)
        self.wizard_ = wizard
        self.setTitle("The new image is written")
        self.text = QTextBrowser(self)
        self.text.setObjectName("summaryText")
        self.open_button = QPushButton("Open new image", self)
        self.open_button.setObjectName("openNewImage")
        self.open_button.clicked.connect(self._open)
        self.compare_button = QPushButton("Compare with original", self)
        self.compare_button.setObjectName("compareWithOriginal")
        self.compare_button.clicked.connect(self._compare)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.compare_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addLayout(buttons)

    def initializePage(self) -> None:
        result = self.wizard_.result_
        if result is None:
            return
        rows = [f"<tr><td>Image ID</td><td><code>{result.image_id}</code></td></tr>",
                f"<tr><td>Tags</td><td>{', '.join(result.tags) or '<i>none</i>'}</td></tr>",
                f"<tr><td>File</td><td>{result.path} ({dive_bytes(result.archive_size)}, "
                f"{result.format})</td></tr>"]
        for layer in result.layers:
            mark = " <b>(new)</b>" if layer.new else ""
            rows.append(f"<tr><td>Layer {layer.index}{mark}</td><td><code>{layer.digest}"
                        f"</code> · {dive_bytes(layer.size)}</td></tr>")
        self.text.setHtml("<table cellpadding=3>" + "".join(rows) + "</table>")

    def _compare(self) -> None:
        if self.wizard_.result_ is not None:
            self.wizard_.compare_requested.emit(self.wizard_.result_.path)

    def _open(self) -> None:
        self.wizard_.open_requested.emit(self.wizard_.result_.path if self.wizard_.result_
                                         else "")
        self.wizard_.accept()


class CommitWizard(QWizard):
    committed = Signal(object)
    """CommitResult, once the file is written and verified."""
    open_requested = Signal(str)
    compare_requested = Signal(str)
    """The new image's file, to compare with the image it was made from."""

    def __init__(self, inspection: Inspection, sandbox: Sandbox, *, run_sync: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("commitWizard")
        self.setWindowTitle("Commit the container layer")
        self.inspection = inspection
        self.sandbox = sandbox
        self.run_sync = run_sync
        self.job: Job | None = None
        self.result_: CommitResult | None = None
        self.setPage(REVIEW, _Review(self))
        self.metadata = _Metadata(self)
        self.setPage(METADATA, self.metadata)
        self.output = _Output(self)
        self.output.setCommitPage(True)  # past it the file is being written: no way back
        self.output.setButtonText(QWizard.WizardButton.CommitButton, "Commit")
        self.setPage(OUTPUT, self.output)
        self.writing = _Writing(self)
        self.setPage(WRITING, self.writing)
        self.summary_page = _Summary(self)
        self.setPage(SUMMARY, self.summary_page)
        self.resize(820, 640)
        self.rejected.connect(self._cancel)

    def options(self, metadata: _Metadata | None = None) -> CommitOptions:
        metadata = metadata or self.metadata
        output = getattr(self, "output", None)
        stamp = output.timestamp.text().strip() if output is not None else ""
        return CommitOptions(
            tag=metadata.tag.text().strip() or None,
            message=metadata.message.text(),
            author=metadata.author.text(),
            changes=metadata.change_lines(),
            fmt="oci" if output is not None and output.oci.isChecked() else "docker",
            compression=output.compression.currentData() if output is not None
            else Compression.NONE,
            timestamp=int(stamp) if stamp.isdigit() else None,
        )

    def start_commit(self, page: _Writing) -> None:
        inspection, sandbox = self.inspection, self.sandbox
        dest = self.output.path.text().strip()
        options = self.options()
        self.button(QWizard.WizardButton.BackButton).setEnabled(False)

        def work(progress: Progress, cancel: CancelToken) -> CommitResult:
            return commit(inspection, sandbox, dest, options, progress=progress,
                          cancel=cancel)

        job = Job(work, name="commit", parent=self)
        self.job = job

        def progressed(done: int, total: int) -> None:
            page.bar.setRange(0, 1000 if total else 0)
            if total:
                page.bar.setValue(int(done * 1000 / total))
            page.status.setText(f"{dive_bytes(done)} of {dive_bytes(total)}")

        def finished(result: CommitResult) -> None:
            self.job = None
            self.result_ = result
            page.bar.setRange(0, 1)
            page.bar.setValue(1)
            page.status.setText(f"Written and verified: {result.path}")
            page.done = True
            page.completeChanged.emit()
            self.committed.emit(result)

        def failed(exc: BaseException) -> None:
            self.job = None
            message = describe(exc)
            page.status.setText(f"{message.title}: {message.text}")
            self.button(QWizard.WizardButton.BackButton).setEnabled(True)

        job.progress.connect(progressed)
        job.finished.connect(finished)
        job.failed.connect(failed)
        job.cancelled.connect(lambda: page.status.setText("Cancelled: nothing was written."))
        job.launch(sync=self.run_sync)

    def _cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
