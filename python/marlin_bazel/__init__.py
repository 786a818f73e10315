"""marlin-bazel: mixed-precision GEMM with 4-bit and 8-bit quantized weights (Marlin kernels), from torch.

Weight formats: GPTQ-INT4/INT8 (also with act-order), AWQ-INT4, FP8 (e4m3fn) and FP4 (e2m1: NVFP4, MXFP4).
Activations: float16 or bfloat16; INT8 (with per-row scales) for GPTQ-INT4 and AWQ-INT4 weights; FP8 (e4m3fn, with
per-row scales) for GPTQ-INT4, AWQ-INT4 and MXFP4 weights.

The torch-facing functions live in :mod:`marlin_bazel.ops` and are re-exported here; they are imported on first
access, so ``marlin_bazel._lib`` (the ctypes binding) works without torch. :mod:`marlin_bazel.reference` holds
pure-torch reference implementations of the layouts (docs/DESIGN.md).

The C library is ``$MARLIN_LIB``, else ``libmarlin.so`` next to this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._lib import LibraryNotFoundError, MarlinError, ScalarType, Status

if TYPE_CHECKING:
    from .ops import (
        ACT_ORDER_B_TYPES,
        B_TYPES,
        FORMAT_GROUP_SIZES,
        FP8_ACT_FORMATS,
        GROUP_SIZES,
        INT8_ACT_FORMATS,
        THREAD_CONFIGS,
        ActOrder,
        a8_row_perm,
        awq_zeros,
        built_kernel_count,
        gemm,
        gemm_plan,
        permute_scales,
        prepare_act_order,
        repack_awq,
        repack_gptq,
        workspace_bytes,
    )

__all__ = [
    "ACT_ORDER_B_TYPES",
    "B_TYPES",
    "FORMAT_GROUP_SIZES",
    "FP8_ACT_FORMATS",
    "GROUP_SIZES",
    "INT8_ACT_FORMATS",
    "THREAD_CONFIGS",
    "ActOrder",
    "LibraryNotFoundError",
    "MarlinError",
    "ScalarType",
    "Status",
    "a8_row_perm",
    "awq_zeros",
    "built_kernel_count",
    "gemm",
    "gemm_plan",
    "permute_scales",
    "prepare_act_order",
    "repack_awq",
    "repack_gptq",
    "workspace_bytes",
]

_OPS = frozenset(
    {
        "ACT_ORDER_B_TYPES",
        "B_TYPES",
        "FORMAT_GROUP_SIZES",
        "FP8_ACT_FORMATS",
        "GROUP_SIZES",
        "INT8_ACT_FORMATS",
        "THREAD_CONFIGS",
        "ActOrder",
        "a8_row_perm",
        "awq_zeros",
        "built_kernel_count",
        "gemm",
        "gemm_plan",
        "permute_scales",
        "prepare_act_order",
        "repack_awq",
        "repack_gptq",
        "workspace_bytes",
    }
)


def __getattr__(name: str) -> Any:
    if name in _OPS:
        from . import ops

        return getattr(ops, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
