"""What a recorded GPU result names, so that it can be traced to the code and the binary that made it: the commit
and the loaded library's path and sha256 (docs/GPU_TESTS.md, docs/PERFORMANCE.md). Used by the GPU suite and the
benchmarks; needs no torch."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from . import _lib

_ROOT = Path(__file__).resolve().parents[2]  # the checkout this package sits in (python/marlin_bazel/..)


def commit() -> str:
    """MARLIN_COMMIT (the GPU machine's copy of the tree has no .git), else git's HEAD of this checkout (with
    "+dirty" for uncommitted changes to tracked files), else "unknown"."""
    if os.environ.get("MARLIN_COMMIT"):
        return os.environ["MARLIN_COMMIT"]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=_ROOT, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=_ROOT, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance() -> dict[str, str | None]:
    """``{"commit", "library", "library_sha256"}`` of this process (the library as ``$MARLIN_LIB`` or the default
    path names it; its hash None when there is no such file)."""
    library = Path(_lib.library_path())
    return {
        "commit": commit(),
        "library": str(library),
        "library_sha256": file_sha256(library) if library.is_file() else None,
    }
