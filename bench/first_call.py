"""First-call cost of a library build: the first GEMM of a process (which loads, and with compressed
fatbinaries decompresses, the kernel's module), the second, and the first of another batch size.

    MARLIN_LIB=/path/to/libmarlin.so PYTHONPATH=python python bench/first_call.py

Run it in a fresh process per library; compare libraries built with different --//rules:compress_mode values.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from marlin_bazel import ops
from marlin_bazel import reference as ref


def timed(fn: Callable[[], object]) -> float:
    """Milliseconds of fn() until the GPU is done."""
    start = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return 1e3 * (time.perf_counter() - start)


def main() -> int:
    if not torch.cuda.is_available():
        print("bench/first_call.py needs a CUDA device", file=sys.stderr)
        return 2
    k = n = 4096
    q = torch.randint(0, 16, (k, n), dtype=torch.int32, device="cuda")
    b_q = ops.repack_gptq(ref.pack_gptq(q), k, n)
    scales = ops.permute_scales(torch.rand(k // 128, n, device="cuda").half())
    torch.cuda.synchronize()

    a1 = torch.randn(1, k, device="cuda").half()
    a64 = torch.randn(64, k, device="cuda").half()
    torch.cuda.synchronize()

    def gemm(a: torch.Tensor) -> None:
        ops.gemm(a, b_q, scales, b_type="u4b8", group_size=128)

    first = timed(lambda: gemm(a1))
    second = timed(lambda: gemm(a1))
    other = timed(lambda: gemm(a64))
    print(f"first gemm {first:.2f} ms, second {second:.3f} ms, first m=64 gemm {other:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
