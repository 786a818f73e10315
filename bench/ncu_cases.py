"""One launch of each GEMM case to profile with Nsight Compute: GPTQ-INT4 (u4b8) weights of 8192 x 28672 with f16
or INT8 activations, group size 128 and channelwise, at M = 1 and 64 (docs/PERFORMANCE.md, "INT8 activations").

    MARLIN_LIB=... PYTHONPATH=python ncu -k regex:marlin_gemm_kernel --metrics METRICS --csv \
        python3 bench/ncu_cases.py > ncu.csv

Each launch is preceded by a line "case M ACTIVATIONS GROUPING" on stdout, in the order ncu lists the kernels.
"""

import torch
from marlin_bazel import ops
from marlin_bazel import reference as ref

K, N = 8192, 28672


def main() -> None:
    q = torch.randint(0, 16, (K, N), dtype=torch.int32, device="cuda")
    packed = ref.pack_gptq(q)
    b16 = ops.repack_gptq(packed, K, N)
    b8 = ops.repack_gptq(packed, K, N, perm=ops.a8_row_perm(K))  # the 8-bit-activation row order
    s128 = ops.permute_scales(torch.rand(K // 128, N, device="cuda").half())
    s1 = ops.permute_scales(torch.rand(1, N, device="cuda").half())
    for m in (1, 64):
        a16 = torch.randn(m, K, device="cuda").half()
        a8 = torch.randint(-127, 128, (m, K), device="cuda", dtype=torch.int8)
        print("case", m, "f16 group128", flush=True)
        ops.gemm(a16, b16, s128, b_type="u4b8", group_size=128)
        print("case", m, "int8 group128", flush=True)
        ops.gemm(a8, b8, s128, b_type="u4b8", group_size=128, out_dtype=torch.float16)
        print("case", m, "int8 channelwise", flush=True)
        ops.gemm(a8, b8, s1, b_type="u4b8", group_size=-1, out_dtype=torch.float16)
        print("case", m, "f16 channelwise", flush=True)
        ops.gemm(a16, b16, s1, b_type="u4b8", group_size=-1)
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()
