"""Summarizes a Bazel `--profile` trace (JSON, optionally gzipped) of a marlin build: the CUDA compile actions
(count, summed seconds, the largest), the other actions, and the critical path. bench/build_times.sh calls it
after each build it times.

    python3 bench/build_profile.py PROFILE [--instantiations N]
"""

import argparse
import gzip
import json
from pathlib import Path


def load_events(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        data = json.load(f)
    return data["traceEvents"] if isinstance(data, dict) else data


def seconds(events: list[dict]) -> float:
    return sum(e["dur"] for e in events) / 1e6


def summarize(events: list[dict], instantiations: int) -> str:
    actions = [e for e in events if e.get("cat") == "action processing" and "dur" in e]
    cuda = [e for e in actions if e["name"].startswith("Compiling CUDA")]
    kernels = [e for e in cuda if "marlin_kernels/" in e["name"]]  # the generated kernel files
    critical = sum(e["dur"] for e in events if e.get("cat") == "critical path component") / 1e6
    lines = [
        f"critical path: {critical:.1f} s",
        f"CUDA compile actions: {len(cuda)}, {seconds(cuda):.1f} s summed; kernel files: {len(kernels)}, "
        f"{seconds(kernels):.1f} s",
    ]
    if cuda:
        top = max(cuda, key=lambda e: e["dur"])
        lines.append(f"largest: {top['dur'] / 1e6:.1f} s ({top['name']})")
    if instantiations and kernels:
        lines.append(f"per instantiation: {seconds(kernels) / instantiations:.2f} s (kernel files / {instantiations})")
    others = [e for e in actions if e not in cuda]
    lines.append(f"other actions: {len(others)}, {seconds(others):.1f} s summed")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--instantiations", type=int, default=0, help="kernel instantiations the build compiled")
    args = parser.parse_args()
    print(summarize(load_events(args.profile), args.instantiations))


if __name__ == "__main__":
    main()
