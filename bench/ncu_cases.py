"""One launch of each GEMM case to profile with Nsight Compute: GPTQ-INT4 (u4b8) weights of 8192 x 28672 with f16
or INT8 activations, group size 128 and channelwise, at M = 1 and 64 unless --shape / --m / --cases say otherwise
(docs/PERFORMANCE.md, "INT8 activations" and "Fragments read a step ahead"); --b-type u8b128 profiles GPTQ-INT8
weights instead (f16 activations only: INT8 activations take 4-bit weights).

    MARLIN_LIB=... PYTHONPATH=python ncu -k regex:marlin_gemm_kernel --metrics METRICS --csv \
        python3 bench/ncu_cases.py [--shape 4096x4096] [--b-type u8b128] [--m 1,16] [--cases f16-group128] > ncu.csv

Each launch is preceded by a line "case M ACTIVATIONS GROUPING" on stdout, in the order ncu lists the kernels.
"""

import argparse

import torch
from marlin_bazel import ops
from marlin_bazel import reference as ref

CASES = ("f16-group128", "int8-group128", "int8-channelwise", "f16-channelwise")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", default="8192x28672", help="K x N, e.g. 4096x4096")
    parser.add_argument("--m", default="1,64", help="M values, e.g. 1,16")
    parser.add_argument(
        "--cases", help=f"comma-separated, of {','.join(CASES)} (default: all, the f16 ones for u8b128)"
    )
    parser.add_argument("--b-type", choices=("u4b8", "u8b128"), default="u4b8", help="GPTQ-INT4 or GPTQ-INT8 weights")
    args = parser.parse_args()
    ms = [int(v) for v in args.m.split(",")]
    k, n = (int(v) for v in args.shape.lower().split("x"))
    bits = 8 if args.b_type == "u8b128" else 4
    cases = args.cases.split(",") if args.cases else [c for c in CASES if bits == 4 or c.startswith("f16")]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; allowed: {', '.join(CASES)}")
    if bits == 8 and any(c.startswith("int8") for c in cases):
        parser.error("--b-type u8b128 takes the f16 cases only (INT8 activations take 4-bit weights)")

    q = torch.randint(0, 1 << bits, (k, n), dtype=torch.int32, device="cuda")
    packed = ref.pack_gptq(q, bits)
    b16 = ops.repack_gptq(packed, k, n, bits)
    if bits == 4:
        b8 = ops.repack_gptq(packed, k, n, perm=ops.a8_row_perm(k))  # the 8-bit-activation row order
    scales = {
        "group128": ops.permute_scales(torch.rand(k // 128, n, device="cuda").half()),
        "channelwise": ops.permute_scales(torch.rand(1, n, device="cuda").half()),
    }
    for m in ms:
        a16 = torch.randn(m, k, device="cuda").half()
        a8 = torch.randint(-127, 128, (m, k), device="cuda", dtype=torch.int8)
        for case in cases:
            act, grouping = case.split("-")
            group_size = 128 if grouping == "group128" else -1
            print("case", m, act, grouping, flush=True)
            if act == "f16":
                ops.gemm(a16, b16, scales[grouping], b_type=args.b_type, group_size=group_size)
            else:
                ops.gemm(a8, b8, scales[grouping], b_type="u4b8", group_size=group_size, out_dtype=torch.float16)
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()
