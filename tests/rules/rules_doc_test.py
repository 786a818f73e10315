"""Fails when docs/rules.md differs from what tools/gen_rules_doc.py writes from the sources.

The fix is to run `python3 tools/gen_rules_doc.py` and commit docs/rules.md.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from tools import gen_rules_doc


def main() -> int:
    """Compares the checked-in page with a fresh rendering; returns the exit status."""
    root = Path.cwd()  # the runfiles folder of this repository: the sources are at their usual paths
    want = gen_rules_doc.render(root)
    have = (root / gen_rules_doc.OUTPUT).read_text(encoding="utf-8")
    if have == want:
        print(f"PASS: {gen_rules_doc.OUTPUT} is up to date")
        return 0
    sys.stdout.writelines(
        difflib.unified_diff(
            have.splitlines(keepends=True),
            want.splitlines(keepends=True),
            f"{gen_rules_doc.OUTPUT} (checked in)",
            f"{gen_rules_doc.OUTPUT} (from the sources)",
        )
    )
    print(f"\nFAIL: {gen_rules_doc.OUTPUT} is out of date: run `{gen_rules_doc.REGENERATE}` and commit it")
    return 1


if __name__ == "__main__":
    sys.exit(main())
