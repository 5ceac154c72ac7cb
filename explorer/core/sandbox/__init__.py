"""The container layer: edits on top of an image, as immutable values (see ``model``).

Public API::

    snapshot_host(path, progress=, cancel=) -> HostTree     # slow: run it in a job
    sb = Sandbox.over(inspection)                            # empty, over the top layer
    sb.delete(p) / sb.restore(p) / sb.mkdir(p) / sb.add(tree, dest) / sb.add_into(tree, dir)
    sb.replace(p, tree)                                      # each returns a new Sandbox
    sb.merged() -> UnionTree; sb.diff() -> DiffNode; sb.changes() -> list[Change]
    sb.summary() -> DiffSummary; sb.state(p) -> PathState; sb.layer() -> SandboxLayer
    SandboxHistory(sb).push(new) / .undo() / .redo()
    save_sandbox(sb, path); load_sandbox(path, inspection.merged(), image_id=...)
"""

from explorer.core.sandbox.changes import Change, ChangeKind
from explorer.core.sandbox.history import SandboxHistory
from explorer.core.sandbox.host import HostFile, HostItem, HostTree, open_host_file, snapshot_host
from explorer.core.sandbox.model import Added, PathState, Sandbox, SandboxLayer
from explorer.core.sandbox.paths import image_path, shown
from explorer.core.sandbox.session import load_sandbox, sandbox_document, save_sandbox

__all__ = [
    "Added",
    "Change",
    "ChangeKind",
    "HostFile",
    "HostItem",
    "HostTree",
    "PathState",
    "Sandbox",
    "SandboxHistory",
    "SandboxLayer",
    "image_path",
    "load_sandbox",
    "open_host_file",
    "sandbox_document",
    "save_sandbox",
    "shown",
    "snapshot_host",
]
