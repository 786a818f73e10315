"""GEMM benchmark: marlin_bazel.gemm (4-bit or 8-bit weights) against torch's fp16/bf16 linear on the same shapes.

Weight types (--b-types): u4b8 (GPTQ-INT4), u4 (AWQ-INT4), u8b128 (GPTQ-INT8), fe4m3fn (FP8 weights, f16/bf16
scales), nvfp4 (FP4 e2m1 weights, e4m3 scales per 16 rows, a global scale), mxfp4 (FP4 e2m1 weights, e8m0 scales
per 32 rows, bf16 only) and u4b8-act (GPTQ-INT4 with act-order, a whole layer: is_k_full).

Activations (--act): 16 (A of --dtype, the default), fp8 (A of float8_e4m3fn; u4b8, u4 and mxfp4 only) or int8
(A of int8; u4b8 and u4 only), with fp32 per-row scales as a per-token quantization makes them, and --dtype the
output dtype; with 8-bit activations the weights are repacked in the row order of those kernels
(ops.a8_row_perm). The torch baseline multiplies the same A values in --dtype.

Timing: CUDA events around many calls after a warm-up; by default the calls are captured once in a CUDA graph
and the graph is replayed, so that the numbers are GPU time, not Python launch overhead (``--no-graph`` times
plain eager calls instead). Each call uses the next of several distinct copies of the weights (and scales), so
that the working set exceeds the L2 cache and every call reads its weights from DRAM.

Reported per (shape, M, b_type): time per call in µs, achieved DRAM bandwidth (bytes of weights (K*N/2 for the
4-bit types, K*N for u8b128 and fe4m3fn) + scales [+ zero points, global scale, act-order perm and g_idx] + A (8-bit
activations: 1 byte per element, plus a_scales) + C [+ act-order's permuted copy of A, written and read], divided
by the time), that bandwidth as a share of the device-to-device copy bandwidth (measured once, a 1 GiB torch copy,
read + write bytes), and the speedup over torch.

Usage (see bench/README.md):
    MARLIN_LIB=/path/to/libmarlin.so PYTHONPATH=python python bench/gemm.py --out docs/bench_gemm.md
    ... python bench/gemm.py --quick
    ... python bench/gemm.py --shapes 4096x4096,8192x28672 --m 1,16,64 --b-types u4b8,u8b128
    ... python bench/gemm.py --dtype bf16 --b-types fe4m3fn,nvfp4,mxfp4,u4b8-act
    ... python bench/gemm.py --act fp8 --dtype bf16 --b-types u4b8,u4,mxfp4
    ... python bench/gemm.py --act int8 --b-types u4b8,u4
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

_PY = str(Path(__file__).resolve().parents[1] / "python")
if _PY not in sys.path:
    sys.path.insert(0, _PY)

import torch
from marlin_bazel import _lib, ops
from marlin_bazel import reference as ref
from marlin_bazel._provenance import provenance

SHAPES = [(4096, 4096), (4096, 14336), (14336, 4096), (8192, 8192), (8192, 28672), (28672, 8192)]
MS = [1, 2, 4, 8, 16, 32, 64, 128, 256]
B_TYPES = ["u4b8", "u4"]  # the default; every key of BENCH_TYPES is accepted
ACTS = ("16", "fp8", "int8")  # --act: A of --dtype, or float8_e4m3fn / int8 with per-row scales
# --act -> the --b-types that take it (8-bit activations).
A8_ACT_TYPES: dict[str, tuple[str, ...]] = {"fp8": ("u4b8", "u4", "mxfp4"), "int8": ("u4b8", "u4")}
# --act -> (A's torch dtype name, the largest |A| a per-token quantization uses: a_scales = amax / it).
A8_ACT_DTYPES: dict[str, tuple[str, float]] = {"fp8": ("float8_e4m3fn", 448.0), "int8": ("int8", 127.0)}


@dataclass(frozen=True)
class BenchType:
    """A --b-types value: the ops.gemm b_type it runs, bits per weight (b_q holds K*N*bits/8 bytes), the group
    sizes it takes (the first is its default) and the activation dtypes it takes."""

    b_type: str
    bits: int
    group_sizes: tuple[int, ...]
    dtypes: tuple[str, ...] = ("f16", "bf16")


BENCH_TYPES: dict[str, BenchType] = {
    "u4b8": BenchType("u4b8", 4, (128, -1, 32, 64)),
    "u4": BenchType("u4", 4, (128, -1, 32, 64)),
    "u8b128": BenchType("u8b128", 8, (128, -1, 32, 64)),
    "fe4m3fn": BenchType("fe4m3fn", 8, (128, -1)),
    "nvfp4": BenchType("fe2m1f", 4, (16,)),
    "mxfp4": BenchType("fe2m1f", 4, (32,), ("bf16",)),
    "u4b8-act": BenchType("u4b8", 4, (128, 32, 64)),
}
QUICK_SHAPES = [(8192, 8192)]
QUICK_MS = [1, 16]
DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16}
MB = 1 << 20


@dataclass
class Row:
    k: int
    n: int
    m: int
    b_type: str
    group_size: int
    marlin_us: float | None
    marlin_gbps: float | None
    marlin_bytes: int
    torch_us: float | None
    torch_gbps: float | None
    torch_bytes: int
    check: str  # max |marlin - torch| / mean |torch| at this M, "" when not compared
    error: str = ""
    act: str = "16"  # --act
    plan: dict[str, str | int] | None = None  # what the launcher ran (ops.gemm_plan); None from an older library

    @property
    def speedup(self) -> float | None:
        if self.marlin_us and self.torch_us:
            return self.torch_us / self.marlin_us
        return None


# ------------------------------------------------------------------------------------------------ timing


class Timer:
    def __init__(self, *, use_graph: bool, warmup: int, target_ms: float, warmup_ms: float = 25.0) -> None:
        self.use_graph = use_graph
        self.warmup = warmup
        self.warmup_ms = warmup_ms
        self.target_ms = target_ms

    def __call__(self, calls: list[Callable[[], object]]) -> float:
        """Microseconds per call, cycling through ``calls`` (one per weight copy)."""
        # At least `warmup` calls and `warmup_ms` of them: 20 calls of a 40 us kernel last under a millisecond.
        start = time.perf_counter()
        rounds = 0
        while rounds < max(1, self.warmup // len(calls)) or (time.perf_counter() - start) * 1e3 < self.warmup_ms:
            for fn in calls:
                fn()
            torch.cuda.synchronize()
            rounds += 1
        if self.use_graph:
            try:
                return self._graph(calls)
            except RuntimeError as exc:
                if isinstance(exc, _lib.MarlinError):
                    raise
                print(f"  CUDA graph capture failed ({exc}); timing eager calls", file=sys.stderr)
                self.use_graph = False
                torch.cuda.synchronize()
        return self._eager(calls)

    def _calls_per_round(self, calls: list[Callable[[], object]]) -> int:
        return len(calls) * max(1, math.ceil(64 / len(calls)))

    def _graph(self, calls: list[Callable[[], object]]) -> float:
        per_round = self._calls_per_round(calls)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for i in range(per_round):
                calls[i % len(calls)]()
        graph.replay()  # warm the graph itself
        torch.cuda.synchronize()
        once = self._events(graph.replay, 1)
        rounds = max(3, min(1000, math.ceil(self.target_ms / max(once, 1e-3))))
        return self._events(graph.replay, rounds) * 1e3 / (rounds * per_round)

    def _eager(self, calls: list[Callable[[], object]]) -> float:
        per_round = self._calls_per_round(calls)

        def one_round() -> None:
            for i in range(per_round):
                calls[i % len(calls)]()

        once = self._events(one_round, 1)
        rounds = max(3, min(1000, math.ceil(self.target_ms / max(once, 1e-3))))
        return self._events(one_round, rounds) * 1e3 / (rounds * per_round)

    @staticmethod
    def _events(fn: Callable[[], object], reps: int) -> float:
        """Milliseconds for ``reps`` calls of ``fn``."""
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)


def copy_bandwidth(size: int = 1 << 30, reps: int = 20) -> float:
    """Device-to-device copy bandwidth in GB/s (1e9), counting bytes read plus bytes written."""
    src = torch.empty(size, dtype=torch.uint8, device="cuda").random_(0, 256)
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    torch.cuda.synchronize()
    ms = Timer._events(lambda: dst.copy_(src), reps)
    return 2 * size * reps / (ms * 1e-3) / 1e9


# ---------------------------------------------------------------------------------------------- workloads


def copies_for(bytes_per_copy: int, min_copies: int, min_working_set: int) -> int:
    return max(min_copies, math.ceil(min_working_set / max(bytes_per_copy, 1)))


def group_size_for(name: str, args: argparse.Namespace) -> int:
    """--group-size when given (parse_args checked that the type takes it), else the type's default."""
    return BENCH_TYPES[name].group_sizes[0] if args.group_size is None else args.group_size


Operands = dict[str, "torch.Tensor | ops.ActOrder | None"]


def _copy(value: torch.Tensor | ops.ActOrder | None) -> torch.Tensor | ops.ActOrder | None:
    if isinstance(value, ops.ActOrder):
        return replace(value, perm=value.perm.clone(), g_idx_sorted=value.g_idx_sorted.clone())
    return value.clone() if value is not None else None


def _nbytes(value: torch.Tensor | ops.ActOrder | None) -> int:
    if isinstance(value, ops.ActOrder):
        return _nbytes(value.perm) + _nbytes(value.g_idx_sorted)
    return value.numel() * value.element_size() if value is not None else 0


class Shape:
    """Weights of one (K, N): a marlin set per b_type and torch's dense weights, each in several copies."""

    def __init__(self, k: int, n: int, args: argparse.Namespace) -> None:
        self.k, self.n = k, n
        self.args = args
        self.dtype = DTYPES[args.dtype]
        self.act = getattr(args, "act", "16")  # (bench/tune.py has no --act)
        self.gen = torch.Generator(device="cuda").manual_seed(k * 100003 + n)

    def activations(self, m: int) -> tuple[torch.Tensor, dict[str, object], torch.Tensor]:
        """(A for marlin, its extra gemm arguments, the same values in --dtype for torch). --act fp8 / int8: a
        per-token quantization of randn rows: a_scales = amax / 448 (fp8) or amax / 127 (int8), A = x / a_scales
        converted to float8_e4m3fn, or rounded to int8."""
        x = torch.randn(m, self.k, device="cuda", generator=self.gen)
        if self.act == "16":
            a = x.to(self.dtype)
            return a, {}, a
        name, top = A8_ACT_DTYPES[self.act]
        a_scales = x.abs().amax(dim=1) / top
        a = (x / a_scales[:, None]).clamp(-top, top)
        a = a.round().to(torch.int8) if name == "int8" else a.to(getattr(torch, name))
        a16 = (a.float() * a_scales[:, None]).to(self.dtype)
        return a, {"a_scales": a_scales, "out_dtype": self.dtype}, a16

    def _codes(self, lo: int, hi: int, shape: tuple[int, int]) -> torch.Tensor:
        """Random int32 codes in lo..hi."""
        return torch.randint(lo, hi + 1, shape, device="cuda", dtype=torch.int32, generator=self.gen)

    def marlin(self, name: str) -> tuple[list[Operands], torch.Tensor, int]:
        """(per-copy operands, the dense weight [N, K] of the same values, bytes of one copy)."""
        k, n, dtype = self.k, self.n, self.dtype
        bt = BENCH_TYPES[name]
        gs = group_size_for(name, self.args)
        groups = 1 if gs == -1 else k // gs
        bits = bt.bits
        base: Operands = {"b_q": None, "scales": None, "zeros": None, "global_scale": None, "act_order": None}
        if name == "fe4m3fn":
            r = self._codes(0, 253, (k, n))
            q = r + (r >= 0x7F).to(torch.int32)  # every e4m3fn byte but the NaNs 0x7F, 0xFF
        else:
            q = self._codes(0, (1 << bits) - 1, (k, n))
        scales = (0.01 + 0.09 * torch.rand(groups, n, device="cuda", generator=self.gen)).to(dtype)
        z = g_idx = global_scale = None
        scale_format = None
        perm = ops.a8_row_perm(k) if self.act != "16" else None  # the row order of the 8-bit-activation kernels
        if name == "u4":
            b_q = ops.repack_awq(ref.pack_awq(q), k, n, perm=perm)
            z = self._codes(0, 15, (groups, n))
            base["zeros"] = ops.awq_zeros(ref.pack_awq_zeros(z), n, dtype)
        elif name == "u4b8-act":
            order = torch.randperm(k, generator=torch.Generator().manual_seed(k))  # row r -> sorted position
            g_idx = (order // gs).to(device="cuda", dtype=torch.int32)  # a whole layer: is_k_full
            ao = ops.prepare_act_order(g_idx, gs)
            b_q = ops.repack_gptq(ref.pack_gptq(q, bits=bits), k, n, bits=bits, perm=ao.perm)
            base["act_order"] = ao
        else:
            b_q = ops.repack_gptq(ref.pack_gptq(q, bits=bits), k, n, bits=bits, perm=perm)
        if name == "nvfp4":
            scale_format = "nvfp4"
            scales = self._codes(0x08, 0x47, (groups, n)).to(torch.uint8).view(torch.float8_e4m3fn)  # 2^-6..3.75
            global_scale = torch.full((1,), 0.25, device="cuda", dtype=torch.float32)
            base["global_scale"] = global_scale
        elif name == "mxfp4":
            scale_format = "mxfp4"
            scales = self._codes(116, 127, (groups, n)).to(torch.uint8)  # e8m0: 2^-11..1
        base["b_q"] = b_q
        base["scales"] = ops.permute_scales(scales)
        w = ref.dequant(q, scales, z, gs, bt.b_type, g_idx=g_idx, scale_format=scale_format, global_scale=global_scale)
        dense = w.to(dtype).t().contiguous()  # [N, K], as nn.Linear
        del q, w
        # Bytes one call reads besides A and C: the weights (K*N*bits/8: K*N/2 for 4-bit, K*N for 8-bit), the
        # scales and, where the format has them, zero points, the global scale, act-order's perm and g_idx.
        one = sum(_nbytes(t) for t in base.values())
        assert b_q.numel() * b_q.element_size() == k * n * bits // 8
        count = copies_for(one, self.args.min_copies, self.args.min_working_set_mb * MB)
        sets = [base] + [{key: _copy(t) for key, t in base.items()} for _ in range(count - 1)]
        return sets, dense, one

    def dense_copies(self, dense: torch.Tensor) -> list[torch.Tensor]:
        one = dense.numel() * dense.element_size()
        count = copies_for(one, self.args.min_copies, self.args.min_working_set_mb * MB)
        return [dense] + [dense.clone() for _ in range(count - 1)]


def bench_shape(k: int, n: int, args: argparse.Namespace, timer: Timer) -> list[Row]:
    shape = Shape(k, n, args)
    dtype = shape.dtype
    elem = torch.tensor([], dtype=dtype).element_size()
    rows: list[Row] = []
    torch_us: dict[int, float | None] = {}
    dense_list: list[torch.Tensor] | None = None
    for b_type in args.b_types:
        bt = BENCH_TYPES[b_type]
        gs = group_size_for(b_type, args)
        sets, dense, one_copy = shape.marlin(b_type)
        if dense_list is None and not args.no_torch:
            dense_list = shape.dense_copies(dense)
        print(f"{k}x{n} {b_type}: {len(sets)} weight copies, {len(sets) * one_copy / MB:.0f} MiB", flush=True)
        for m in args.m:
            a, extra, a16 = shape.activations(m)
            out = torch.empty(m, n, device="cuda", dtype=dtype)
            io_bytes = (m * k + m * n) * elem
            if shape.act != "16":
                marlin_io = m * k + 4 * m + m * n * elem  # 1-byte A, fp32 a_scales, 16-bit C
            else:
                marlin_io = io_bytes + (2 * m * k * elem if b_type == "u4b8-act" else 0)  # A in perm order: w + r
            marlin_us = marlin_gbps = plan = None
            error = check = ""

            def call(
                s: Operands,
                a: torch.Tensor = a,
                out: torch.Tensor | None = out,
                b_type: str = bt.b_type,
                gs: int = gs,
                extra: dict[str, object] = extra,
                fn: Callable[..., object] = ops.gemm,
            ) -> Callable[[], object]:
                outs = {} if fn is ops.gemm_plan else {"out": out}
                return lambda: fn(
                    a,
                    s["b_q"],
                    s["scales"],
                    b_type=b_type,
                    zeros=s["zeros"],
                    group_size=gs,
                    global_scale=s["global_scale"],
                    act_order=s["act_order"],
                    **outs,
                    **extra,
                )

            try:
                marlin_us = timer([call(s) for s in sets])
                marlin_gbps = (one_copy + marlin_io) / (marlin_us * 1e-6) / 1e9
                want = torch.nn.functional.linear(a16, dense)
                got = call(sets[0], out=None)()
                rel = ((got.float() - want.float()).abs().max() / want.float().abs().mean().clamp_min(1e-30)).item()
                check = f"{rel:.1e}" + ("" if rel < args.check_tol else " MISMATCH")
                try:
                    plan = call(sets[0], fn=ops.gemm_plan)()
                except _lib.MarlinError:  # a library older than marlin_gemm_plan
                    plan = None
            except _lib.MarlinError as exc:
                error = str(exc)
                print(f"  M={m}: marlin failed: {exc}", file=sys.stderr)
            if m not in torch_us:
                if dense_list is None:
                    torch_us[m] = None
                else:
                    torch_us[m] = timer([(lambda w=w, a=a16: torch.nn.functional.linear(a, w)) for w in dense_list])
            t_us = torch_us[m]
            t_bytes = k * n * elem + io_bytes
            row = Row(
                k=k,
                n=n,
                m=m,
                b_type=b_type,
                group_size=gs,
                marlin_us=marlin_us,
                marlin_gbps=marlin_gbps,
                marlin_bytes=one_copy + marlin_io,
                torch_us=t_us,
                torch_gbps=t_bytes / (t_us * 1e-6) / 1e9 if t_us else None,
                torch_bytes=t_bytes,
                check=check,
                error=error,
                act=args.act,
                plan=plan,
            )
            rows.append(row)
            print("  " + format_row(row, args.copy_gbps), flush=True)
        del sets, dense
    del dense_list
    torch.cuda.empty_cache()
    return rows


# ----------------------------------------------------------------------------------------------- output

HEADER = (
    "| K x N | M | b_type | marlin µs | marlin GB/s | % of copy BW | torch µs | torch GB/s | speedup | check |\n"
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
)


def _num(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def format_row(r: Row, copy_gbps: float) -> str:
    share = r.marlin_gbps / copy_gbps * 100 if r.marlin_gbps else None
    marlin = _num(r.marlin_us, ".1f") if not r.error else f"error: {r.error}"
    speedup = _num(r.speedup, ".2f") + ("x" if r.speedup else "")
    b_type = r.b_type + (f" {r.act}-act" if r.act != "16" else "")
    return (
        f"| {r.k} x {r.n} | {r.m} | {b_type} | {marlin} | {_num(r.marlin_gbps, '.0f')} | {_num(share, '.0f')} | "
        f"{_num(r.torch_us, '.1f')} | {_num(r.torch_gbps, '.0f')} | {speedup} | {r.check} |"
    )


def group_sizes_text(args: argparse.Namespace) -> str:
    """e.g. "128 (nvfp4: 16, mxfp4: 32)": the group size of most types, then the others'."""
    sizes = {name: group_size_for(name, args) for name in args.b_types}
    common = max(set(sizes.values()), key=list(sizes.values()).count)
    others = [f"{name}: {gs}" for name, gs in sizes.items() if gs != common]
    return str(common) + (f" ({', '.join(others)})" if others else "")


def report(rows: list[Row], args: argparse.Namespace, env: dict[str, object]) -> str:
    timing = "CUDA graph replay" if env["graph"] else "eager calls"
    types = f"a/c dtype {args.dtype}"
    if args.act != "16":
        a_dtype = A8_ACT_DTYPES[args.act][0]
        types = f"{args.act.upper()} activations ({a_dtype} A, fp32 per-row scales; torch: the same values in "
        types += f"{args.dtype}), c dtype {args.dtype}"
    lines = [
        f"GEMM benchmark: {env['device']} ({env['sm_count']} SMs), torch {env['torch']}, CUDA {env['cuda']}",
        f"({env['date']}); commit {env['commit']}, library {env['library']} (sha256 {env['library_sha256']}).",
        "",
        f"- {types}, group size {group_sizes_text(args)}; {env['built_kernel_count']} kernels built",
        f"- device-to-device copy bandwidth (1 GiB torch copy, read + write): **{args.copy_gbps:.0f} GB/s**",
        f"- timing: {timing}, CUDA events, after >= {args.warmup} warm-up calls and >= {args.warmup_ms:g} ms of"
        " them; each call",
        f"  reads the next of >= {args.min_copies} weight copies",
        f"  (>= {args.min_working_set_mb} MiB in all, beyond the L2 cache), so weights come from DRAM",
        "- GB/s = bytes of weights (K*N/2 for the 4-bit types, K*N for u8b128/fe4m3fn) + scales (+ zero points,"
        " global scale, act-order perm/g_idx) + A (FP8, INT8: 1 byte per element + 4 per row) + C (+ act-order's"
        " permuted A, written and read) per call / time; torch: fp weights + A + C",
        "- check: max |marlin - torch| / mean |torch| at that M (same dequantized weights)",
        "",
        HEADER,
    ]
    lines += [format_row(r, args.copy_gbps) for r in rows]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------- main


def parse_shape(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad shape {text!r}: expected KxN, e.g. 4096x14336") from None
    return k, n


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="M in {1, 16}, shape 8192x8192 only (unless given)")
    p.add_argument("--shapes", type=lambda s: [parse_shape(x) for x in s.split(",")], help="KxN,KxN,...")
    p.add_argument("--m", type=lambda s: [int(x) for x in s.split(",")], help="M values, e.g. 1,16,64")
    p.add_argument(
        "--b-types",
        type=lambda s: s.split(","),
        default=B_TYPES,
        help=f"comma-separated, of {','.join(BENCH_TYPES)} (default {','.join(B_TYPES)})",
    )
    p.add_argument("--dtype", choices=sorted(DTYPES), default="f16", help="A and C (--act fp8, int8: C) dtype")
    p.add_argument(
        "--act",
        choices=ACTS,
        default="16",
        help="activations: 16 (A of --dtype), fp8 (float8_e4m3fn A with fp32 per-row scales; u4b8, u4, mxfp4) or "
        "int8 (int8 A with fp32 per-row scales; u4b8, u4)",
    )
    p.add_argument(
        "--group-size",
        type=int,
        default=None,
        choices=ops.GROUP_SIZES,
        help="rows per scale (default: 128; nvfp4 16, mxfp4 32); every listed type must take it",
    )
    p.add_argument("--min-copies", type=int, default=4, help="weight copies to rotate over (default 4)")
    p.add_argument("--min-working-set-mb", type=int, default=256, help="MiB of weights rotated over (default 256)")
    p.add_argument("--warmup", type=int, default=20, help="warm-up calls (at least)")
    p.add_argument("--warmup-ms", type=float, default=25.0, help="warm-up milliseconds (at least)")
    p.add_argument("--target-ms", type=float, default=50.0, help="timed milliseconds per measurement")
    p.add_argument("--no-graph", action="store_true", help="time eager calls instead of a CUDA graph")
    p.add_argument("--no-torch", action="store_true", help="skip the torch baseline")
    p.add_argument(
        "--check-tol",
        type=float,
        help="flag a mismatch against torch above this (default 0.02 for f16, 0.1 for bf16: with 8-bit mantissas "
        "the max error over a large output reaches ~0.05 of the mean |C| from rounding alone, "
        "tests/gpu/test_gemm.py)",
    )
    p.add_argument("--out", type=Path, help="write the markdown table here")
    p.add_argument("--json", type=Path, help="write the rows as JSON here")
    args = p.parse_args(argv)
    if args.check_tol is None:
        args.check_tol = 0.1 if args.dtype == "bf16" else 0.02
    args.shapes = args.shapes or (QUICK_SHAPES if args.quick else SHAPES)
    args.m = args.m or (QUICK_MS if args.quick else MS)
    for b in args.b_types:
        if b not in BENCH_TYPES:
            p.error(f"--b-types: {b!r} is not one of {list(BENCH_TYPES)}")
        bt = BENCH_TYPES[b]
        if args.group_size is not None and args.group_size not in bt.group_sizes:
            p.error(
                f"--group-size: {args.group_size} does not apply to {b} (allowed: {sorted(bt.group_sizes)}); leave "
                "--group-size out to use each type's default"
            )
        if args.dtype not in bt.dtypes:
            p.error(f"--b-types: {b} needs --dtype {' or '.join(bt.dtypes)}, got --dtype {args.dtype}")
        if args.act != "16" and b not in A8_ACT_TYPES[args.act]:
            p.error(
                f"--b-types: {b} has no {args.act.upper()}-activation kernels; --act {args.act} takes "
                f"{', '.join(A8_ACT_TYPES[args.act])}"
            )
    for k, n in args.shapes:
        gs = max(group_size_for(b, args) for b in args.b_types)
        if k % 64 or n % 64 or (gs != -1 and k % gs):
            p.error(f"--shapes: {k}x{n} needs K and N multiples of 64 and K a multiple of the group size ({gs})")
    if min(args.m) < 1:
        p.error("--m: every M must be >= 1")
    return args


def device_environment() -> dict[str, object]:
    """What a report says about where it ran: GPU, SM count, torch and CUDA versions, UTC date, and what ran: the
    commit and the library's path and sha256."""
    props = torch.cuda.get_device_properties(0)
    return {
        "device": props.name,
        "sm_count": props.multi_processor_count,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        **provenance(),  # the commit and the library's path and sha256
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not torch.cuda.is_available():
        print("bench/gemm.py needs a CUDA device", file=sys.stderr)
        return 2
    env = device_environment()
    env["built_kernel_count"] = ops.built_kernel_count()
    env["dtype"], env["act"] = args.dtype, args.act
    start = time.perf_counter()
    args.copy_gbps = copy_bandwidth()
    print(f"{env['device']}: copy bandwidth {args.copy_gbps:.0f} GB/s (read + write)", flush=True)
    timer = Timer(use_graph=not args.no_graph, warmup=args.warmup, target_ms=args.target_ms, warmup_ms=args.warmup_ms)
    rows: list[Row] = []
    for k, n in args.shapes:
        rows += bench_shape(k, n, args, timer)
    env["graph"] = timer.use_graph
    text = report(rows, args, env)
    print()
    print(text)
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"environment": env, "copy_gbps": args.copy_gbps, "rows": [asdict(r) for r in rows]}
        args.json.write_text(json.dumps(payload, indent=1) + "\n")
    return 1 if any(r.error or "MISMATCH" in r.check for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
