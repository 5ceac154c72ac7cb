"""``layer-explorer``: the headless command line over the same core as the GUI.

Exit codes: 0 success, 1 a CI rule failed (or ``diff`` found differences), 2 bad input or
usage, with a one-line error on stderr.  Never imports Qt.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from explorer import __version__
from explorer.core.analysis.ci_rules import evaluate, load_rules, render_report
from explorer.core.collector import collector_paused
from explorer.core.errors import ExplorerError
from explorer.core.inspection import Inspection, inspect_path
from explorer.core.limits import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:
    from explorer.core.sandbox import Sandbox

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2
# The compare, sandbox and commit modules are imported by the commands that use them:
# ``inspect`` and ``ci`` start 50 ms sooner without them (``ci`` a little more without the
# text and JSON renderers, which it does not use).


def _image_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("archive", nargs="?", help="image archive (.tar, .tar.gz, .tar.zst) or OCI "
                   "layout folder")
    p.add_argument("--demo", action="store_true", help="use the bundled demo image")
    p.add_argument("--image", metavar="NAME|INDEX", help="which image of a multi-image archive")
    p.add_argument("--no-verify", action="store_true",
                   help="skip digest verification (faster; not recommended)")
    _limit_arg(p)


def _limit_arg(p: argparse.ArgumentParser) -> None:
    names = ", ".join(f.name for f in dataclasses.fields(Limits))
    p.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE",
                   help=f"raise (or lower) a safety limit for this input; names: {names}")


def limits_from(specs: Sequence[str]) -> Limits:
    """``--limit NAME=VALUE`` options as a Limits value (bad input: a clear error)."""
    known = {f.name for f in dataclasses.fields(Limits)}
    changes: dict[str, int] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        name = name.strip()
        if not sep or name not in known:
            raise ExplorerError(f"--limit {spec!r}: expected NAME=VALUE with NAME one of "
                                f"{', '.join(sorted(known))}.")
        try:
            number = int(value.replace("_", ""))
        except ValueError:
            raise ExplorerError(f"--limit {spec!r}: {value!r} is not a whole number.") from None
        if number <= 0:
            raise ExplorerError(f"--limit {spec!r}: a limit must be positive.")
        changes[name] = number
    return dataclasses.replace(DEFAULT_LIMITS, **changes)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="layer-explorer",
        description="See container image tarballs as the layer stack they are. Without a "
        "command, opens the window: layer-explorer [IMAGE ...] [--screenshot OUT.png].",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("inspect", help="images, config, layers, efficiency of an archive")
    _image_arg(p)
    p.add_argument("--json", action="store_true", help="machine-readable output (schema "
                   "layer-explorer/inspect/v1)")
    p.add_argument("--layer", type=int, metavar="N", help="show layer N (negative counts from "
                   "the top)")
    p.add_argument("--tree", action="store_true", help="with --layer: print its change tree")
    p.add_argument("--aggregated", action="store_true",
                   help="with --layer: changes of layers 1..N against the base layer")
    p.add_argument("--all", action="store_true", help="with --tree: unchanged entries too")

    p = sub.add_parser("ls", help="the merged filesystem at a layer, like tar -tv")
    _image_arg(p)
    p.add_argument("--layer", type=int, metavar="N", help="layer (default: the top)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("ci", help="pass/fail an image with dive's rules and .dive-ci file")
    _image_arg(p)
    p.add_argument("--ci-config", default=".dive-ci", metavar="PATH",
                   help="YAML file with a rules: section (default: .dive-ci)")
    for key, flag in (("lowestEfficiency", "--lowest-efficiency"),
                      ("highestWastedBytes", "--highest-wasted-bytes"),
                      ("highestUserWastedPercent", "--highest-user-wasted-percent")):
        p.add_argument(flag, f"--{key}", dest=key, metavar="VALUE",
                       help=f"override rules.{key}")

    p = sub.add_parser(
        "commit", help="the image plus a container layer of edits, written as a new image "
        "(docker commit + docker save)",
        description="Delete paths and add host files in a container layer over IMAGE's top "
        "layer and write the result as a new image archive (deletions first, then additions; "
        "--add SRC:DEST copies like docker cp: into DEST when it is a folder or ends with "
        "'/', else as DEST). SOURCE_DATE_EPOCH fixes the timestamps for reproducible output.")
    _image_arg(p)
    p.add_argument("--delete", action="append", default=[], metavar="PATH",
                   help="delete a file, symlink or folder of the image (repeatable)")
    p.add_argument("--add", action="append", default=[], metavar="SRC:DEST",
                   help="add a host file or folder (repeatable)")
    p.add_argument("-m", "--message", default="", help="commit message (history comment)")
    p.add_argument("-a", "--author", default="", help="author (e.g. 'Name <mail>')")
    p.add_argument("-c", "--change", action="append", default=[], metavar="INSTRUCTION",
                   help="Dockerfile instruction for the config: CMD, ENTRYPOINT, ENV, EXPOSE, "
                   "LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR (repeatable)")
    p.add_argument("-t", "--tag", required=True, metavar="REPO:TAG", help="name of the new image")
    p.add_argument("-o", "--output", required=True, metavar="OUT.tar", help="archive to write")
    p.add_argument("--format", choices=("docker", "oci"), default="docker",
                   help="docker: Docker 25+ archive (docker, podman, containerd load it); "
                   "oci: OCI archive")
    p.add_argument("--compression", choices=("none", "gzip", "zstd"), default="none",
                   help="of the new layer (the others are copied as they are)")

    p = sub.add_parser(
        "diff", help="compare two images, or two layers of any images (exit 1 when they differ)",
        description="Compare the filesystem at A with the one at B (the merged view at each "
        "layer, or with --only-layer just the two layers' own contents), and the two images' "
        "config, history and layer sizes. A and B are ARCHIVE[@LAYER]: an archive or OCI "
        "layout folder, optionally followed by @N, a layer index counted from 0 at the base "
        "(negative: from the top; default: the top layer). --image selects the image in both "
        "archives; --image-a/--image-b select it on one side (e.g. two images of one "
        "multi-image archive). Exit status: 0 equal, 1 different, 2 bad input.")
    p.add_argument("a", metavar="A[@LAYER]", help="the first image (the 'before' side)")
    p.add_argument("b", metavar="B[@LAYER]", help="the second image (the 'after' side)")
    p.add_argument("--image", metavar="NAME|INDEX", help="which image of both archives")
    p.add_argument("--image-a", metavar="NAME|INDEX", help="which image of A (overrides --image)")
    p.add_argument("--image-b", metavar="NAME|INDEX", help="which image of B (overrides --image)")
    p.add_argument("--only-layer", action="store_true",
                   help="compare the two layers' own contents, not the merged filesystems")
    p.add_argument("--type", default=None, metavar="TYPES",
                   help="comma-separated sections, of files,metadata,history,size "
                   "(default: all); only these decide the exit status")
    p.add_argument("--json", action="store_true",
                   help="machine-readable output (schema layer-explorer/diff/v1)")
    p.add_argument("--no-verify", action="store_true",
                   help="skip digest verification (faster; not recommended)")
    _limit_arg(p)

    p = sub.add_parser("demo", help="write the bundled demo image to a file")
    p.add_argument("output", help="destination .tar")
    p.add_argument("--format", choices=("docker", "oci"), default="docker")
    return parser


def _open(args: argparse.Namespace) -> Inspection:
    path = args.archive
    if args.demo:
        from explorer.core.demo import default_demo_path

        path = default_demo_path()
    if not path:
        raise ExplorerError("No image given: pass an archive path or --demo.")
    return inspect_path(path, args.image, verify=not args.no_verify,
                        limits=limits_from(args.limit))


def _out(lines: object) -> None:
    for line in lines:  # type: ignore[attr-defined]
        print(line)


def cmd_inspect(args: argparse.Namespace) -> int:
    from explorer.app import render
    from explorer.core.report import inspection_json

    with _open(args) as insp:
        if args.json:
            doc = inspection_json(insp)
            if args.layer is not None:
                root = (insp.aggregated_changes(args.layer) if args.aggregated
                        else insp.layer_changes(args.layer))
                doc["changes"] = [
                    {"path": render.display_path(n.path), "kind": n.kind.value,
                     "cause": n.cause.value or None, "size": n.entry.size}
                    for n in root.walk()
                    if n.kind.value != "unchanged"
                ]
            json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
            print()
            return EXIT_OK
        if args.layer is None:
            _out(render.summary_text(insp))
            return EXIT_OK
        n = insp._layer(args.layer)
        root = insp.aggregated_changes(n) if args.aggregated else insp.layer_changes(n)
        _out(render.layer_text(insp, n, root))
        if args.tree:
            print()
            _out(render.tree_lines(root, show_unchanged=args.all))
    return EXIT_OK


def cmd_ls(args: argparse.Namespace) -> int:
    from explorer.app import render
    from explorer.core.report import tree_json

    with _open(args) as insp:
        tree = insp.merged(args.layer)
        if args.json:
            json.dump(tree_json(tree), sys.stdout, indent=1, ensure_ascii=False)
            print()
        else:
            for _path, node in tree.walk():
                print(render.ls_line(node.entry))
    return EXIT_OK


def cmd_ci(args: argparse.Namespace) -> int:
    overrides = {k: getattr(args, k) for k in ("lowestEfficiency", "highestWastedBytes",
                                               "highestUserWastedPercent")
                 if getattr(args, k) is not None}
    rules, line = load_rules(args.ci_config, overrides)
    print(line)
    with _open(args) as insp:
        print(f"Image Source: {insp.archive.path}")
        print("Analyzing image...")
        result = evaluate(insp.efficiency, rules, line)
        sys.stdout.write(render_report(insp.efficiency, result, color=sys.stdout.isatty()))
    return result.exit_code


def _add_target(sandbox: Sandbox, dest: str, name: bytes) -> bytes:
    """``docker cp`` DEST: into a folder (existing, or written with a trailing '/'), else
    the new path itself."""
    from explorer.core.sandbox import image_path

    clean = image_path(dest, allow_root=True)
    node = sandbox.merged().get(clean)
    if dest.endswith("/") or not clean or (node is not None and node.is_dir):
        return clean + b"/" + name if clean else name
    return clean


def cmd_commit(args: argparse.Namespace) -> int:
    from explorer.core.archive.compression import Compression
    from explorer.core.commit import CommitOptions, commit
    from explorer.core.sandbox import Sandbox, snapshot_host

    with _open(args) as insp:
        sandbox = Sandbox.over(insp)
        for path in args.delete:
            sandbox = sandbox.delete(path)
        for spec in args.add:
            src, sep, dest = spec.rpartition(":")
            if not sep or not src or not dest:
                raise ExplorerError(f"--add {spec!r}: expected SRC:DEST (a host path and a "
                                    "path in the image).")
            tree = snapshot_host(src)
            sandbox = sandbox.add(tree, _add_target(sandbox, dest, tree.name))
        options = CommitOptions(tag=args.tag, message=args.message, author=args.author,
                                changes=tuple(args.change), fmt=args.format,
                                compression=Compression(args.compression))
        result = commit(insp, sandbox, args.output, options)
    _out(result.lines())
    return EXIT_OK


def split_endpoint(spec: str) -> tuple[str, int | None]:
    """``image.tar@-1`` -> (``image.tar``, -1); a suffix that is not a number stays part of
    the path (``@`` is legal in file names)."""
    path, sep, layer = spec.rpartition("@")
    if sep and path and layer.lstrip("-").isdigit():
        return path, int(layer)
    return spec, None


def cmd_diff(args: argparse.Namespace) -> int:
    from explorer.core.compare import Endpoint
    from explorer.core.compare.report import TYPES as DIFF_TYPES
    from explorer.core.compare.report import diff_endpoints, diff_json, diff_lines

    if args.type is None:
        args.type = ",".join(DIFF_TYPES)
    types = tuple(t.strip() for t in args.type.split(",") if t.strip())
    unknown = [t for t in types if t not in DIFF_TYPES]
    if unknown or not types:
        raise ExplorerError(f"--type {args.type!r}: choose among {','.join(DIFF_TYPES)}.")
    from explorer.core.analysis.index_cache import LayerIndexCache

    cache = LayerIndexCache()  # B reuses the layers A already read
    path_a, layer_a = split_endpoint(args.a)
    path_b, layer_b = split_endpoint(args.b)
    verify = not args.no_verify
    limits = limits_from(args.limit)
    with inspect_path(path_a, args.image_a or args.image, verify=verify, cache=cache,
                      limits=limits) as ins_a, \
            inspect_path(path_b, args.image_b or args.image, verify=verify, cache=cache,
                         limits=limits) as ins_b:
        a = Endpoint(ins_a, layer_a, args.only_layer)
        b = Endpoint(ins_b, layer_b, args.only_layer)
        a.index, b.index  # noqa: B018 - a missing layer is bad input, before any work
        result = diff_endpoints(a, b, types)
        if args.json:
            json.dump(diff_json(result), sys.stdout, indent=2, ensure_ascii=False)
            print()
        else:
            _out(diff_lines(result))
        return EXIT_OK if result.equal else EXIT_FAIL


def cmd_demo(args: argparse.Namespace) -> int:
    from explorer.core.demo import build_demo

    build_demo(args.output, fmt=args.format)
    print(args.output)
    return EXIT_OK


COMMANDS = {"inspect": cmd_inspect, "ls": cmd_ls, "ci": cmd_ci, "commit": cmd_commit,
            "diff": cmd_diff, "demo": cmd_demo}


def wants_gui(argv: Sequence[str]) -> bool:
    """``layer-explorer [IMAGE ...] [options]`` opens the window; a command runs headless."""
    if any(a in ("-h", "--help", "--version") for a in argv[:1]):
        return False
    return not argv or argv[0] not in COMMANDS


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if wants_gui(argv):
        from explorer.app.main import main as gui_main  # Qt is imported only here

        return gui_main(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        # One batch run that builds a big heap of acyclic objects and exits: collections
        # would only walk it again and again (a second of a 290k-entry 'ci').
        with collector_paused():
            return COMMANDS[args.command](args)
    except ExplorerError as exc:
        print(f"layer-explorer: error: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except IndexError as exc:
        print(f"layer-explorer: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("layer-explorer: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
