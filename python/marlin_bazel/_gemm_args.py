"""What a GEMM call may take, and the checks of its tensor arguments.

The format tables (which weight types, group sizes, activation and output dtypes go together) are the Python side of
the generator's catalog; :func:`check_gemm` judges one call against them. It reads no data pointer, so the custom
op's fake implementation runs it while tracing (torch.compile) and its real one before the launch: a bad call fails
with the same message in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import _checks as chk
from ._lib import ScalarType

B_TYPES: dict[str, ScalarType] = {
    "u4": ScalarType.U4,
    "u4b8": ScalarType.U4B8,
    "u8b128": ScalarType.U8B128,
    "fe4m3fn": ScalarType.FE4M3FN,
    "fe2m1f": ScalarType.FE2M1F,
}
# Every group size some format takes; FORMAT_GROUP_SIZES says which format takes which. A format is a b_type,
# except that "fe2m1f" is "nvfp4" or "mxfp4" by the dtype of its scales.
GROUP_SIZES = (-1, 16, 32, 64, 128)
FORMAT_GROUP_SIZES: dict[str, tuple[int, ...]] = {
    "u4": (-1, 32, 64, 128),
    "u4b8": (-1, 32, 64, 128),
    "u8b128": (-1, 32, 64, 128),
    "fe4m3fn": (-1, 128),
    "nvfp4": (16,),
    "mxfp4": (32,),
}
# (thread_k, thread_n) of every thread config the catalog builds, for gemm's tuning override.
THREAD_CONFIGS: tuple[tuple[int, int], ...] = ((128, 128), (64, 256), (64, 128), (128, 64))
# b_types with act-order (GPTQ desc_act), and the checkpoint group sizes it takes.
ACT_ORDER_B_TYPES = ("u4b8", "u8b128")
ACT_ORDER_GROUP_SIZES = (32, 64, 128)
# Bits per weight of each b_type; a Marlin-layout b_q is int32 [k/16, (bits/2) * n].
BITS: dict[str, int] = {"u4": 4, "u4b8": 4, "u8b128": 8, "fe4m3fn": 8, "fe2m1f": 4}
# Weight widths repack_gptq accepts.
GPTQ_BITS = (4, 8)
DTYPES: dict[torch.dtype, ScalarType] = {
    torch.float16: ScalarType.FLOAT16,
    torch.bfloat16: ScalarType.BFLOAT16,
}
# 1-byte scale dtypes: e4m3 (NVFP4) and e8m0 (MXFP4; torch.uint8 always, torch.float8_e8m0fnu where torch has it).
_FP8_E4M3: torch.dtype | None = getattr(torch, "float8_e4m3fn", None)
_FP8_E8M0: torch.dtype | None = getattr(torch, "float8_e8m0fnu", None)
_NVFP4_SCALE_DTYPES: tuple[torch.dtype, ...] = tuple(d for d in (_FP8_E4M3,) if d is not None)
_MXFP4_SCALE_DTYPES: tuple[torch.dtype, ...] = tuple(d for d in (torch.uint8, _FP8_E8M0) if d is not None)
BYTE_SCALE_DTYPES = _NVFP4_SCALE_DTYPES + _MXFP4_SCALE_DTYPES
# 8-bit activations: the formats that have kernels for them, each with the output dtypes it takes (gemm's
# out_dtype). Weights for them are repacked with perm=a8_row_perm(k). FP8: a of dtype torch.float8_e4m3fn, kernels
# of the sm89 family (archs 8.9, 12.0, 12.1). INT8: a of dtype torch.int8, kernels of the sm80 family (archs 8.0
# and up) and of the sm75 family (Turing: f16 output only).
FP8_ACT_FORMATS: dict[str, tuple[torch.dtype, ...]] = {
    "u4": (torch.float16, torch.bfloat16),
    "u4b8": (torch.float16, torch.bfloat16),
    "mxfp4": (torch.bfloat16,),
}
INT8_ACT_FORMATS: dict[str, tuple[torch.dtype, ...]] = {
    "u4": (torch.float16, torch.bfloat16),
    "u4b8": (torch.float16, torch.bfloat16),
}
# How messages name a format that takes 8-bit activations: (how it is asked for, what it is).
_A8_FORMAT_NAMES = {
    "u4": ("'u4'", "AWQ-INT4"),
    "u4b8": ("'u4b8'", "GPTQ-INT4"),
    "mxfp4": ("'fe2m1f' with e8m0 scales", "MXFP4"),
}


@dataclass(frozen=True, eq=False)
class _Act8:
    """A kind of 8-bit activations: its name in messages, the C API's a_type and the formats it has kernels for."""

    name: str
    a_type: ScalarType
    formats: dict[str, tuple[torch.dtype, ...]]

    @property
    def b_types(self) -> frozenset[str]:
        """The b_types of the formats ("mxfp4" is b_type "fe2m1f")."""
        return frozenset("fe2m1f" if f in ("nvfp4", "mxfp4") else f for f in self.formats)

    def allowed(self) -> str:
        """The formats for messages, e.g. "'u4' (AWQ-INT4), ..., 'fe2m1f' with e8m0 scales (MXFP4, torch.bfloat16
        output only)"."""
        parts = []
        for fmt, dtypes in self.formats.items():
            asked, what = _A8_FORMAT_NAMES[fmt]
            if len(dtypes) < len(DTYPES):
                what += f", {' or '.join(str(d) for d in dtypes)} output only"
            parts.append(f"{asked} ({what})")
        return ", ".join(parts)


# a's dtype -> its kind of 8-bit activations (float8_e4m3fn where torch has it).
ACT8: dict[torch.dtype, _Act8] = {torch.int8: _Act8("INT8", ScalarType.S8, INT8_ACT_FORMATS)}
if _FP8_E4M3 is not None:
    ACT8[_FP8_E4M3] = _Act8("FP8", ScalarType.FE4M3FN, FP8_ACT_FORMATS)
_A_DTYPES: tuple[torch.dtype, ...] = (*DTYPES, *ACT8)


def _act8(a_dtype: torch.dtype) -> _Act8 | None:
    """The kind of 8-bit activations (FP8 or INT8) that ``a`` of this dtype is; None for 16-bit activations."""
    return ACT8.get(a_dtype)


def _format_name(fmt: str, b_type: str, scales_dtype: torch.dtype) -> str:
    """How messages name a format: "b_type 'u4'", or "MXFP4 (b_type 'fe2m1f', torch.uint8 scales)"."""
    return f"b_type {b_type!r}" if fmt == b_type else f"{fmt.upper()} (b_type {b_type!r}, {scales_dtype} scales)"


def _format(
    b_type: str, scales: torch.Tensor, a: torch.Tensor, c_dtype: torch.dtype, act8: _Act8 | None
) -> tuple[str, ScalarType]:
    """(format name, s_type) of a call: the b_type, except that "fe2m1f" is "nvfp4" or "mxfp4" by the scales'
    dtype. Checks the scales' dtype, and that the format has kernels for the activations (act8: their 8-bit kind,
    None for 16-bit ones) and the output dtype (c_dtype: out_dtype with 8-bit activations, else a.dtype)."""
    if act8 is not None and b_type not in act8.b_types:
        raise ValueError(
            f"b_type: {b_type!r} has no kernels with {act8.name} activations (a of dtype {a.dtype}); allowed: "
            f"{act8.allowed()}"
        )
    if b_type != "fe2m1f":
        why = " (out_dtype, with 8-bit activations)" if act8 is not None else " (the dtype of a)"
        chk.dtype("scales", scales, (c_dtype,), f"{why} for b_type {b_type!r}")
        fmt, s_type = b_type, DTYPES[c_dtype]
    elif scales.dtype in _NVFP4_SCALE_DTYPES:
        fmt, s_type = "nvfp4", ScalarType.FE4M3FN
    elif scales.dtype in _MXFP4_SCALE_DTYPES:
        if act8 is None and a.dtype != torch.bfloat16:
            raise ValueError(
                f"a: MXFP4 (b_type 'fe2m1f' with e8m0 scales, dtype {scales.dtype}) needs torch.bfloat16 "
                f"activations (or torch.float8_e4m3fn with out_dtype=torch.bfloat16), got {a.dtype}"
            )
        fmt, s_type = "mxfp4", ScalarType.FE8M0FNU
    else:
        nv = " or ".join(str(d) for d in _NVFP4_SCALE_DTYPES) or "torch.float8_e4m3fn (needs torch >= 2.1)"
        mx = " or ".join(str(d) for d in _MXFP4_SCALE_DTYPES)
        raise ValueError(
            f"scales: dtype for b_type 'fe2m1f' must be {nv} (NVFP4, e4m3 scales) or {mx} (MXFP4, e8m0 exponent "
            f"bytes), got {scales.dtype}"
        )
    if act8 is not None:
        what = _format_name(fmt, b_type, scales.dtype)
        if fmt not in act8.formats:  # b_type "fe2m1f" whose scales make it a format without such kernels
            raise ValueError(
                f"scales: {what} has no kernels with {act8.name} activations (a of dtype {a.dtype}); allowed: "
                f"{act8.allowed()}"
            )
        if c_dtype not in act8.formats[fmt]:
            only = " or ".join(str(d) for d in act8.formats[fmt])
            raise ValueError(f"out_dtype: {what} with {act8.name} activations has only {only} output, got {c_dtype}")
    return fmt, s_type


def _out_dtype(out_dtype: object, a: torch.Tensor, act8: _Act8 | None) -> torch.dtype:
    """The output dtype of a call: ``out_dtype``, required with 8-bit activations (act8); else ``a.dtype``."""
    allowed = " or ".join(str(d) for d in DTYPES)
    if out_dtype is None:
        if act8 is not None:
            raise ValueError(
                f"out_dtype: {act8.name} activations (a of dtype {a.dtype}) need out_dtype={allowed}: the output "
                "dtype cannot be inferred from a"
            )
        return a.dtype
    if not isinstance(out_dtype, torch.dtype) or out_dtype not in DTYPES:
        raise ValueError(f"out_dtype: must be {allowed} (or None for 16-bit activations), got {out_dtype!r}")
    if act8 is None and out_dtype != a.dtype:
        raise ValueError(
            f"out_dtype: with 16-bit activations the output has a's dtype {a.dtype}; got {out_dtype} (pass None)"
        )
    return out_dtype


@dataclass(frozen=True)
class GemmCall:
    """A checked call: its sizes and the C API's type ids."""

    m: int
    n: int
    k: int
    a_type: ScalarType
    b_type: ScalarType
    c_type: ScalarType
    s_type: ScalarType
    c_dtype: torch.dtype
    device: torch.device


def check_gemm(
    out: torch.Tensor | None,
    a: torch.Tensor,
    b_q: torch.Tensor,
    scales: torch.Tensor,
    b_type: str,
    zeros: torch.Tensor | None = None,
    group_size: int = -1,
    workspace: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    global_scale: torch.Tensor | None = None,
    perm: torch.Tensor | None = None,
    g_idx_sorted: torch.Tensor | None = None,
    is_k_full: bool = False,
    num_groups: int = 0,
    thread_k: int = 0,
    thread_n: int = 0,
    blocks_per_sm: int = 0,
    a_scales: torch.Tensor | None = None,
    out_dtype: torch.dtype | None = None,
) -> GemmCall:
    """Checks the arguments of :func:`marlin_bazel.ops.gemm` as the custom op ``gemm_out`` takes them (``gemm``'s
    with ``out`` None): act-order as ``perm``, ``g_idx_sorted``, ``is_k_full`` and ``num_groups`` (0 without
    act-order), the thread config as ``thread_k``, ``thread_n`` (0, 0: the launcher's choice). Types first (dtypes,
    formats, group size, which arguments a format takes), then devices and layouts, so the type errors are the same
    for CPU tensors. Not checked here: data pointers' alignment and the workspace's size (the library's to say)."""
    act_order = perm is not None or g_idx_sorted is not None or num_groups != 0
    # a
    chk.dims("a", a, 2)
    chk.dtype("a", a, _A_DTYPES)
    act8 = _act8(a.dtype)
    c_dtype = _out_dtype(out_dtype, a, act8)
    if a_scales is not None and act8 is None:
        a8 = " or ".join(str(d) for d in ACT8)
        raise ValueError(
            f"a_scales: only 8-bit activations (a of dtype {a8}) take per-row scales; a is {a.dtype} (pass None)"
        )
    m, k = a.shape
    if m < 1:
        raise ValueError(f"a: m (rows of a) must be >= 1, got {m}")
    if k % 64:
        raise ValueError(f"a: k (columns of a) = {k} must be a multiple of 64")
    chk.layout("a", a)

    # b_type, scales' dtype -> format; group_size
    if b_type not in B_TYPES:
        raise ValueError(f"b_type: {b_type!r} is not one of {sorted(B_TYPES)}")
    fmt, s_type = _format(b_type, scales, a, c_dtype, act8)
    if group_size not in GROUP_SIZES:
        raise ValueError(f"group_size: {group_size!r} is not one of {list(GROUP_SIZES)}")
    allowed = FORMAT_GROUP_SIZES[fmt]
    if group_size not in allowed:
        what = _format_name(fmt, b_type, scales.dtype)
        raise ValueError(f"group_size: {group_size} is not allowed for {what}; allowed: {list(allowed)}")
    k_shard = act_order and not is_k_full
    if group_size != -1 and k % group_size and not k_shard:  # an act-order K shard has groups of any size
        raise ValueError(f"group_size: {group_size} does not divide k = {k}")
    if act_order:
        if perm is None or g_idx_sorted is None or num_groups < 1:
            raise ValueError(
                "perm, g_idx_sorted, num_groups: act-order needs all three (from an ActOrder), got "
                f"perm {'given' if perm is not None else 'None'}, g_idx_sorted "
                f"{'given' if g_idx_sorted is not None else 'None'}, num_groups {num_groups}"
            )
        if act8 is not None:
            raise ValueError(
                f"act_order: there are no act-order kernels with {act8.name} activations (a of dtype {a.dtype}); "
                "pass None"
            )
        if b_type not in ACT_ORDER_B_TYPES:
            raise ValueError(
                f"act_order: b_type {b_type!r} has no act-order; only {list(ACT_ORDER_B_TYPES)} (GPTQ desc_act)"
            )
        if group_size not in ACT_ORDER_GROUP_SIZES:
            raise ValueError(
                f"group_size: {group_size} cannot be used with act_order; pass the checkpoint's group size, one "
                f"of {list(ACT_ORDER_GROUP_SIZES)}"
            )
        groups = num_groups
    else:
        groups = 1 if group_size == -1 else k // group_size

    # devices: every tensor on a's
    chk.cuda("a", a)
    device = a.device

    # b_q
    chk.cuda("b_q", b_q, device)
    chk.dims("b_q", b_q, 2)
    chk.dtype("b_q", b_q, (torch.int32,))
    if b_q.shape[0] * 16 != k:
        raise ValueError(f"b_q: expected {k // 16} rows (k/16 for k = {k}), got {b_q.shape[0]}")
    words = BITS[b_type] // 2  # int32 columns of b_q per column of B: 2 (4-bit) or 4 (8-bit)
    cols = b_q.shape[1]
    s_n = scales.shape[1] if scales.dim() == 2 else 0
    if s_n > 0 and s_n % 64 == 0 and s_n * words != cols:
        for other in sorted({b // 2 for b in BITS.values()} - {words}):
            if s_n * other == cols:  # b_q is in the layout of the other bit width
                raise ValueError(
                    f"b_q: {cols} columns is the {2 * other}-bit layout [k/16, {other}n] for the scales' "
                    f"n = {s_n}; b_type {b_type!r} needs [k/16, {words}n] = [{k // 16}, {words * s_n}]"
                )
    if cols % (64 * words) or cols == 0:
        raise ValueError(
            f"b_q: columns ({words}n for b_type {b_type!r}) = {cols} must be a positive multiple of "
            f"{64 * words} (n % 64 == 0)"
        )
    n = cols // words
    chk.layout("b_q", b_q)

    # scales (dtype checked by _format)
    chk.cuda("scales", scales, device)
    if act_order and (scales.dim() != 2 or scales.shape[0] != groups):
        raise ValueError(
            f"scales: expected shape {[groups, n]} (act_order.num_groups = max(g_idx) + 1 rows), got "
            f"{list(scales.shape)}"
        )
    chk.layout("scales", scales, (groups, n))

    # zeros
    if b_type == "u4":
        if zeros is None:
            raise ValueError("zeros: b_type 'u4' (AWQ) needs zero points (see awq_zeros)")
        chk.cuda("zeros", zeros, device)
        chk.dtype("zeros", zeros, (c_dtype,), " (the dtype of the scales)")
        chk.layout("zeros", zeros, (groups, n))
    elif zeros is not None:
        raise ValueError(f"zeros: must be None for b_type {b_type!r}")

    # bias
    if bias is not None:
        chk.cuda("bias", bias, device)
        chk.dtype("bias", bias, (c_dtype,), " (out_dtype)" if act8 else " (the dtype of a and of the output)")
        chk.layout("bias", bias, (n,))

    # a_scales (8-bit activations only: checked with a)
    if a_scales is not None:
        chk.cuda("a_scales", a_scales, device)
        chk.dtype("a_scales", a_scales, (torch.float32,))
        chk.layout("a_scales", a_scales, (m,))

    # global_scale
    if global_scale is not None:
        if fmt != "nvfp4":
            raise ValueError(
                f"global_scale: only NVFP4 (b_type 'fe2m1f' with float8_e4m3fn scales) takes one; got it with "
                f"b_type {b_type!r} and {scales.dtype} scales (pass None)"
            )
        chk.cuda("global_scale", global_scale, device)
        chk.dtype("global_scale", global_scale, (torch.float32,))
        if global_scale.numel() != 1:
            raise ValueError(f"global_scale: expected one element, got shape {list(global_scale.shape)}")

    # act_order tensors
    if act_order:
        for name, t in (("act_order.perm", perm), ("act_order.g_idx_sorted", g_idx_sorted)):
            chk.cuda(name, t, device)
            chk.dtype(name, t, (torch.int32,))
            chk.layout(name, t, (k,))

    # tuning overrides
    if (thread_k, thread_n) != (0, 0) and (thread_k, thread_n) not in THREAD_CONFIGS:
        raise ValueError(f"thread_config: {(thread_k, thread_n)!r} is not one of {list(THREAD_CONFIGS)} (or None)")
    if blocks_per_sm not in (0, 1, 2):
        raise ValueError(f"blocks_per_sm: {blocks_per_sm!r} is not one of [0, 1, 2] (0: the launcher's choice)")

    # workspace (its size is the library's to say)
    if workspace is not None:
        chk.cuda("workspace", workspace, device)
        chk.dtype("workspace", workspace, (torch.uint8,))
        chk.layout("workspace", workspace)

    # out
    if out is not None:
        chk.cuda("out", out, device)
        chk.dtype("out", out, (c_dtype,), " (out_dtype)" if act8 else " (the dtype of a)")
        chk.layout("out", out, (m, n))

    a_type = act8.a_type if act8 is not None else DTYPES[a.dtype]
    return GemmCall(m, n, k, a_type, B_TYPES[b_type], DTYPES[c_dtype], s_type, c_dtype, device)
