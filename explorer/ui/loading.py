"""Opening, switching between and closing images in the window (a mixin of MainWindow).

Several images can be open at once; each is an ``ImageDoc`` in the Images list.  Loading
signals are bound to their document, so an image that finishes loading in the background
is ready when the user switches to it; only the current document drives the widgets.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtWidgets import QDialog, QListWidgetItem, QMessageBox

from explorer.core.compare import shared_layers
from explorer.core.fs.layer_index import LayerIndex
from explorer.core.fs.union import UnionStack
from explorer.core.humanize import dive_bytes
from explorer.core.image.model import Image, ImageRef
from explorer.core.inspection import Inspection
from explorer.core.limits import DEFAULT_LIMITS, Limits
from explorer.core.tasks import CancelToken, Progress
from explorer.qt.jobs import Job
from explorer.qt.messages import describe, raised_limits
from explorer.qt.session import Session
from explorer.ui.documents import ImageDoc
from explorer.ui.image_picker import ImagePicker


class LoadingMixin:
    """Needs the MainWindow widgets it names (layers, tree, details, image_list, ...)."""

    docs: list[ImageDoc]
    doc: ImageDoc | None

    # ----------------------------------------------------------------- the current image

    @property
    def session(self) -> Session | None:
        return self.doc.session if self.doc is not None else None

    @property
    def inspection(self) -> Inspection | None:
        return self.doc.inspection if self.doc is not None else None

    @property
    def image(self) -> Image | None:
        return self.doc.image if self.doc is not None else None

    @property
    def partial(self) -> Inspection | None:
        return self.doc.partial if self.doc is not None else None

    # ----------------------------------------------------------------- opening

    def open_path(self: Any, path: str, selector: str | None = None,
                  limits: Limits = DEFAULT_LIMITS) -> None:
        """Open an archive or layout folder as one more image (the Images list on the left
        lists them; a click switches)."""
        doc = ImageDoc(path, selector, limits)
        session = Session(path, selector=selector, run_sync=self.run_sync,
                          cache=self.index_cache, limits=limits, parent=self)
        doc.session = session
        self.docs.append(doc)
        item = QListWidgetItem(doc.title)
        item.setToolTip(path)
        self.image_list.addItem(item)
        self._switch(doc)
        session.progress.connect(lambda w, d, t, doc=doc: self._doc_progress(doc, w, d, t))
        session.choose.connect(lambda refs, doc=doc: self._choose_image(doc, refs))
        session.image_ready.connect(lambda image, doc=doc: self._image_ready(doc, image))
        session.layer_indexed.connect(
            lambda layer, index, doc=doc: self._layer_indexed(doc, layer, index))
        session.indexed.connect(lambda ins, doc=doc: self._indexed(doc, ins))
        session.failed.connect(lambda exc, doc=doc: self._doc_failed(doc, exc))
        session.finished.connect(lambda doc=doc: self._finished(doc))
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.status_text.setText(f"Opening {path}…")
        session.start()

    def cancel_loading(self) -> None:
        if self.session is not None:
            self.session.cancel()

    def close_image(self: Any) -> None:
        """Close the current image (the next one in the list is shown)."""
        doc = self.doc
        if doc is None:
            return
        self._drop(doc)
        self.image_shown_doc = None
        nxt = self.docs[-1] if self.docs else None
        self._switch(nxt)

    def close_all(self: Any) -> None:
        while self.docs:
            self._drop(self.docs[-1])
        self._switch(None)

    def _drop(self: Any, doc: ImageDoc) -> None:
        session = doc.session
        doc.session = None
        if session is not None:
            if session.busy:
                session.cancel()
            else:
                session.close()
        if doc.sandbox is not None:
            doc.sandbox.deleteLater()
            doc.sandbox = None
        if doc in self.docs:
            row = self.docs.index(doc)
            self.docs.remove(doc)
            self.image_list.takeItem(row)
        self._update_sharing()

    # ----------------------------------------------------------------- switching

    def _switch(self: Any, doc: ImageDoc | None) -> None:
        """Show ``doc`` (None: the start page), keeping the old one's selection."""
        old = self.doc
        if old is not None and old is not doc and old in self.docs:
            old.layer = self.layers.current_layer()
            old.mode = self.tree.mode
        self.doc = doc
        self.warnings.clear()
        self.warnings_dock.hide()
        if doc is None:
            self.edits.detach()
            self.layers.shared_note.hide()
            self.layers.set_image(None)
            self.tree.set_inspection(None)
            self.details.clear()
            self.preview.show_node(None, 0, None)  # type: ignore[arg-type]
            self.pages.setCurrentWidget(self.start)
            self.status_text.setText("")
            self.setWindowTitle("Layer Explorer")
            self.image_list.setVisible(False)
            return
        row = self.docs.index(doc)
        self.image_list.blockSignals(True)
        self.image_list.setCurrentRow(row)
        self.image_list.blockSignals(False)
        self.image_list.setVisible(len(self.docs) > 1)
        self.setWindowTitle(f"{doc.title} — Layer Explorer")
        self.pages.setCurrentWidget(self.splitter)
        self.tree.set_inspection(None)
        self.details.clear()
        if doc.image is None:
            self.edits.detach()
            self.layers.set_image(None)
            return
        self.layers.model.set_source(doc.path)
        self.layers.set_image(doc.image)
        self.layers.model.set_shared(doc.shared)
        self._show_sharing(doc)
        self.details.show_image(doc.image, doc.inspection)
        if doc.inspection is not None:
            self.edits.use(doc)  # the container layer row, before a layer is selected
        else:
            self.edits.detach()
        layer = doc.layer if doc.layer is not None else len(doc.image.layers) - 1
        self.tree.set_mode(doc.mode)
        self.layers.select_layer(layer)
        if doc.inspection is not None:
            self._render_loaded(doc)

    def _list_row_changed(self, row: int) -> None:
        if 0 <= row < len(self.docs) and self.docs[row] is not self.doc:
            self._switch(self.docs[row])

    # ----------------------------------------------------------------- loading steps

    def _doc_progress(self: Any, doc: ImageDoc, what: str, done: int, total: int) -> None:
        if doc is self.doc:
            self._progress(what, done, total)

    def _choose_image(self: Any, doc: ImageDoc, refs: list[ImageRef]) -> None:
        picker = ImagePicker(refs, os.path.basename(doc.path), self)
        picker.setObjectName("imagePicker")
        self._picker = picker

        def done(result: int) -> None:
            session = doc.session
            if session is None:
                return
            ref = picker.chosen()
            if result == QDialog.DialogCode.Accepted and ref is not None:
                session.select(ref)
            else:
                session.cancel()

        picker.finished.connect(done)
        picker.open()

    def _image_ready(self: Any, doc: ImageDoc, image: Image) -> None:
        if doc not in self.docs:
            return
        doc.image = image
        self.image_list.item(self.docs.index(doc)).setText(doc.title)
        self._update_sharing()
        if doc is self.doc:
            self._switch(doc)
            self.image_shown.emit(image)

    def _layer_indexed(self: Any, doc: ImageDoc, layer: int, index: LayerIndex) -> None:
        """Show the trees of the bottom layers as soon as all layers below them are read
        (their union trees are built in a job: a big layer takes seconds)."""
        if doc not in self.docs or doc.inspection is not None:
            return
        doc.ready[layer] = index
        count = 0
        while count in doc.ready:
            count += 1
        doc.partial_wanted = max(doc.partial_wanted, count)
        self._build_partial(doc)

    def _build_partial(self: Any, doc: ImageDoc) -> None:
        """Start the union trees of the bottom ``partial_wanted`` layers unless a job is at it
        already (then this runs again when it is done) or they are shown already."""
        session = doc.session
        if doc.partial_busy or doc not in self.docs or session is None \
                or session.archive is None or doc.image is None or doc.inspection is not None:
            return
        count = doc.partial_wanted
        if count == 0 or (doc.partial is not None and len(doc.partial.indexes) >= count):
            return
        indexes = [doc.ready[i] for i in range(count)]
        stack = UnionStack(indexes, share=session.union)
        session.union = stack  # the final stack shares these trees
        partial = Inspection(session.archive, doc.image, indexes, stack,
                             dir_sizes=session.dir_sizes)

        def work(_progress: Progress, cancel: CancelToken) -> Inspection:
            # The union trees and the directory sizes the tree shows, off the GUI thread.
            partial.dir_sizes.file_bytes(partial.stack.top.root, cancel)
            return partial

        def ready(result: Inspection) -> None:
            doc.partial_busy = False
            if doc.inspection is not None or doc not in self.docs:
                return
            doc.partial = result
            if doc is self.doc:
                current = self.layers.current_layer()
                if current is not None and current < count and self.tree.inspection is None:
                    self._show_layer(result, current)
                    self.tree.set_inspection(result, current)
            self._build_partial(doc)  # layers read meanwhile

        def idle(*_: object) -> None:
            doc.partial_busy = False

        doc.partial_busy = True
        job = Job(work, name="partial", parent=self)
        job.finished.connect(ready)
        job.failed.connect(idle)
        job.cancelled.connect(idle)
        job.launch(sync=self.run_sync)

    def _indexed(self: Any, doc: ImageDoc, inspection: Inspection) -> None:
        if doc not in self.docs:
            return
        doc.inspection = inspection
        doc.partial = None  # (its trees live on in the inspection's when they are shared)
        doc.ready.clear()
        self._remember(inspection.archive.path)
        self.edits.attach(doc)
        if doc is self.doc:
            self._render_loaded(doc)
        self.loaded.emit(inspection)

    def _render_loaded(self: Any, doc: ImageDoc) -> None:
        inspection = doc.inspection
        assert inspection is not None
        image = inspection.image
        self.layers.set_indexes(image, inspection.indexes)
        self.edits.use(doc)
        layer = self.layers.current_layer()
        if layer is not None and layer < len(inspection.indexes):
            self.tree.set_inspection(inspection, layer)
            self._show_layer(inspection, layer)
        elif layer is not None:
            self.tree.set_inspection(inspection, layer)
        self.details.show_image(image, inspection)
        for text in inspection.warnings:
            self.warnings.addItem(text)
        self.warnings_dock.setVisible(bool(inspection.warnings))
        eff = inspection.efficiency
        self.status_text.setText(
            f"{dive_bytes(eff.size)} · {len(image.layers)} layers · efficiency "
            f"{eff.score * 100:.2f} % · wasted {dive_bytes(eff.wasted)} · reclaimable "
            f"{dive_bytes(eff.reclaimable)}")

    def _doc_failed(self: Any, doc: ImageDoc, exc: BaseException) -> None:
        self._drop(doc)
        if doc is self.doc:
            self._switch(self.docs[-1] if self.docs else None)
        self._failed(exc, doc.path, doc)

    def _failed(self: Any, exc: BaseException, path: str, doc: ImageDoc | None = None) -> None:
        message = describe(exc, path=path)
        self.last_message = message
        self.status_text.setText(message.title)
        box = QMessageBox(QMessageBox.Icon.Warning, message.title, message.text, parent=self)
        box.setObjectName("errorBox")
        box.setDetailedText(message.details)
        retry = raised_limits(exc, doc.limits) if doc is not None else None
        if doc is not None and retry is not None:
            label, limits = retry
            box.addButton(QMessageBox.StandardButton.Close)
            button = box.addButton(label, QMessageBox.ButtonRole.AcceptRole)
            button.setObjectName("raiseLimit")
            button.setToolTip("Only for an archive you trust: the limit guards against "
                              "hostile input.")
            button.clicked.connect(
                lambda _c=False, d=doc, lim=limits: self.open_path(d.path, d.selector, lim))
        self._message_box = box
        box.open()
        self.load_failed.emit(exc)

    def _finished(self: Any, doc: ImageDoc) -> None:
        if doc is self.doc or self.doc is None:
            self.progress.hide()
            self.cancel_button.hide()
        session = doc.session
        if session is not None and session.cancelled and doc in self.docs:
            was_current = doc is self.doc
            self._drop(doc)
            if was_current:
                self._switch(self.docs[-1] if self.docs else None)
            self.status_text.setText("Cancelled.")
        self.idle.emit()

    # ----------------------------------------------------------------- sharing

    def _update_sharing(self: Any) -> None:
        """Mark the layers each open image shares with the others (same chain id)."""
        named = [(d, d.image) for d in self.docs if d.image is not None]
        report = shared_layers([(d.title, image) for d, image in named])
        for (d, image), sharing in zip(named, report.images, strict=True):
            d.shared = {i: sharing.layer_label(i) for i in range(len(image.layers))
                        if sharing.layer_label(i)}
        self.shared_bytes = report.saved_bytes
        if self.doc is not None and self.doc.image is not None:
            self.layers.model.set_shared(self.doc.shared)
            self._show_sharing(self.doc)

    def _show_sharing(self: Any, doc: ImageDoc) -> None:
        """One line under the layer stack: what this image shares, and what it saves."""
        if not doc.shared:
            self.layers.shared_note.hide()
            return
        self.layers.shared_note.setText(
            f"⇄ {len(doc.shared)} layer{'s' if len(doc.shared) != 1 else ''} shared with other "
            f"open images; the open images store {dive_bytes(self.shared_bytes)} once instead "
            "of twice")
        self.layers.shared_note.show()
