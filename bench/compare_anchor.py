"""Our speedups over torch against vLLM's, cell by cell, from the anchor file and bench/gemm.py JSON runs.

The anchor (``../shared/anchors/vllm-marlin-h200.json``) holds vLLM's Marlin and torch fp16 timed in one run; a
bench/gemm.py run holds ours and torch timed in another. Absolute times move a few % between runs and machines,
so each side is compared as its speedup over the torch of its own run. A cell passes when ours is at least
vLLM's minus ``--tolerance`` (3%). bf16 rows are held to the f16 anchor figures.

    python bench/compare_anchor.py ../shared/anchors/vllm-marlin-h200.json docs/bench/anchor_*.json \\
        --out docs/bench/anchor_comparison.md
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path

Key = tuple[str, int, int, int, int]  # b_type, group_size, k, n, m


def anchor_cells(path: Path) -> dict[Key, float]:
    """vLLM's speedup over torch per cell of the anchor."""
    rows = json.loads(path.read_text())["rows"]
    return {
        (r["b_type"], r["group_size"], r["k"], r["n"], r["m"]): r["torch_us"] / r["vllm_us"]
        for r in rows
        if r.get("vllm_us") and r.get("torch_us")
    }


def our_cells(paths: Iterable[Path]) -> dict[tuple[str, Key], tuple[float, float, float]]:
    """(dtype, cell) -> (our speedup, our µs, torch µs) from bench/gemm.py JSON files (16-bit activations)."""
    out: dict[tuple[str, Key], tuple[float, float, float]] = {}
    for path in paths:
        payload = json.loads(path.read_text())
        dtype = payload.get("environment", {}).get("dtype", "f16")
        for r in payload["rows"]:
            if r.get("act", "16") != "16" or not r.get("marlin_us") or not r.get("torch_us"):
                continue
            key = (r["b_type"], r["group_size"], r["k"], r["n"], r["m"])
            out[(dtype, key)] = (r["torch_us"] / r["marlin_us"], r["marlin_us"], r["torch_us"])
    return out


def compare(anchor: dict[Key, float], ours: dict[tuple[str, Key], tuple[float, float, float]], tolerance: float):
    """Rows (dtype, key, ours, vllm, ratio, passed), sorted, for every cell both sides have."""
    rows = []
    for (dtype, key), (speedup, _, _) in ours.items():
        if key in anchor:
            bar = anchor[key]
            rows.append((dtype, key, speedup, bar, speedup / bar, speedup >= bar * (1 - tolerance)))
    return sorted(rows, key=lambda r: (r[0], r[1]))


def render(rows, tolerance: float, sources: list[str]) -> str:
    misses = [r for r in rows if not r[5]]
    lines = [
        f"Our speedup over torch fp16 against vLLM Marlin's (anchor), per cell; a cell passes at >= vLLM's "
        f"- {tolerance:.0%}.",
        "",
        "Sources: " + ", ".join(sources),
        "",
        f"**{len(rows) - len(misses)} of {len(rows)} cells pass; {len(misses)} miss.**",
        "",
        "| dtype | b_type | group | K x N | M | ours x | vLLM x | ours / vLLM | |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for dtype, (b, g, k, n, m), s, v, ratio, ok in rows:
        lines.append(
            f"| {dtype} | {b} | {g} | {k}x{n} | {m} | {s:.2f} | {v:.2f} | {ratio:.2f} | {'' if ok else 'MISS'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("anchor", type=Path)
    p.add_argument("runs", type=Path, nargs="+", help="bench/gemm.py --json files")
    p.add_argument("--tolerance", type=float, default=0.03)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    rows = compare(anchor_cells(args.anchor), our_cells(args.runs), args.tolerance)
    text = render(rows, args.tolerance, [x.name for x in [args.anchor, *args.runs]])
    if args.out:
        args.out.write_text(text)
    misses = sum(1 for r in rows if not r[5])
    print(f"{len(rows) - misses} of {len(rows)} cells pass; {misses} miss")


if __name__ == "__main__":
    main()
