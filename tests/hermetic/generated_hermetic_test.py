"""Checks that what the build generates and compiles does not depend on where or when it was built.

Usage (from the BUILD file):
    generated_hermetic_test.py GENERATOR ARCHS CONFIGS --generated FILE... [--objects FILE...]

GENERATED are the files of a marlin_kernels target (runfiles paths), OBJECTS the object files of a
marlin_library. The test checks that
- no generated file and no object holds an absolute path of this machine, a Bazel output or sandbox path,
  the user's name or home, or the machine's name;
- no generated file holds a date or a time of day;
- the generator, run by hand into two new folders at different paths (different depths, different current
  folders, different hash seeds), writes files byte-identical to each other and to the ones Bazel built.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

# Path pieces that must never reach a generated file or an object (a build machine's or Bazel's paths).
FIXED_MARKERS = (
    "/work/",
    "/home/",
    "/root/",
    "/tmp/",
    "/private/var/",
    "bazel-out",
    "execroot",
    "_bazel_",
    "/sandbox/",
    "runfiles",
)

# Dates and times of day as generators and compilers write them.
TIMESTAMP_PATTERNS = (
    re.compile(r"\b(?:19|20)\d\d[-/.](?:0[1-9]|1[0-2])[-/.](?:0[1-9]|[12]\d|3[01])\b"),  # 2025-01-31
    re.compile(r"\b(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\b"),  # 13:45:07
    re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* +\d{1,2},? +(?:19|20)\d\d\b"),
    re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "),
)

# Strings shorter than this (a user called "ci", a host called "a") would match by accident.
MIN_DYNAMIC_MARKER = 4


def dynamic_markers() -> list[str]:
    """Paths and names of this machine and this test run that must not appear either."""
    candidates = [os.getcwd(), str(Path.cwd().resolve()), os.environ.get("TEST_TMPDIR", "")]
    candidates.append(os.path.expanduser("~"))
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    if user != "root":  # a word that code may hold; root's home is one of FIXED_MARKERS
        candidates.append(user)
    candidates.append(socket.gethostname())
    markers = []
    for candidate in candidates:
        candidate = candidate.rstrip("/")
        if len(candidate) >= MIN_DYNAMIC_MARKER and candidate not in ("/root", "/home", "/tmp"):
            markers.append(candidate)
    return sorted(set(markers))


def find_markers(data: bytes, markers: Iterable[str]) -> list[str]:
    """The markers that occur in data."""
    return [m for m in markers if m.encode() in data]


def find_timestamps(text: str) -> list[str]:
    """The date- or time-like strings in text."""
    found = []
    for pattern in TIMESTAMP_PATTERNS:
        found += [match.group(0) for match in pattern.finditer(text)]
    return found


def check_generated(files: list[Path], markers: list[str]) -> list[str]:
    """Problems of the generated files: paths, names and timestamps in them."""
    problems = []
    for f in files:
        data = f.read_bytes()
        for marker in find_markers(data, markers):
            problems.append(f"{f.name} holds {marker!r}")
        for stamp in find_timestamps(data.decode("utf-8")):
            problems.append(f"{f.name} holds the timestamp-like {stamp!r}")
    return problems


def check_objects(files: list[Path], markers: list[str]) -> list[str]:
    """Problems of the object files: paths and names in them."""
    problems = []
    for f in files:
        for marker in find_markers(f.read_bytes(), markers):
            problems.append(f"object {f.name} holds {marker!r}")
    return problems


def run_generator(generator: Path, archs: str, configs: str, out: Path, cwd: Path, seed: str) -> list[str]:
    """Runs the generator into out; returns its complaint, if any."""
    env = dict(os.environ, PYTHONHASHSEED=seed)
    command = [str(generator), archs, "--configs", configs, "--out", str(out)]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return [f"{' '.join(command)} exited {result.returncode}: {result.stderr.strip()}"]
    return []


def compare_trees(built: list[Path], folders: list[Path]) -> list[str]:
    """Problems: a folder whose files differ (names or bytes) from the ones Bazel built."""
    problems = []
    want = {f.name: f.read_bytes() for f in built}
    for folder in folders:
        got = {f.name: f.read_bytes() for f in folder.iterdir() if f.is_file()}
        if sorted(got) != sorted(want):
            problems.append(f"{folder} holds {sorted(got)}, Bazel built {sorted(want)}")
            continue
        for name, data in sorted(want.items()):
            if got[name] != data:
                problems.append(f"{folder}/{name} differs from the file Bazel built")
    return problems


def check_reproducible(generator: Path, archs: str, configs: str, built: list[Path]) -> list[str]:
    """Runs the generator twice by hand and compares both outputs with what Bazel built."""
    with tempfile.TemporaryDirectory(prefix="hermetic-a-") as a, tempfile.TemporaryDirectory(prefix="h-") as b:
        first = Path(a) / "out"
        second = Path(b) / "a" / "much" / "deeper" / "folder" / "for" / "the" / "same" / "kernels"
        problems = run_generator(generator, archs, configs, first, cwd=Path(a), seed="0")
        problems += run_generator(generator, archs, configs, second, cwd=Path(b), seed="12345")
        if problems:
            return problems
        return compare_trees(built, [first, second])


def split_args(argv: list[str]) -> tuple[list[str], list[Path], list[Path]]:
    """GENERATOR ARCHS CONFIGS --generated FILE... [--objects FILE...] -> (fixed, generated, objects)."""
    lists: dict[str, list[Path]] = {"--generated": [], "--objects": []}
    fixed: list[str] = []
    current: list[Path] | None = None
    for arg in argv:
        if arg in lists:
            current = lists[arg]
        elif current is None:
            fixed.append(arg)
        else:
            current.append(Path(arg).absolute())
    return fixed, lists["--generated"], lists["--objects"]


def main(argv: list[str]) -> int:
    """Run the checks; return the exit status."""
    fixed, generated, objects = split_args(argv)
    if len(fixed) != 3 or not generated:
        print("usage: generated_hermetic_test.py GENERATOR ARCHS CONFIGS --generated FILE... [--objects FILE...]")
        return 2
    generator, archs, configs = fixed
    objects = [f for f in objects if f.suffix == ".o"]
    markers = list(FIXED_MARKERS) + dynamic_markers()
    problems = check_generated(generated, markers)
    problems += check_objects(objects, markers)
    problems += check_reproducible(Path(generator).absolute(), archs, configs, generated)
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print(
            f"PASS: {len(generated)} generated files and {len(objects)} objects hold no path, name or timestamp "
            f"of this build; two more generator runs wrote the same bytes (markers: {', '.join(markers)})"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
