"""One launch of each GEMM case to profile with Nsight Compute: GPTQ-INT4 (u4b8) weights of 8192 x 28672 with f16
or INT8 activations, group size 128 and channelwise, at M = 1 and 64 unless --m / --cases say otherwise
(docs/PERFORMANCE.md, "INT8 activations" and "Fragments read a step ahead").

    MARLIN_LIB=... PYTHONPATH=python ncu -k regex:marlin_gemm_kernel --metrics METRICS --csv \
        python3 bench/ncu_cases.py [--m 1,16] [--cases f16-group128] > ncu.csv

Each launch is preceded by a line "case M ACTIVATIONS GROUPING" on stdout, in the order ncu lists the kernels.
"""

import argparse

import torch
from marlin_bazel import ops
from marlin_bazel import reference as ref

K, N = 8192, 28672
CASES = ("f16-group128", "int8-group128", "int8-channelwise", "f16-channelwise")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--m", default="1,64", help="M values, e.g. 1,16")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {','.join(CASES)}")
    args = parser.parse_args()
    ms = [int(v) for v in args.m.split(",")]
    cases = args.cases.split(",")
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; allowed: {', '.join(CASES)}")

    q = torch.randint(0, 16, (K, N), dtype=torch.int32, device="cuda")
    packed = ref.pack_gptq(q)
    b16 = ops.repack_gptq(packed, K, N)
    b8 = ops.repack_gptq(packed, K, N, perm=ops.a8_row_perm(K))  # the 8-bit-activation row order
    scales = {
        "group128": ops.permute_scales(torch.rand(K // 128, N, device="cuda").half()),
        "channelwise": ops.permute_scales(torch.rand(1, N, device="cuda").half()),
    }
    for m in ms:
        a16 = torch.randn(m, K, device="cuda").half()
        a8 = torch.randint(-127, 128, (m, K), device="cuda", dtype=torch.int8)
        for case in cases:
            act, grouping = case.split("-")
            group_size = 128 if grouping == "group128" else -1
            print("case", m, act, grouping, flush=True)
            if act == "f16":
                ops.gemm(a16, b16, scales[grouping], b_type="u4b8", group_size=group_size)
            else:
                ops.gemm(a8, b8, scales[grouping], b_type="u4b8", group_size=group_size, out_dtype=torch.float16)
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()
