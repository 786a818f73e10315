"""Launcher tuning data: every thread config and blocks-per-SM cap, timed against the launcher's own choice.

For each (K, N) and M, times ``marlin_bazel.gemm`` with the launcher's choice ("auto") and with each thread config
built for that batch size forced (``thread_config=``), at 1 and 2 blocks per multiprocessor (``blocks_per_sm=``),
with bench/gemm.py's method (CUDA-graph replay, weights rotated beyond L2). The table says, per row, the best
variant and how much slower the launcher's choice is; the JSON keeps every timing and, as ``auto_plan``, what the
launcher's choice ran (``ops.gemm_plan``).

    MARLIN_LIB=/path/to/libmarlin.so PYTHONPATH=python python bench/tune.py --out docs/tuning/h200_u4b8_f16.md \\
        --json docs/tuning/h200_u4b8_f16.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gemm as bench  # bench/gemm.py: shapes, weight sets, timer; it puts python/ on sys.path
from marlin_bazel import _lib, ops

# Thread configs the catalog builds per batch size (docs/DESIGN.md): m <= 16 (one M block or the 8-row block)
# and m > 16.
SMALL = ((128, 128), (64, 128), (128, 64))
LARGE = ((64, 256), (64, 128), (128, 64))
BLOCKS = (1, 2)


def variants(m: int) -> list[tuple[str, tuple[int, int] | None, int]]:
    out: list[tuple[str, tuple[int, int] | None, int]] = [("auto", None, 0)]
    for cfg in SMALL if m <= 16 else LARGE:
        for blocks in BLOCKS:
            out.append((f"{cfg[0]}x{cfg[1]}/{blocks}", cfg, blocks))
    return out


def tune_shape(k: int, n: int, args: argparse.Namespace, timer: bench.Timer) -> list[dict[str, object]]:
    shape = bench.Shape(k, n, args)
    sets, _, _ = shape.marlin(args.b_type)
    bt = bench.BENCH_TYPES[args.b_type]
    gs = bench.group_size_for(args.b_type, args)
    rows = []
    warmed = False  # the first measurement of a shape runs slow (clocks, first graph): done twice, first dropped
    for m in args.m:
        a = torch.randn(m, k, device="cuda", generator=shape.gen).to(shape.dtype)
        out = torch.empty(m, n, device="cuda", dtype=shape.dtype)
        times: dict[str, float | None] = {}
        for name, cfg, blocks in variants(m):
            calls = [
                lambda s=s, cfg=cfg, blocks=blocks, a=a, out=out: ops.gemm(
                    a,
                    s["b_q"],
                    s["scales"],
                    b_type=bt.b_type,
                    zeros=s["zeros"],
                    group_size=gs,
                    global_scale=s["global_scale"],
                    act_order=s["act_order"],
                    out=out,
                    thread_config=cfg,
                    blocks_per_sm=blocks,
                )
                for s in sets
            ]
            try:
                if not warmed:
                    timer(calls)
                    warmed = True
                times[name] = timer(calls)
            except _lib.MarlinError:  # the config does not tile this shape
                times[name] = None
        forced = {key: t for key, t in times.items() if key != "auto" and t is not None}
        best = min(forced, key=lambda key: forced[key])
        auto = times["auto"]
        first = sets[0]
        try:  # what "auto" ran (None from a library older than marlin_gemm_plan)
            plan = ops.gemm_plan(
                a, first["b_q"], first["scales"], b_type=bt.b_type, zeros=first["zeros"], group_size=gs,
                global_scale=first["global_scale"], act_order=first["act_order"],
            )  # fmt: skip
        except _lib.MarlinError:
            plan = None
        rows.append(
            {"k": k, "n": n, "m": m, "auto_us": auto, "best": best, "best_us": forced[best], "times_us": times,
             "auto_plan": plan}
        )  # fmt: skip
        print(f"{k}x{n} m={m}: auto {auto:.1f} us, best {best} {forced[best]:.1f} us", flush=True)
    return rows


def report(rows: list[dict[str, object]], args: argparse.Namespace, env: dict[str, object]) -> str:
    lines = [
        f"Launcher tuning: {env['device']} ({env['sm_count']} SMs), torch {env['torch']}, CUDA {env['cuda']}",
        f"({env['date']}); b_type {args.b_type}, {args.dtype}, group size {bench.group_size_for(args.b_type, args)}.",
        f"Commit {env['commit']}, library {env['library']} (sha256 {env['library_sha256']}).",
        "",
        "- variants: thread config (thread_k x thread_n) / blocks per SM cap; `auto` is the launcher's choice",
        "- `auto / best`: the launcher's time over the best forced variant's (1.00 = it picked the best)",
        "",
        "| K x N | M | auto µs | best | best µs | auto / best | every variant (µs) |",
        "| --- | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for r in rows:
        every = ", ".join(f"{key} {t:.1f}" for key, t in r["times_us"].items() if key != "auto" and t is not None)
        lines.append(
            f"| {r['k']} x {r['n']} | {r['m']} | {r['auto_us']:.1f} | {r['best']} | {r['best_us']:.1f} | "
            f"{r['auto_us'] / r['best_us']:.2f} | {every} |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shapes", type=lambda s: [bench.parse_shape(x) for x in s.split(",")], default=bench.SHAPES)
    p.add_argument("--m", type=lambda s: [int(x) for x in s.split(",")], default=bench.MS)
    p.add_argument("--b-type", choices=sorted(bench.BENCH_TYPES), default="u4b8")
    p.add_argument("--dtype", choices=sorted(bench.DTYPES), default="f16")
    p.add_argument("--group-size", type=int, default=None, choices=ops.GROUP_SIZES)
    p.add_argument("--min-copies", type=int, default=4)
    p.add_argument("--min-working-set-mb", type=int, default=256)
    p.add_argument("--target-ms", type=float, default=20.0, help="timed milliseconds per variant")
    p.add_argument("--out", type=Path, help="write the markdown table here")
    p.add_argument("--json", type=Path, help="write every timing as JSON here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not torch.cuda.is_available():
        print("bench/tune.py needs a CUDA device", file=sys.stderr)
        return 2
    env = bench.device_environment()
    start = time.perf_counter()
    timer = bench.Timer(use_graph=True, warmup=10, target_ms=args.target_ms)
    rows = []
    for k, n in args.shapes:
        rows += tune_shape(k, n, args, timer)
    text = report(rows, args, env)
    print(text)
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        case = {"b_type": args.b_type, "dtype": args.dtype, "group_size": bench.group_size_for(args.b_type, args)}
        args.json.write_text(json.dumps({"environment": env, "case": case, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
