"""Qt-free core: formats, layer indexes, union trees, diffs and analysis.

Nothing under this package may import Qt; the CLI and the GUI share it.
"""
