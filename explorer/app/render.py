"""Plain-text renderings for the CLI: tables, ``tar -tv`` lines, dive-like change trees."""

from __future__ import annotations

import time
from collections.abc import Iterator

from explorer.core.fs.diff import DiffKind, DiffNode
from explorer.core.fs.entry import FileEntry, display_path, escape_text

__all__ = ["display_path"]
from explorer.core.humanize import human_bytes
from explorer.core.inspection import Inspection

MAX_COMMAND = 70


def one_line(text: str, width: int = MAX_COMMAND) -> str:
    text = escape_text(" ".join(text.split()))
    return text if len(text) <= width else text[: width - 1] + "…"


def ls_line(entry: FileEntry) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(entry.mtime))
    path = display_path(entry.path) + ("/" if entry.is_dir else "")
    if entry.kind.name == "SYMLINK":
        path += f" -> {display_path(entry.link)}"
    elif entry.kind.name == "HARDLINK":
        path += f" link to {display_path(entry.link)}"
    size = f"{entry.rdev[0]},{entry.rdev[1]}" if entry.kind.name in ("CHAR", "BLOCK") \
        else str(entry.size)
    return f"{entry.mode_string} {entry.uid}/{entry.gid} {size:>10} {stamp} {path}"


def summary_text(insp: Inspection) -> Iterator[str]:
    img, cfg, eff = insp.image, insp.image.config, insp.efficiency
    yield f"Archive:   {insp.archive.path} ({insp.archive.format})"
    if len(insp.archive.refs) > 1:
        yield f"Images:    {len(insp.archive.refs)}"
        for r in insp.archive.refs:
            mark = "*" if r.index == img.ref.index else " "
            yield (f"  {mark} {r.index}: {escape_text(r.name)} ({r.platform}, "
                   f"{r.layer_count} layers)")
    yield f"Image:     {', '.join(escape_text(t) for t in img.tags) or '<untagged>'}"
    yield f"Id:        {img.id}"
    yield f"Platform:  {cfg.platform}"
    yield f"Created:   {cfg.created or '-'}"
    if cfg.author:
        yield f"Author:    {escape_text(cfg.author)}"
    if cfg.entrypoint:
        yield f"Entrypoint: {escape_text(' '.join(cfg.entrypoint))}"
    if cfg.cmd:
        yield f"Cmd:       {escape_text(' '.join(cfg.cmd))}"
    if cfg.workdir:
        yield f"Workdir:   {escape_text(cfg.workdir)}"
    if cfg.user:
        yield f"User:      {escape_text(cfg.user)}"
    for env in cfg.env:
        yield f"Env:       {escape_text(env)}"
    for key, value in cfg.labels:
        yield f"Label:     {escape_text(key)}={escape_text(value)}"
    if cfg.exposed_ports:
        yield f"Ports:     {' '.join(cfg.exposed_ports)}"
    if cfg.volumes:
        yield f"Volumes:   {' '.join(cfg.volumes)}"
    yield ""
    yield f"{'#':>3}  {'Size':>9}  {'Digest':<19}  Command"
    for layer, ix in zip(img.layers, insp.indexes, strict=True):
        for h in layer.empty_before:
            yield f"{'':>3}  {'':>9}  {'':<19}  {one_line(h.created_by)}"
        yield (f"{layer.index:>3}  {human_bytes(ix.size):>9}  {str(layer.diff_id)[:19]:<19}  "
               f"{one_line(layer.command)}")
    for h in img.trailing_empty:
        yield f"{'':>3}  {'':>9}  {'':<19}  {one_line(h.created_by)}"
    yield ""
    yield (f"Total size:        {human_bytes(eff.size)} ({eff.size} bytes) in "
           f"{len(img.layers)} layers")
    yield f"Efficiency:        {eff.score * 100:.4f} %"
    yield f"Wasted bytes:      {eff.wasted} ({human_bytes(eff.wasted)})"
    yield f"User wasted:       {eff.user_wasted_ratio * 100:.4f} %"
    yield f"Reclaimable bytes: {eff.reclaimable} ({human_bytes(eff.reclaimable)})"
    if eff.inefficient:
        yield ""
        yield f"{'Count':>5}  {'Total Space':>12}  Path"
        for use in eff.inefficient:
            yield f"{use.count:>5}  {human_bytes(use.size):>12}  {display_path(use.path)}"
    warnings = insp.warnings
    if warnings:
        yield ""
        yield f"Warnings ({len(warnings)}):"
        for w in warnings:
            yield f"  - {escape_text(w)}"


def layer_text(insp: Inspection, n: int, root: DiffNode) -> Iterator[str]:
    from explorer.core.fs.diff import summarize

    layer, ix = insp.image.layers[n], insp.indexes[n]
    s = summarize(root)
    yield f"Layer {n}"
    yield f"  Command:        {escape_text(layer.command)}"
    yield f"  Digest:         {ix.blob_digest}"
    yield f"  DiffID:         {layer.diff_id}"
    yield f"  ChainID:        {layer.chain_id}"
    yield f"  Media type:     {layer.media_type or '-'} (content: {ix.compression.value})"
    yield f"  Compressed:     {ix.blob_size} bytes"
    yield f"  Uncompressed:   {ix.tar_size} bytes"
    yield f"  Size:           {ix.size} bytes ({human_bytes(ix.size)})"
    yield f"  Changes:        {s.added} added, {s.modified} modified, {s.removed} removed"
    yield f"  Bytes:          +{s.bytes_added} / -{s.bytes_removed}"


def tree_lines(root: DiffNode, *, show_unchanged: bool = False) -> Iterator[str]:
    """dive-like tree: one line per changed entry (and the directories leading to it)."""
    def visible(node: DiffNode) -> bool:
        return show_unchanged or node.kind is not DiffKind.UNCHANGED

    def walk(node: DiffNode, prefix: str) -> Iterator[str]:
        kids = [c for c in node.children if visible(c)]
        for i, child in enumerate(kids):
            last = i == len(kids) - 1
            entry = child.entry
            name = display_path(child.name)
            if entry.kind.name == "SYMLINK":
                name += f" → {display_path(entry.link)}"
            cause = f" ({child.cause.value})" if child.cause.value else ""
            size = human_bytes(child.size()) if not child.is_dir or child.kind is not \
                DiffKind.UNCHANGED else ""
            yield (f"{child.kind.letter} {entry.mode_string} {entry.uid:>5}:{entry.gid:<5} "
                   f"{size:>8}  {prefix}{'└── ' if last else '├── '}{name}{cause}")
            if child.is_dir and child.kind is not DiffKind.REMOVED:
                yield from walk(child, prefix + ("    " if last else "│   "))

    yield from walk(root, "")
