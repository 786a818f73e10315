"""The Hopper issue's launcher check: the launcher's time against the better kernel family's, per shape and M.

Takes pairs of bench/tune.py JSON runs of one case (b_type, dtype, group size) on a 9.0 device: one against a
library with both families (--config=sm90), one against a library of the sm80 family alone
(tests/gpu/build_family.sh sm80). In the first, forcing (64, 256) runs the sm90 family's kernel, so its best
forced (64, 256) variant is the sm90 family's time; the second library's best forced variant is the sm80
family's, its own (64, 256) kernel included. M <= 16 has only the sm80 family. The launcher's time is the first
run's `auto`, which also counts for the family it ran where the run recorded that (`auto_plan`). Prints per cell
the launcher's time over the better family's (flagged past --tolerance) and per shape the crossover: the smallest
tuned M from which the sm90 family is faster at every larger tuned M.

    python bench/family_check.py --pair tune_sm90_u4b8.json tune_sm80_u4b8.json [--pair ...] --out table.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SM90_CONFIG = "64x256"
Cell = tuple[int, int, int]  # k, n, m


def best_forced(times: dict[str, float | None], prefix: str = "") -> float | None:
    found = [t for key, t in times.items() if key != "auto" and t is not None and key.startswith(prefix)]
    return min(found) if found else None


def family_times(both: dict, sm80_only: dict) -> dict[Cell, tuple[float, float | None, float]]:
    """(launcher, sm90 family's best or None, sm80 family's best) per cell of the first run."""
    sm80_rows = {(r["k"], r["n"], r["m"]): r for r in sm80_only["rows"]}
    out = {}
    for r in both["rows"]:
        cell = (r["k"], r["n"], r["m"])
        sm90 = best_forced(r["times_us"], SM90_CONFIG + "/")
        other = sm80_rows.get(cell)
        if other is None:
            raise SystemExit(f"the sm80-family run has no row for K x N = {cell[0]}x{cell[1]}, M = {cell[2]}")
        sm80 = best_forced(other["times_us"])
        if sm80 is None:
            raise SystemExit(f"the sm80-family run timed no variant at K x N = {cell[0]}x{cell[1]}, M = {cell[2]}")
        # Where the run recorded what the launcher ran (tune.py's auto_plan), its time counts for that family too:
        # the sm90 family's 64-token chunks above M = 64 cannot be forced.
        family = (r.get("auto_plan") or {}).get("family")
        if family == "sm90":
            sm90 = r["auto_us"] if sm90 is None else min(sm90, r["auto_us"])
        elif family is not None:
            sm80 = min(sm80, r["auto_us"])
        out[cell] = (r["auto_us"], sm90, sm80)
    return out


def crossover(cells: dict[Cell, tuple[float, float | None, float]], k: int, n: int) -> int | None:
    """Smallest M of shape (k, n) from which the sm90 family wins at every larger M, or None."""
    found = None
    for m in sorted((m for kk, nn, m in cells if (kk, nn) == (k, n)), reverse=True):
        _, sm90, sm80 = cells[(k, n, m)]
        if sm90 is None or sm90 >= sm80:
            break
        found = m
    return found


def case_name(run: dict, path: Path) -> str:
    case = run.get("case")
    return f"{case['b_type']} {case['dtype']} g{case['group_size']}" if case else path.stem


def report(pairs: list[tuple[str, dict[Cell, tuple[float, float | None, float]]]], tolerance: float) -> tuple[str, int]:
    rows = [
        "| case | K x N | M | launcher µs | sm90 family µs | sm80 family µs | launcher / better | |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    crossings = ["| case | K x N | crossover M |", "| --- | --- | ---: |"]
    misses = total = 0
    for name, cells in pairs:
        for k, n, m in cells:
            auto, sm90, sm80 = cells[(k, n, m)]
            ratio = auto / min(sm80, sm90 if sm90 is not None else sm80)
            miss = ratio > 1 + tolerance
            misses += miss
            total += 1
            sm90_text = "" if sm90 is None else f"{sm90:.1f}"
            rows.append(
                f"| {name} | {k}x{n} | {m} | {auto:.1f} | {sm90_text} | {sm80:.1f} | {ratio:.3f} | "
                f"{'MISS' if miss else ''} |"
            )
        for k, n in dict.fromkeys((k, n) for k, n, _ in cells):
            m = crossover(cells, k, n)
            crossings.append(f"| {name} | {k}x{n} | {'none' if m is None else m} |")
    head = (
        f"**{misses} of {total} cells miss**: the launcher slower than the better family's best forced variant "
        f"by more than {tolerance:.0%}."
    )
    crossing_text = "Crossover: the smallest tuned M from which the sm90 family is faster at every larger tuned M."
    text = "\n".join([head, "", crossing_text, "", *crossings, "", *rows]) + "\n"
    return text, misses


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--pair",
        nargs=2,
        action="append",
        type=Path,
        required=True,
        metavar=("BOTH_FAMILIES_JSON", "SM80_ONLY_JSON"),
        help="bench/tune.py --json runs of one case against the two libraries",
    )
    p.add_argument("--tolerance", type=float, default=0.03)
    p.add_argument("--out", type=Path, help="write the markdown here")
    args = p.parse_args(argv)
    pairs = []
    for both_path, sm80_path in args.pair:
        both, sm80 = json.loads(both_path.read_text()), json.loads(sm80_path.read_text())
        pairs.append((case_name(both, both_path), family_times(both, sm80)))
    text, _ = report(pairs, args.tolerance)
    if args.out:
        args.out.write_text(text)
    print(text.splitlines()[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
