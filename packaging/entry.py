"""Entry point of the frozen app: the same ``main`` as the ``layer-explorer`` console script
(a command runs headless; anything else opens the window)."""

import sys

from explorer.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
