"""The demo image: a small tomcat-like image built from ``resources/demo/recipe.json``.

Why build it instead of shipping a tarball: the demo then exercises our own writer (layer
builder, compression-free blobs, Docker 25+ hybrid layout), is byte-for-byte reproducible
from a human-readable recipe, and contains only synthetic text, so there is nothing to
download and nothing with a licence of its own.  It has what a viewer must show: a base
rootfs with a symlink and a hardlink, a modified file and a re-added config (wasted space),
whiteouts of a directory and of a file, and an opaque directory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.core.archive.image_writer import ArchiveFormat, WrittenImage, write_image_archive
from explorer.core.archive.layer_builder import LayerTarBuilder
from explorer.core.archive.source import cache_dir
from explorer.core.archive.writer import StrPath
from explorer.core.digest import Digest
from explorer.core.errors import FormatError
from explorer.core.resources import resource_path

DEFAULT_DIR_MODE = 0o755

_DirAttrs = tuple[int, int, int, int]  # mode, uid, gid, mtime
_KINDS = ("dir", "file", "symlink", "hardlink", "fifo", "whiteout", "opaque")


@dataclass(frozen=True)
class DemoImage:
    """The demo's config and (uncompressed) layer tars, before they are written."""

    config: bytes
    layers: tuple[bytes, ...]
    tags: tuple[str, ...]


def demo_recipe_path() -> Path:
    """The recipe, wherever the app runs from (see ``explorer.core.resources``)."""
    return resource_path("demo", "recipe.json")


def load_recipe(path: StrPath | None = None) -> dict[str, Any]:
    """Read and minimally check a recipe (it is ours, but people edit it by hand).

    Raises FormatError.
    """
    raw = Path(path or demo_recipe_path()).read_bytes()
    try:
        recipe = json.loads(raw)
    except ValueError as exc:
        raise FormatError(f"The demo recipe is not valid JSON: {exc}.") from exc
    if not isinstance(recipe, dict) or not isinstance(recipe.get("steps"), list):
        raise FormatError('The demo recipe must be a JSON object with a "steps" list.')
    return recipe


def _fail(message: str, entry: object) -> FormatError:
    return FormatError(f"Demo recipe: {message}: {json.dumps(entry)[:200]}")


def _mode(entry: Mapping[str, Any], default: int) -> int:
    value = entry.get("mode", default)
    if isinstance(value, str):
        try:
            return int(value, 8)
        except ValueError:
            raise _fail("mode must be an octal string like \"0755\"", entry) from None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _fail("mode must be an octal string like \"0755\"", entry)


def _text(entry: Mapping[str, Any]) -> bytes:
    """File content: a string as is, or lines; ``size`` repeats it to exactly that length."""
    text = entry.get("text", "")
    if isinstance(text, list) and all(isinstance(line, str) for line in text):
        text = "".join(line + "\n" for line in text)
    if not isinstance(text, str):
        raise _fail("text must be a string or a list of strings", entry)
    data = text.encode("utf-8")
    size = entry.get("size")
    if size is None:
        return data
    if not isinstance(size, int) or size < 0 or (size and not data):
        raise _fail("size must be a non-negative integer (and needs some text)", entry)
    return (data * (size // max(len(data), 1) + 1))[:size]


def _parse_entry(entry: object) -> tuple[str, str, dict[str, Any]]:
    """``{"file": "etc/passwd", ...}`` -> ("file", "etc/passwd", entry)."""
    if not isinstance(entry, dict):
        raise _fail("each layer entry must be an object", entry)
    found = [k for k in _KINDS if k in entry]
    if len(found) != 1 or not isinstance(entry[found[0]], str):
        raise _fail(f"an entry needs exactly one of {', '.join(_KINDS)} with a path", entry)
    return found[0], entry[found[0]], entry


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _forget(known: dict[str, _DirAttrs], path: str, *, keep_self: bool) -> None:
    """A whiteout removes ``path`` and below; an opaque marker only what is below."""
    for name in [n for n in known if n.startswith(path + "/") or (n == path and not keep_self)]:
        del known[name]


def build_layer(entries: Sequence[object], known: dict[str, _DirAttrs], mtime: int) -> bytes:
    """One layer tar from recipe entries; ``known`` tracks directory attributes across layers.

    Missing parent directories get the attributes a lower layer gave them (overlayfs copy-up
    writes them that way): a parent header with other attributes would change the image.
    """
    builder = LayerTarBuilder()
    parsed = [_parse_entry(e) for e in entries]
    explicit = {path for kind, path, _ in parsed if kind in ("dir", "file", "symlink",
                                                                "hardlink", "fifo")}
    needed: list[str] = []
    for kind, path, _ in parsed:
        needed += _parents(path) + ([path] if kind == "opaque" else [])
    for kind, path, e in parsed:
        uid, gid, when = int(e.get("uid", 0)), int(e.get("gid", 0)), int(e.get("mtime", mtime))
        try:
            if kind == "dir":
                mode = _mode(e, DEFAULT_DIR_MODE)
                builder.add_dir(path, mode=mode, uid=uid, gid=gid, mtime=when)
                known[path] = (mode, uid, gid, when)
            elif kind == "file":
                builder.add_file(path, _text(e), mode=_mode(e, 0o644), uid=uid, gid=gid,
                                 mtime=when)
            elif kind == "symlink":
                builder.add_symlink(path, str(e.get("target", "")), uid=uid, gid=gid, mtime=when)
            elif kind == "hardlink":
                builder.add_hardlink(path, str(e.get("target", "")), mode=_mode(e, 0o644),
                                     uid=uid, gid=gid, mtime=when)
            elif kind == "fifo":
                builder.add_fifo(path, mode=_mode(e, 0o644), uid=uid, gid=gid, mtime=when)
            elif kind == "whiteout":
                builder.add_whiteout(path, mtime=when)
                _forget(known, path, keep_self=False)
            else:
                builder.add_opaque(path, mtime=when)
                _forget(known, path, keep_self=True)
        except ValueError as exc:
            raise _fail(str(exc), e) from exc
    for parent in dict.fromkeys(needed):
        if parent and parent not in explicit:
            mode, uid, gid, when = known.setdefault(parent, (DEFAULT_DIR_MODE, 0, 0, mtime))
            builder.add_dir(parent, mode=mode, uid=uid, gid=gid, mtime=when)
            explicit.add(parent)
    return builder.to_bytes()


def build_demo_image(recipe: Mapping[str, Any]) -> DemoImage:
    """Turn a recipe into the config bytes and layer tars (pure: no files written)."""
    mtime = recipe.get("mtime", 0)
    created = recipe.get("created", "1970-01-01T00:00:00Z")
    if not isinstance(mtime, int) or not isinstance(created, str):
        raise FormatError("Demo recipe: mtime must be an integer and created a string.")
    known: dict[str, _DirAttrs] = {}
    layers: list[bytes] = []
    history: list[dict[str, Any]] = []
    for step in recipe["steps"]:
        if not isinstance(step, dict) or not isinstance(step.get("created_by"), str):
            raise _fail("each step needs a created_by string", step)
        entry: dict[str, Any] = {"created": step.get("created", created),
                                 "created_by": step["created_by"]}
        for key in ("author", "comment"):
            if key in step:
                entry[key] = step[key]
        if "layer" in step:
            if not isinstance(step["layer"], list):
                raise _fail("layer must be a list of entries", step)
            layers.append(build_layer(step["layer"], known, mtime))
        elif step.get("empty_layer") is True:
            entry["empty_layer"] = True
        else:
            raise _fail('a step needs "layer": [...] or "empty_layer": true', step)
        history.append(entry)
    document: dict[str, Any] = {
        "architecture": recipe.get("architecture", "amd64"),
        "os": recipe.get("os", "linux"),
        "config": recipe.get("config", {}),
        "created": created,
    }
    if recipe.get("author"):
        document["author"] = recipe["author"]
    document["history"] = history
    document["rootfs"] = {"type": "layers",
                          "diff_ids": [str(Digest.of_bytes(layer)) for layer in layers]}
    config = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    tags = recipe.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise FormatError("Demo recipe: tags must be a list of strings.")
    return DemoImage(config=config, layers=tuple(layers), tags=tuple(tags))


def build_demo(
    dest_path: StrPath,
    *,
    fmt: ArchiveFormat = "docker",
    recipe_path: StrPath | None = None,
) -> WrittenImage:
    """Write the demo image to ``dest_path`` (atomically); same recipe, same bytes.

    Raises FormatError (a bad recipe), CommitError.
    """
    image = build_demo_image(load_recipe(recipe_path))
    return write_image_archive(dest_path, config=image.config, layers=image.layers,
                               tags=image.tags, fmt=fmt)


def default_demo_path() -> str:
    """The demo in the user's cache folder, built on first use (keyed by the recipe hash)."""
    recipe = demo_recipe_path()
    key = hashlib.sha256(recipe.read_bytes()).hexdigest()[:12]
    path = Path(cache_dir()) / f"demo-{key}.tar"
    if not path.is_file():
        build_demo(path, recipe_path=recipe)
    return str(path)
