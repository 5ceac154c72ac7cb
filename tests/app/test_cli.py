"""The headless CLI: what people type and what they get back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from explorer.app.cli import main
from tests.conftest import corpus_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_prints_config_layers_and_efficiency(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", str(corpus_path("dive", "test-docker-image.tar")))
    assert code == 0
    assert "Image:     dive-test:latest" in out
    assert "Efficiency:        98.4421 %" in out
    assert "Wasted bytes:      32025 (32 kB)" in out
    assert "/root/saved.txt" in out


def test_inspect_json_has_the_documented_schema(capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus_path("generated", "mini-webapp-nodocs.docker.tar")
    code, out, _ = run(capsys, "inspect", str(path), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "layer-explorer/inspect/v1"
    assert set(doc) >= {"archive", "image", "layers", "analysis", "warnings"}
    assert doc["image"]["tags"] == ["docker.io/corpus/mini-webapp-nodocs:latest"]
    assert len(doc["layers"]) == 7
    top = doc["layers"][-1]
    assert top["whiteouts"] == 1 and top["size"] == 0
    assert set(top) >= {"index", "command", "digest", "diff_id", "chain_id", "media_type",
                        "compressed_size", "uncompressed_size", "size"}
    assert 0 < doc["analysis"]["efficiency"] <= 1
    assert doc["analysis"]["reclaimable_bytes"] > 0
    assert doc["image"]["history"][-1]["comment"]  # docker-commit style comment kept


def test_layer_tree_marks_the_removed_docs_dir(capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus_path("generated", "mini-webapp-nodocs.docker.tar")
    code, out, _ = run(capsys, "inspect", str(path), "--layer", "-1", "--tree")
    assert code == 0
    removed = [line for line in out.splitlines() if line.startswith("D ")]
    assert removed and removed[0].endswith("docs (whiteout)")
    assert "Changes:        0 added, 4 modified" in out


def test_layer_json_lists_changes(capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus_path("generated", "mini-webapp-opaque.docker.tar")
    code, out, _ = run(capsys, "inspect", str(path), "--layer", "6", "--json")
    assert code == 0
    changes = {c["path"]: c for c in json.loads(out)["changes"]}
    assert changes["usr/local/tomcat/webapps/examples/jsp"]["cause"] == "opaque"
    assert changes["usr/local/tomcat/webapps/examples/index.html"]["kind"] == "modified"


def test_ls_lists_the_merged_filesystem_like_tar_tv(capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus_path("generated", "mini-webapp.docker.tar")
    code, out, _ = run(capsys, "ls", str(path))
    assert code == 0
    lines = out.splitlines()
    assert any(line.startswith("-rwsr-xr-x 0/0") and line.endswith("bin/jsvc-helper")
               for line in lines)
    assert any(line.endswith("webapps/latest -> ROOT") for line in lines)
    assert any(line.startswith("drwxrwxrwt 999/999") for line in lines)
    code, out, _ = run(capsys, "ls", str(path), "--json")
    paths = [e["path"].encode() for e in json.loads(out)]
    assert paths == sorted(paths, key=lambda p: p.split(b"/"))  # sorted by path, parents first


def test_ls_json_at_a_lower_layer(capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus_path("generated", "mini-webapp-nodocs.docker.tar")
    code, out, _ = run(capsys, "ls", str(path), "--layer", "5", "--json")
    assert code == 0
    entries = {e["path"]: e for e in json.loads(out)}
    assert "usr/local/tomcat/webapps/docs" in entries
    code, out, _ = run(capsys, "ls", str(path), "--json")
    assert "usr/local/tomcat/webapps/docs" not in {e["path"] for e in json.loads(out)}


def test_ci_passes_and_fails_with_dives_exit_codes(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(corpus_path("dive", "test-docker-image.tar"))
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "ci", path)
    assert code == 1 and "FAIL: highestUserWastedPercent" in out
    (tmp_path / ".dive-ci").write_text(
        "rules:\n  lowestEfficiency: 0.95\n  highestUserWastedPercent: disabled\n")
    code, out, _ = run(capsys, "ci", path)
    assert code == 0
    assert "Using CI config: .dive-ci" in out
    assert "SKIP: highestUserWastedPercent: rule disabled" in out
    code, out, _ = run(capsys, "ci", path, "--highest-wasted-bytes", "20kB")
    assert code == 1 and "wasted-bytes=32025 > threshold=20000" in out
    code, out, _ = run(capsys, "ci", path, "--lowest-efficiency", "1.5")
    assert code == 1 and "CI Misconfigured" in out


def test_bad_input_is_one_line_on_stderr_with_exit_2(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    code, out, err = run(capsys, "inspect", str(corpus_path("dive", "test-gzip-image.tar")))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("layer-explorer: error: ")
    missing = tmp_path / "nope.tar"
    code, _, err = run(capsys, "inspect", str(missing))
    assert code == 2 and "Cannot read" in err


def test_multi_image_archive_needs_a_choice(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(corpus_path("generated", "mini-multi.podman.docker.tar"))
    code, _, err = run(capsys, "inspect", path)
    assert code == 2 and "holds 4 images" in err and "--image" in err
    code, out, _ = run(capsys, "inspect", path, "--image", "corpus/mini-webapp-opaque")
    assert code == 0 and "* 3: docker.io/corpus/mini-webapp-opaque:latest" in out


def test_layer_out_of_range_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(corpus_path("generated", "mini-base.docker.tar"))
    code, _, err = run(capsys, "inspect", path, "--layer", "5")
    assert code == 2 and "the image has 1 layers" in err


def test_safety_limits_can_be_changed_per_run(capsys: pytest.CaptureFixture[str]) -> None:
    image = str(corpus_path("generated", "mini-webapp.docker.tar"))
    code, _, err = run(capsys, "inspect", image, "--limit", "entries_per_layer=10")
    assert code == 2 and "(entries_per_layer)" in err
    code, _, _ = run(capsys, "ci", image, "--limit", "entries_per_layer=5_000_000",
                     "--limit", "path_bytes=8192")
    assert code in (0, 1)
    code, _, err = run(capsys, "ls", image, "--limit", "no_such_limit=1")
    assert code == 2 and "entries_per_layer" in err, "the message lists the names"
    code, _, err = run(capsys, "inspect", image, "--limit", "path_bytes=lots")
    assert code == 2 and "whole number" in err
