"""``layer-explorer diff A[@LAYER] B[@LAYER]``: exit 0 equal, 1 different, 2 bad input."""

from __future__ import annotations

import json

import pytest

from explorer.app.cli import main, split_endpoint, wants_gui
from tests.conftest import corpus_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def gen(name: str) -> str:
    return str(corpus_path("generated", name))


def test_diff_is_a_command_not_the_window() -> None:
    assert not wants_gui(["diff", "a.tar", "b.tar"])


def test_endpoint_layer_suffix() -> None:
    assert split_endpoint("img.tar@3") == ("img.tar", 3)
    assert split_endpoint("img.tar@-1") == ("img.tar", -1)
    assert split_endpoint("dir/me@home.tar") == ("dir/me@home.tar", None)
    assert split_endpoint("img.tar") == ("img.tar", None)


def test_the_same_image_in_two_formats_is_equal(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", gen("mini-webapp.docker.tar"),
                       gen("mini-webapp.oci-zstd.tar"))
    assert code == 0
    assert "Files: 0 added, 0 removed, 0 modified" in out
    assert "Metadata: same" in out and "History: same" in out


def test_removed_docs_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", gen("mini-webapp.docker.tar"),
                       gen("mini-webapp-nodocs.docker.tar"), "--type", "files")
    assert code == 1
    changes = [line for line in out.splitlines() if line[:2] in ("A ", "M ", "D ")]
    assert changes == ["D /usr/local/tomcat/webapps/docs/  (folder, 105 entries; 238 kB)"]
    assert "Metadata" not in out


def test_layers_of_one_image_and_what_changed(capsys: pytest.CaptureFixture[str]) -> None:
    path = gen("mini-webapp.docker.tar")
    code, out, _ = run(capsys, "diff", f"{path}@4", f"{path}@-1", "--type", "files")
    assert code == 1
    assert "M /usr/local/tomcat/conf/tomcat-users.xml  (mode)" in out
    assert "A /usr/local/tomcat/webapps/latest  (-> ROOT; 0 B)" in out
    code, _, _ = run(capsys, "diff", f"{path}@2", f"{path}@2")
    assert code == 0


def test_metadata_only_differences_decide_the_exit_status(
        capsys: pytest.CaptureFixture[str]) -> None:
    a, b = gen("mini-webapp.docker.tar"), gen("mini-webapp-opaque.docker.tar")
    code, out, _ = run(capsys, "diff", a, b, "--type", "metadata")
    assert code == 1
    assert "  + labels.io.buildah.version: 1.28.2" in out
    code, _, _ = run(capsys, "diff", a, b, "--type", "size")  # layers differ too
    assert code == 1
    code, _, _ = run(capsys, "diff", f"{a}@5", f"{b}@5", "--type", "files")  # shared layer
    assert code == 0


def test_json_follows_the_documented_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", gen("mini-webapp.docker.tar"),
                       gen("mini-webapp-nodocs.oci.tar"), "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["schema"] == "layer-explorer/diff/v1"
    assert doc["equal"] is False and doc["types"] == ["files", "metadata", "history", "size"]
    assert doc["a"]["layer"] == 5 and doc["b"]["layers"] == 7
    [change] = doc["files"]["changes"]
    assert change == {"path": "usr/local/tomcat/webapps/docs", "kind": "removed",
                      "changes": [], "type_before": "dir", "type_after": None,
                      "size_before": change["size_before"], "size_after": None,
                      "entries": 105}
    assert doc["files"]["summary"]["removed"] == 106
    assert doc["metadata"] == []
    assert [h["kind"] for h in doc["history"]][-1] == "added"
    assert doc["size"]["shared_prefix"]["layers"] == 6
    assert doc["size"]["layers"][6]["a"] is None and doc["size"]["layers"][6]["shared"] is False


def test_only_layer_and_image_selection(capsys: pytest.CaptureFixture[str]) -> None:
    multi = gen("mini-multi.podman.docker.tar")
    code, out, _ = run(capsys, "diff", f"{multi}@0", f"{multi}@0", "--image-a", "0",
                       "--image-b", "1", "--only-layer", "--type", "files")
    assert code == 0, out
    code, out, _ = run(capsys, "diff", multi, multi, "--image", "1", "--json")
    assert code == 0 and json.loads(out)["equal"] is True


@pytest.mark.parametrize("argv", [
    ["diff", "/no/such.tar", "/no/such.tar"],
    ["diff", "{web}@9", "{web}"],
    ["diff", "{web}", "{web}", "--type", "files,colours"],
    ["diff", "{multi}", "{web}"],
])
def test_bad_input_exits_2_with_one_line(capsys: pytest.CaptureFixture[str],
                                         argv: list[str]) -> None:
    paths = {"web": gen("mini-webapp.docker.tar"), "multi": gen("mini-multi.podman.docker.tar")}
    code, out, err = run(capsys, *(a.format(**paths) for a in argv))
    assert code == 2
    assert err.startswith("layer-explorer: error: ") and err.count("\n") == 1
    assert out == ""
