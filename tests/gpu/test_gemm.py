"""GPU correctness suite of marlin_bazel: GEMM against a float64 reference for GPTQ-INT4 (u4b8), AWQ-INT4 (u4),
GPTQ-INT8 (u8b128), FP8 weights (fe4m3fn), FP4 weights (fe2m1f: NVFP4 and MXFP4), GPTQ act-order (u4b8 and u8b128,
whole layers and K shards), bias, FP8 activations (u4b8, u4, MXFP4 with float8_e4m3fn A and per-row a_scales) and
INT8 activations (u4b8, u4 with int8 A and per-row a_scales); repack (also with an act-order perm and the
8-bit-activation row order) and scale permutation (2-byte and 1-byte) against the pure-torch reference layouts
(bit-exact); argument validation in Python and in the C library.

Every case runs: a format whose kernels are not in the library fails (MarlinError NOT_BUILT), it is not skipped.
The exceptions are the 8-bit-activation classes as a whole, each skipped with the reason when a probe GEMM of every
one of its formats is NOT_BUILT: GemmFp8ActTest (FP8-activation kernels are built only for the sm89 family, archs
8.9, 12.0, 12.1, so the normal sm90 library has none; run it against the library that tests/gpu/build_family.sh
sm89 builds) and GemmInt8ActTest (INT8-activation kernels are built for the sm80 and sm75 families; a library
built without them, e.g. before they existed, has none).

Run on a CUDA machine (skipped without CUDA, failed instead with MARLIN_REQUIRE_GPU=1, which every documented
device run sets; an error if CUDA is there but the library is not):

    MARLIN_LIB=/path/to/libmarlin.so PYTHONPATH=python python -m pytest tests/gpu -x -q
    MARLIN_LIB=/path/to/libmarlin.so PYTHONPATH=python python -m unittest discover -s tests/gpu -v
    # only the FP8/FP4/act-order/bias cases and the checks of the new arguments:
    ... python -m pytest tests/gpu/test_gemm.py -q \
        -k "fe4m3fn or fp4 or act_order or bias or global_scale or new_arguments or perm or 1byte"
    # only INT8 activations (and the checks of their arguments):
    ... python -m pytest tests/gpu/test_gemm.py -q -k "Int8Act or int8_activation"
    # only FP8 activations (and the checks of their arguments), against the library with the sm89 family:
    tests/gpu/build_family.sh sm89 OUT_DIR   # the FP8-activation family compiled for the GPU at hand (sm_90)
    MARLIN_LIB=OUT_DIR/libmarlin_sm89.so ... python -m pytest tests/gpu/test_gemm.py -q \
        -k "Fp8Act or fp8_activation or a8"

With MARLIN_RESULTS=path set, every case is written there at the end: JSON, or a markdown table when the path
ends in ".md" (device, date, commit (MARLIN_COMMIT, else git's HEAD), the library's path and sha256, per-case
pass/fail and errors), for docs/.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import math
import os
import re
import sys
import threading
import time
import unittest
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_PY = str(Path(__file__).resolve().parents[2] / "python")
if _PY not in sys.path:
    sys.path.insert(0, _PY)

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

from marlin_bazel import _lib
from marlin_bazel._lib import MarlinError, ScalarType, Status
from marlin_bazel._provenance import provenance

if torch is not None:
    from marlin_bazel import ops
    from marlin_bazel import reference as ref

HAS_CUDA = torch is not None and torch.cuda.is_available()
SKIP_REASON = "torch is not installed" if torch is None else "no CUDA device (torch.cuda.is_available() is False)"
# MARLIN_REQUIRE_GPU=1 (every documented device run sets it): without torch, CUDA or the library the GPU tests
# fail instead of being skipped, so a broken GPU environment cannot read as a pass.
REQUIRE_GPU = os.environ.get("MARLIN_REQUIRE_GPU") == "1"
RUN_GPU_TESTS = HAS_CUDA or REQUIRE_GPU

# --------------------------------------------------------------------------------------------- test matrix

B_TYPES = ("u4b8", "u4", "u8b128")  # GPTQ-INT4 (fixed zero 8), AWQ-INT4 (zero points), GPTQ-INT8 (fixed zero 128)
BITS = {"u4b8": 4, "u4": 4, "u8b128": 8}
DTYPES = ("f16", "bf16")
GROUP_SIZES = (-1, 32, 64, 128)
MS = (1, 7, 16, 33, 64, 200)
# (K, N) -> the M values run for it. (384, 320): N not a multiple of 128, so only thread config (128, 64, 128)
# tiles it. (K and N both not multiples of 128 fit no thread config: CApiValidationTest checks the error.)
SHAPES: dict[tuple[int, int], tuple[int, ...]] = {
    (256, 256): MS,
    (384, 320): MS,
    (1024, 3072): MS,
    (2048, 640): MS,
    (4096, 4096): MS,
    (8192, 28672): (1, 33, 200),
}

# Error metric. The kernel's only roundings are (1) the dequantized weight (q - z) * s, rounded once to the
# 16-bit type (q - z itself, at most 15 in magnitude for 4-bit and 128 for 8-bit, is exact in f16 and bf16), (2)
# fp32 accumulation, (3) the final rounding of C. With u the unit roundoff (2^-11 f16, 2^-8 bf16), (1) adds
# sum_k a_k w_k d_k with independent |d_k| <= u: a sum of K random terms whose spread is about u * sigma,
# sigma = sqrt(sum_k a_k^2 w_k^2); (3) adds at most u * |c|; (2) is far smaller (2^-24 per addition). So per
# element  z = |out - ref| / (u * (sigma + |ref|))  stays O(1): a torch simulation of exactly these roundings, run
# over this whole matrix, gave max z = 2.4 for the 4-bit types and 2.25 for u8b128 (z is relative to sigma, so
# the 8-bit weights' larger range changes nothing), while the coarser "max |err| / mean |ref|" reached 0.049 for
# bf16 with channelwise scales, so a fixed 0.03 on it would be flaky. A wrong result has |out - ref| ~ sigma,
# i.e. z ~ 1/u (256 or 2048); dropping just 32 of 8192 rows of W gave z >= 67 in bf16, swapping two columns
# z >= 165. Z_MAX = 8 leaves 3x room for rounding order (stream-K reductions, MMA accumulation) and stays 8x below
# the smallest of those bugs.
Z_MAX = 8.0
UNIT_ROUNDOFF = {"f16": 2.0**-11, "bf16": 2.0**-8}

# The same z-metric and Z_MAX hold for the other formats, because each has at most the roundings above:
# - fe4m3fn (FP8 weights): every e4m3 value (4 significant bits, 2^-9..448) is exact in f16 and bf16, so fp8(q) * s
#   is rounded once to the 16-bit type, exactly like (q - z) * s: rounding (1) as before. (|W| <= 448 * 0.1.)
# - NVFP4: fp4(q) has at most 2 significant bits and an e4m3 scale at most 4, so fp4(q) * fp8(s) has at most 6
#   significant bits and lies in 2^-10..2688: exact in f16 and bf16, rounding (1) vanishes. global_scale
#   multiplies the fp32 sums: one more fp32 rounding (2^-24), far below u. It is drawn with 8 significant bits,
#   so the reference W = fp4 * fp8 * global_scale is itself exact in fp32.
# - MXFP4: fp4(q) * 2^(E-127) is a power of two times a 2-bit value, exact in bf16 for the exponents used here
#   (E in 116..127, no subnormals, no overflow): rounding (1) vanishes.
# - act-order: the same dequantization as u4b8/u8b128; gathering A's columns in perm order copies values
#   exactly, and only the order of the fp32 additions changes: rounding (2), still far smaller than u.
# - bias: C = A @ W + bias adds at most one rounding of |A @ W + bias| if the kernel adds the bias after rounding
#   A @ W to the 16-bit type; the denominator gets u * |bias| for it (see _errors).
# - FP8 activations (GemmFp8ActTest): the reference is A_ref = a_scales[r] * float(fp8(A)) (exact in float64: an e4m3
#   value times an fp32) times the same exact W, and z is computed with A_ref in place of A and u of the output
#   dtype. The kernel converts the weights exactly to e4m3 (every INT4 value q - z, in -15..15, and every e2m1 value
#   has at most 4 significant bits and lies within e4m3's range), so the e4m3 x e4m3 products are exact; it sums
#   them in fp32, applies the group scale (a 16-bit value or a power of two, exact in fp32) to each 32-row partial
#   sum in fp32 (channelwise scales: to the final sums) and a_scales[r] to the fp32 sums, and rounds once to the
#   output type. Rounding (1) of the 16-bit path does not occur; what is left is (2), a few fp32 roundings (2^-24
#   each), and (3), at most u * |c|, which the denominator already covers, so the same Z_MAX holds with room to
#   spare. (Even if the tensor cores accumulated with only ~14 significant bits, as reported for Hopper's FP8 MMA,
#   that would add about 2^-14 * sigma per 32-row step, at most sqrt(K/32) * 2^-14 * sigma <= 2^-10 * sigma for the
#   channelwise K = 4096 here, i.e. z <= 2 for f16.) With a_scales, A is drawn as a per-token quantization makes
#   it: rows of magnitudes spread over a factor of 256, each divided by its scale amax / 448, so |fp8(A)| reaches 448
#   in every row (the whole e4m3 range is used) and a kernel that applied another row's scale is off by up to 256x.
# - INT8 activations (GemmInt8ActTest): z as for FP8 activations, and a tighter bound (_int8_act_bound) that the
#   kernels' arithmetic (docs/FORMATS.md) guarantees, checked element by element. The integer products are exact
#   (int32 sums of each 32-row step, at most 32 * 127 * 15 in magnitude: exact in fp32 too); what is left is fp32
#   arithmetic on the K/32 step sums (the group scale multiplies each; fp32 additions in any order, the stream-K
#   reduction included; channelwise scales and a_scales multiply the final sums; the bias is added) and the final
#   rounding of C. Summing n terms in fp32 in any order, with a few multiplications each, errs by at most
#   gamma_n * T, gamma_n = n 2^-24 / (1 - n 2^-24), n = K/32 + INT8_ACT_EXTRA_ROUNDINGS,
#   T = sum_k |A_ref[r, k] W[k, n]| (+ |bias[n]|); rounding C to f16/bf16 adds at most u |C|. So
#       |out - ref| <= u (|ref| + |ref - bias|) + (1 + 2u) gamma_n T + u * tiny
#   (|ref - bias|: one more rounding if the bias is added after rounding A @ W to the output type, dropped without
#   a bias; tiny: the smallest normal of the output type, for subnormal results). The first term is the rounding of
#   C. The second is a worst case (every fp32 rounding the same way): about n 2^-24 sqrt(K) times a typical |ref|,
#   2^-11 for K = 4096, so the bound is within about 2x of f16's rounding (bf16's is 8x larger), while the actual
#   fp32 error (a random walk, about sqrt(n) 2^-25 |ref|) is some 2^-21 |ref|: what the bound leaves is the
#   rounding of C. A is uniformly random in -127..127; with a_scales each row has its own scale in 2^-12..2^-4 (a
#   factor of 256 between rows), so a kernel that applied another row's scale, or dropped a 32-row step (an error
#   of about |ref| / sqrt(K/32)), is far outside the bound.
# The reference W (float64) is exact in every case, so these are the only differences.
NEW_MS = (1, 16, 64, 200)
FULL_SIZE = (8192, 28672)  # one large shape per format, M = 1 only
# (K, N) -> M values, for fe4m3fn, NVFP4 and MXFP4. (384, 320): only thread config (128, 64, 128) tiles it.
FLOAT_SHAPES: dict[tuple[int, int], tuple[int, ...]] = {
    (256, 256): NEW_MS,
    (384, 320): NEW_MS,
    (1024, 3072): NEW_MS,
    (4096, 4096): NEW_MS,
    FULL_SIZE: (1,),
}
FP8_GROUP_SIZES = (-1, 128)
# Act-order: (K, N) -> checkpoint group sizes run (each with NEW_MS); a full-size shape with M = 1.
ACT_ORDER_SHAPES: dict[tuple[int, int], tuple[int, ...]] = {
    (256, 256): (32, 128),
    (1024, 3072): (64,),
    (4096, 4096): (128,),
}
ACT_ORDER_FULL_SIZE = (4096, 14336)
# K shards only: K = 320 is no multiple of the group size 128 (allowed for a K shard, never a whole layer).
ACT_ORDER_SHARD_SHAPES: dict[tuple[int, int], tuple[int, ...]] = {(320, 256): (128,)}
ACT_ORDER_B_TYPES = ("u4b8", "u8b128")
# FP8 activations (a float8_e4m3fn, f16/bf16 output): INT4 weights with these group sizes (32 in one extra method)
# on these shapes, each with M NEW_MS; MXFP4 (bf16 output) on the same shapes; the full size at M = 1 once.
FP8_ACT_B_TYPES = ("u4b8", "u4")
FP8_ACT_GROUP_SIZES = (-1, 128)
FP8_ACT_SHAPES = ((256, 256), (1024, 3072), (4096, 4096))
# INT8 activations (a int8, f16/bf16 output): INT4 weights with every group size on these shapes ((384, 320): only
# thread config (128, 64) tiles it), each with INT8_ACT_MS, without and with a_scales; the full size once.
INT8_ACT_B_TYPES = ("u4b8", "u4")
INT8_ACT_GROUP_SIZES = (-1, 32, 64, 128)
INT8_ACT_SHAPES = ((256, 256), (384, 320), (1024, 3072), (4096, 4096))
INT8_ACT_MS = (1, 16, 33, 64, 200)
# fp32 roundings per step sum besides the additions, with room (int32 -> fp32, group scale, channelwise scale,
# a_scales, bias, and a kernel that multiplies the two scales first): the n of _int8_act_bound is K/32 + this.
INT8_ACT_EXTRA_ROUNDINGS = 8

# ------------------------------------------------------------------------------------------------ results

_RESULTS: list[dict[str, Any]] = []


def _record(test: str, passed: bool, **info: Any) -> None:
    _RESULTS.append({"test": test, "passed": bool(passed), **info})


def recorded(fn: Callable[..., None]) -> Callable[..., None]:
    """Record a whole test method as one pass/fail case."""

    @functools.wraps(fn)
    def wrapper(self: unittest.TestCase) -> None:
        start = time.perf_counter()
        try:
            fn(self)
        except unittest.SkipTest:
            raise
        except BaseException as exc:
            _record(fn.__name__, False, error=f"{type(exc).__name__}: {exc}"[:2000], seconds=_since(start))
            raise
        _record(fn.__name__, True, seconds=_since(start))

    return wrapper


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 3)


class Cases:
    """Runs many checks in one test method and fails once at the end with all failures listed (unlike subTest,
    this works the same under pytest and unittest, and the failure reaches the @recorded wrapper)."""

    def __init__(self, test: unittest.TestCase) -> None:
        self.test = test
        self.failures: list[str] = []

    @contextlib.contextmanager
    def case(self, label: object) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            self.failures.append(f"{label}: {type(exc).__name__}: {exc}")

    def done(self) -> None:
        if self.failures:
            self.test.fail(f"{len(self.failures)} case(s) failed:\n" + "\n".join(self.failures))


def _environment() -> dict[str, Any]:
    env: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **provenance(),
        "python": sys.version.split()[0],
        "torch": getattr(torch, "__version__", None),
    }
    if HAS_CUDA:
        props = torch.cuda.get_device_properties(0)
        env.update(
            device=props.name,
            capability=f"{props.major}.{props.minor}",
            sm_count=props.multi_processor_count,
            cuda=torch.version.cuda,
        )
        try:
            env["built_kernel_count"] = ops.built_kernel_count()
            env["fp8_activation_kernels"] = _a8_act_probe("fp8") is None
            env["int8_activation_kernels"] = _a8_act_probe("int8") is None
        except Exception as exc:
            env["built_kernel_count"] = f"unavailable: {exc}"
    return env


def _cell(row: dict[str, Any], key: str, fmt: str = "{}") -> str:
    return fmt.format(row[key]) if row.get(key) is not None else ""


def _write_results(path: Path) -> None:
    passed = sum(r["passed"] for r in _RESULTS)
    doc = {
        "environment": _environment(),
        "summary": {"passed": passed, "failed": len(_RESULTS) - passed, "z_max": Z_MAX},
        "cases": _RESULTS,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix != ".md":
        path.write_text(json.dumps(doc, indent=1) + "\n")
        return
    env = doc["environment"]
    headline = (
        f"GPU suite on {env.get('device', '?')} (sm {env.get('capability', '?')}), torch {env['torch']}, "
        f"CUDA {env.get('cuda', '?')}, {env['date']}, commit {env['commit']}, library {env['library']} "
        f"(sha256 {env['library_sha256']}): {passed} passed, {len(_RESULTS) - passed} failed."
    )
    lines = [
        headline,
        "",
        "| test | b_type | dtype | K | N | group | M | result | max abs err | max err / mean abs ref | z |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in _RESULTS:
        result = "pass" if r["passed"] else f"FAIL {r.get('error', '')}".strip()
        lines.append(
            f"| {r['test']} | {_cell(r, 'b_type')} | {_cell(r, 'dtype')} | {_cell(r, 'k')} | {_cell(r, 'n')} | "
            f"{_cell(r, 'group_size')} | {_cell(r, 'm')} | {result} | {_cell(r, 'max_abs_err', '{:.3g}')} | "
            f"{_cell(r, 'rel_err', '{:.3g}')} | {_cell(r, 'z', '{:.2f}')} |"
        )
    path.write_text("\n".join(lines) + "\n")


def setUpModule() -> None:
    if REQUIRE_GPU and not HAS_CUDA:
        raise RuntimeError(f"MARLIN_REQUIRE_GPU=1, but {SKIP_REASON}")
    if HAS_CUDA:
        _lib.get()  # a CUDA machine without the library is a setup error, not a skip


def tearDownModule() -> None:
    target = os.environ.get("MARLIN_RESULTS")
    if target and _RESULTS:
        _write_results(Path(target))


# ------------------------------------------------------------------------------------------------ helpers


def _dtype(name: str) -> torch.dtype:
    return {"f16": torch.float16, "bf16": torch.bfloat16}[name]


def _generator(*key: object) -> torch.Generator:
    return torch.Generator(device="cuda").manual_seed(zlib.crc32(repr(key).encode()))


def _scales(groups: int, n: int, dtype: torch.dtype, gen: torch.Generator) -> torch.Tensor:
    # Positive, 0.01..0.1: the magnitude of real GPTQ/AWQ scales; |W| <= 1.5, |C| stays far from f16 overflow.
    return (0.01 + 0.09 * torch.rand(groups, n, device="cuda", generator=gen)).to(dtype)


def _errors(
    out: torch.Tensor,
    a: torch.Tensor,
    w64: torch.Tensor,
    w64_sq: torch.Tensor,
    dtype: str,
    bias: torch.Tensor | None = None,
) -> dict[str, Any]:
    """Compare out with A @ W (+ bias) in float64 (W is exact in fp32/fp64: an integer of at most 9 bits, or an
    FP8/FP4 value, times a 16-bit, e4m3 or power-of-two scale (times an 8-bit global scale))."""
    a64 = a.double()
    ref64 = a64 @ w64
    sigma = ((a64 * a64) @ w64_sq).sqrt()
    u = UNIT_ROUNDOFF[dtype]
    spread = sigma
    if bias is not None:
        b64 = bias.double()
        ref64 = ref64 + b64
        spread = sigma + b64.abs()  # one more rounding, of A @ W + bias, if the bias is added in 16 bits
    err = (out.double() - ref64).abs()
    z = (err / (u * (spread + ref64.abs()) + 1e-300)).max().item()
    return {
        "finite": bool(torch.isfinite(out).all().item()),
        "max_abs_err": err.max().item(),
        "rel_err": (err.max() / ref64.abs().mean().clamp_min(1e-300)).item(),
        "z": z,
    }


def _int8_act_bound(
    out: torch.Tensor, a_ref: torch.Tensor, w64: torch.Tensor, dtype: str, bias: torch.Tensor | None = None
) -> dict[str, Any]:
    """INT8 activations: the largest |out - ref| / bound over C, where bound is the per-element error bound of the
    header (u (|ref| + |ref - bias|) + (1 + 2u) gamma_n T + u * tiny, n = K/32 + INT8_ACT_EXTRA_ROUNDINGS); <= 1
    for a kernel that computes what docs/FORMATS.md says. a_ref: the float64 A_ref = a_scales[r] * A."""
    k = w64.shape[0]
    ref64 = a_ref @ w64
    t = a_ref.abs() @ w64.abs()
    u = UNIT_ROUNDOFF[dtype]
    rounding = ref64.abs()  # |C| that u multiplies: C rounded to the output type
    if bias is not None:  # A @ W rounded, then A @ W + bias rounded again: |ref - bias| + |ref|
        b64 = bias.double()
        ref64 = ref64 + b64
        rounding = rounding + ref64.abs()
        t = t + b64.abs()
    ops_per_term = k // 32 + INT8_ACT_EXTRA_ROUNDINGS
    gamma = ops_per_term * 2.0**-24 / (1 - ops_per_term * 2.0**-24)
    tiny = torch.finfo(_dtype(dtype)).tiny
    bound = u * rounding + (1 + 2 * u) * gamma * t + u * tiny
    err = (out.double() - ref64).abs()
    return {"bound_ratio": (err / bound).max().item()}


def _weights(
    b_type: str, k: int, n: int, gen: torch.Generator, perm: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random 4-bit (8-bit for u8b128) weights in the checkpoint format of b_type -> (Marlin-layout b_q via the
    CUDA repack, in perm row order when given (e.g. ops.a8_row_perm for 8-bit activations); q [K, N] unpacked again by
    the reference code from the same packed tensor, in checkpoint row order)."""
    bits = BITS[b_type]
    q = torch.randint(0, 1 << bits, (k, n), device="cuda", dtype=torch.int32, generator=gen)
    if b_type in ("u4b8", "u8b128"):
        qweight = ref.pack_gptq(q, bits=bits)
        b_q = ops.repack_gptq(qweight, k, n, bits=bits, perm=perm)
        q_ref = ref.unpack_gptq(qweight, bits=bits)
    else:
        qweight = ref.pack_awq(q)
        b_q = ops.repack_awq(qweight, k, n, perm=perm)
        q_ref = ref.unpack_awq(qweight)
    return b_q, q_ref


def _cpu_generator(*key: object) -> torch.Generator:
    return torch.Generator().manual_seed(zlib.crc32(repr(key).encode()))


def _packed(q: torch.Tensor, bits: int, perm: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes q [K, N] packed along K (GPTQ packing, also used for FP8 and FP4 codes) -> (Marlin-layout b_q via the
    CUDA repack, in perm row order when given; q unpacked again by the reference code)."""
    k, n = q.shape
    qweight = ref.pack_gptq(q, bits=bits)
    b_q = ops.repack_gptq(qweight, k, n, bits=bits, perm=perm)
    return b_q, ref.unpack_gptq(qweight, bits=bits)


def _fp8_codes(k: int, n: int, gen: torch.Generator, *, small: bool = False) -> torch.Tensor:
    """Random e4m3fn bytes [K, N] (int32): every code but the NaNs 0x7F and 0xFF; or (small) only exponent fields 0
    and 1, i.e. the subnormals and the smallest normals (|x| <= 2^-6 * 1.875) of both signs."""
    if small:
        r = torch.randint(0, 32, (k, n), device="cuda", dtype=torch.int32, generator=gen)
        return r + (r >= 16).to(torch.int32) * (0x80 - 16)  # 0x00..0x0F, 0x80..0x8F
    r = torch.randint(0, 254, (k, n), device="cuda", dtype=torch.int32, generator=gen)
    return r + (r >= 0x7F).to(torch.int32)


def _byte_codes(lo: int, hi: int, shape: tuple[int, int], gen: torch.Generator) -> torch.Tensor:
    """Random bytes in lo..hi (inclusive), torch.uint8 on the GPU."""
    return torch.randint(lo, hi + 1, shape, device="cuda", dtype=torch.int32, generator=gen).to(torch.uint8)


def _global_scale(gen: torch.Generator) -> torch.Tensor:
    """A float32 [1] in [0.5, 2) with 8 significant bits (so fp4 * fp8 * it is exact in fp32)."""
    return torch.randint(128, 512, (1,), device="cuda", generator=gen).float() / 256


# NVFP4 e4m3 scale codes: 0x08..0x47 are the positive normals 2^-6..3.75 (|W| <= 6 * 3.75 * global scale < 45);
# the subnormal-range variant uses 0x01..0x0F (2^-9..2^-6 * 1.875), half of them subnormal, so that every scale of
# a column is small and a kernel that decodes e4m3 subnormals wrongly cannot hide behind larger groups.
NVFP4_SCALE_CODES = {"normal": (0x08, 0x47), "subnormal": (0x01, 0x0F)}
# MXFP4 e8m0 exponents: 2^-11..2^0 (|W| <= 6). E = 0 is left out: the reference reads it as 2^-127, the kernel
# (docs/FORMATS.md) as 0, and either way W would be a bf16 subnormal fed to the tensor cores.
MXFP4_EXPONENTS = (116, 127)


class Prepared:
    """One weight matrix of some format, ready for ops.gemm, with its float64 reference."""

    def __init__(
        self,
        label: str,
        b_q: torch.Tensor,
        scales: torch.Tensor,
        w: torch.Tensor,
        *,
        b_type: str,
        group_size: int,
        global_scale: torch.Tensor | None = None,
        act_order: ops.ActOrder | None = None,
        zeros: torch.Tensor | None = None,
        act: str = "16",
    ) -> None:
        self.label = label + (f" {act}-act" if act != "16" else "")
        # "16": run with 16-bit activations; "fp8" or "int8": b_q is in the row order of the 8-bit-activation
        # kernels, run with those activations.
        self.act = act
        self.b_q, self.scales = b_q, scales
        self.w64 = w.double()
        self.w64_sq = self.w64 * self.w64
        self.kw: dict[str, Any] = {
            "b_type": b_type,
            "group_size": group_size,
            "global_scale": global_scale,
            "act_order": act_order,
            "zeros": zeros,
        }

    def gemm(self, a: torch.Tensor, **kw: Any) -> torch.Tensor:
        """ops.gemm on these weights; kw (bias=, out=, ...) is added to, or replaces, the prepared arguments."""
        return ops.gemm(a, self.b_q, self.scales, **{**self.kw, **kw})


def _prepare_fp8(
    k: int, n: int, dtype: torch.dtype, group_size: int, gen: torch.Generator, *, small: bool = False
) -> Prepared:
    """FP8 weights with f16/bf16 scales. small: only subnormal and smallest-normal codes, with scales in 1..8 (so
    that fp8(q) * s stays a normal f16 number): in the full code range those values are hidden by codes up to 448,
    so a kernel that decoded e4m3 subnormals wrongly would pass the other cases."""
    b_q, q_ref = _packed(_fp8_codes(k, n, gen, small=small), 8)
    groups = 1 if group_size == -1 else k // group_size
    scales = (
        _scales(groups, n, dtype, gen)
        if not small
        else (1 + 7 * torch.rand(groups, n, device="cuda", generator=gen)).to(dtype)
    )
    w = ref.dequant(q_ref, scales, None, group_size, "fe4m3fn")
    label = "fe4m3fn" + (" small codes" if small else "")
    return Prepared(label, b_q, ops.permute_scales(scales), w, b_type="fe4m3fn", group_size=group_size)


def _prepare_nvfp4(
    k: int, n: int, gen: torch.Generator, *, with_global_scale: bool, scale_range: str = "normal"
) -> Prepared:
    b_q, q_ref = _packed(torch.randint(0, 16, (k, n), device="cuda", dtype=torch.int32, generator=gen), 4)
    lo, hi = NVFP4_SCALE_CODES[scale_range]
    scales = _byte_codes(lo, hi, (k // 16, n), gen).view(torch.float8_e4m3fn)
    gs = _global_scale(gen) if with_global_scale else None
    w = ref.dequant(q_ref, scales, None, 16, "fe2m1f", scale_format="nvfp4", global_scale=gs)
    label = (
        "fe2m1f/nvfp4"
        + (" global_scale" if with_global_scale else "")
        + (f" {scale_range}" * (scale_range != "normal"))
    )
    return Prepared(label, b_q, ops.permute_scales(scales), w, b_type="fe2m1f", group_size=16, global_scale=gs)


def _fp8_zeros(*shape: int) -> torch.Tensor:
    """A zero torch.float8_e4m3fn CUDA tensor (made as bytes: no fill kernel for float8 needed)."""
    return torch.zeros(shape, device="cuda", dtype=torch.uint8).view(torch.float8_e4m3fn)


def _a8_perm(k: int, act: str) -> torch.Tensor | None:
    """The repack perm for weights that run with 8-bit activations (act "fp8" or "int8": ops.a8_row_perm), else
    None (act "16")."""
    return ops.a8_row_perm(k) if act != "16" else None


def _fp8_activations(
    m: int, k: int, gen: torch.Generator, with_scales: bool
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """(A as torch.float8_e4m3fn [m, k], a_scales fp32 [m] or None, the float64 reference A_ref = a_scales * A).

    Without scales: randn values rounded to e4m3. With scales, as a per-token quantization makes them: rows x of
    magnitudes 2^-4..2^4, a_scales = amax(|x|) / 448 per row, A = fp8(x / a_scales), so every row reaches 448."""
    x = torch.randn(m, k, device="cuda", generator=gen)
    if not with_scales:
        a = x.to(torch.float8_e4m3fn)
        return a, None, ref.activations_reference(a)
    x = x * torch.exp2(8 * torch.rand(m, 1, device="cuda", generator=gen) - 4)
    a_scales = (x.abs().amax(dim=1) / 448).contiguous()
    a = (x / a_scales[:, None]).clamp(-448, 448).to(torch.float8_e4m3fn)
    return a, a_scales, ref.activations_reference(a, a_scales)


def _int8_activations(
    m: int, k: int, gen: torch.Generator, with_scales: bool
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """(A as torch.int8 [m, k], a_scales fp32 [m] or None, the float64 reference A_ref = a_scales * A).

    A is uniformly random in -127..127 (the range a symmetric per-token quantization uses). With scales: one per row
    in 2^-12..2^-4 (any fp32 value, a factor of 256 between the extremes), as amax / 127 of rows of different
    magnitudes would be."""
    a = torch.randint(-127, 128, (m, k), device="cuda", dtype=torch.int32, generator=gen).to(torch.int8)
    a_scales = torch.exp2(8 * torch.rand(m, device="cuda", generator=gen) - 12) if with_scales else None
    return a, a_scales, ref.activations_reference(a, a_scales)


# act -> the function drawing 8-bit activations of that kind: (A, a_scales or None, A_ref).
_A8_ACTIVATIONS: dict[str, Callable[..., tuple[Any, Any, Any]]] = {
    "fp8": _fp8_activations,
    "int8": _int8_activations,
}


def _mxfp4_scale_dtypes() -> tuple[torch.dtype, ...]:
    """uint8 always; torch.float8_e8m0fnu too where this torch has it (the same bytes either way)."""
    e8m0 = getattr(torch, "float8_e8m0fnu", None)
    return (torch.uint8,) if e8m0 is None else (torch.uint8, e8m0)


def _prepare_mxfp4(k: int, n: int, gen: torch.Generator, scale_dtype: torch.dtype, *, act: str = "16") -> Prepared:
    q = torch.randint(0, 16, (k, n), device="cuda", dtype=torch.int32, generator=gen)
    b_q, q_ref = _packed(q, 4, perm=_a8_perm(k, act))
    scales = _byte_codes(*MXFP4_EXPONENTS, (k // 32, n), gen).view(scale_dtype)
    w = ref.dequant(q_ref, scales, None, 32, "fe2m1f", scale_format="mxfp4")
    label = f"fe2m1f/mxfp4 {str(scale_dtype).replace('torch.', '')}"
    return Prepared(label, b_q, ops.permute_scales(scales), w, b_type="fe2m1f", group_size=32, act=act)


def _act_order_g_idx(k: int, group_size: int, k_full: bool, gen: torch.Generator) -> torch.Tensor:
    """g_idx int32 [K] on the GPU. k_full: a whole desc_act layer (row r goes to sorted position p[r], group
    p[r] // group_size). Else a K shard: the rows in a random half of a 2K-row desc_act layer, so its groups have
    uneven sizes (as on one rank of a row-parallel layer)."""
    if k_full:
        g_idx = torch.randperm(k, generator=gen) // group_size
    else:
        full = torch.randperm(2 * k, generator=gen) // group_size
        rows = torch.sort(torch.randperm(2 * k, generator=gen)[:k]).values
        g_idx = full[rows]
    return g_idx.to(device="cuda", dtype=torch.int32)


def _prepare_act_order(
    b_type: str, k: int, n: int, dtype: torch.dtype, group_size: int, k_full: bool, key: tuple[object, ...]
) -> Prepared:
    gen = _generator(*key)
    g_idx = _act_order_g_idx(k, group_size, k_full, _cpu_generator(*key))
    ao = ops.prepare_act_order(g_idx, group_size)
    if ao.is_k_full != k_full:
        raise AssertionError(f"prepare_act_order: is_k_full = {ao.is_k_full}, expected {k_full} for this g_idx")
    bits = BITS[b_type]
    q = torch.randint(0, 1 << bits, (k, n), device="cuda", dtype=torch.int32, generator=gen)
    b_q, q_ref = _packed(q, bits, perm=ao.perm)
    scales = _scales(ao.num_groups, n, dtype, gen)
    w = ref.dequant(q_ref, scales, None, group_size, b_type, g_idx=g_idx)  # checkpoint row order
    label = f"{b_type} act-order " + ("k_full" if k_full else "k_shard")
    return Prepared(label, b_q, ops.permute_scales(scales), w, b_type=b_type, group_size=group_size, act_order=ao)


def _check_cases(
    prep: Prepared,
    dtype_name: str,
    ms: tuple[int, ...],
    gen: torch.Generator,
    failures: list[str],
    *,
    bias: bool = False,
) -> None:
    """Run prep at each M against the float64 reference; record every case, append failures. Weights prepared for
    8-bit activations (prep.act "fp8" or "int8") run with float8_e4m3fn or int8 A and out_dtype = dtype_name,
    without and with a_scales; dtype_name is then the output dtype. INT8 activations are held to _int8_act_bound
    as well as to Z_MAX."""
    dtype = _dtype(dtype_name)
    k, n = prep.w64.shape
    for m in ms:
        for with_scales in (False, True) if prep.act != "16" else (False,):
            label = prep.label + (" +bias" if bias else "") + (" +a_scales" if with_scales else "")
            case = {"b_type": label, "dtype": dtype_name, "k": k, "n": n, "group_size": prep.kw["group_size"], "m": m}
            extra: dict[str, Any] = {}
            if prep.act != "16":
                a, a_scales, a_ref = _A8_ACTIVATIONS[prep.act](m, k, gen, with_scales)
                extra = {"a_scales": a_scales, "out_dtype": dtype}
            else:
                a = a_ref = torch.randn(m, k, device="cuda", generator=gen).to(dtype)
            b = torch.randn(n, device="cuda", generator=gen).to(dtype) if bias else None
            try:
                out = prep.gemm(a, bias=b, **extra)
                torch.cuda.synchronize()
            except MarlinError as exc:
                failures.append(f"{case}: {exc}")
                _record("gemm", False, **case, error=str(exc))
                continue
            stats = _errors(out, a_ref, prep.w64, prep.w64_sq, dtype_name, bias=b)
            ok = stats["finite"] and out.shape == (m, n) and out.dtype == dtype and stats["z"] <= Z_MAX
            bound = ""
            if prep.act == "int8":
                stats.update(_int8_act_bound(out, a_ref, prep.w64, dtype_name, bias=b))
                ok = ok and stats["bound_ratio"] <= 1.0
                bound = f", max err / INT8-activation bound {stats['bound_ratio']:.3g} (limit 1)"
            _record("gemm", ok, **case, **stats)
            if not ok:
                failures.append(
                    f"{case}: z={stats['z']:.3g} (limit {Z_MAX}){bound}, max abs err {stats['max_abs_err']:.3g}, "
                    f"max err / mean |ref| {stats['rel_err']:.3g}, finite={stats['finite']}"
                )


# --------------------------------------------------------------------------------------------------- GEMM


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class GemmTest(unittest.TestCase):
    """One method per (b_type, dtype, K, N); each runs every group size and M of the matrix."""

    def run_shape(self, b_type: str, dtype_name: str, k: int, n: int) -> None:
        try:
            self._run_shape(b_type, dtype_name, k, n)
        except Exception as exc:
            if not isinstance(exc, self.failureException):  # not recorded case by case
                _record("gemm", False, b_type=b_type, dtype=dtype_name, k=k, n=n, error=f"{type(exc).__name__}: {exc}")
            raise

    def _run_shape(self, b_type: str, dtype_name: str, k: int, n: int) -> None:
        dtype = _dtype(dtype_name)
        gen = _generator("gemm", b_type, dtype_name, k, n)
        b_q, q_ref = _weights(b_type, k, n, gen)
        failures: list[str] = []
        for group_size in GROUP_SIZES:
            if group_size != -1 and k % group_size:
                continue
            groups = 1 if group_size == -1 else k // group_size
            scales = _scales(groups, n, dtype, gen)
            s_perm = ops.permute_scales(scales)
            zeros = z_ref = None
            if b_type == "u4":
                z = torch.randint(0, 16, (groups, n), device="cuda", dtype=torch.int32, generator=gen)
                qzeros = ref.pack_awq_zeros(z)
                zeros = ops.awq_zeros(qzeros, n, dtype)
                z_ref = ref.unpack_awq_zeros(qzeros)
            w64 = ref.dequant(q_ref, scales, z_ref, group_size, b_type).double()
            w64_sq = w64 * w64
            for m in SHAPES[(k, n)]:
                case = {"b_type": b_type, "dtype": dtype_name, "k": k, "n": n, "group_size": group_size, "m": m}
                a = torch.randn(m, k, device="cuda", generator=gen).to(dtype)
                try:
                    out = ops.gemm(a, b_q, s_perm, b_type=b_type, zeros=zeros, group_size=group_size)
                    torch.cuda.synchronize()
                except MarlinError as exc:
                    failures.append(f"{case}: {exc}")
                    _record("gemm", False, **case, error=str(exc))
                    continue
                stats = _errors(out, a, w64, w64_sq, dtype_name)
                ok = stats["finite"] and out.shape == (m, n) and out.dtype == dtype and stats["z"] <= Z_MAX
                _record("gemm", ok, **case, **stats)
                if not ok:
                    failures.append(
                        f"{case}: z={stats['z']:.3g} (limit {Z_MAX}), max abs err {stats['max_abs_err']:.3g}, "
                        f"max err / mean |ref| {stats['rel_err']:.3g}, finite={stats['finite']}"
                    )
            del w64, w64_sq
        if failures:
            self.fail(f"{len(failures)} GEMM case(s) failed:\n" + "\n".join(failures))


def _add_test(cls: type, fn: Callable[..., None], name: str, doc: str) -> None:
    """Registers a generated test method on ``cls`` under ``name``."""
    fn.__name__ = name
    fn.__doc__ = doc
    setattr(cls, name, fn)


def _add_gemm_tests() -> None:
    for b_type in B_TYPES:
        for dtype_name in DTYPES:
            for (k, n), ms in SHAPES.items():

                def test(self: GemmTest, b_type: str = b_type, d: str = dtype_name, k: int = k, n: int = n) -> None:
                    self.run_shape(b_type, d, k, n)

                _add_test(
                    GemmTest,
                    test,
                    f"test_gemm_{b_type}_{dtype_name}_{k}x{n}",
                    f"{b_type} {dtype_name} K={k} N={n}, group sizes {GROUP_SIZES}, M {ms}",
                )


_add_gemm_tests()


def _prepare_int(
    b_type: str, k: int, n: int, dtype: torch.dtype, group_size: int, gen: torch.Generator, *, act: str = "16"
) -> Prepared:
    """u4b8, u4 or u8b128 weights, as GemmTest prepares them; act "fp8" or "int8": u4b8 or u4 weights repacked for
    those 8-bit activations (ops.a8_row_perm), dtype then the output dtype (of the scales and zero points)."""
    b_q, q_ref = _weights(b_type, k, n, gen, perm=_a8_perm(k, act))
    groups = 1 if group_size == -1 else k // group_size
    scales = _scales(groups, n, dtype, gen)
    zeros = z_ref = None
    if b_type == "u4":
        qzeros = ref.pack_awq_zeros(torch.randint(0, 16, (groups, n), device="cuda", dtype=torch.int32, generator=gen))
        zeros, z_ref = ops.awq_zeros(qzeros, n, dtype), ref.unpack_awq_zeros(qzeros)
    w = ref.dequant(q_ref, scales, z_ref, group_size, b_type)
    s_perm = ops.permute_scales(scales)
    return Prepared(b_type, b_q, s_perm, w, b_type=b_type, group_size=group_size, zeros=zeros, act=act)


def _run_prepared(
    test: unittest.TestCase,
    info: dict[str, Any],
    runs: list[tuple[Callable[[], Prepared], str, tuple[int, ...], bool]],
    gen: torch.Generator,
) -> None:
    """runs: (build, dtype name, M values, with bias). Every case is recorded; the method fails once, listing
    every failed case. An exception outside the cases (building the weights, the reference) is recorded too."""
    failures: list[str] = []
    try:
        for build, dtype_name, ms, bias in runs:
            prep = build()
            _check_cases(prep, dtype_name, ms, gen, failures, bias=bias)
            del prep
    except Exception as exc:
        _record("gemm", False, **info, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    if failures:
        test.fail(f"{len(failures)} GEMM case(s) failed:\n" + "\n".join(failures))


def _k_n_name(k: int, n: int) -> str:
    return f"{k}x{n}"


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class GemmFp8Test(unittest.TestCase):
    """fe4m3fn (FP8 weights, f16/bf16 scales): one method per (dtype, K, N); group sizes -1 and 128, M NEW_MS
    (M = 1 for the full-size shape)."""

    def test_gemm_fe4m3fn_small_codes(self) -> None:
        k, n = 1024, 3072
        gen = _generator("fp8-small")
        runs = [
            (lambda d=d, g=g: _prepare_fp8(k, n, _dtype(d), g, gen, small=True), d, (1, 64), False)
            for d in DTYPES
            for g in FP8_GROUP_SIZES
        ]
        _run_prepared(self, {"b_type": "fe4m3fn small codes", "k": k, "n": n}, runs, gen)


def _add_fp8_tests() -> None:
    for dtype_name in DTYPES:
        for (k, n), ms in FLOAT_SHAPES.items():

            def test(self: GemmFp8Test, d: str = dtype_name, k: int = k, n: int = n, ms: tuple[int, ...] = ms) -> None:
                gen = _generator("fp8", d, k, n)
                runs = [
                    (lambda g=g: _prepare_fp8(k, n, _dtype(d), g, gen), d, ms, False)
                    for g in FP8_GROUP_SIZES
                    if g == -1 or k % g == 0
                ]
                _run_prepared(self, {"b_type": "fe4m3fn", "dtype": d, "k": k, "n": n}, runs, gen)

            _add_test(
                GemmFp8Test,
                test,
                f"test_gemm_fe4m3fn_{dtype_name}_{_k_n_name(k, n)}",
                f"fe4m3fn {dtype_name} K={k} N={n}, group sizes {FP8_GROUP_SIZES}, M {ms}",
            )


_add_fp8_tests()


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class GemmFp4Test(unittest.TestCase):
    """fe2m1f (FP4 e2m1 weights). NVFP4: e4m3 scales per 16 rows, f16 and bf16, without and with a global scale.
    MXFP4: e8m0 scales per 32 rows, bf16 only, scales as torch.uint8 and (where torch has it)
    torch.float8_e8m0fnu."""

    def test_gemm_nvfp4_subnormal_scales(self) -> None:
        k, n = 1024, 3072
        gen = _generator("nvfp4-sub")
        runs = [
            (lambda: _prepare_nvfp4(k, n, gen, with_global_scale=True, scale_range="subnormal"), d, (1, 64), False)
            for d in DTYPES
        ]
        _run_prepared(self, {"b_type": "fe2m1f/nvfp4 subnormal", "k": k, "n": n}, runs, gen)


def _add_fp4_tests() -> None:
    for (k, n), ms in FLOAT_SHAPES.items():
        for dtype_name in DTYPES:

            def nv(self: GemmFp4Test, d: str = dtype_name, k: int = k, n: int = n, ms: tuple[int, ...] = ms) -> None:
                gen = _generator("nvfp4", d, k, n)
                runs = [
                    (lambda g=g: _prepare_nvfp4(k, n, gen, with_global_scale=g), d, ms, False) for g in (False, True)
                ]
                _run_prepared(self, {"b_type": "fe2m1f/nvfp4", "dtype": d, "k": k, "n": n}, runs, gen)

            _add_test(
                GemmFp4Test,
                nv,
                f"test_gemm_nvfp4_{dtype_name}_{_k_n_name(k, n)}",
                f"NVFP4 {dtype_name} K={k} N={n}, group size 16, without and with global_scale, M {ms}",
            )

        def mx(self: GemmFp4Test, k: int = k, n: int = n, ms: tuple[int, ...] = ms) -> None:
            gen = _generator("mxfp4", k, n)
            runs = [(lambda t=t: _prepare_mxfp4(k, n, gen, t), "bf16", ms, False) for t in _mxfp4_scale_dtypes()]
            _run_prepared(self, {"b_type": "fe2m1f/mxfp4", "dtype": "bf16", "k": k, "n": n}, runs, gen)

        _add_test(
            GemmFp4Test, mx, f"test_gemm_mxfp4_bf16_{_k_n_name(k, n)}", f"MXFP4 bf16 K={k} N={n}, group size 32, M {ms}"
        )


_add_fp4_tests()


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class GemmActOrderTest(unittest.TestCase):
    """GPTQ act-order (desc_act) for u4b8 and u8b128: weights repacked in perm order, A's columns gathered by the
    kernel. k_full: a whole layer (g_idx = sorted position // group_size, is_k_full True); k_shard: the rows of a
    random half of a 2K-row layer (uneven groups, is_k_full False, scales looked up per row), also with a K that
    is no multiple of the group size."""


def _add_act_order_tests() -> None:
    shapes: dict[tuple[int, int], tuple[tuple[int, ...], tuple[int, ...]]] = {
        shape: (groups, NEW_MS) for shape, groups in ACT_ORDER_SHAPES.items()
    }
    shapes[ACT_ORDER_FULL_SIZE] = ((128,), (1,))
    shard_shapes = {**shapes, **{shape: (groups, NEW_MS) for shape, groups in ACT_ORDER_SHARD_SHAPES.items()}}
    for b_type in ACT_ORDER_B_TYPES:
        for dtype_name in DTYPES:
            for k_full in (True, False):
                for (k, n), (groups, ms) in (shapes if k_full else shard_shapes).items():

                    def test(
                        self: GemmActOrderTest,
                        b: str = b_type,
                        d: str = dtype_name,
                        full: bool = k_full,
                        k: int = k,
                        n: int = n,
                        groups: tuple[int, ...] = groups,
                        ms: tuple[int, ...] = ms,
                    ) -> None:
                        key = ("act", b, d, full, k, n)
                        gen = _generator(*key)
                        runs = [
                            (lambda g=g: _prepare_act_order(b, k, n, _dtype(d), g, full, (*key, g)), d, ms, False)
                            for g in groups
                        ]
                        label = f"{b} act-order " + ("k_full" if full else "k_shard")
                        _run_prepared(self, {"b_type": label, "dtype": d, "k": k, "n": n}, runs, gen)

                    part = "k_full" if k_full else "k_shard"
                    _add_test(
                        GemmActOrderTest,
                        test,
                        f"test_gemm_act_order_{b_type}_{dtype_name}_{part}_{_k_n_name(k, n)}",
                        f"{b_type} act-order ({part}) {dtype_name} K={k} N={n}, group sizes {groups}, M {ms}",
                    )


_add_act_order_tests()


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class GemmBiasTest(unittest.TestCase):
    """C = A @ W + bias for several formats, K=1024, N=3072, M NEW_MS."""

    K, N = 1024, 3072

    def run_bias(self, name: str, dtype_name: str, build: Callable[[torch.Generator], Prepared]) -> None:
        gen = _generator("bias", name, dtype_name)
        _run_prepared(
            self,
            {"b_type": f"{name} +bias", "dtype": dtype_name, "k": self.K, "n": self.N},
            [(lambda: build(gen), dtype_name, NEW_MS, True)],
            gen,
        )

    def test_gemm_bias_u4b8_f16(self) -> None:
        self.run_bias("u4b8", "f16", lambda g: _prepare_int("u4b8", self.K, self.N, torch.float16, 128, g))

    def test_gemm_bias_u4_bf16(self) -> None:
        self.run_bias("u4", "bf16", lambda g: _prepare_int("u4", self.K, self.N, torch.bfloat16, 64, g))

    def test_gemm_bias_u8b128_bf16(self) -> None:
        self.run_bias("u8b128", "bf16", lambda g: _prepare_int("u8b128", self.K, self.N, torch.bfloat16, -1, g))

    def test_gemm_bias_fe4m3fn_f16(self) -> None:
        self.run_bias("fe4m3fn", "f16", lambda g: _prepare_fp8(self.K, self.N, torch.float16, 128, g))

    def test_gemm_bias_nvfp4_bf16(self) -> None:
        self.run_bias("nvfp4", "bf16", lambda g: _prepare_nvfp4(self.K, self.N, g, with_global_scale=True))

    def test_gemm_bias_mxfp4_bf16(self) -> None:
        self.run_bias("mxfp4", "bf16", lambda g: _prepare_mxfp4(self.K, self.N, g, torch.uint8))

    def test_gemm_bias_act_order_u4b8_f16(self) -> None:
        self.run_bias(
            "u4b8 act-order k_shard",
            "f16",
            lambda g: _prepare_act_order("u4b8", self.K, self.N, torch.float16, 128, False, ("bias-act",)),
        )


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class GemmWideNTest(unittest.TestCase):
    """Every 16-bit-activation format forced through thread config (64, 256): the config whose warpgroups each
    cover all 256 columns, which the sm90 family runs with wgmma (mainloop_sm90.cuh) and the others with the
    wide-N mma.sync loop. M of 2, 3 and 4 M blocks (wgmma N of 32, 48, 64), and above 64 the sm90 family's
    128-token tile (wgmma N of 128, its warpgroups splitting the words): one chunk partial (65) or full (128),
    and two chunks with a partial last one (200); K=1024 (16 K steps, so both whole and split tiles), N=512."""

    K, N = 1024, 512
    MS = (17, 48, 64, 65, 128, 200)

    def run_wide(self, name: str, dtype_name: str, build: Callable[[torch.Generator], Prepared], bias: bool) -> None:
        gen = _generator("wide-n", name, dtype_name)

        def forced() -> Prepared:
            prep = build(gen)
            prep.kw["thread_config"] = (64, 256)
            return prep

        info = {"b_type": f"{name} (64, 256)", "dtype": dtype_name, "k": self.K, "n": self.N}
        _run_prepared(self, info, [(forced, dtype_name, self.MS, bias)], gen)


def _add_wide_n_tests() -> None:
    k, n = GemmWideNTest.K, GemmWideNTest.N
    Build = Callable[[Any, Any], Prepared]  # (generator, dtype): torch types, which may not be importable here
    builds: list[tuple[str, tuple[str, ...], Build]] = [
        ("fe4m3fn", DTYPES, lambda g, dt: _prepare_fp8(k, n, dt, 128, g)),
        ("nvfp4", DTYPES, lambda g, dt: _prepare_nvfp4(k, n, g, with_global_scale=True)),
        ("mxfp4", ("bf16",), lambda g, dt: _prepare_mxfp4(k, n, g, torch.uint8)),
        ("act_order", DTYPES, lambda g, dt: _prepare_act_order("u4b8", k, n, dt, 128, False, ("wide-n", str(dt)))),
    ]
    for b_type in B_TYPES:
        for group_size in (-1, 32, 128):
            name = f"{b_type}_g{group_size}" if group_size > 0 else f"{b_type}_channelwise"
            builds.append((name, DTYPES, lambda g, dt, b=b_type, gs=group_size: _prepare_int(b, k, n, dt, gs, g)))
    for name, dtype_names, build in builds:
        for dtype_name in dtype_names:

            def test(self: GemmWideNTest, name: str = name, d: str = dtype_name, build: Build = build) -> None:
                self.run_wide(name, d, lambda g: build(g, _dtype(d)), bias=name.endswith("g128"))

            _add_test(GemmWideNTest, test, f"test_wide_n_{name}_{dtype_name}", f"{name} {dtype_name}, (64, 256)")


_add_wide_n_tests()


# Formats the probe of each kind of 8-bit activations tries: (name, output dtype name).
_A8_ACT_PROBES: dict[str, tuple[tuple[str, str], ...]] = {
    "fp8": (("u4b8", "f16"), ("u4b8", "bf16"), ("u4", "f16"), ("u4", "bf16"), ("mxfp4", "bf16")),
    "int8": (("u4b8", "f16"), ("u4b8", "bf16"), ("u4", "f16"), ("u4", "bf16")),
}
# Where each kind's kernels are built, for the skip reason.
_A8_ACT_BUILT = {
    "fp8": "they are built for the sm89 family only; tests/gpu/build_family.sh sm89 builds a library with them",
    "int8": "they are built for the sm80 family, archs 8.0 and up, and the sm75 family, f16 output only: quant "
    "configs awq_int4_int8_act and gptq_int4_int8_act",
}


@functools.cache
def _a8_act_probe(act: str) -> str | None:
    """Whether the library holds kernels for 8-bit activations of kind act ("fp8" or "int8"): a tiny GEMM (M=1,
    K=N=256, zero weights) of each format in _A8_ACT_PROBES[act]. None as soon as one runs, or fails otherwise than
    MarlinError NOT_BUILT (then the tests run and report it); the reason to skip GemmFp8ActTest or GemmInt8ActTest
    when every probe is NOT_BUILT."""
    k = n = 256
    a = _fp8_zeros(1, k) if act == "fp8" else torch.zeros(1, k, device="cuda", dtype=torch.int8)
    b_q = torch.zeros(k // 16, 2 * n, device="cuda", dtype=torch.int32)
    messages = []
    for name, dtype_name in _A8_ACT_PROBES[act]:
        dtype = _dtype(dtype_name)
        kw: dict[str, Any] = {"b_type": name, "group_size": -1, "out_dtype": dtype}
        scales = torch.ones(1, n, device="cuda", dtype=dtype)
        if name == "u4":
            kw["zeros"] = torch.zeros(1, n, device="cuda", dtype=dtype)
        elif name == "mxfp4":
            kw.update(b_type="fe2m1f", group_size=32)
            scales = torch.full((k // 32, n), 127, device="cuda", dtype=torch.uint8)
        try:
            ops.gemm(a, b_q, scales, **kw)
            torch.cuda.synchronize()
        except MarlinError as exc:
            if exc.code != Status.NOT_BUILT:
                return None
            messages.append(f"{name} {dtype_name}: {exc.message}")
            continue
        return None
    return (
        f"this library ({_lib.library_path()}) has no {act.upper()}-activation kernels: a probe GEMM of each of "
        f"{', '.join(f'{b} {d}' for b, d in _A8_ACT_PROBES[act])} is MarlinError NOT_BUILT ({_A8_ACT_BUILT[act]}). "
        f"First: {messages[0]}"
    )


def _check_a_scales_read_on_device(test: unittest.TestCase, act: str) -> None:
    """a_scales is read by the kernel: changing its values between CUDA graph replays changes C's rows (act "fp8"
    or "int8", u4b8 weights, f16 output)."""
    k, n, m = 1024, 512, 16
    gen = _generator(f"{act}-act-graph")
    prep = _prepare_int("u4b8", k, n, torch.float16, 128, gen, act=act)
    a, _, a_ref = _A8_ACTIVATIONS[act](m, k, gen, False)
    a_scales = torch.ones(m, device="cuda")
    out = torch.empty(m, n, device="cuda", dtype=torch.float16)
    kw = {"a_scales": a_scales, "out_dtype": torch.float16, "out": out}
    prep.gemm(a, **kw)  # warm-up outside capture
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        prep.gemm(a, **kw)
    cases = Cases(test)
    for step in range(3):
        with cases.case(f"replay {step}"):
            a_scales.copy_(torch.exp2(torch.randint(-4, 5, (m,), device="cuda", generator=gen).float()))
            out.zero_()
            graph.replay()
            torch.cuda.synchronize()
            stats = _errors(out, a_ref * a_scales.double()[:, None], prep.w64, prep.w64_sq, "f16")
            test.assertTrue(stats["finite"] and stats["z"] <= Z_MAX, stats)
    cases.done()


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class GemmFp8ActTest(unittest.TestCase):
    """FP8 activations: A of torch.float8_e4m3fn, out_dtype f16 or bf16, every case without and with fp32 per-row
    a_scales; weights repacked with perm=ops.a8_row_perm(k). u4b8 and u4 (f16 and bf16 output, group sizes -1 and
    128, 32 in one method) and MXFP4 (bf16 output) on FP8_ACT_SHAPES with M NEW_MS; one full-size case (8192x28672,
    M=1); bias once; a_scales read on the device (CUDA graph replays).

    These kernels exist only for the sm89 family (archs 8.9, 12.0, 12.1), which the GPU machine's normal (sm90)
    library does not build. setUpClass probes the library with a tiny GEMM of each FP8-activation format
    (_a8_act_probe); when every probe is MarlinError NOT_BUILT, the whole class is skipped, with that reason. Run
    it against the library that tests/gpu/build_family.sh sm89 builds (the family compiled for sm_90):

        tests/gpu/build_family.sh sm89 OUT_DIR
        MARLIN_LIB=OUT_DIR/libmarlin_sm89.so PYTHONPATH=python python -m pytest tests/gpu/test_gemm.py -q -k Fp8Act

    Once the library has any FP8-activation kernel, nothing is skipped: a case whose kernel is not built fails with
    the library's message."""

    @classmethod
    def setUpClass(cls) -> None:
        reason = _a8_act_probe("fp8")
        if reason is not None:
            raise unittest.SkipTest(reason)

    def test_gemm_fp8_act_group_32(self) -> None:
        k, n = 1024, 3072
        gen = _generator("fp8-act-g32")
        runs = [
            (lambda b=b, d=d: _prepare_int(b, k, n, _dtype(d), 32, gen, act="fp8"), d, NEW_MS, False)
            for b, d in (("u4b8", "f16"), ("u4", "bf16"))
        ]
        _run_prepared(self, {"b_type": "u4b8/u4 fp8-act group 32", "k": k, "n": n}, runs, gen)

    def test_gemm_fp8_act_full_size(self) -> None:
        k, n = FULL_SIZE
        gen = _generator("fp8-act-full")
        runs = [(lambda: _prepare_int("u4b8", k, n, torch.float16, 128, gen, act="fp8"), "f16", (1,), False)]
        _run_prepared(self, {"b_type": "u4b8 fp8-act", "dtype": "f16", "k": k, "n": n}, runs, gen)

    def test_gemm_fp8_act_bias(self) -> None:
        k, n = 1024, 3072
        gen = _generator("fp8-act-bias")
        runs = [(lambda: _prepare_int("u4", k, n, torch.bfloat16, 128, gen, act="fp8"), "bf16", NEW_MS, True)]
        _run_prepared(self, {"b_type": "u4 fp8-act +bias", "dtype": "bf16", "k": k, "n": n}, runs, gen)

    @recorded
    def test_a_scales_read_on_device(self) -> None:
        _check_a_scales_read_on_device(self, "fp8")


def _add_fp8_act_tests() -> None:
    for k, n in FP8_ACT_SHAPES:
        for b_type in FP8_ACT_B_TYPES:
            for dtype_name in DTYPES:

                def test(self: GemmFp8ActTest, b: str = b_type, d: str = dtype_name, k: int = k, n: int = n) -> None:
                    gen = _generator("fp8-act", b, d, k, n)
                    runs = [
                        (lambda g=g: _prepare_int(b, k, n, _dtype(d), g, gen, act="fp8"), d, NEW_MS, False)
                        for g in FP8_ACT_GROUP_SIZES
                    ]
                    _run_prepared(self, {"b_type": f"{b} fp8-act", "dtype": d, "k": k, "n": n}, runs, gen)

                _add_test(
                    GemmFp8ActTest,
                    test,
                    f"test_gemm_fp8_act_{b_type}_{dtype_name}_{_k_n_name(k, n)}",
                    f"{b_type} with FP8 activations, {dtype_name} output, K={k} N={n}, group sizes "
                    f"{FP8_ACT_GROUP_SIZES}, M {NEW_MS}, without and with a_scales",
                )

        def mx(self: GemmFp8ActTest, k: int = k, n: int = n) -> None:
            gen = _generator("fp8-act-mxfp4", k, n)
            runs = [
                (lambda t=t: _prepare_mxfp4(k, n, gen, t, act="fp8"), "bf16", NEW_MS, False)
                for t in _mxfp4_scale_dtypes()
            ]
            _run_prepared(self, {"b_type": "fe2m1f/mxfp4 fp8-act", "dtype": "bf16", "k": k, "n": n}, runs, gen)

        _add_test(
            GemmFp8ActTest,
            mx,
            f"test_gemm_fp8_act_mxfp4_bf16_{_k_n_name(k, n)}",
            f"MXFP4 with FP8 activations, bf16 output, K={k} N={n}, M {NEW_MS}, without and with a_scales",
        )


_add_fp8_act_tests()


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class GemmInt8ActTest(unittest.TestCase):
    """INT8 activations: A of torch.int8 (uniformly random in -127..127), out_dtype f16 or bf16, every case without
    and with fp32 per-row a_scales; u4b8 and u4 weights repacked with perm=ops.a8_row_perm(k). Every (b_type,
    output dtype) on INT8_ACT_SHAPES with group sizes -1, 32, 64, 128 and M INT8_ACT_MS; the full size (8192x28672)
    at M 1 and 33; bias with every group size; a_scales read on the device (CUDA graph replays). Each case is held to
    Z_MAX and to the tighter _int8_act_bound (the header's INT8-activation note).

    These kernels are built for the sm80 family (archs 8.0 and up) and the sm75 family (Turing, f16 output only).
    setUpClass probes the library with a tiny GEMM of each INT8-activation format (_a8_act_probe); when every probe
    is MarlinError NOT_BUILT (a library without those quant configs), the whole class is skipped, with that reason.
    Once the library has any INT8-activation kernel, nothing is skipped: a case whose kernel is not built fails with
    the library's message."""

    @classmethod
    def setUpClass(cls) -> None:
        reason = _a8_act_probe("int8")
        if reason is not None:
            raise unittest.SkipTest(reason)

    # One method per output type, so that a run against the Turing family (f16 only) can leave out the bf16 ones.
    def test_gemm_int8_act_full_size_f16(self) -> None:
        k, n = FULL_SIZE
        gen = _generator("int8-act-full")
        runs = [(lambda: _prepare_int("u4b8", k, n, torch.float16, 128, gen, act="int8"), "f16", (1, 33), False)]
        _run_prepared(self, {"b_type": "u4b8 int8-act", "k": k, "n": n}, runs, gen)

    def test_gemm_int8_act_full_size_bf16(self) -> None:
        k, n = FULL_SIZE
        gen = _generator("int8-act-full-bf16")
        runs = [(lambda: _prepare_int("u4", k, n, torch.bfloat16, -1, gen, act="int8"), "bf16", (1,), False)]
        _run_prepared(self, {"b_type": "u4 int8-act", "k": k, "n": n}, runs, gen)

    def _check_bias(self, b_type: str, dtype_name: str) -> None:
        k, n = 1024, 3072
        gen = _generator(f"int8-act-bias-{b_type}-{dtype_name}")
        runs = [
            (
                lambda g=g: _prepare_int(b_type, k, n, _dtype(dtype_name), g, gen, act="int8"),
                dtype_name,
                INT8_ACT_MS,
                True,
            )
            for g in INT8_ACT_GROUP_SIZES
        ]
        _run_prepared(self, {"b_type": f"{b_type} int8-act +bias", "k": k, "n": n}, runs, gen)

    def test_gemm_int8_act_bias_f16(self) -> None:
        self._check_bias("u4b8", "f16")

    def test_gemm_int8_act_bias_bf16(self) -> None:
        self._check_bias("u4", "bf16")

    @recorded
    def test_int8_act_a_scales_read_on_device(self) -> None:
        _check_a_scales_read_on_device(self, "int8")


def _add_int8_act_tests() -> None:
    for k, n in INT8_ACT_SHAPES:
        for b_type in INT8_ACT_B_TYPES:
            for dtype_name in DTYPES:

                def test(self: GemmInt8ActTest, b: str = b_type, d: str = dtype_name, k: int = k, n: int = n) -> None:
                    gen = _generator("int8-act", b, d, k, n)
                    runs = [
                        (lambda g=g: _prepare_int(b, k, n, _dtype(d), g, gen, act="int8"), d, INT8_ACT_MS, False)
                        for g in INT8_ACT_GROUP_SIZES
                        if g == -1 or k % g == 0
                    ]
                    _run_prepared(self, {"b_type": f"{b} int8-act", "dtype": d, "k": k, "n": n}, runs, gen)

                _add_test(
                    GemmInt8ActTest,
                    test,
                    f"test_gemm_int8_act_{b_type}_{dtype_name}_{_k_n_name(k, n)}",
                    f"{b_type} with INT8 activations, {dtype_name} output, K={k} N={n}, group sizes "
                    f"{INT8_ACT_GROUP_SIZES}, M {INT8_ACT_MS}, without and with a_scales",
                )


_add_int8_act_tests()


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class GemmBehaviourTest(unittest.TestCase):
    """out=, explicit workspace (reused without clearing), determinism, side streams, CUDA graphs."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.k, cls.n = 1024, 512
        gen = _generator("behaviour")
        cls.b_q, q_ref = _weights("u4b8", cls.k, cls.n, gen)
        scales = _scales(cls.k // 128, cls.n, torch.float16, gen)
        cls.s_perm = ops.permute_scales(scales)
        cls.w64 = ref.dequant(q_ref, scales, None, 128, "u4b8").double()
        cls.gen = gen

    def gemm(self, a: torch.Tensor, **kw: Any) -> torch.Tensor:
        return ops.gemm(a, self.b_q, self.s_perm, b_type="u4b8", group_size=128, **kw)

    def assert_close(self, out: torch.Tensor, a: torch.Tensor) -> None:
        stats = _errors(out, a, self.w64, self.w64 * self.w64, "f16")
        self.assertTrue(stats["finite"] and stats["z"] <= Z_MAX, stats)

    @recorded
    def test_out_argument(self) -> None:
        a = torch.randn(33, self.k, device="cuda", generator=self.gen).half()
        out = torch.full((33, self.n), float("nan"), device="cuda", dtype=torch.float16)
        got = self.gemm(a, out=out)
        self.assertIs(got, out)
        torch.cuda.synchronize()
        self.assert_close(out, a)

    def test_gemm_plan(self) -> None:
        # What the launcher reports matches its rules and the device: one M block at M = 1 (the 8-row block), the
        # tuning overrides taken, a grid within the blocks per SM, and a split that covers every K step.
        sms = torch.cuda.get_device_properties(0).multi_processor_count
        a = torch.randn(1, self.k, device="cuda", generator=self.gen).half()
        plan = ops.gemm_plan(a, self.b_q, self.s_perm, b_type="u4b8", group_size=128)
        self.assertIn(plan["family"], ("sm75", "sm80"), plan)
        got = (plan["a"], plan["b"], plan["thread_m_blocks"], plan["m_block_size_8"])
        self.assertEqual(got, ("float16", "u4b8", 1, 1), plan)
        self.assertEqual((plan["n_tiles"], plan["m_chunks"]), (self.n // (16 * plan["thread_n_blocks"]), 1), plan)
        self.assertLessEqual(plan["grid"], sms * plan["blocks_per_sm"], plan)
        tiles = plan["m_chunks"] * plan["n_tiles"]
        covered = plan["dp_tiles"] * plan["k_iters"] + (plan["grid"] * plan["sk_share"] if plan["sk_share"] else 0)
        self.assertGreaterEqual(covered, tiles * plan["k_iters"], plan)
        forced = ops.gemm_plan(a, self.b_q, self.s_perm, b_type="u4b8", group_size=128, thread_config=(64, 128),
                               blocks_per_sm=1)  # fmt: skip
        self.assertEqual((forced["thread_k_blocks"], forced["thread_n_blocks"], forced["blocks_per_sm"]), (4, 8, 1))
        with self.assertRaisesRegex(MarlinError, r"\(64, 256\) only above"):  # as gemm would fail
            ops.gemm_plan(a, self.b_q, self.s_perm, b_type="u4b8", group_size=128, thread_config=(64, 256))

    @recorded
    def test_workspace_reused_without_clearing(self) -> None:
        # Zeroed once: the kernels leave its tile counters at zero, and the partial sums are scratch, so every later
        # call on it (other shapes in between) gives the same, correct output.
        ws = torch.zeros(ops.workspace_bytes(), dtype=torch.uint8, device="cuda")
        self.assertGreater(ws.numel(), 0)
        cases = Cases(self)
        ms = (1, 16, 64, 200, 256, 1000)
        inputs = {m: torch.randn(m, self.k, device="cuda", generator=self.gen).half() for m in ms}
        first = {}
        for rnd in range(2):
            for m in ms:
                with cases.case(f"round {rnd} m={m}"):
                    out = self.gemm(inputs[m], workspace=ws)
                    torch.cuda.synchronize()
                    self.assert_close(out, inputs[m])
                    if rnd == 0:
                        first[m] = out
                    else:
                        self.assertTrue(torch.equal(out, first[m]), "same inputs, same workspace: same bits")
        cases.done()

    @recorded
    def test_deterministic_split_tiles(self) -> None:
        # Shapes and M whose tiles are split over several blocks (4096 x 4096 has 32 or 64 N tiles, fewer than the
        # blocks, so every tile is split at M <= 200; M = 1000 mixes whole tiles and split ones): every run, on
        # another stream or through a graph replay, gives the first run's bits.
        k, n = 4096, 4096
        gen = _generator("deterministic")
        b_q, q_ref = _weights("u4b8", k, n, gen)
        scales = _scales(k // 128, n, torch.float16, gen)
        s_perm = ops.permute_scales(scales)
        w64 = ref.dequant(q_ref, scales, None, 128, "u4b8").double()

        def gemm(a: torch.Tensor, **kw: Any) -> torch.Tensor:
            return ops.gemm(a, b_q, s_perm, b_type="u4b8", group_size=128, **kw)

        cases = Cases(self)
        stream = torch.cuda.Stream()
        for m in (1, 16, 33, 64, 200, 1000):
            with cases.case(f"m={m}"):
                a = torch.randn(m, k, device="cuda", generator=gen).half()
                want = gemm(a)
                torch.cuda.synchronize()
                stats = _errors(want, a, w64, w64 * w64, "f16")
                self.assertTrue(stats["finite"] and stats["z"] <= Z_MAX, stats)
                for i in range(20):
                    self.assertTrue(torch.equal(gemm(a), want), f"run {i} differs from the first")
                with torch.cuda.stream(stream):
                    side = gemm(a)
                stream.synchronize()
                self.assertTrue(torch.equal(side, want), "a side stream's run differs")
                out = torch.empty_like(want)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    gemm(a, out=out)
                for i in range(5):
                    out.zero_()
                    graph.replay()
                    torch.cuda.synchronize()
                    self.assertTrue(torch.equal(out, want), f"graph replay {i} differs")
        cases.done()

    @recorded
    def test_tuning_overrides(self) -> None:
        # Every thread config built for a batch size, forced, with one and two blocks per SM: same results.
        cases = Cases(self)
        for m, configs in ((1, ((128, 128), (64, 128), (128, 64))), (64, ((64, 256), (64, 128), (128, 64)))):
            a = torch.randn(m, self.k, device="cuda", generator=self.gen).half()
            for config in configs:
                for blocks in (0, 1, 2):
                    with cases.case(f"m={m} config={config} blocks_per_sm={blocks}"):
                        out = self.gemm(a, thread_config=config, blocks_per_sm=blocks)
                        torch.cuda.synchronize()
                        self.assert_close(out, a)
        cases.done()
        a = torch.randn(1, self.k, device="cuda", generator=self.gen).half()
        with self.assertRaisesRegex(MarlinError, r"\(64, 256\) only above"):
            self.gemm(a, thread_config=(64, 256))  # the wide-N config is built for m > 16 only
        with self.assertRaisesRegex(ValueError, r"thread_config: \(96, 128\) is not one of"):
            self.gemm(a, thread_config=(96, 128))
        with self.assertRaisesRegex(ValueError, r"blocks_per_sm: 3 is not one of"):
            self.gemm(a, blocks_per_sm=3)

    @recorded
    def test_side_stream(self) -> None:
        stream = torch.cuda.Stream()
        with torch.cuda.stream(stream):
            a = torch.randn(64, self.k, device="cuda", generator=self.gen).half()
            ws = torch.zeros(ops.workspace_bytes(), dtype=torch.uint8, device="cuda")
            out = self.gemm(a, workspace=ws)
        stream.synchronize()
        self.assert_close(out, a)

    @recorded
    def test_unzeroed_workspace(self) -> None:
        # A workspace straight from torch.empty (here: every byte 0xFF, counters -1) is zeroed by its first call.
        ws = torch.full((ops.workspace_bytes(),), 255, dtype=torch.uint8, device="cuda")
        cases = Cases(self)
        for m in (33, 200, 1000):  # split tiles at every M (a few tiles of 1024 x 512 spread over 100+ SMs)
            with cases.case(f"m={m}"):
                a = torch.randn(m, self.k, device="cuda", generator=self.gen).half()
                out = torch.full((m, self.n), float("nan"), device="cuda", dtype=torch.float16)
                self.gemm(a, workspace=ws, out=out)
                torch.cuda.synchronize()
                self.assert_close(out, a)
        cases.done()

    @recorded
    def test_concurrent_streams_and_threads(self) -> None:
        # Four threads, each on its own stream with the default workspace (one per stream), run the same split-tile
        # GEMMs at once; each result is the serial run's bits (the reduction is deterministic).
        ms = (33, 200, 1000)
        inputs = {m: torch.randn(m, self.k, device="cuda", generator=self.gen).half() for m in ms}
        want = {m: self.gemm(inputs[m]) for m in ms}
        torch.cuda.synchronize()
        for m in ms:
            self.assert_close(want[m], inputs[m])
        errors: list[str] = []
        barrier = threading.Barrier(4)

        def worker(i: int) -> None:
            try:
                stream = torch.cuda.Stream()
                with torch.cuda.stream(stream):
                    barrier.wait(timeout=120)  # not for ever if another thread failed before it
                    outs = [(m, self.gemm(inputs[m])) for _ in range(20) for m in ms]
                stream.synchronize()
                for m, out in outs:
                    if not torch.equal(out, want[m]):
                        errors.append(f"thread {i} m={m}: differs from the serial run")
            except Exception as exc:  # reported below: a thread's exception would not fail the test
                errors.append(f"thread {i}: {type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])

    @recorded
    def test_cuda_graph_capture(self) -> None:
        a = torch.randn(16, self.k, device="cuda", generator=self.gen).half()
        out = torch.empty(16, self.n, device="cuda", dtype=torch.float16)
        self.gemm(a, out=out)  # warm-up outside capture
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.gemm(a, out=out)
        out.zero_()
        graph.replay()
        torch.cuda.synchronize()
        self.assert_close(out, a)

    @recorded
    def test_cuda_graph_capture_act_order_bias(self) -> None:
        # The act-order path allocates its a_perm scratch per call: inside a capture it comes from the graph's pool.
        k, n = self.k, self.n
        prep = _prepare_act_order("u4b8", k, n, torch.float16, 128, False, ("graph-act",))
        a = torch.randn(16, k, device="cuda", generator=self.gen).half()
        bias = torch.randn(n, device="cuda", generator=self.gen).half()
        out = torch.empty(16, n, device="cuda", dtype=torch.float16)
        prep.gemm(a, bias=bias, out=out)
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            prep.gemm(a, bias=bias, out=out)
        out.zero_()
        graph.replay()
        torch.cuda.synchronize()
        stats = _errors(out, a, prep.w64, prep.w64_sq, "f16", bias=bias)
        self.assertTrue(stats["finite"] and stats["z"] <= Z_MAX, stats)

    @recorded
    def test_global_scale_read_on_device(self) -> None:
        # global_scale is read by the kernel, so changing its value between CUDA graph replays changes C.
        k, n = self.k, self.n
        prep = _prepare_nvfp4(k, n, _generator("gs-device"), with_global_scale=False)  # prep.w64: global scale 1
        gs = torch.ones(1, device="cuda", dtype=torch.float32)
        a = torch.randn(8, k, device="cuda", generator=self.gen).half()
        out = torch.empty(8, n, device="cuda", dtype=torch.float16)
        prep.gemm(a, out=out, global_scale=gs)
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            ops.gemm(a, prep.b_q, prep.scales, b_type="fe2m1f", group_size=16, global_scale=gs, out=out)
        cases = Cases(self)
        for value in (1.0, 0.375, 1.75):
            with cases.case(f"global_scale={value}"):
                gs.fill_(value)
                out.zero_()
                graph.replay()
                torch.cuda.synchronize()
                w = prep.w64 * value
                stats = _errors(out, a, w, w * w, "f16")
                self.assertTrue(stats["finite"] and stats["z"] <= Z_MAX, stats)
        cases.done()

    @recorded
    def test_library_info(self) -> None:
        self.assertGreater(ops.built_kernel_count(), 0)
        self.assertGreater(ops.workspace_bytes(), 0)
        self.assertEqual(ops.workspace_bytes(0), ops.workspace_bytes(torch.device("cuda:0")))


# ------------------------------------------------------------------------------------------------- repack


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class GemmEdgeTest(unittest.TestCase):
    """Sizes and values at the edges: K * N of 2^31 weights and more, prefill-sized M, NaN and Inf in A, f16
    outputs past the f16 range."""

    @recorded
    def test_k_times_n_of_2_pow_31(self) -> None:
        # 32768 x 65536 INT4 = 2^31 weights (1 GiB packed): every byte offset into B past 2^31 / 2 bits, scales past
        # 2^23 rows x columns. Checked on column slices at both ends and in the middle (a float64 reference of the
        # whole W would take 16 GiB).
        k, n = 32768, 65536
        gen = _generator("k*n=2^31")
        qweight = torch.randint(-(2**31), 2**31 - 1, (k // 8, n), device="cuda", dtype=torch.int32, generator=gen)
        b_q = ops.repack_gptq(qweight, k, n)
        scales = _scales(k // 128, n, torch.float16, gen)
        s_perm = ops.permute_scales(scales)
        cases = Cases(self)
        for m in (1, 16, 200):
            a = torch.randn(m, k, device="cuda", generator=gen).half()
            out = torch.full((m, n), float("nan"), device="cuda", dtype=torch.float16)
            ops.gemm(a, b_q, s_perm, b_type="u4b8", group_size=128, out=out)
            torch.cuda.synchronize()
            for lo in (0, n // 2 - 64, n - 256):
                with cases.case(f"m={m} columns {lo}..{lo + 255}"):
                    cols = slice(lo, lo + 256)
                    q = ref.unpack_gptq(qweight[:, cols].contiguous())
                    w64 = ref.dequant(q, scales[:, cols], None, 128, "u4b8").double()
                    stats = _errors(out[:, cols], a, w64, w64 * w64, "f16")
                    self.assertTrue(stats["finite"] and stats["z"] <= Z_MAX, stats)
        cases.done()

    @recorded
    def test_prefill_m(self) -> None:
        k, n = 4096, 4096
        gen = _generator("prefill")
        prep = _prepare_int("u4b8", k, n, torch.bfloat16, 128, gen)
        cases = Cases(self)
        for m in (1024, 4096, 8192):
            with cases.case(f"m={m}"):
                a = torch.randn(m, k, device="cuda", generator=gen).bfloat16()
                out = torch.full((m, n), float("nan"), device="cuda", dtype=torch.bfloat16)
                ops.gemm(a, prep.b_q, prep.scales, out=out, **prep.kw)
                torch.cuda.synchronize()
                stats = _errors(out, a, prep.w64, prep.w64_sq, "bf16")
                self.assertTrue(stats["finite"] and stats["z"] <= Z_MAX, stats)
        cases.done()

    @recorded
    def test_nan_and_inf_in_a(self) -> None:
        # IEEE: a NaN in row r makes row r NaN; +Inf at (r, j) makes C[r, c] +-Inf by the sign of W[j, c], NaN where
        # W[j, c] is 0 (GPTQ code 8). Other rows are untouched. Split tiles (M = 33 on 1024 x 512) included.
        k, n = 1024, 512
        gen = _generator("nan-inf")
        prep = _prepare_int("u4b8", k, n, torch.float16, 128, gen)
        for m in (5, 33):
            with self.subTest(m=m):
                a = torch.randn(m, k, device="cuda", generator=gen).half()
                a[1, 7] = float("nan")
                a[3, 100] = float("inf")
                a[4, 200] = float("-inf")
                out = self._run(a, prep)
                want = a.double() @ prep.w64
                bad_rows = torch.tensor([1, 3, 4], device="cuda")
                self.assertTrue(torch.equal(out[bad_rows].isnan(), want[bad_rows].isnan()))
                self.assertTrue(torch.equal(out[bad_rows].isinf(), want[bad_rows].isinf()))
                inf = want[bad_rows].isinf()
                self.assertTrue(torch.equal(out[bad_rows][inf].sign().double(), want[bad_rows][inf].sign()))
                self.assertGreater(int(inf.sum()), n // 2)  # most of rows 3 and 4 are infinite, not NaN
                good = torch.ones(m, dtype=torch.bool, device="cuda")
                good[bad_rows] = False
                stats = _errors(out[good], a[good], prep.w64, prep.w64_sq, "f16")
                self.assertTrue(stats["finite"] and stats["z"] <= Z_MAX, stats)

    @recorded
    def test_f16_output_overflow(self) -> None:
        # Sums past the f16 range are kept in fp32 and rounded to nearest at the end: +-Inf where |C| >= 65520 (IEEE
        # round to nearest past 65504), the rest as usual. Unit scales and A of about 256 put |C| near 4e4 +- 1e5.
        k, n = 1024, 512
        gen = _generator("overflow")
        b_q, q_ref = _weights("u4b8", k, n, gen)
        scales = torch.ones(k // 128, n, device="cuda", dtype=torch.float16)
        w64 = ref.dequant(q_ref, scales, None, 128, "u4b8").double()
        prep = Prepared("overflow", b_q, ops.permute_scales(scales), w64, b_type="u4b8", group_size=128)
        a = (torch.randn(16, k, device="cuda", generator=gen) * 256).half()
        want = a.double() @ w64
        out = self._run(a, prep)
        over = want.abs() >= 65520 * (1 + 1e-3)
        under = want.abs() <= 65504 * (1 - 1e-3)
        self.assertGreater(int(over.sum()), 100)
        self.assertTrue(torch.equal(out[over], torch.where(want[over] > 0, math.inf, -math.inf).half()))
        self.assertTrue(bool(torch.isfinite(out[under]).all()))
        sigma = ((a.double() ** 2) @ (w64 * w64)).sqrt()  # the z-metric of _errors, on the finite part
        z = (out.double() - want).abs() / (UNIT_ROUNDOFF["f16"] * (sigma + want.abs()))
        self.assertLessEqual(z[under].max().item(), Z_MAX)

    @staticmethod
    def _run(a: torch.Tensor, prep: Prepared) -> torch.Tensor:
        out = torch.zeros(a.shape[0], prep.w64.shape[1], device="cuda", dtype=a.dtype)
        ops.gemm(a, prep.b_q, prep.scales, out=out, **prep.kw)
        torch.cuda.synchronize()
        return out


def _compile_backends() -> tuple[str, ...]:
    """torch.compile backends to try: aot_eager (fake implementations, functionalization) always, inductor where
    triton is installed."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return ("aot_eager",)
    return ("aot_eager", "inductor")


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class TorchOpsTest(unittest.TestCase):
    """The custom ops (torch.ops.marlin_bazel.*): torch.compile(fullgraph=True), CUDA-graph capture of a compiled
    layer, and torch.library.opcheck (schema, fake implementation, functionalization)."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.k, cls.n = 1024, 512
        gen = _generator("torch-ops")
        prep = _prepare_int("u4", cls.k, cls.n, torch.float16, 128, gen)
        cls.b_q, cls.s_perm, cls.z_perm = prep.b_q, prep.scales, prep.kw["zeros"]
        cls.bias = torch.randn(cls.n, device="cuda", generator=gen).half()
        cls.w64 = prep.w64
        cls.gen = gen

    def layer(self) -> torch.nn.Module:
        test = self

        class QuantLinear(torch.nn.Module):
            def forward(self, x: torch.Tensor) -> torch.Tensor:
                y = ops.gemm(x, test.b_q, test.s_perm, b_type="u4", zeros=test.z_perm, group_size=128, bias=test.bias)
                return y * 2  # exact, so compiled (fused in fp32) and eager agree bit for bit

        return QuantLinear()

    def want(self, x: torch.Tensor) -> torch.Tensor:
        return ((x.double() @ self.w64 + self.bias.double()) * 2).half()

    def assert_close(self, got: torch.Tensor, x: torch.Tensor) -> None:
        want = self.want(x)
        err = (got.float() - want.float()).abs().max().item()
        self.assertLess(err, 0.02 * want.float().abs().max().item() + 1e-2)

    @recorded
    def test_compile_fullgraph(self) -> None:
        cases = Cases(self)
        layer = self.layer()
        for backend in _compile_backends():
            torch._dynamo.reset()
            compiled = torch.compile(layer, fullgraph=True, backend=backend, dynamic=True)
            for m in (3, 16, 77):  # one graph for every M (dynamic), compared with the eager call
                with cases.case(f"{backend} m={m}"):
                    x = torch.randn(m, self.k, device="cuda", generator=self.gen).half()
                    got = compiled(x)
                    eager = layer(x)
                    torch.cuda.synchronize()
                    self.assertEqual(got.shape, (m, self.n))
                    self.assertTrue(torch.equal(got, eager), f"{backend}: compiled output differs from eager")
                    self.assert_close(got, x)
        cases.done()

    @recorded
    def test_compile_error_while_tracing(self) -> None:
        # A bad call fails while tracing with the message of the eager call (the fake implementation's checks).
        bad = torch.compile(
            lambda x: ops.gemm(x, self.b_q, self.s_perm, b_type="u4", zeros=self.z_perm, group_size=64),
            fullgraph=True,
            backend="aot_eager",
        )
        x = torch.randn(4, self.k, device="cuda", generator=self.gen).half()
        pattern = r"scales: expected shape \[16, 512\], got \[8, 512\]"
        with self.assertRaisesRegex(ValueError, pattern):
            ops.gemm(x, self.b_q, self.s_perm, b_type="u4", zeros=self.z_perm, group_size=64)
        with self.assertRaisesRegex(Exception, pattern):
            bad(x)

    @recorded
    def test_cuda_graph_of_compiled_layer(self) -> None:
        compiled = torch.compile(self.layer(), fullgraph=True, backend="aot_eager")
        x = torch.randn(24, self.k, device="cuda", generator=self.gen).half()
        compiled(x)  # warm-up: tracing outside the capture
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            y = compiled(x)
        for i in range(3):
            x.copy_(torch.randn(24, self.k, device="cuda", generator=self.gen).half())
            graph.replay()
            torch.cuda.synchronize()
            with self.subTest(replay=i):
                self.assert_close(y, x)

    @recorded
    def test_opcheck(self) -> None:
        cases = Cases(self)
        x = torch.randn(5, self.k, device="cuda", generator=self.gen).half()
        out = torch.empty(5, self.n, device="cuda", dtype=torch.float16)
        q = torch.randint(-(2**31), 2**31 - 1, (self.k // 8, self.n), device="cuda", dtype=torch.int32)
        qa = torch.randint(-(2**31), 2**31 - 1, (self.k, self.n // 8), device="cuda", dtype=torch.int32)
        qz = torch.randint(-(2**31), 2**31 - 1, (8, self.n // 8), device="cuda", dtype=torch.int32)
        gemm_kw = {"zeros": self.z_perm, "group_size": 128, "bias": self.bias}
        checks = {
            "gemm": (torch.ops.marlin_bazel.gemm.default, (x, self.b_q, self.s_perm, "u4"), gemm_kw),
            "gemm_out": (torch.ops.marlin_bazel.gemm_out.default, (out, x, self.b_q, self.s_perm, "u4"), gemm_kw),
            "repack_gptq": (torch.ops.marlin_bazel.repack_gptq.default, (q, self.k, self.n), {}),
            "repack_awq": (torch.ops.marlin_bazel.repack_awq.default, (qa, self.k, self.n), {}),
            "permute_scales": (torch.ops.marlin_bazel.permute_scales.default, (self.bias.view(1, -1),), {}),
            "awq_zeros": (torch.ops.marlin_bazel.awq_zeros.default, (qz, self.n, torch.bfloat16), {}),
        }
        for name, (op, args, kwargs) in checks.items():
            with cases.case(name):
                torch.library.opcheck(op, args, kwargs)
        cases.done()


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class IndexCheckTest(unittest.TestCase):
    """The C API checks the index arrays it is handed on the device (csrc/repack/index_checks.cu): a repack's
    perm, and act-order's metadata in marlin_check_act_order. A bad entry is refused with its index and value,
    before any kernel reads by it; good ones pass. Called through the raw binding (ops checks in Python first)."""

    K, N = 512, 128

    def repack(self, perm: torch.Tensor, awq: bool = False) -> None:
        lib = _lib.get()
        if awq:
            q = torch.zeros((self.K, self.N // 8), dtype=torch.int32, device="cuda")
        else:
            q = torch.zeros((self.K // 8, self.N), dtype=torch.int32, device="cuda")
        out = torch.empty((self.K // 16, 2 * self.N), dtype=torch.int32, device="cuda")
        stream = torch.cuda.current_stream().cuda_stream
        (lib.repack_awq if awq else lib.repack_gptq)(
            q.data_ptr(), out.data_ptr(), self.K, self.N, 4, stream, perm=perm.data_ptr()
        )

    def test_repack_perm(self) -> None:
        good = torch.randperm(self.K, device="cuda", generator=_generator("perm")).to(torch.int32)
        for awq in (False, True):
            self.repack(good, awq)  # no error
            for i, value, why in ((7, self.K, "is out of range"), (300, -1, "is out of range")):
                bad = good.clone()
                bad[i] = value
                with self.subTest(awq=awq, value=value), self.assertRaises(MarlinError) as cm:
                    self.repack(bad, awq)
                self.assertEqual(cm.exception.code, Status.INVALID_ARGUMENT)
                self.assertEqual(
                    cm.exception.message, f"perm[{i}] = {value} {why}: perm must be a permutation of 0..{self.K - 1}"
                )
            bad = good.clone()
            bad[100] = bad[400]
            with self.subTest(awq=awq, repeated=True), self.assertRaises(MarlinError) as cm:
                self.repack(bad, awq)
            self.assertRegex(
                cm.exception.message,
                rf"^perm\[(100|400)\] = {int(good[400])} repeats another entry's row: perm must be a permutation",
            )

    def check(self, ao_perm: torch.Tensor, g: torch.Tensor | None, num_groups: int, gs: int, full: bool) -> None:
        _lib.get().check_act_order(
            ao_perm.data_ptr(),
            g.data_ptr() if g is not None else 0,
            self.K,
            num_groups,
            gs,
            full,
            torch.cuda.current_stream().cuda_stream,
        )

    def test_check_act_order(self) -> None:
        gs = 128
        g_idx = torch.randperm(self.K, generator=torch.Generator().manual_seed(3)) // gs
        ao = ops.prepare_act_order(g_idx.cuda(), gs)
        self.check(ao.perm, ao.g_idx_sorted, ao.num_groups, gs, True)  # a whole layer: passes
        self.check(ao.perm, None, ao.num_groups, gs, True)  # is_k_full needs no g_idx_sorted
        self.check(ao.perm, ao.g_idx_sorted, ao.num_groups, gs, False)
        cases = []
        perm = ao.perm.clone()
        perm[3] = -5
        cases.append((perm, ao.g_idx_sorted, 4, True, r"^perm\[3\] = -5 is out of range"))
        g = ao.g_idx_sorted.clone()
        g[20] = 4
        cases.append((ao.perm, g, 4, False, r"^g_idx_sorted\[20\] = 4 is not a group in \[0, num_groups=4\)$"))
        g = ao.g_idx_sorted.clone()
        g[127] = 1
        cases.append((ao.perm, g, 4, True, r"^is_k_full is set, but g_idx_sorted\[127\] = 1, not 127 / group_size = 0"))
        cases.append(
            (ao.perm, ao.g_idx_sorted, 3, False, r"^g_idx_sorted\[384\] = 3 is not a group in \[0, num_groups=3\)")
        )
        for perm, g, groups, full, pattern in cases:
            with self.subTest(pattern=pattern), self.assertRaises(MarlinError) as cm:
                self.check(perm, g, groups, gs, full)
            self.assertEqual(cm.exception.code, Status.INVALID_ARGUMENT)
            self.assertRegex(cm.exception.message, pattern)

    def test_check_refused_while_capturing(self) -> None:
        ao = ops.prepare_act_order(torch.arange(self.K, device="cuda") // 128, 128)
        side = torch.cuda.Stream()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=side), self.assertRaises(MarlinError) as cm:
            self.check(ao.perm, ao.g_idx_sorted, ao.num_groups, 128, True)
        self.assertEqual(cm.exception.code, Status.INVALID_ARGUMENT)
        self.assertIn("being captured into a CUDA graph", cm.exception.message)


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class RepackTest(unittest.TestCase):
    """CUDA repack and permutation kernels == the pure-torch reference of DESIGN.md, bit for bit."""

    SHAPES = ((64, 64), (128, 192), (192, 320), (1024, 3072), (4096, 4096))

    @recorded
    def test_repack_gptq(self) -> None:
        cases = Cases(self)
        for k, n in self.SHAPES:
            with cases.case(f"k={k} n={n}"):
                q = torch.randint(0, 16, (k, n), device="cuda", dtype=torch.int32, generator=_generator("rg", k, n))
                got = ops.repack_gptq(ref.pack_gptq(q), k, n)
                self.assertEqual(got.shape, (k // 16, 2 * n))
                self.assertEqual(got.dtype, torch.int32)
                self.assert_words_equal(got, ref.marlin_layout_reference(q))
        cases.done()

    @recorded
    def test_repack_gptq_8bit(self) -> None:
        cases = Cases(self)
        for k, n in self.SHAPES:
            with cases.case(f"k={k} n={n}"):
                gen = _generator("rg8", k, n)
                q = torch.randint(0, 256, (k, n), device="cuda", dtype=torch.int32, generator=gen)
                got = ops.repack_gptq(ref.pack_gptq(q, bits=8), k, n, bits=8)
                self.assertEqual(got.shape, (k // 16, 4 * n))
                self.assertEqual(got.dtype, torch.int32)
                self.assert_words_equal(got, ref.marlin_layout_reference(q, bits=8))
        cases.done()

    @recorded
    def test_repack_gptq_perm(self) -> None:
        # Act-order: repacked row i is source row perm[i], for 4-bit and 8-bit packing.
        cases = Cases(self)
        for bits in (4, 8):
            for k, n in self.SHAPES:
                with cases.case(f"bits={bits} k={k} n={n}"):
                    gen = _generator("rgp", bits, k, n)
                    q = torch.randint(0, 1 << bits, (k, n), device="cuda", dtype=torch.int32, generator=gen)
                    perm = torch.randperm(k, generator=_cpu_generator("rgp", bits, k, n)).to("cuda", torch.int32)
                    got = ops.repack_gptq(ref.pack_gptq(q, bits=bits), k, n, bits=bits, perm=perm)
                    self.assertEqual(got.shape, (k // 16, (bits // 2) * n))
                    self.assert_words_equal(got, ref.marlin_layout_reference(q, bits, perm=perm))
                    self.assert_words_equal(got, ref.marlin_layout_reference(q[perm.long()], bits))
        with cases.case("identity perm == no perm"):
            q = torch.randint(0, 16, (256, 128), device="cuda", dtype=torch.int32, generator=_generator("rgp-id"))
            ident = torch.arange(256, device="cuda", dtype=torch.int32)
            self.assert_words_equal(
                ops.repack_gptq(ref.pack_gptq(q), 256, 128, perm=ident), ref.marlin_layout_reference(q)
            )
        cases.done()

    @recorded
    def test_repack_awq(self) -> None:
        cases = Cases(self)
        for k, n in self.SHAPES:
            with cases.case(f"k={k} n={n}"):
                q = torch.randint(0, 16, (k, n), device="cuda", dtype=torch.int32, generator=_generator("ra", k, n))
                got = ops.repack_awq(ref.pack_awq(q), k, n)
                self.assert_words_equal(got, ref.marlin_layout_reference(q))
        cases.done()

    @recorded
    def test_repack_a8_row_perm(self) -> None:
        # The row order of FP8-activation weights (ops.a8_row_perm, on the current CUDA device by default) through
        # both 4-bit repacks (GPTQ/FP4 and AWQ), and a random perm through the AWQ one: the layout of q[perm].
        cases = Cases(self)
        for k, n in self.SHAPES:
            with cases.case(f"k={k} n={n}"):
                perm = ops.a8_row_perm(k)
                self.assertEqual((perm.device.type, perm.dtype), ("cuda", torch.int32))
                self.assertTrue(torch.equal(perm.cpu(), ref.a8_row_perm_reference(k)))
                q = torch.randint(0, 16, (k, n), device="cuda", dtype=torch.int32, generator=_generator("ra8", k, n))
                want = ref.marlin_layout_reference(q, perm=perm)
                self.assert_words_equal(ops.repack_gptq(ref.pack_gptq(q), k, n, perm=perm), want)
                self.assert_words_equal(ops.repack_awq(ref.pack_awq(q), k, n, perm=perm), want)
                rand = torch.randperm(k, generator=_cpu_generator("ra8", k, n)).to("cuda", torch.int32)
                self.assert_words_equal(
                    ops.repack_awq(ref.pack_awq(q), k, n, perm=rand), ref.marlin_layout_reference(q[rand.long()])
                )
        cases.done()

    @recorded
    def test_repack_single_value(self) -> None:
        # Hand-checked position (tests/gpu/test_reference_cpu.py): B[12][61] -> word 91 of tile 0, nibble 3.
        q = torch.zeros(64, 64, device="cuda", dtype=torch.int32)
        q[12, 61] = 6
        for got in (ops.repack_gptq(ref.pack_gptq(q), 64, 64), ops.repack_awq(ref.pack_awq(q), 64, 64)):
            nz = got.flatten().nonzero().flatten().tolist()
            self.assertEqual(nz, [91])
            self.assertEqual(int(got.flatten()[91]), 6 << 12)

    @recorded
    def test_repack_single_value_8bit(self) -> None:
        # Hand-checked position (tests/gpu/test_reference_cpu.py): B[13][61] -> word 183 of tile 0, byte 3; and
        # B[27][114] of K=32, N=128 -> word 846 (tile (1, 1)), byte 3.
        for k, n, row, col, word in ((64, 64, 13, 61, 183), (32, 128, 27, 114, 846)):
            q = torch.zeros(k, n, device="cuda", dtype=torch.int32)
            q[row, col] = 0xC5
            got = ops.repack_gptq(ref.pack_gptq(q, bits=8), k, n, bits=8).flatten()
            self.assertEqual(got.nonzero().flatten().tolist(), [word])
            self.assertEqual(int(got[word]) & 0xFFFFFFFF, 0xC5000000)

    @recorded
    def test_permute_scales(self) -> None:
        cases = Cases(self)
        for dtype in (torch.float16, torch.bfloat16):
            for groups, n in ((1, 64), (7, 320), (32, 4096), (64, 28672)):
                with cases.case(f"{dtype} groups={groups} n={n}"):
                    s = torch.randn(groups, n, device="cuda", generator=_generator("ps", groups, n)).to(dtype)
                    got = ops.permute_scales(s)
                    self.assertEqual((got.dtype, got.shape), (dtype, s.shape))
                    want = ref.permute_scales_reference(s)
                    self.assertTrue(torch.equal(got.view(torch.int16), want.view(torch.int16)), "values differ")
        cases.done()

    @recorded
    def test_permute_scales_1byte(self) -> None:
        # e4m3 (NVFP4) and e8m0 (MXFP4) scales: same column permutation, bytes moved unchanged.
        dtypes = [torch.uint8, torch.float8_e4m3fn, *_mxfp4_scale_dtypes()[1:]]
        cases = Cases(self)
        for dtype in dtypes:
            for groups, n in ((1, 64), (7, 320), (64, 4096), (512, 28672)):
                with cases.case(f"{dtype} groups={groups} n={n}"):
                    codes = _byte_codes(0, 255, (groups, n), _generator("ps1", groups, n))
                    s = codes.view(dtype)
                    got = ops.permute_scales(s)
                    self.assertEqual((got.dtype, got.shape), (dtype, s.shape))
                    want = ref.permute_scales_reference(codes)
                    self.assertTrue(torch.equal(got.view(torch.uint8), want), "bytes differ")
        cases.done()

    @recorded
    def test_awq_zeros(self) -> None:
        cases = Cases(self)
        for dtype in (torch.float16, torch.bfloat16):
            for groups, n in ((1, 64), (7, 320), (32, 4096)):
                with cases.case(f"{dtype} groups={groups} n={n}"):
                    z = torch.randint(0, 16, (groups, n), device="cuda", dtype=torch.int32, generator=_generator(n))
                    qzeros = ref.pack_awq_zeros(z)
                    got = ops.awq_zeros(qzeros, n, dtype)
                    self.assertEqual((got.dtype, tuple(got.shape)), (dtype, (groups, n)))
                    want = ref.awq_zeros_reference(qzeros, n, dtype)
                    self.assertTrue(torch.equal(got.view(torch.int16), want.view(torch.int16)), "values differ")
        cases.done()

    def assert_words_equal(self, got: torch.Tensor, want: torch.Tensor) -> None:
        diff = (got != want).nonzero()
        if diff.numel():
            r, c = (int(x) for x in diff[0])
            self.fail(
                f"{diff.shape[0]} of {got.numel()} words differ; first at [{r}, {c}]: "
                f"got {int(got[r, c]) & 0xFFFFFFFF:#010x}, want {int(want[r, c]) & 0xFFFFFFFF:#010x}"
            )


# ------------------------------------------------------------------------------------------- bad arguments


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class PythonValidationTest(unittest.TestCase):
    """ops.* reject bad input with a ValueError whose message starts with the argument's name."""

    K, N, G = 256, 256, 128

    @classmethod
    def setUpClass(cls) -> None:
        cls.a = torch.randn(4, cls.K, device="cuda", dtype=torch.float16)
        cls.b_q = torch.zeros(cls.K // 16, 2 * cls.N, device="cuda", dtype=torch.int32)
        cls.b_q8 = torch.zeros(cls.K // 16, 4 * cls.N, device="cuda", dtype=torch.int32)
        cls.s = torch.ones(cls.K // cls.G, cls.N, device="cuda", dtype=torch.float16)

    def bad(self, name: str, fn: Callable[[], object]) -> None:
        with self.assertRaises(ValueError) as cm:
            fn()
        self.assertRegex(str(cm.exception), rf"^{re.escape(name)}:", f"message should name {name!r}")

    def gemm(self, **kw: Any) -> Callable[[], object]:
        args = {"a": self.a, "b_q": self.b_q, "scales": self.s, "b_type": "u4b8", "group_size": self.G, **kw}
        return lambda: ops.gemm(**args)

    @recorded
    def test_gemm_arguments(self) -> None:
        dev = "cuda"
        f16, bf16 = torch.float16, torch.bfloat16
        cases: list[tuple[str, str, dict[str, Any]]] = [
            ("k not a multiple of 64", "a", {"a": torch.randn(4, 96, device=dev, dtype=f16)}),
            ("n not a multiple of 64", "b_q", {"b_q": torch.zeros(16, 192, device=dev, dtype=torch.int32)}),
            (
                "group size does not divide k",
                "group_size",
                {
                    "a": torch.randn(4, 192, device=dev, dtype=f16),
                    "b_q": torch.zeros(12, 512, device=dev, dtype=torch.int32),
                },
            ),
            ("group size not supported", "group_size", {"group_size": 48}),
            ("a float32", "a", {"a": self.a.float()}),
            ("a non-contiguous", "a", {"a": torch.randn(self.K, 8, device=dev, dtype=f16).t()}),
            ("m == 0", "a", {"a": torch.randn(0, self.K, device=dev, dtype=f16)}),
            ("a on the CPU", "a", {"a": self.a.cpu()}),
            ("a 3-D", "a", {"a": self.a.unsqueeze(0)}),
            ("b_q int64", "b_q", {"b_q": self.b_q.long()}),
            ("b_q rows != k/16", "b_q", {"b_q": torch.zeros(8, 2 * self.N, device=dev, dtype=torch.int32)}),
            ("scales dtype != a dtype", "scales", {"scales": self.s.to(bf16)}),
            ("scales shape", "scales", {"scales": self.s[:1].contiguous()}),
            ("scales non-contiguous", "scales", {"scales": self.s.t().contiguous().t()}),
            ("unknown b_type", "b_type", {"b_type": "u8"}),
            ("u4 without zeros", "zeros", {"b_type": "u4"}),
            ("u4b8 with zeros", "zeros", {"zeros": self.s.clone()}),
            ("zeros dtype", "zeros", {"b_type": "u4", "zeros": self.s.float()}),
            ("workspace too small", "workspace", {"workspace": torch.zeros(16, device=dev, dtype=torch.uint8)}),
            ("workspace dtype", "workspace", {"workspace": torch.zeros(16, device=dev, dtype=torch.int32)}),
            ("out dtype", "out", {"out": torch.empty(4, self.N, device=dev, dtype=bf16)}),
            ("out shape", "out", {"out": torch.empty(4, self.N + 64, device=dev, dtype=f16)}),
            ("u8b128 with a 4-bit layout b_q [k/16, 2n]", "b_q", {"b_type": "u8b128"}),
            ("u4b8 with an 8-bit layout b_q [k/16, 4n]", "b_q", {"b_q": self.b_q8}),
            (
                "u8b128 b_q columns not a multiple of 256",
                "b_q",
                {"b_type": "u8b128", "b_q": torch.zeros(16, 384, device=dev, dtype=torch.int32)},
            ),
            ("u8b128 b_q rows != k/16", "b_q", {"b_type": "u8b128", "b_q": self.b_q8[:8].contiguous()}),
            ("u8b128 with zeros", "zeros", {"b_type": "u8b128", "b_q": self.b_q8, "zeros": self.s.clone()}),
            (
                "u8b128 scales shape",
                "scales",
                {"b_type": "u8b128", "b_q": self.b_q8, "scales": self.s[:1].contiguous()},
            ),
        ]
        checks = Cases(self)
        for what, name, kw in cases:
            with checks.case(what):
                self.bad(name, self.gemm(**kw))
        checks.done()

    @recorded
    def test_gemm_new_arguments(self) -> None:
        # FP8/FP4 formats, per-format group sizes, bias, global_scale and act_order.
        dev = "cuda"
        f16, bf16 = torch.float16, torch.bfloat16
        k, n, g = self.K, self.N, self.G
        a_bf16 = self.a.to(bf16)
        s_nv = torch.full((k // 16, n), 0x38, device=dev, dtype=torch.uint8).view(torch.float8_e4m3fn)
        s_mx = torch.full((k // 32, n), 127, device=dev, dtype=torch.uint8)
        nvfp4 = {"b_type": "fe2m1f", "scales": s_nv, "group_size": 16}
        mxfp4 = {"a": a_bf16, "b_type": "fe2m1f", "scales": s_mx, "group_size": 32}
        fp8 = {"b_type": "fe4m3fn", "b_q": self.b_q8, "group_size": g}
        gs = torch.ones(1, device=dev, dtype=torch.float32)
        ao = ops.prepare_act_order(torch.randperm(k).to(dev, torch.int32) // g, g)
        self.assertTrue(ao.is_k_full)
        ao64 = ops.prepare_act_order(torch.arange(k, device=dev, dtype=torch.int32) // 64, 64)
        ao_one_group = ops.prepare_act_order(torch.zeros(k, device=dev, dtype=torch.int32), g)
        # k/2 rows in 2 groups: the scales fit, act_order.perm has the wrong length.
        ao_short = ops.prepare_act_order(torch.arange(k // 2, device=dev, dtype=torch.int32) // 64, g)
        cases: list[tuple[str, str, dict[str, Any]]] = [
            # formats and scale dtypes
            (
                "fe2m1f with f16 scales",
                "scales",
                {"b_type": "fe2m1f", "group_size": 16, "scales": s_nv.view(torch.uint8).half()},
            ),
            ("fe2m1f with float32 scales", "scales", {**nvfp4, "scales": s_nv.float()}),
            ("fe2m1f with int8 scales", "scales", {**nvfp4, "scales": s_nv.view(torch.int8)}),
            ("fe4m3fn with e4m3 scales", "scales", {**fp8, "scales": s_nv[: k // g].contiguous()}),
            ("u4b8 with uint8 scales", "scales", {"scales": s_mx[: k // g].contiguous()}),
            ("MXFP4 with f16 activations", "a", {**mxfp4, "a": self.a}),
            ("fe4m3fn with a 4-bit layout b_q", "b_q", {**fp8, "b_q": self.b_q}),
            ("fe2m1f with an 8-bit layout b_q", "b_q", {**nvfp4, "b_q": self.b_q8}),
            ("fe2m1f with zeros", "zeros", {**nvfp4, "zeros": self.s.clone()}),
            ("fe4m3fn with zeros", "zeros", {**fp8, "zeros": self.s.clone()}),
            ("NVFP4 scales shape", "scales", {**nvfp4, "scales": s_nv[: k // 32].contiguous()}),
            # group sizes per format
            (
                "u4b8 group_size 16",
                "group_size",
                {"group_size": 16, "scales": torch.ones(k // 16, n, device=dev, dtype=f16)},
            ),
            ("u4 group_size 16", "group_size", {"b_type": "u4", "group_size": 16, "zeros": self.s.clone()}),
            ("u8b128 group_size 16", "group_size", {"b_type": "u8b128", "b_q": self.b_q8, "group_size": 16}),
            ("fe4m3fn group_size 64", "group_size", {**fp8, "group_size": 64}),
            ("fe4m3fn group_size 32", "group_size", {**fp8, "group_size": 32}),
            ("NVFP4 group_size 32", "group_size", {**nvfp4, "group_size": 32}),
            ("NVFP4 group_size -1", "group_size", {**nvfp4, "group_size": -1}),
            ("MXFP4 group_size 16", "group_size", {**mxfp4, "group_size": 16}),
            ("MXFP4 group_size 128", "group_size", {**mxfp4, "group_size": 128}),
            ("group_size 256", "group_size", {"group_size": 256}),
            # bias
            ("bias shape [n + 64]", "bias", {"bias": torch.zeros(n + 64, device=dev, dtype=f16)}),
            ("bias shape [1, n]", "bias", {"bias": torch.zeros(1, n, device=dev, dtype=f16)}),
            ("bias float32", "bias", {"bias": torch.zeros(n, device=dev)}),
            ("bias bf16 with f16 a", "bias", {"bias": torch.zeros(n, device=dev, dtype=bf16)}),
            ("bias on the CPU", "bias", {"bias": torch.zeros(n, dtype=f16)}),
            ("bias non-contiguous", "bias", {"bias": torch.zeros(2 * n, device=dev, dtype=f16)[::2]}),
            # global_scale
            ("global_scale with u4b8", "global_scale", {"global_scale": gs}),
            ("global_scale with fe4m3fn", "global_scale", {**fp8, "global_scale": gs}),
            ("global_scale with MXFP4", "global_scale", {**mxfp4, "global_scale": gs}),
            ("global_scale float16", "global_scale", {**nvfp4, "global_scale": gs.half()}),
            ("global_scale two elements", "global_scale", {**nvfp4, "global_scale": torch.ones(2, device=dev)}),
            ("global_scale on the CPU", "global_scale", {**nvfp4, "global_scale": gs.cpu()}),
            # act_order
            ("act_order with u4", "act_order", {"b_type": "u4", "zeros": self.s.clone(), "act_order": ao}),
            ("act_order with fe4m3fn", "act_order", {**fp8, "act_order": ao}),
            ("act_order with fe2m1f", "act_order", {**nvfp4, "act_order": ao}),
            (
                "act_order with group_size -1",
                "group_size",
                {"group_size": -1, "scales": self.s[:1].contiguous(), "act_order": ao},
            ),
            ("act_order with another group size", "group_size", {"act_order": ao64}),
            ("act_order, scales rows != num_groups", "scales", {"act_order": ao_one_group}),
            ("act_order tensors on the CPU", "act_order.perm", {"act_order": ao.to("cpu")}),
            ("act_order for another k", "act_order.perm", {"act_order": ao_short}),
        ]
        checks = Cases(self)
        for what, name, kw in cases:
            with checks.case(what):
                self.bad(name, self.gemm(**kw))
        with checks.case("act_order not an ActOrder"):
            with self.assertRaisesRegex(TypeError, "^act_order:"):
                self.gemm(act_order=(ao.perm, ao.g_idx_sorted, True))()
        checks.done()

    def a8_gemm(self, act: str, **kw: Any) -> Callable[[], object]:
        """gemm with 8-bit activations of kind act ("fp8" or "int8"): zero A [4, K], u4b8, f16 output; kw adds or
        replaces arguments."""
        a8 = _fp8_zeros(4, self.K) if act == "fp8" else torch.zeros(4, self.K, device="cuda", dtype=torch.int8)
        return self.gemm(**{"a": a8, "out_dtype": torch.float16, **kw})

    def a8_common_rejected(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(what, argument the message names, gemm arguments) rejected alike for FP8 and INT8 activations."""
        dev = "cuda"
        f16, bf16 = torch.float16, torch.bfloat16
        n = self.N
        ones4 = torch.ones(4, device=dev)
        return [
            # out_dtype
            ("8-bit a without out_dtype", "out_dtype", {"out_dtype": None}),
            (
                "8-bit a without out_dtype, with out",
                "out_dtype",
                {"out_dtype": None, "out": torch.empty(4, n, device=dev, dtype=f16)},
            ),
            ("out_dtype float32", "out_dtype", {"out_dtype": torch.float32}),
            # a_scales
            ("a_scales shape [m + 1]", "a_scales", {"a_scales": torch.ones(5, device=dev)}),
            ("a_scales shape [m, 1]", "a_scales", {"a_scales": torch.ones(4, 1, device=dev)}),
            ("a_scales float16", "a_scales", {"a_scales": ones4.half()}),
            ("a_scales on the CPU", "a_scales", {"a_scales": ones4.cpu()}),
            ("a_scales non-contiguous", "a_scales", {"a_scales": torch.ones(8, device=dev)[::2]}),
            # formats
            ("u8b128 with 8-bit a", "b_type", {"b_type": "u8b128", "b_q": self.b_q8}),
            ("fe4m3fn weights with 8-bit a", "b_type", {"b_type": "fe4m3fn", "b_q": self.b_q8}),
            # dtypes of the other operands follow out_dtype
            ("f16 scales with out_dtype bf16", "scales", {"out_dtype": bf16}),
            ("u4 zeros bf16 with out_dtype f16", "zeros", {"b_type": "u4", "zeros": self.s.to(bf16)}),
            ("bias bf16 with out_dtype f16", "bias", {"bias": torch.zeros(n, device=dev, dtype=bf16)}),
            ("out bf16 with out_dtype f16", "out", {"out": torch.empty(4, n, device=dev, dtype=bf16)}),
        ]

    def a8_common_accepted(self, a_scales: torch.Tensor) -> list[tuple[str, dict[str, Any]]]:
        """(what, gemm arguments) valid alike for FP8 and INT8 activations."""
        dev = "cuda"
        f16, bf16 = torch.float16, torch.bfloat16
        n = self.N
        return [
            ("u4b8 f16", {}),
            ("u4b8 bf16, a_scales", {"out_dtype": bf16, "scales": self.s.to(bf16), "a_scales": a_scales}),
            ("u4b8 channelwise", {"group_size": -1, "scales": self.s[:1].contiguous()}),
            (
                "u4 f16, bias, out",
                {
                    "b_type": "u4",
                    "zeros": self.s.clone(),
                    "bias": torch.zeros(n, device=dev, dtype=f16),
                    "out": torch.full((4, n), float("nan"), device=dev, dtype=f16),  # must be written
                },
            ),
        ]

    def expect_a8_rejected(self, act: str, cases: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Each case, with 8-bit activations of kind act, is a ValueError naming its argument."""
        checks = Cases(self)
        for what, name, kw in cases:
            with checks.case(what):
                self.bad(name, self.a8_gemm(act, **kw))
        checks.done()

    def expect_a8_accepted(self, act: str, cases: list[tuple[str, dict[str, Any]]]) -> None:
        """Each case, with 8-bit activations of kind act, passes Python's checks: it runs (a finite result of the
        dtype and shape asked, `out` itself when given, NaN before), or raises MarlinError NOT_BUILT, which is
        accepted only from a library without kernels for act at all (_a8_act_probe); never a ValueError."""
        checks = Cases(self)
        for what, kw in cases:
            with checks.case(what):
                try:
                    out = self.a8_gemm(act, **kw)()
                    torch.cuda.synchronize()
                except MarlinError as exc:
                    self.assertEqual(exc.code, Status.NOT_BUILT, str(exc))
                    self.assertIsNotNone(
                        _a8_act_probe(act), f"NOT_BUILT from a library that has {act.upper()}-activation kernels: {exc}"
                    )
                    continue
                want = kw.get("out_dtype", torch.float16)
                self.assertEqual((out.dtype, tuple(out.shape)), (want, (4, self.N)))
                self.assertTrue(bool(torch.isfinite(out).all()))
                if "out" in kw:
                    self.assertIs(out, kw["out"])
        checks.done()

    @recorded
    def test_gemm_fp8_activation_arguments(self) -> None:
        # a of torch.float8_e4m3fn: out_dtype required (f16/bf16); a_scales fp32 [m] only with FP8 activations;
        # u4, u4b8 and MXFP4 (bf16 out) only, no act-order; scales, zeros, bias and out of out_dtype.
        dev = "cuda"
        f16, bf16 = torch.float16, torch.bfloat16
        k, n, g = self.K, self.N, self.G
        ones4 = torch.ones(4, device=dev)
        s_nv = torch.full((k // 16, n), 0x38, device=dev, dtype=torch.uint8).view(torch.float8_e4m3fn)
        s_mx = torch.full((k // 32, n), 127, device=dev, dtype=torch.uint8)
        ao = ops.prepare_act_order(torch.arange(k, device=dev, dtype=torch.int32) // g, g)
        cases: list[tuple[str, str, dict[str, Any]]] = [
            *self.a8_common_rejected(),
            # out_dtype
            ("out_dtype float8_e4m3fn", "out_dtype", {"out_dtype": torch.float8_e4m3fn}),
            ("out_dtype a string", "out_dtype", {"out_dtype": "float16"}),
            ("out_dtype bf16 with f16 a", "out_dtype", {"a": self.a, "out_dtype": bf16}),
            # a
            ("a float8_e5m2", "a", {"a": _fp8_zeros(4, k).view(torch.float8_e5m2)}),
            ("fp8 a non-contiguous", "a", {"a": _fp8_zeros(k, 4).t()}),
            ("fp8 a, k not a multiple of 64", "a", {"a": _fp8_zeros(4, 96)}),
            # a_scales
            ("a_scales with f16 a", "a_scales", {"a": self.a, "out_dtype": None, "a_scales": ones4}),
            ("a_scales with bf16 a", "a_scales", {"a": self.a.to(bf16), "out_dtype": None, "a_scales": ones4}),
            ("a_scales shape []", "a_scales", {"a_scales": torch.ones((), device=dev)}),
            ("a_scales float64", "a_scales", {"a_scales": ones4.double()}),
            # formats
            ("NVFP4 with fp8 a", "scales", {"b_type": "fe2m1f", "scales": s_nv, "group_size": 16}),
            (
                "MXFP4 with fp8 a, f16 out",
                "out_dtype",
                {"b_type": "fe2m1f", "scales": s_mx, "group_size": 32, "out_dtype": f16},
            ),
            ("act_order with fp8 a", "act_order", {"act_order": ao}),
            ("out float8", "out", {"out": torch.empty(4, n, device=dev, dtype=torch.float8_e4m3fn)}),
        ]
        self.expect_a8_rejected("fp8", cases)

    @recorded
    def test_gemm_fp8_activation_accepted(self) -> None:
        # Valid FP8-activation calls pass Python's checks. a_scales need only fp32 alignment (a slice at offset 4
        # bytes).
        k, n = self.K, self.N
        bf16 = torch.bfloat16
        s_mx = torch.full((k // 32, n), 127, device="cuda", dtype=torch.uint8)
        cases: list[tuple[str, dict[str, Any]]] = [
            *self.a8_common_accepted(torch.ones(5, device="cuda")[1:]),
            ("MXFP4 bf16", {"b_type": "fe2m1f", "scales": s_mx, "group_size": 32, "out_dtype": bf16}),
            (
                "MXFP4 e8m0 scales",
                {
                    "b_type": "fe2m1f",
                    "scales": s_mx.view(_mxfp4_scale_dtypes()[-1]),
                    "group_size": 32,
                    "out_dtype": bf16,
                },
            ),
        ]
        self.expect_a8_accepted("fp8", cases)

    @recorded
    def test_gemm_int8_activation_arguments(self) -> None:
        # a of torch.int8: out_dtype required (f16/bf16); a_scales fp32 [m]; u4 and u4b8 only, no act-order, no
        # global_scale; scales, zeros, bias and out of out_dtype. (tests/gpu/test_reference_cpu.py checks the
        # messages of the type errors, which need no GPU; these are the same calls with CUDA tensors, and the
        # checks of the tensors themselves.)
        dev = "cuda"
        f16, bf16 = torch.float16, torch.bfloat16
        k, n, g = self.K, self.N, self.G
        ones4 = torch.ones(4, device=dev)
        s_mx = torch.full((k // 32, n), 127, device=dev, dtype=torch.uint8)
        s_nv = torch.full((k // 16, n), 0x38, device=dev, dtype=torch.uint8).view(torch.float8_e4m3fn)
        ao = ops.prepare_act_order(torch.arange(k, device=dev, dtype=torch.int32) // g, g)
        a8 = torch.zeros(4, k, device=dev, dtype=torch.int8)
        cases: list[tuple[str, str, dict[str, Any]]] = [
            *self.a8_common_rejected(),
            # out_dtype
            ("out_dtype int8", "out_dtype", {"out_dtype": torch.int8}),
            # a
            ("a uint8", "a", {"a": a8.view(torch.uint8)}),
            ("int8 a non-contiguous", "a", {"a": torch.zeros(k, 4, device=dev, dtype=torch.int8).t()}),
            ("int8 a, k not a multiple of 64", "a", {"a": torch.zeros(4, 96, device=dev, dtype=torch.int8)}),
            (
                "int8 a not 16-byte aligned",
                "a",
                {"a": torch.zeros(4 * k + 8, device=dev, dtype=torch.int8)[8:].view(4, k)},
            ),
            ("int8 a on the CPU", "a", {"a": a8.cpu()}),
            # a_scales
            ("a_scales int32", "a_scales", {"a_scales": ones4.int()}),
            # formats
            ("NVFP4 with int8 a", "b_type", {"b_type": "fe2m1f", "scales": s_nv, "group_size": 16}),
            (
                "MXFP4 with int8 a, bf16 out",
                "b_type",
                {"b_type": "fe2m1f", "scales": s_mx, "group_size": 32, "out_dtype": bf16},
            ),
            ("act_order with int8 a", "act_order", {"act_order": ao}),
            ("global_scale with int8 a", "global_scale", {"global_scale": torch.ones(1, device=dev)}),
            (
                "group_size 16",
                "group_size",
                {"group_size": 16, "scales": torch.ones(k // 16, n, device=dev, dtype=f16)},
            ),
            ("u4 without zeros", "zeros", {"b_type": "u4"}),
            ("out int8", "out", {"out": torch.empty(4, n, device=dev, dtype=torch.int8)}),
        ]
        self.expect_a8_rejected("int8", cases)

    @recorded
    def test_gemm_int8_activation_accepted(self) -> None:
        # Valid INT8-activation calls pass Python's checks; a_scales need only fp32 alignment.
        dev = "cuda"
        f16, bf16 = torch.float16, torch.bfloat16
        n = self.N
        a_scales = torch.ones(5, device=dev)[1:]
        cases: list[tuple[str, dict[str, Any]]] = [
            *self.a8_common_accepted(a_scales),
            ("u4b8 group 32", {"group_size": 32, "scales": torch.ones(self.K // 32, n, device=dev, dtype=f16)}),
            (
                "u4 bf16 group 64, a_scales",
                {
                    "b_type": "u4",
                    "group_size": 64,
                    "out_dtype": bf16,
                    "scales": torch.ones(self.K // 64, n, device=dev, dtype=bf16),
                    "zeros": torch.zeros(self.K // 64, n, device=dev, dtype=bf16),
                    "a_scales": a_scales,
                },
            ),
        ]
        self.expect_a8_accepted("int8", cases)

    @recorded
    def test_prepare_arguments(self) -> None:
        dev = "cuda"
        qw = torch.zeros(self.K // 8, self.N, device=dev, dtype=torch.int32)
        self.bad("k", lambda: ops.repack_gptq(qw, 100, self.N))
        self.bad("n", lambda: ops.repack_gptq(qw, self.K, 96))
        self.bad("qweight", lambda: ops.repack_gptq(qw, self.K, 2 * self.N))
        self.bad("qweight", lambda: ops.repack_gptq(qw.cpu(), self.K, self.N))
        self.bad("qweight", lambda: ops.repack_awq(qw, self.K, self.N))  # AWQ wants [k, n/8]
        qw8 = torch.zeros(self.K // 4, self.N, device=dev, dtype=torch.int32)
        self.bad("qweight", lambda: ops.repack_gptq(qw, self.K, self.N, bits=8))  # 8-bit wants [k/4, n]
        self.bad("qweight", lambda: ops.repack_gptq(qw8, self.K, self.N))  # 4-bit wants [k/8, n]
        self.bad("k", lambda: ops.repack_gptq(qw8, 100, self.N, bits=8))
        self.bad("n", lambda: ops.repack_gptq(qw8, self.K, 96, bits=8))
        for bits in (2, 3, 5, 16, True):
            self.bad("bits", lambda bits=bits: ops.repack_gptq(qw, self.K, self.N, bits=bits))
        self.bad("scales", lambda: ops.permute_scales(torch.ones(2, 96, device=dev, dtype=torch.float16)))
        self.bad("scales", lambda: ops.permute_scales(torch.ones(2, 64, device=dev)))
        qz = torch.zeros(2, self.N // 8, device=dev, dtype=torch.int32)
        self.bad("dtype", lambda: ops.awq_zeros(qz, self.N, torch.float32))
        self.bad("qzeros", lambda: ops.awq_zeros(qz, 2 * self.N, torch.float16))
        # repack with an act-order perm
        perm = torch.randperm(self.K, device=dev).to(torch.int32)
        self.bad("perm", lambda: ops.repack_gptq(qw, self.K, self.N, perm=perm.long()))
        self.bad("perm", lambda: ops.repack_gptq(qw, self.K, self.N, perm=perm[:-16].contiguous()))
        self.bad("perm", lambda: ops.repack_gptq(qw, self.K, self.N, perm=perm.cpu()))
        self.bad("perm", lambda: ops.repack_gptq(qw, self.K, self.N, perm=torch.zeros_like(perm)))  # not a permutation
        self.bad("perm", lambda: ops.repack_gptq(qw8, self.K, self.N, bits=8, perm=perm + 1))
        qa = torch.zeros(self.K, self.N // 8, device=dev, dtype=torch.int32)
        self.bad("perm", lambda: ops.repack_awq(qa, self.K, self.N, perm=perm.long()))
        self.bad("perm", lambda: ops.repack_awq(qa, self.K, self.N, perm=perm[:-16].contiguous()))
        self.bad("perm", lambda: ops.repack_awq(qa, self.K, self.N, perm=perm.cpu()))
        self.bad("perm", lambda: ops.repack_awq(qa, self.K, self.N, perm=torch.zeros_like(perm)))
        # a8_row_perm
        for k in (0, 8, 100, 16.0):
            self.bad("k", lambda k=k: ops.a8_row_perm(k))
        # 1-byte scales: the same shape rules; int8 is no scale dtype
        self.bad("scales", lambda: ops.permute_scales(torch.ones(2, 96, device=dev, dtype=torch.uint8)))
        self.bad("scales", lambda: ops.permute_scales(torch.ones(2, 64, device=dev, dtype=torch.int8)))
        self.bad("scales", lambda: ops.permute_scales(torch.ones(2, 64, dtype=torch.uint8)))  # CPU
        # prepare_act_order
        g_idx = torch.arange(self.K, device=dev, dtype=torch.int32) // 128
        for gs in (-1, 16, 256):
            self.bad("group_size", lambda gs=gs: ops.prepare_act_order(g_idx, gs))
        self.bad("g_idx", lambda: ops.prepare_act_order(g_idx.float(), 128))
        self.bad("g_idx", lambda: ops.prepare_act_order(g_idx - 1, 128))
        self.bad("g_idx", lambda: ops.prepare_act_order(g_idx.reshape(2, -1), 128))


@unittest.skipUnless(RUN_GPU_TESTS, SKIP_REASON)
class CApiValidationTest(unittest.TestCase):
    """The C library itself rejects bad marlin_gemm_args (MarlinError naming the field), with Python's checks
    bypassed through marlin_bazel._lib."""

    K, N, M, G = 256, 256, 16, 128

    @classmethod
    def setUpClass(cls) -> None:
        gen = _generator("capi")
        cls.b_q, cls.q_ref = _weights("u4", cls.K, cls.N, gen)
        groups = cls.K // cls.G
        cls.scales = _scales(groups, cls.N, torch.float16, gen)
        cls.s = ops.permute_scales(cls.scales)
        qzeros = ref.pack_awq_zeros(torch.full((groups, cls.N), 8, device="cuda", dtype=torch.int32))
        cls.z = ops.awq_zeros(qzeros, cls.N, torch.float16)
        cls.z_ref = ref.unpack_awq_zeros(qzeros)
        cls.a = torch.randn(cls.M, cls.K, device="cuda", generator=gen).half()
        cls.c = torch.empty(cls.M, cls.N, device="cuda", dtype=torch.float16)
        cls.sm = torch.cuda.get_device_properties(0).multi_processor_count
        cls.ws_bytes = _lib.get().workspace_bytes(cls.sm)
        cls.ws = torch.zeros(cls.ws_bytes, device="cuda", dtype=torch.uint8)

    def args(self, **kw: Any) -> _lib.MarlinGemmArgs:
        fields: dict[str, Any] = {
            "a": self.a.data_ptr(),
            "b_q": self.b_q.data_ptr(),
            "scales": self.s.data_ptr(),
            "zeros": self.z.data_ptr(),
            "c": self.c.data_ptr(),
            "workspace": self.ws.data_ptr(),
            "workspace_bytes": self.ws_bytes,
            "m": self.M,
            "n": self.N,
            "k": self.K,
            "lda": 0,
            "ldc": 0,
            "group_size": self.G,
            "a_type": ScalarType.FLOAT16,
            "b_type": ScalarType.U4,
            "c_type": ScalarType.FLOAT16,
            "s_type": ScalarType.FLOAT16,
            "sm_count": self.sm,
            "stream": torch.cuda.current_stream().cuda_stream or None,
        }
        fields.update(kw)
        return _lib.MarlinGemmArgs(**fields)

    @recorded
    def test_valid_args_run(self) -> None:
        self.c.fill_(float("nan"))  # so that an output the kernel never wrote cannot pass
        _lib.get().gemm(self.args())
        torch.cuda.synchronize()
        w64 = ref.dequant(self.q_ref, self.scales, self.z_ref, self.G, "u4").double()
        stats = _errors(self.c, self.a, w64, w64 * w64, "f16")
        self.assertTrue(stats["finite"] and stats["z"] <= Z_MAX, stats)

    @recorded
    def test_valid_args_run_u8b128(self) -> None:
        # GPTQ-INT8 straight through the C API: [k/16, 4n] weights, zeros NULL.
        gen = _generator("capi8")
        b_q8, q_ref = _weights("u8b128", self.K, self.N, gen)
        scales = _scales(self.K // self.G, self.N, torch.float16, gen)
        s_perm = ops.permute_scales(scales)  # kept alive until the kernel has run
        c = torch.full((self.M, self.N), float("nan"), device="cuda", dtype=torch.float16)
        args = self.args(
            b_q=b_q8.data_ptr(),
            scales=s_perm.data_ptr(),
            zeros=None,
            c=c.data_ptr(),
            b_type=ScalarType.U8B128,
        )
        _lib.get().gemm(args)
        torch.cuda.synchronize()
        w64 = ref.dequant(q_ref, scales, None, self.G, "u8b128").double()
        stats = _errors(c, self.a, w64, w64 * w64, "f16")
        self.assertTrue(stats["finite"] and stats["z"] <= Z_MAX, stats)

    @recorded
    def test_rejected(self) -> None:
        cases: list[tuple[str, str, dict[str, Any]]] = [
            ("k not a multiple of 64", r"\bk\b", {"k": 96, "group_size": 32}),
            ("n not a multiple of 64", r"\bn\b", {"n": 96}),
            ("group size does not divide k", r"group_size", {"k": 192}),
            ("neither k nor n a multiple of 128", r"\bk\b", {"k": 192, "n": 320, "group_size": 64}),
            ("group size not supported", r"group_size", {"group_size": 48}),
            ("m == 0", r"\bm\b", {"m": 0}),
            ("m < 0", r"\bm\b", {"m": -1}),
            ("workspace one byte too small", r"workspace", {"workspace_bytes": self.ws_bytes - 1}),
            ("workspace NULL", r"workspace", {"workspace": None}),
            ("a NULL", r"\ba\b", {"a": None}),
            ("c NULL", r"\bc\b", {"c": None}),
            ("u4 without zeros", r"zeros", {"zeros": None}),
            ("u4b8 with zeros", r"zeros", {"b_type": ScalarType.U4B8}),
            ("u8b128 with zeros", r"zeros", {"b_type": ScalarType.U8B128}),
            ("lda < k", r"\blda\b", {"lda": self.K - 64}),
            ("a rows not 16-byte aligned", r"\b(lda|a)\b", {"lda": self.K + 1, "m": 2}),
        ]
        checks = Cases(self)
        for what, pattern, kw in cases:
            with checks.case(what):
                with self.assertRaises(MarlinError) as cm:
                    _lib.get().gemm(self.args(**kw))
                err = cm.exception
                self.assertEqual(err.code, Status.INVALID_ARGUMENT, str(err))
                self.assertRegex(err.message, re.compile(pattern, re.IGNORECASE), "the message should name it")
        torch.cuda.synchronize()  # nothing was launched, so no CUDA error is pending
        checks.done()

    @recorded
    def test_rejected_new_arguments(self) -> None:
        # marlin.h: global_scale is NVFP4's only; act-order is U4B8/U8B128 only, needs a_perm, and g_idx_sorted
        # unless is_k_full; group sizes per format (U4/U4B8/U8B128: -1, 32, 64, 128; FE4M3FN: -1, 128; NVFP4: 16;
        # MXFP4: 32); a_scales and the formats of FP8 and INT8 activations. Nothing is launched, so the tensors only
        # need to exist.
        k, g = self.K, self.G
        gs = torch.ones(1, device="cuda")
        perm = torch.arange(k, device="cuda", dtype=torch.int32)
        g_sorted = perm // g
        a_perm = torch.empty_like(self.a)
        act = {
            "perm": perm.data_ptr(),
            "g_idx_sorted": g_sorted.data_ptr(),
            "a_perm": a_perm.data_ptr(),
            "is_k_full": 1,
        }
        gptq = {"b_type": ScalarType.U4B8, "zeros": None}
        fp8 = {"b_type": ScalarType.FE4M3FN, "zeros": None}
        nvfp4 = {"b_type": ScalarType.FE2M1F, "s_type": ScalarType.FE4M3FN, "zeros": None, "group_size": 16}
        bf16 = {"a_type": ScalarType.BFLOAT16, "c_type": ScalarType.BFLOAT16}
        mxfp4 = {**bf16, "b_type": ScalarType.FE2M1F, "s_type": ScalarType.FE8M0FNU, "zeros": None, "group_size": 32}
        fp8_act = {"a_type": ScalarType.FE4M3FN}  # with the U4 f16 defaults: a valid FP8-activation call
        int8_act = {"a_type": ScalarType.S8}  # with the U4 f16 defaults: a valid INT8-activation call
        a_scales = torch.ones(self.M, device="cuda")
        cases: list[tuple[str, str, dict[str, Any]]] = [
            ("global_scale with U4", r"global_scale", {"global_scale": gs.data_ptr()}),
            ("global_scale with U4B8", r"global_scale", {**gptq, "global_scale": gs.data_ptr()}),
            ("global_scale with MXFP4", r"global_scale", {**mxfp4, "global_scale": gs.data_ptr()}),
            ("act-order with U4", r"perm|act|b_type", act),
            ("act-order with FE4M3FN", r"perm|act|b_type", {**fp8, **act}),
            ("act-order without a_perm", r"a_perm", {**gptq, **act, "a_perm": None}),
            (
                "act-order, not k-full, without g_idx_sorted",
                r"g_idx_sorted",
                {**gptq, **act, "is_k_full": 0, "g_idx_sorted": None},
            ),
            ("act-order with group_size -1", r"group_size|perm|act", {**gptq, **act, "group_size": -1}),
            ("U4 group_size 16", r"group_size", {"group_size": 16}),
            ("U4B8 group_size 16", r"group_size", {**gptq, "group_size": 16}),
            ("FE4M3FN group_size 64", r"group_size", {**fp8, "group_size": 64}),
            ("NVFP4 group_size 32", r"group_size", {**nvfp4, "group_size": 32}),
            ("NVFP4 group_size -1", r"group_size", {**nvfp4, "group_size": -1}),
            ("MXFP4 group_size 16", r"group_size", {**mxfp4, "group_size": 16}),
            # FP8 activations: a_scales only with them; u4, u4b8 and MXFP4 (bf16 out) only; no act-order; c_type
            # f16/bf16 and s_type == c_type (but MXFP4's e8m0); 16-byte rows of 1-byte elements; a_scales fp32-aligned.
            ("a_scales with f16 activations", r"a_scales", {"a_scales": a_scales.data_ptr()}),
            ("a_scales with bf16 activations", r"a_scales", {**mxfp4, "a_scales": a_scales.data_ptr()}),
            ("FP8 activations with U8B128", r"b_type", {**fp8_act, "b_type": ScalarType.U8B128, "zeros": None}),
            ("FP8 activations with FE4M3FN weights", r"b_type", {**fp8_act, **fp8}),
            ("FP8 activations with NVFP4", r"MXFP4|s_type", {**nvfp4, **fp8_act}),
            (
                "FP8 activations, MXFP4 with f16 output",
                r"MXFP4|c_type",
                {**mxfp4, **fp8_act, "c_type": ScalarType.FLOAT16},
            ),
            ("FP8 activations with act-order", r"perm|act", {**gptq, **act, **fp8_act}),
            ("FP8 activations, c_type FE4M3FN", r"c_type", {**fp8_act, "c_type": ScalarType.FE4M3FN}),
            ("FP8 activations, s_type != c_type", r"s_type", {**fp8_act, "c_type": ScalarType.BFLOAT16}),
            ("FP8 activations, rows not 16 bytes", r"\blda\b", {**fp8_act, "lda": k + 8, "m": 2}),
            ("a_scales not 4-byte aligned", r"a_scales", {**fp8_act, "a_scales": a_scales.data_ptr() + 2}),
            # INT8 activations: U4 and U4B8 only (group sizes -1, 32, 64, 128); no act-order, no global_scale; c_type
            # f16/bf16 and s_type == c_type; 16-byte rows of 1-byte elements; a_scales fp32-aligned.
            ("INT8 activations with U8B128", r"b_type", {**int8_act, "b_type": ScalarType.U8B128, "zeros": None}),
            ("INT8 activations with FE4M3FN weights", r"b_type", {**int8_act, **fp8}),
            ("INT8 activations with NVFP4", r"b_type|s_type|NVFP4|FE2M1F", {**nvfp4, **int8_act}),
            ("INT8 activations with MXFP4", r"b_type|s_type|MXFP4|FE2M1F", {**mxfp4, **int8_act}),
            ("INT8 activations with act-order", r"perm|act", {**gptq, **act, **int8_act}),
            ("INT8 activations with global_scale", r"global_scale", {**int8_act, "global_scale": gs.data_ptr()}),
            ("INT8 activations, group_size 16", r"group_size", {**int8_act, "group_size": 16}),
            ("INT8 activations, c_type FE4M3FN", r"c_type", {**int8_act, "c_type": ScalarType.FE4M3FN}),
            ("INT8 activations, c_type S8", r"c_type", {**int8_act, "c_type": ScalarType.S8}),
            ("INT8 activations, s_type != c_type", r"s_type", {**int8_act, "c_type": ScalarType.BFLOAT16}),
            ("INT8 activations, rows not 16 bytes", r"\blda\b", {**int8_act, "lda": k + 8, "m": 2}),
            ("INT8 a_scales not 4-byte aligned", r"a_scales", {**int8_act, "a_scales": a_scales.data_ptr() + 2}),
        ]
        checks = Cases(self)
        for what, pattern, kw in cases:
            with checks.case(what):
                with self.assertRaises(MarlinError) as cm:
                    _lib.get().gemm(self.args(**kw))
                err = cm.exception
                self.assertEqual(err.code, Status.INVALID_ARGUMENT, str(err))
                self.assertRegex(err.message, re.compile(pattern, re.IGNORECASE), "the message should name it")
        torch.cuda.synchronize()
        checks.done()

    @recorded
    def test_unbuilt_types(self) -> None:
        # A type combination no quant config builds: NOT_BUILT (or INVALID_ARGUMENT), never a crash. FE2M1F with
        # f16 scales; MXFP4 with f16 activations (never built). (8-bit activations: GemmFp8ActTest and
        # GemmInt8ActTest, and test_rejected_new_arguments for the combinations never built.)
        checks = Cases(self)
        mxfp4_f16 = {"b_type": ScalarType.FE2M1F, "s_type": ScalarType.FE8M0FNU, "zeros": None, "group_size": 32}
        for kw in ({"b_type": ScalarType.FE2M1F, "zeros": None}, mxfp4_f16):
            with checks.case(kw):
                with self.assertRaises(MarlinError) as cm:
                    _lib.get().gemm(self.args(**kw))
                self.assertIn(cm.exception.code, (Status.NOT_BUILT, Status.INVALID_ARGUMENT))
                self.assertTrue(cm.exception.message)
        checks.done()

    @recorded
    def test_repack_rejects(self) -> None:
        src = torch.zeros(self.K // 8, self.N, device="cuda", dtype=torch.int32)
        dst = torch.zeros(self.K // 16, 2 * self.N, device="cuda", dtype=torch.int32)
        stream = torch.cuda.current_stream().cuda_stream or None
        lib = _lib.get()
        invalid = (Status.INVALID_ARGUMENT,)
        checks = Cases(self)
        for what, codes, call in (
            # GPTQ takes num_bits 4 and 8; AWQ only 4.
            (
                "awq num_bits 8",
                invalid,
                lambda: lib.repack_awq(src.data_ptr(), dst.data_ptr(), self.K, self.N, 8, stream),
            ),
            *(
                (
                    f"gptq num_bits {bits}",
                    invalid,
                    lambda bits=bits: lib.repack_gptq(src.data_ptr(), dst.data_ptr(), self.K, self.N, bits, stream),
                )
                for bits in (0, 2, 3, 5, 16)
            ),
            ("n = 96", invalid, lambda: lib.repack_gptq(src.data_ptr(), dst.data_ptr(), self.K, 96, 4, stream)),
            (
                "num_bits 8, n = 96",
                invalid,
                lambda: lib.repack_gptq(src.data_ptr(), dst.data_ptr(), self.K, 96, 8, stream),
            ),
            (
                "num_bits 8, k = 8",
                invalid,
                lambda: lib.repack_gptq(src.data_ptr(), dst.data_ptr(), 8, self.N, 8, stream),
            ),
            ("NULL in", invalid, lambda: lib.repack_awq(0, dst.data_ptr(), self.K, self.N, 4, stream)),
            (
                "elem_bytes 3",
                invalid,
                lambda: lib.permute_scales(src.data_ptr(), dst.data_ptr(), 1, self.N, 3, stream),
            ),
            (
                "s_type U4",
                invalid,
                lambda: lib.awq_zeros(src.data_ptr(), dst.data_ptr(), 1, self.N, ScalarType.U4, stream),
            ),
        ):
            with checks.case(what):
                with self.assertRaises(MarlinError) as cm:
                    call()
                self.assertIn(cm.exception.code, codes, str(cm.exception))
                self.assertTrue(cm.exception.message)
        checks.done()


if __name__ == "__main__":
    unittest.main()
