"""marlin-bazel: mixed-precision GEMM with 4-bit and 8-bit quantized weights (Marlin kernels), from torch.

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
        B_TYPES,
        GROUP_SIZES,
        awq_zeros,
        built_kernel_count,
        gemm,
        permute_scales,
        repack_awq,
        repack_gptq,
        workspace_bytes,
    )

__all__ = [
    "B_TYPES",
    "GROUP_SIZES",
    "LibraryNotFoundError",
    "MarlinError",
    "ScalarType",
    "Status",
    "awq_zeros",
    "built_kernel_count",
    "gemm",
    "permute_scales",
    "repack_awq",
    "repack_gptq",
    "workspace_bytes",
]

_OPS = frozenset(
    {
        "B_TYPES",
        "GROUP_SIZES",
        "awq_zeros",
        "built_kernel_count",
        "gemm",
        "permute_scales",
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
