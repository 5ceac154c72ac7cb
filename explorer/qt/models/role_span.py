"""Answer all the roles a view asks for one cell in a single call into Python.

A delegate asks a model for about ten roles per cell, through ``multiData``.  The default
``multiData`` calls ``data`` once per role, and each of those calls from C++ into Python takes
the GIL again; while a worker thread runs Python, each wait is a thread switch, and one
repaint of a tree made thousands of them (the window froze for a fraction of a second).
Overriding ``multiData`` makes it one call, and one wait, per cell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QModelRoleDataSpan, QPersistentModelIndex

Index = QModelIndex | QPersistentModelIndex


def fill_span(data: Callable[[Index, int], Any], index: Index,
              span: QModelRoleDataSpan) -> None:
    """Fill every role of ``span`` from ``data(index, role)`` (None clears it)."""
    for role_data in span:
        value = data(index, role_data.role())
        if value is None:
            role_data.clearData()
        else:
            role_data.setData(value)
