"""``layer-explorer commit``: the tomcat story from a terminal, and its errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from explorer.app.cli import main, wants_gui
from explorer.core.demo import build_demo
from explorer.core.inspection import inspect_path

DOCS = "/usr/local/tomcat/webapps/docs"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("in") / "demo.tar"
    build_demo(path)
    return path


@pytest.fixture
def host(tmp_path: Path) -> Path:
    folder = tmp_path / "host" / "extra"
    folder.mkdir(parents=True)
    (folder / "README").write_bytes(b"added from the host\n")
    return folder


def test_commit_is_a_command_not_a_window() -> None:
    assert not wants_gui(["commit", "x.tar"])


def test_the_tomcat_story(capsys: pytest.CaptureFixture[str], demo: Path, tmp_path: Path,
                          host: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    before = hashlib.sha256(demo.read_bytes()).hexdigest()
    out_path = tmp_path / "tomcat02.tar"
    code, out, err = run(capsys, "commit", str(demo), "--delete", DOCS,
                         "--add", f"{host}:/usr/local/tomcat/", "--add",
                         f"{host / 'README'}:/usr/local/tomcat/README.host",
                         "-m", "del tomcat docs", "-a", "tqk",
                         "-c", 'CMD ["catalina.sh", "run"]', "-c", "ENV DOCS=none",
                         "-t", "tqk/tomcat02:1.0", "-o", str(out_path))
    assert (code, err) == (0, "")
    assert "Tag:       tqk/tomcat02:1.0" in out and "Verified:" in out
    assert hashlib.sha256(demo.read_bytes()).hexdigest() == before
    with inspect_path(str(out_path)) as new:
        top = new.merged()
        assert top.get(DOCS[1:].encode()) is None
        assert top.get(b"usr/local/tomcat/extra/README") is not None  # into the folder
        assert top.get(b"usr/local/tomcat/README.host") is not None  # as the new name
        assert new.image.config.cmd == ("catalina.sh", "run")
        assert "DOCS=none" in new.image.config.env
        last = new.image.config.history[-1]
        assert (last.author, last.comment, last.created) == ("tqk", "del tomcat docs",
                                                            "2023-11-14T22:13:20Z")
    code, out, _ = run(capsys, "inspect", str(out_path), "--json")
    assert json.loads(out)["image"]["tags"] == ["tqk/tomcat02:1.0"]


def test_oci_output_with_a_zstd_layer(capsys: pytest.CaptureFixture[str], demo: Path,
                                      tmp_path: Path) -> None:
    out_path = tmp_path / "o.tar"
    code, _out, _err = run(capsys, "commit", str(demo), "--delete", DOCS, "-t", "a/b:c",
                           "-o", str(out_path), "--format", "oci", "--compression", "zstd")
    assert code == 0
    with inspect_path(str(out_path)) as new:
        assert new.archive.format.startswith("OCI archive")
        assert new.image.layers[-1].media_type.endswith("tar+zstd")


@pytest.mark.parametrize(("args", "message"), [
    (["--delete", "/no/such/file"], "not in the container's filesystem"),
    (["--delete", "/etc/../etc/passwd"], "'..'"),
    (["--add", "nocolon"], "expected SRC:DEST"),
    (["--add", "/definitely/missing:/tmp/"], "Cannot read /definitely/missing"),
    (["-c", "RUN rm -rf /"], "RUN cannot be changed by a commit"),
    (["-t", "Upper/case:1"], None),  # a registry host may have capitals: accepted
    (["-t", "Upper/Case:1"], "must be lowercase ('Case')"),
    (["-t", "app:bad tag"], "cannot contain spaces"),
])
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    capsys: pytest.CaptureFixture[str], demo: Path, tmp_path: Path, args: list[str],
    message: str | None
) -> None:
    argv = ["commit", str(demo), "-t", "a:1", "-o", str(tmp_path / "o.tar"), *args]
    code, _out, err = run(capsys, *argv)
    if message is None:
        assert code == 0
        return
    assert code == 2
    assert err.startswith("layer-explorer: error: ") and message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "o.tar").exists()


def test_refuses_to_write_over_its_input(capsys: pytest.CaptureFixture[str], demo: Path
                                         ) -> None:
    before = demo.read_bytes()
    code, _out, err = run(capsys, "commit", str(demo), "--delete", DOCS, "-t", "a:1",
                          "-o", str(demo))
    assert code == 2 and "input" in err
    assert demo.read_bytes() == before


def test_tag_and_output_are_required(capsys: pytest.CaptureFixture[str], demo: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["commit", str(demo), "--delete", DOCS])
    assert exc.value.code == 2
    assert "-t/--tag" in capsys.readouterr().err
