"""Specification of sandbox session files: saved next to the user's data, reopened checked."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from explorer.core.errors import FormatError, SandboxError
from explorer.core.inspection import Inspection
from explorer.core.sandbox import (
    Sandbox,
    load_sandbox,
    sandbox_document,
    save_sandbox,
    snapshot_host,
)
from tests.core.test_sandbox import T, host, image, sandbox

__all__ = ["host", "image", "sandbox"]


@pytest.fixture
def edited(sandbox: Sandbox, host: Path) -> Sandbox:
    odd = host / os.fsdecode(b"caf\xe9.txt")  # a name that is not UTF-8
    odd.write_bytes(b"latin-1")
    return (sandbox.delete("srv/data").mkdir("opt", mtime=T)
            .add(snapshot_host(host), "/opt/bundle")
            .replace("etc/passwd", snapshot_host(host / "hello.txt")))


def test_a_session_round_trips_exactly(edited: Sandbox, image: Inspection,
                                       tmp_path: Path) -> None:
    where = tmp_path / "data" / "session.json"
    where.parent.mkdir()
    save_sandbox(edited, where)
    again = load_sandbox(where, image.merged(), image_id=str(image.image.id))
    assert sandbox_document(again) == sandbox_document(edited)
    assert again.layer() == edited.layer()
    assert b"opt/bundle/caf\xe9.txt" in again.added
    doc = json.loads(where.read_text())
    assert doc["schema"] == "layer-explorer/sandbox/v1" and doc["image"] == str(image.image.id)
    assert "latin-1" not in where.read_text()  # hashes and host paths, never contents


def test_a_session_of_another_image_is_refused(edited: Sandbox, image: Inspection,
                                               tmp_path: Path) -> None:
    save_sandbox(edited, tmp_path / "s.json")
    with pytest.raises(SandboxError, match="belongs to image"):
        load_sandbox(tmp_path / "s.json", image.merged(), image_id="sha256:" + "0" * 64)


@pytest.mark.parametrize(("edit", "refusal"), [
    (lambda d: d.update(schema="other"), (FormatError, "not a Layer Explorer sandbox")),
    (lambda d: d["deleted"].append("no/such/path"), (SandboxError, "not in the image")),
    (lambda d: d["deleted"].append("../etc"), (FormatError, "'..'")),
    (lambda d: d["added"][0].update(path="nowhere/x"), (SandboxError, "not a folder there")),
    (lambda d: d["added"][0].update(type="fifo"), (FormatError, "file, dir or symlink")),
    (lambda d: d["added"][0].update(mode=-1), (FormatError, "non-negative")),
])
def test_a_damaged_session_is_refused(edited: Sandbox, image: Inspection, tmp_path: Path,
                                      edit: object, refusal: tuple[type[Exception], str]
                                      ) -> None:
    doc = sandbox_document(edited)
    edit(doc)  # type: ignore[operator]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    error, match = refusal
    with pytest.raises(error, match=match):
        load_sandbox(path, image.merged())


def test_not_json_is_a_format_error(image: Inspection, tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text("{not json")
    with pytest.raises(FormatError, match="not valid JSON"):
        load_sandbox(tmp_path / "s.json", image.merged())
