"""GPU correctness suite of marlin_bazel: GEMM against a float64 reference for GPTQ-INT4 (u4b8), AWQ-INT4 (u4)
and GPTQ-INT8 (u8b128), repack and scale permutation against the pure-torch reference layouts (bit-exact),
argument validation in Python and in the C library.

Run on a CUDA machine (skipped without CUDA; an error if CUDA is there but the library is not):

    MARLIN_LIB=/path/to/libmarlin.so PYTHONPATH=python python -m pytest tests/gpu -x -q
    MARLIN_LIB=/path/to/libmarlin.so PYTHONPATH=python python -m unittest discover -s tests/gpu -v

With MARLIN_RESULTS=path set, every case is written there at the end: JSON, or a markdown table when the path
ends in ".md" (device, date, per-case pass/fail and errors), for docs/.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import os
import re
import sys
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

if torch is not None:
    from marlin_bazel import ops
    from marlin_bazel import reference as ref

HAS_CUDA = torch is not None and torch.cuda.is_available()
SKIP_REASON = "torch is not installed" if torch is None else "no CUDA device (torch.cuda.is_available() is False)"

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
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "torch": getattr(torch, "__version__", None),
        "library": str(_lib.library_path()),
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
        f"CUDA {env.get('cuda', '?')}, {env['date']}: {passed} passed, {len(_RESULTS) - passed} failed."
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


def _errors(out: torch.Tensor, a: torch.Tensor, w64: torch.Tensor, w64_sq: torch.Tensor, dtype: str) -> dict[str, Any]:
    """Compare out with A @ W in float64 (W is exact in fp32/fp64: an integer of at most 9 bits times a 16-bit
    scale)."""
    a64 = a.double()
    ref64 = a64 @ w64
    sigma = ((a64 * a64) @ w64_sq).sqrt()
    err = (out.double() - ref64).abs()
    u = UNIT_ROUNDOFF[dtype]
    z = (err / (u * (sigma + ref64.abs()) + 1e-300)).max().item()
    return {
        "finite": bool(torch.isfinite(out).all().item()),
        "max_abs_err": err.max().item(),
        "rel_err": (err.max() / ref64.abs().mean().clamp_min(1e-300)).item(),
        "z": z,
    }


def _weights(b_type: str, k: int, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random 4-bit (8-bit for u8b128) weights in the checkpoint format of b_type -> (Marlin-layout b_q via the
    CUDA repack, q [K, N] unpacked again by the reference code from the same packed tensor)."""
    bits = BITS[b_type]
    q = torch.randint(0, 1 << bits, (k, n), device="cuda", dtype=torch.int32, generator=gen)
    if b_type in ("u4b8", "u8b128"):
        qweight = ref.pack_gptq(q, bits=bits)
        b_q = ops.repack_gptq(qweight, k, n, bits=bits)
        q_ref = ref.unpack_gptq(qweight, bits=bits)
    else:
        qweight = ref.pack_awq(q)
        b_q = ops.repack_awq(qweight, k, n)
        q_ref = ref.unpack_awq(qweight)
    return b_q, q_ref


# --------------------------------------------------------------------------------------------------- GEMM


@unittest.skipUnless(HAS_CUDA, SKIP_REASON)
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


def _add_gemm_tests() -> None:
    for b_type in B_TYPES:
        for dtype_name in DTYPES:
            for (k, n), ms in SHAPES.items():

                def test(self: GemmTest, b_type: str = b_type, d: str = dtype_name, k: int = k, n: int = n) -> None:
                    self.run_shape(b_type, d, k, n)

                test.__name__ = f"test_gemm_{b_type}_{dtype_name}_{k}x{n}"
                test.__doc__ = f"{b_type} {dtype_name} K={k} N={n}, group sizes {GROUP_SIZES}, M {ms}"
                setattr(GemmTest, test.__name__, test)


_add_gemm_tests()


@unittest.skipUnless(HAS_CUDA, SKIP_REASON)
class GemmBehaviourTest(unittest.TestCase):
    """out=, explicit workspace (left zeroed), side streams, CUDA graphs."""

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

    @recorded
    def test_workspace_left_zeroed(self) -> None:
        ws = torch.zeros(ops.workspace_bytes(), dtype=torch.uint8, device="cuda")
        self.assertGreater(ws.numel(), 0)
        cases = Cases(self)
        for m in (1, 16, 64, 200, 256, 1000):
            with cases.case(f"m={m}"):
                a = torch.randn(m, self.k, device="cuda", generator=self.gen).half()
                out = self.gemm(a, workspace=ws)
                torch.cuda.synchronize()
                self.assert_close(out, a)
                self.assertEqual(int(ws.count_nonzero()), 0, "kernels must leave the workspace zeroed")
        cases.done()

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
    def test_cuda_graph_capture(self) -> None:
        a = torch.randn(16, self.k, device="cuda", generator=self.gen).half()
        out = torch.empty(16, self.n, device="cuda", dtype=torch.float16)
        self.gemm(a, out=out)  # warm-up outside capture (allocates the cached workspace)
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.gemm(a, out=out)
        out.zero_()
        graph.replay()
        torch.cuda.synchronize()
        self.assert_close(out, a)

    @recorded
    def test_library_info(self) -> None:
        self.assertGreater(ops.built_kernel_count(), 0)
        self.assertGreater(ops.workspace_bytes(), 0)
        self.assertEqual(ops.workspace_bytes(0), ops.workspace_bytes(torch.device("cuda:0")))


# ------------------------------------------------------------------------------------------------- repack


@unittest.skipUnless(HAS_CUDA, SKIP_REASON)
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
    def test_repack_awq(self) -> None:
        cases = Cases(self)
        for k, n in self.SHAPES:
            with cases.case(f"k={k} n={n}"):
                q = torch.randint(0, 16, (k, n), device="cuda", dtype=torch.int32, generator=_generator("ra", k, n))
                got = ops.repack_awq(ref.pack_awq(q), k, n)
                self.assert_words_equal(got, ref.marlin_layout_reference(q))
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


@unittest.skipUnless(HAS_CUDA, SKIP_REASON)
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


@unittest.skipUnless(HAS_CUDA, SKIP_REASON)
class CApiValidationTest(unittest.TestCase):
    """The C library itself rejects bad marlin_gemm_args (MarlinError naming the field), with Python's checks
    bypassed through marlin_bazel._lib."""

    K, N, M, G = 256, 256, 16, 128

    @classmethod
    def setUpClass(cls) -> None:
        gen = _generator("capi")
        cls.b_q, _ = _weights("u4", cls.K, cls.N, gen)
        groups = cls.K // cls.G
        cls.s = ops.permute_scales(_scales(groups, cls.N, torch.float16, gen))
        cls.z = ops.awq_zeros(ref.pack_awq_zeros(torch.full((groups, cls.N), 8, device="cuda")), cls.N, torch.float16)
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
        _lib.get().gemm(self.args())
        torch.cuda.synchronize()
        # zero points all 8: u4 with z = 8 equals u4b8; just check the call worked and wrote numbers.
        self.assertTrue(bool(torch.isfinite(self.c).all()))

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
    def test_unbuilt_types(self) -> None:
        # A type combination no quant config builds: NOT_BUILT (or INVALID_ARGUMENT), never a crash.
        checks = Cases(self)
        for kw in ({"b_type": ScalarType.FE2M1F, "zeros": None}, {"a_type": ScalarType.FE4M3FN}):
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
