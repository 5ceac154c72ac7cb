"""``docker commit --change`` instructions, parsed and applied to an image config.

Supported as docker commit supports them: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL,
USER, VOLUME, WORKDIR, written as Dockerfile lines (keyword case-insensitive).  CMD,
ENTRYPOINT and VOLUME take the JSON-array form (``CMD ["catalina.sh", "run"]``) or the shell
form (``CMD catalina.sh run`` becomes ``["/bin/sh", "-c", "catalina.sh run"]``, or the
config's ``Shell``).  ENV and LABEL take ``key=value ...`` (quotes and backslashes as in a
Dockerfile) or the legacy ``ENV key value``.  Values of ENV, LABEL, EXPOSE, USER, VOLUME
(shell form), WORKDIR and STOPSIGNAL expand ``$VAR``, ``${VAR}``, ``${VAR:-word}`` and
``${VAR:+word}`` from the environment as set so far, as BuildKit's shell lexer does.  As in
a Dockerfile, ENTRYPOINT clears an inherited CMD unless a CMD came earlier in the changes.
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from explorer.core.errors import ExplorerError

SUPPORTED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME",
             "WORKDIR")
DEFAULT_SHELL = ("/bin/sh", "-c")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PORT = re.compile(r"(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?", re.IGNORECASE)
MAX_PORT_RANGE = 65535


class ChangeError(ExplorerError):
    """A --change instruction that cannot be applied (message names the instruction)."""


@dataclass(frozen=True)
class ConfigChange:
    """One parsed instruction: ``keyword`` upper-case, ``rest`` the raw text after it."""

    keyword: str
    rest: str
    text: str

    @property
    def json_args(self) -> list[str] | None:
        """The JSON-array form's strings, or None for the shell form (Docker falls back to
        the shell form when the text is not a JSON array of strings)."""
        if not self.rest.startswith("["):
            return None
        try:
            value = json.loads(self.rest)
        except ValueError:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        return None


def parse_change(text: str) -> ConfigChange:
    """Parse one ``--change`` line; raises ChangeError naming what is wrong."""
    line = text.strip()
    m = re.match(r"(\S*)\s*(.*)", line, re.DOTALL)
    assert m is not None
    keyword, rest = m.group(1).upper(), m.group(2).strip()
    if not keyword:
        raise ChangeError("Empty change: write a Dockerfile instruction such as "
                          "'CMD [\"catalina.sh\", \"run\"]'.")
    if keyword not in SUPPORTED:
        raise ChangeError(f"{keyword} cannot be changed by a commit; docker commit --change "
                          f"supports {', '.join(SUPPORTED)}.")
    if not rest:
        raise ChangeError(f"{keyword} needs an argument.")
    change = ConfigChange(keyword, rest, line)
    apply_changes({}, [change])  # the syntax errors show now, not halfway through a commit
    return change


def change_error(text: str) -> str | None:
    """For a form: why ``text`` is not a valid change, or None."""
    try:
        parse_change(text)
    except ChangeError as exc:
        return exc.message
    return None


# ------------------------------------------------------------------ Dockerfile words


def split_words(text: str) -> list[str]:
    """Split on unquoted whitespace, keeping quotes and escapes for :func:`expand`."""
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    in_word = False
    i = 0
    while i < len(text):
        ch = text[i]
        if not quote and ch.isspace():
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
            i += 1
            continue
        in_word = True
        if ch == "\\" and quote != "'" and i + 1 < len(text):
            cur += [ch, text[i + 1]]
            i += 2
            continue
        if not quote and ch in "'\"":
            quote = ch
        elif quote == ch:
            quote = ""
        cur.append(ch)
        i += 1
    if quote:
        raise ChangeError(f"Unterminated {quote} quote in {text!r}.")
    if in_word:
        words.append("".join(cur))
    return words


def _variable(word: str, i: int, env: dict[str, str]) -> tuple[str, int]:
    """Expand the ``$...`` starting at ``word[i]``; returns (text, index after it)."""
    if i + 1 < len(word) and word[i + 1] == "{":
        end = word.find("}", i + 2)
        if end < 0:
            raise ChangeError(f"Missing '}}' in {word!r}.")
        body = word[i + 2:end]
        m = _NAME.match(body)
        if not m:
            raise ChangeError(f"Bad substitution ${{{body}}}.")
        name, modifier = m.group(), body[m.end():]
        value = env.get(name)
        if not modifier:
            return value or "", end + 1
        for op in (":-", ":+", "-", "+"):
            if modifier.startswith(op):
                arg = expand(modifier[len(op):], env)
                is_set = value is not None and (value != "" or ":" not in op)
                if op.endswith("-"):
                    return (value or "") if is_set else arg, end + 1
                return arg if is_set else "", end + 1
        raise ChangeError(f"Unsupported substitution ${{{body}}}.")
    m = _NAME.match(word, i + 1)
    if not m:
        return "$", i + 1
    return env.get(m.group(), ""), m.end()


def expand(word: str, env: dict[str, str]) -> str:
    """Remove quotes and escapes and expand variables, as a Dockerfile does for one word."""
    out: list[str] = []
    i = 0
    while i < len(word):
        ch = word[i]
        if ch == "'":
            end = word.find("'", i + 1)
            if end < 0:
                raise ChangeError(f"Unterminated ' quote in {word!r}.")
            out.append(word[i + 1:end])
            i = end + 1
        elif ch == '"':
            i += 1
            while i < len(word) and word[i] != '"':
                c = word[i]
                if c == "\\" and i + 1 < len(word) and word[i + 1] in '"\\$`':
                    out.append(word[i + 1])
                    i += 2
                elif c == "$":
                    text, i = _variable(word, i, env)
                    out.append(text)
                else:
                    out.append(c)
                    i += 1
            if i >= len(word):
                raise ChangeError(f'Unterminated " quote in {word!r}.')
            i += 1
        elif ch == "\\":
            out.append(word[i + 1] if i + 1 < len(word) else "\\")
            i += 2
        elif ch == "$":
            text, i = _variable(word, i, env)
            out.append(text)
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _pairs(change: ConfigChange, env: dict[str, str]) -> list[tuple[str, str]]:
    words = split_words(change.rest)
    if "=" not in words[0]:  # legacy "ENV key value with spaces"
        if len(words) < 2:
            raise ChangeError(f"{change.keyword} {words[0]} needs a value ({change.keyword} "
                              "key=value).")
        key = words[0]
        value = change.rest[len(key):].strip()
        return [(expand(key, env), expand(value, env))]
    pairs = []
    for word in words:
        if "=" not in word:
            raise ChangeError(f"{change.keyword}: {word!r} is not key=value (write every "
                              "pair as key=value).")
        key, _, value = word.partition("=")
        key = expand(key, env)
        if not key:
            raise ChangeError(f"{change.keyword}: a name cannot be empty.")
        pairs.append((key, expand(value, env)))
    return pairs


# ------------------------------------------------------------------ applying


def _env_dict(env: list[str]) -> dict[str, str]:
    out = {}
    for item in env:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def _ports(spec: str) -> list[str]:
    m = _PORT.fullmatch(spec)
    if not m:
        raise ChangeError(f"EXPOSE: {spec!r} is not a port (80, 80/tcp, 53/udp, "
                          "8000-8010).")
    first = int(m.group(1))
    last = int(m.group(2) or first)
    proto = (m.group(3) or "tcp").lower()
    if not 0 < first <= last <= MAX_PORT_RANGE:
        raise ChangeError(f"EXPOSE: {spec!r} is not a port range between 1 and 65535.")
    return [f"{p}/{proto}" for p in range(first, last + 1)]


def _single(change: ConfigChange, env: dict[str, str]) -> str:
    words = split_words(change.rest)
    if len(words) != 1:
        raise ChangeError(f"{change.keyword} takes exactly one argument, not "
                          f"{change.rest!r}.")
    value = expand(words[0], env)
    if not value:
        raise ChangeError(f"{change.keyword} cannot be empty.")
    return value


def _sorted_map(section: dict[str, Any], key: str, new: dict[str, Any]) -> None:
    """Update a JSON object that Go writes from a map (keys sorted)."""
    merged = dict(section.get(key) or {})
    merged.update(new)
    section[key] = dict(sorted(merged.items()))


def apply_changes(config: dict[str, Any], changes: Sequence[ConfigChange]) -> dict[str, Any]:
    """A copy of a config's ``config`` object with ``changes`` applied in order.

    Raises ChangeError.
    """
    section = copy.deepcopy(config)
    cmd_set = False
    for change in changes:
        env = _env_dict([str(e) for e in section.get("Env") or []])
        k = change.keyword
        if k in ("CMD", "ENTRYPOINT"):
            args = change.json_args
            if args is None:
                shell = section.get("Shell") or list(DEFAULT_SHELL)
                args = [*shell, change.rest]
            section["Cmd" if k == "CMD" else "Entrypoint"] = args
            if k == "CMD":
                cmd_set = True
            elif not cmd_set:
                section["Cmd"] = None
        elif k == "ENV":
            items = [str(e) for e in section.get("Env") or []]
            for key, value in _pairs(change, env):
                entry = f"{key}={value}"
                where = next((i for i, e in enumerate(items) if e.partition("=")[0] == key),
                             None)
                if where is None:
                    items.append(entry)
                else:
                    items[where] = entry
                env[key] = value
            section["Env"] = items
        elif k == "LABEL":
            _sorted_map(section, "Labels", dict(_pairs(change, env)))
        elif k == "EXPOSE":
            ports = [p for word in split_words(change.rest) for p in _ports(expand(word, env))]
            _sorted_map(section, "ExposedPorts", {p: {} for p in ports})
        elif k == "VOLUME":
            json_args = change.json_args
            paths = json_args if json_args is not None else [
                expand(w, env) for w in split_words(change.rest)]
            if not paths or not all(paths):
                raise ChangeError("VOLUME needs non-empty paths.")
            _sorted_map(section, "Volumes", {p: {} for p in paths})
        elif k == "WORKDIR":
            path = _single(change, env)
            if not path.startswith("/"):
                path = posixpath.join("/", str(section.get("WorkingDir") or ""), path)
            section["WorkingDir"] = posixpath.normpath(path)
        elif k == "USER":
            section["User"] = _single(change, env)
        elif k == "STOPSIGNAL":
            section["StopSignal"] = _single(change, env)
    return section
