"""Entry point: `python -m generator ...` from the repository root, or the //generator py_binary."""

import sys
from pathlib import Path


def _main() -> int:
    if __package__ in (None, ""):
        # Run as a script (the py_binary runs generator/__main__.py): make sure `import generator` finds
        # this package; absolute() rather than resolve() keeps Bazel's runfiles tree in use.
        root = str(Path(__file__).absolute().parent.parent)
        if root not in sys.path:
            sys.path.insert(0, root)
    from generator.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(_main())
