"""What a commit is told: repository:tag names (Docker's reference grammar, with messages for
a form) and ``docker commit --change`` lines (Dockerfile syntax)."""

from __future__ import annotations

import re

import pytest

from explorer.core.commit import (
    ChangeError,
    apply_changes,
    change_error,
    commit_time,
    normalize_reference,
    parse_change,
    reference_error,
)
from explorer.core.errors import CommitError

BASE = {"Env": ["PATH=/usr/bin:/bin", "HOME=/root"], "Cmd": ["sh"], "WorkingDir": "/srv",
        "ExposedPorts": {"80/tcp": {}}, "Labels": {"b": "1"}}


def apply(*lines: str, config: dict[str, object] | None = None) -> dict[str, object]:
    return apply_changes(BASE if config is None else config, [parse_change(x) for x in lines])


class TestReferences:
    @pytest.mark.parametrize(("name", "familiar"), [
        ("tqk/tomcat02:1.0", "tqk/tomcat02:1.0"),
        ("app", "app:latest"),
        ("docker.io/library/app:1", "app:1"),
        ("localhost:5000/team/app:v1.2-rc_3", "localhost:5000/team/app:v1.2-rc_3"),
        ("registry.example.com/a__b/c-d.e:TAG", "registry.example.com/a__b/c-d.e:TAG"),
    ])
    def test_valid_names_are_accepted_and_normalised_as_docker_save_writes_them(
        self, name: str, familiar: str
    ) -> None:
        assert reference_error(name) is None
        assert normalize_reference(name) == familiar

    @pytest.mark.parametrize(("name", "message"), [
        ("", "Enter a name such as tqk/tomcat02:1.0"),
        ("tqk/tomcat 02:1", "cannot contain spaces"),
        ("app@sha256:" + "a" * 64, "digest"),
        ("app:", "tag after ':' is empty"),
        ("app:-rc", "must not start with '.' or '-'"),
        ("app:" + "t" * 129, "at most 128"),
        ("Tomcat:1", "must be lowercase ('Tomcat')"),
        ("tqk//tomcat", "empty part"),
        ("tqk/tomcat-:1", "not a valid name part"),
        ("bad_host:5000/app:1", "not a valid registry host"),
        ("a" * 64, "64 hexadecimal digits"),
        ("x/" + "a" * 300, "longer than 255"),
    ])
    def test_invalid_names_get_a_message_naming_the_problem(self, name: str,
                                                            message: str) -> None:
        error = reference_error(name)
        assert error is not None and message in error
        with pytest.raises(ValueError, match=re.escape(error)):
            normalize_reference(name)


class TestChanges:
    def test_cmd_and_entrypoint_take_the_json_or_the_shell_form(self) -> None:
        assert apply('CMD ["catalina.sh", "run"]')["Cmd"] == ["catalina.sh", "run"]
        assert apply("cmd catalina.sh run")["Cmd"] == ["/bin/sh", "-c", "catalina.sh run"]
        assert apply("CMD [not json")["Cmd"] == ["/bin/sh", "-c", "[not json"]
        shell = apply("CMD echo hi", config={"Shell": ["/bin/bash", "-lc"]})
        assert shell["Cmd"] == ["/bin/bash", "-lc", "echo hi"]

    def test_entrypoint_clears_an_inherited_cmd_unless_cmd_came_first(self) -> None:
        assert apply('ENTRYPOINT ["tini", "--"]')["Cmd"] is None
        both = apply('CMD ["run"]', 'ENTRYPOINT ["tini"]')
        assert (both["Entrypoint"], both["Cmd"]) == (["tini"], ["run"])

    def test_env_sets_in_place_or_appends_and_expands_the_previous_values(self) -> None:
        env = apply("ENV PATH=$PATH:/opt/bin NEW=\"a b\" SEE=$NEW", "ENV LEGACY value with spaces",
                    "ENV X=${UNSET:-fallback} Y=${HOME:+set}")["Env"]
        assert env == ["PATH=/usr/bin:/bin:/opt/bin", "HOME=/root", "NEW=a b", "SEE=",
                       "LEGACY=value with spaces", "X=fallback", "Y=set"]

    def test_quotes_and_escapes_follow_dockerfile_rules(self) -> None:
        labels = apply(r"""LABEL a='$HOME' b="$HOME" c=$HOME d=esc\ aped e=say\"hi\" """
                       r"""f="x y" g='it''s'""")["Labels"]
        assert labels == {"a": "$HOME", "b": "/root", "c": "/root", "d": "esc aped",
                          "e": 'say"hi"', "f": "x y", "g": "its"}  # b replaced the base's

    def test_labels_ports_and_volumes_are_objects_with_sorted_keys(self) -> None:
        out = apply("LABEL z=1 a=2", "EXPOSE 8080 53/udp 9000-9001/TCP", "VOLUME /data",
                    'VOLUME ["/logs"]')
        assert list(out["Labels"]) == ["a", "b", "z"]  # type: ignore[arg-type]
        assert list(out["ExposedPorts"]) == [  # type: ignore[arg-type]
            "53/udp", "80/tcp", "8080/tcp", "9000/tcp", "9001/tcp"]
        assert out["Volumes"] == {"/data": {}, "/logs": {}}

    def test_workdir_user_and_stopsignal(self) -> None:
        out = apply("WORKDIR app/../web", "USER 1000:1000", "STOPSIGNAL SIGQUIT")
        assert (out["WorkingDir"], out["User"], out["StopSignal"]) == (
            "/srv/web", "1000:1000", "SIGQUIT")
        assert apply("WORKDIR /abs")["WorkingDir"] == "/abs"

    def test_the_base_config_is_not_modified(self) -> None:
        before = repr(BASE)
        apply("ENV A=1", "LABEL c=3", "EXPOSE 1")
        assert repr(BASE) == before

    @pytest.mark.parametrize(("line", "message"), [
        ("RUN apt-get update", "RUN cannot be changed by a commit"),
        ("", "Empty change"),
        ("CMD", "CMD needs an argument"),
        ("ENV A", "needs a value"),
        ("ENV A=1 B", "is not key=value"),
        ("ENV =x", "cannot be empty"),
        ("EXPOSE http", "is not a port"),
        ("EXPOSE 70000", "between 1 and 65535"),
        ("USER a b", "exactly one argument"),
        ('LABEL a="open', "Unterminated"),
        ("ENV A=${B", "Missing '}'"),
    ])
    def test_bad_lines_are_refused_with_a_message(self, line: str, message: str) -> None:
        assert message in (change_error(line) or "")
        with pytest.raises(ChangeError):
            parse_change(line)


class TestTimestamps:
    def test_explicit_then_source_date_epoch_then_now(self,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
        assert commit_time(0) == (0, "1970-01-01T00:00:00Z")
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        assert commit_time() == (1_700_000_000, "2023-11-14T22:13:20Z")
        assert commit_time(86400)[1] == "1970-01-02T00:00:00Z"
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
        with pytest.raises(CommitError, match="SOURCE_DATE_EPOCH"):
            commit_time()
        monkeypatch.delenv("SOURCE_DATE_EPOCH")
        seconds, text = commit_time()
        assert seconds > 1_700_000_000 and text.endswith("Z")
