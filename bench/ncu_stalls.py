"""Where a kernel's warps stall, from Nsight Compute's SASS source page: the share of every stall reason, the
opcodes that gather most samples (with their top reasons) and the hottest instructions.

    ncu -i report.ncu-rep --page source --csv --print-source sass --launch-count 1 > sass.csv
    python3 bench/ncu_stalls.py sass.csv [--top 15]

(bench/h200_session.sh, step ncu_tile128, writes such a CSV.) Only the first kernel of the CSV is read.
"""

import argparse
import collections
import csv

SAMPLES = "Warp Stall Sampling (All Samples)"


def as_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def opcode(source: str) -> str:
    parts = source.split()
    if not parts:
        return ""
    op = parts[1] if parts[0].startswith("@") and len(parts) > 1 else parts[0]
    return op.split(".")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", help="ncu --page source --csv --print-source sass output")
    parser.add_argument("--top", type=int, default=15, help="opcodes and instructions to list")
    args = parser.parse_args()

    with open(args.csv, newline="") as f:
        rows = list(csv.reader(f))
    header_at = next((i for i, r in enumerate(rows) if r and r[0] == "Address"), None)
    if header_at is None:
        parser.error(f"{args.csv}: no 'Address' header row; is it ncu's source page as CSV?")
    header = rows[header_at]
    col = {name: i for i, name in enumerate(header)}
    for needed in ("Source", SAMPLES):
        if needed not in col:
            parser.error(f"{args.csv}: no column '{needed}'")
    reasons = [h for h in header if h.startswith("stall_") and "Not Issued" not in h]

    total: collections.Counter[str] = collections.Counter()
    by_op: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    hottest: list[tuple[int, str]] = []
    for row in rows[header_at + 1 :]:
        if not row or row[0] in ("Kernel Name", "Address"):
            break  # the next kernel
        if len(row) < len(header):
            continue
        op = opcode(row[col["Source"]])
        hottest.append((as_int(row[col[SAMPLES]]), row[col["Source"]].strip()))
        for reason in reasons:
            n = as_int(row[col[reason]])
            total[reason] += n
            by_op[op][reason] += n
    samples = sum(total.values())
    if samples == 0:
        parser.error(f"{args.csv}: no stall samples")

    print(f"{samples} stall samples\n\n| reason | share |\n| --- | ---: |")
    for reason, n in total.most_common():
        if n:
            print(f"| {reason[len('stall_') :]} | {100 * n / samples:.1f}% |")
    print("\n| opcode | share | top reasons |\n| --- | ---: | --- |")
    per_op = collections.Counter({op: sum(c.values()) for op, c in by_op.items()})
    for op, n in per_op.most_common(args.top):
        top = ", ".join(f"{r[len('stall_') :]} {100 * c / samples:.1f}%" for r, c in by_op[op].most_common(3) if c)
        print(f"| {op} | {100 * n / samples:.1f}% | {top} |")
    print("\n| samples | instruction |\n| ---: | --- |")
    for n, source in sorted(hottest, reverse=True)[: args.top]:
        print(f"| {n} | `{' '.join(source.split())}` |")


if __name__ == "__main__":
    main()
