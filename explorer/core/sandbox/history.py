"""Undo and redo over sandbox values (each edit already returns a new, independent value)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from explorer.core.sandbox.model import Sandbox

DEFAULT_LIMIT = 1000


@dataclass(frozen=True)
class SandboxHistory:
    """The current sandbox with the values before it (undo) and after it (redo).

    Immutable like the sandbox: ``push``/``undo``/``redo`` return a new history, so a view
    can keep one reference and swap it.  ``push`` of a new value clears the redo side."""

    current: Sandbox
    undo_stack: tuple[Sandbox, ...] = ()
    redo_stack: tuple[Sandbox, ...] = ()
    limit: int = DEFAULT_LIMIT

    def push(self, new: Sandbox) -> SandboxHistory:
        if new is self.current:
            return self
        stack = (*self.undo_stack, self.current)[-self.limit:]
        return replace(self, current=new, undo_stack=stack, redo_stack=())

    @property
    def can_undo(self) -> bool:
        return bool(self.undo_stack)

    @property
    def can_redo(self) -> bool:
        return bool(self.redo_stack)

    @property
    def undo_text(self) -> str:
        """What Undo would take back ("delete /x"), or "" when there is nothing."""
        return self.current.description if self.undo_stack else ""

    @property
    def redo_text(self) -> str:
        return self.redo_stack[-1].description if self.redo_stack else ""

    def undo(self) -> SandboxHistory:
        if not self.undo_stack:
            return self
        return replace(self, current=self.undo_stack[-1], undo_stack=self.undo_stack[:-1],
                       redo_stack=(*self.redo_stack, self.current))

    def redo(self) -> SandboxHistory:
        if not self.redo_stack:
            return self
        return replace(self, current=self.redo_stack[-1], redo_stack=self.redo_stack[:-1],
                       undo_stack=(*self.undo_stack, self.current))
