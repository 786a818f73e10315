"""Torch-facing entry points over the C API.

All functions take CUDA tensors and run asynchronously on the current torch stream of the tensors' device.
Arguments are validated here first (``ValueError`` naming the argument); what only the library can judge (no
kernel built for a config or arch, CUDA errors) raises :class:`marlin_bazel.MarlinError`. :func:`gemm` checks the
types first (dtypes, formats, group size, which arguments a format takes), then devices and layouts, so its type
errors are the same for CPU tensors.

Weight preparation from checkpoint formats (see docs/DESIGN.md for the layouts)::

    b_q = repack_gptq(qweight, k, n)          # GPTQ-INT4 int32 [k/8, n] -> Marlin [k/16, 2n]
    b_q = repack_gptq(qweight, k, n, bits=8)  # GPTQ-INT8 int32 [k/4, n] -> Marlin [k/16, 4n]
    b_q = repack_awq(qweight, k, n)           # AWQ  int32 [k, n/8]  -> Marlin [k/16, 2n]
    s = permute_scales(scales)                # [groups, n] f16/bf16 (or 1-byte e4m3/e8m0) -> kernel column order
    z = awq_zeros(qzeros, n, scales.dtype)    # AWQ int32 [groups, n/8] -> [groups, n], kernel order
    c = gemm(a, b_q, s, b_type="u4b8", group_size=128)           # GPTQ-INT4
    c = gemm(a, b_q, s, b_type="u8b128", group_size=128)         # GPTQ-INT8
    c = gemm(a, b_q, s, b_type="u4", zeros=z, group_size=128)    # AWQ
    c = gemm(a, b_q, s, b_type="u4b8", group_size=128, bias=b)   # any format: C = A @ W + bias, b [n] of C's dtype

    # GPTQ with desc_act (act-order): g_idx int32 [k] from the checkpoint, scales [max(g_idx) + 1, n].
    ao = prepare_act_order(g_idx.cuda(), group_size=128)
    b_q = repack_gptq(qweight, k, n, perm=ao.perm)                # weights in ao.perm row order
    c = gemm(a, b_q, permute_scales(scales), b_type="u4b8", group_size=128, act_order=ao)

    # FP8 weights (e4m3fn) [k, n] with f16/bf16 scales [1 or k/128, n]: packed like GPTQ-INT8 first.
    qweight = reference.pack_gptq(w_fp8.view(torch.uint8).to(torch.int32), bits=8)   # [k/4, n]
    b_q = repack_gptq(qweight, k, n, bits=8)
    c = gemm(a, b_q, permute_scales(scales), b_type="fe4m3fn", group_size=128)

    # FP4 weights (e2m1 codes 0..15) [k, n], packed like GPTQ-INT4: b_q = repack_gptq(pack_gptq(q, 4), k, n)
    c = gemm(a, b_q, permute_scales(s_e4m3), b_type="fe2m1f", group_size=16, global_scale=gs)  # NVFP4
    c = gemm(a_bf16, b_q, permute_scales(s_e8m0), b_type="fe2m1f", group_size=32)             # MXFP4

    # 8-bit activations: INT8 (a torch.int8 [m, k]; kernels of the sm80 family, archs 8.0+, and of the sm75 family,
    # f16 output only) or FP8 (a float8_e4m3fn [m, k]; kernels of the sm89 family: archs 8.9, 12.0, 12.1), with
    # optional fp32 per-row (per-token) scales a_s [m] and out_dtype given. INT4 weights (u4b8, u4; with FP8 also
    # MXFP4) repacked in the row order those kernels read; scales (and AWQ zeros) of out_dtype.
    perm = a8_row_perm(k)
    b_q = repack_gptq(qweight, k, n, perm=perm)   # AWQ: repack_awq(qweight, k, n, perm=perm); MXFP4 as above
    c = gemm(a_int8, b_q, s, b_type="u4b8", group_size=128, a_scales=a_s, out_dtype=torch.float16)
    c = gemm(a_fp8, b_q, s, b_type="u4b8", group_size=128, a_scales=a_s, out_dtype=torch.float16)
    # (INT8_ACT_FORMATS and FP8_ACT_FORMATS list the weight formats and output dtypes of each.)

NVFP4 scales are ``torch.float8_e4m3fn`` [k/16, n] and ``gs`` a one-element float32 CUDA tensor (or None); MXFP4
scales are e8m0 exponent bytes [k/32, n] as ``torch.uint8`` (or ``torch.float8_e8m0fnu``), with bfloat16 ``a``
(or, with FP8 activations, ``out_dtype=torch.bfloat16``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import torch

from . import _lib
from ._lib import ScalarType

__all__ = [
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
    "permute_scales",
    "prepare_act_order",
    "repack_awq",
    "repack_gptq",
    "workspace_bytes",
]

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
_ACT_ORDER_GROUP_SIZES = (32, 64, 128)
# Bits per weight of each b_type; a Marlin-layout b_q is int32 [k/16, (bits/2) * n].
_BITS: dict[str, int] = {"u4": 4, "u4b8": 4, "u8b128": 8, "fe4m3fn": 8, "fe2m1f": 4}
# Weight widths repack_gptq accepts.
_GPTQ_BITS = (4, 8)
_DTYPES: dict[torch.dtype, ScalarType] = {
    torch.float16: ScalarType.FLOAT16,
    torch.bfloat16: ScalarType.BFLOAT16,
}
# 1-byte scale dtypes: e4m3 (NVFP4) and e8m0 (MXFP4; torch.uint8 always, torch.float8_e8m0fnu where torch has it).
_FP8_E4M3: torch.dtype | None = getattr(torch, "float8_e4m3fn", None)
_FP8_E8M0: torch.dtype | None = getattr(torch, "float8_e8m0fnu", None)
_NVFP4_SCALE_DTYPES: tuple[torch.dtype, ...] = tuple(d for d in (_FP8_E4M3,) if d is not None)
_MXFP4_SCALE_DTYPES: tuple[torch.dtype, ...] = tuple(d for d in (torch.uint8, _FP8_E8M0) if d is not None)
_BYTE_SCALE_DTYPES = _NVFP4_SCALE_DTYPES + _MXFP4_SCALE_DTYPES
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
            if len(dtypes) < len(_DTYPES):
                what += f", {' or '.join(str(d) for d in dtypes)} output only"
            parts.append(f"{asked} ({what})")
        return ", ".join(parts)


# a's dtype -> its kind of 8-bit activations (float8_e4m3fn where torch has it).
_ACT8: dict[torch.dtype, _Act8] = {torch.int8: _Act8("INT8", ScalarType.S8, INT8_ACT_FORMATS)}
if _FP8_E4M3 is not None:
    _ACT8[_FP8_E4M3] = _Act8("FP8", ScalarType.FE4M3FN, FP8_ACT_FORMATS)
_A_DTYPES: tuple[torch.dtype, ...] = (*_DTYPES, *_ACT8)
# a8_row_perm: repacked row 16b + y of every 16-row block is source row 16b + _A8_BLOCK_PERM[y].
_A8_BLOCK_PERM = (0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15)
_ALIGN = 16  # bytes; every operand is read or written with 16-byte vectors


# --------------------------------------------------------------------------------------------------- checks


def _tensor(name: str, t: object) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    return t


def _cuda(name: str, t: torch.Tensor, device: torch.device | None = None) -> None:
    if t.device.type != "cuda":
        raise ValueError(f"{name}: must be a CUDA tensor, got one on {t.device}")
    if device is not None and t.device != device:
        raise ValueError(f"{name}: is on {t.device}, expected {device} (the device of a)")


def _dtype(name: str, t: torch.Tensor, allowed: tuple[torch.dtype, ...], why: str = "") -> None:
    if t.dtype not in allowed:
        want = " or ".join(str(d) for d in allowed)
        raise ValueError(f"{name}: dtype must be {want}{why}, got {t.dtype}")


def _layout(name: str, t: torch.Tensor, shape: tuple[int, ...] | None = None, align: int = _ALIGN) -> None:
    if shape is not None and tuple(t.shape) != shape:
        raise ValueError(f"{name}: expected shape {list(shape)}, got {list(t.shape)}")
    if not t.is_contiguous():
        raise ValueError(f"{name}: must be contiguous (strides {t.stride()} for shape {list(t.shape)})")
    if t.numel() and t.data_ptr() % align:
        raise ValueError(f"{name}: data pointer must be {align}-byte aligned")


def _dims(name: str, t: torch.Tensor, ndim: int) -> None:
    if t.dim() != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D tensor, got shape {list(t.shape)}")


def _stream(device: torch.device) -> int:
    return torch.cuda.current_stream(device).cuda_stream


def _sm_count(device: torch.device) -> int:
    return torch.cuda.get_device_properties(device).multi_processor_count


def _kn(k: int, n: int, *, k_multiple: int, where: str) -> None:
    if k <= 0 or k % k_multiple:
        raise ValueError(f"k: {k} must be a positive multiple of {k_multiple} ({where})")
    if n <= 0 or n % 64:
        raise ValueError(f"n: {n} must be a positive multiple of 64 ({where})")


# ------------------------------------------------------------------------------------------------ workspace

_ws_lock = threading.Lock()
_workspaces: dict[int, torch.Tensor] = {}


def workspace_bytes(device: torch.device | str | int | None = None) -> int:
    """Bytes of workspace :func:`gemm` needs on ``device`` (default: the current CUDA device).

    The library sizes it for all multiprocessors of the device (``marlin_workspace_bytes(sm_count)``).
    """
    dev = torch.device("cuda", torch.cuda.current_device()) if device is None else torch.device(device)
    if dev.type != "cuda":
        raise ValueError(f"device: must be a CUDA device, got {dev}")
    if dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return _lib.get().workspace_bytes(_sm_count(dev))


def _default_workspace(device: torch.device) -> torch.Tensor:
    """A zeroed uint8 workspace, one per device, shared by every call that passes none.

    Kernels leave its tile counters at zero (the rest is scratch), so it is reused as is. Calls on the same device
    that may run concurrently (different streams) must each pass their own ``workspace``.
    """
    idx = device.index if device.index is not None else torch.cuda.current_device()
    ws = _workspaces.get(idx)
    if ws is None:
        with _ws_lock:
            ws = _workspaces.get(idx)
            if ws is None:
                dev = torch.device("cuda", idx)
                size = _lib.get().workspace_bytes(_sm_count(dev))
                ws = torch.zeros(max(size, 1), dtype=torch.uint8, device=dev)
                _workspaces[idx] = ws
    return ws


# ------------------------------------------------------------------------------------------------ act-order


@dataclass(frozen=True, eq=False)
class ActOrder:
    """Act-order (GPTQ ``desc_act``) metadata of one weight matrix, from :func:`prepare_act_order`.

    Attributes:
        perm: int32 ``[k]``, the stable argsort of ``g_idx``: repacked row i is checkpoint row ``perm[i]`` (pass it
            to ``repack_gptq(..., perm=)``; :func:`gemm` permutes A's columns the same way).
        g_idx_sorted: int32 ``[k]``, ``g_idx[perm]``: the scale row of repacked row i (non-decreasing).
        is_k_full: True iff ``g_idx_sorted == arange(k) // group_size`` and ``k % group_size == 0``: every group
            has exactly ``group_size`` consecutive rows after sorting (a whole GPTQ layer). False for a K shard of a
            row-parallel layer, whose groups have uneven sizes (and ``k`` need not be a multiple of the group
            size); the kernel then looks the scales up row by row.
        num_groups: ``max(g_idx) + 1``, the number of scale rows :func:`gemm` expects.
        group_size: the checkpoint's group size (32, 64 or 128); :func:`gemm` must be called with the same.

    One built by hand is checked as it is made (one device synchronization): ``perm`` a permutation of
    ``0..k-1``, every ``g_idx_sorted`` in ``[0, num_groups)``, and ``is_k_full`` true only where it holds. The
    kernels index by these values, so a wrong one would read out of bounds; the error names it.
    """

    perm: torch.Tensor
    g_idx_sorted: torch.Tensor
    is_k_full: bool
    num_groups: int
    group_size: int

    def __post_init__(self) -> None:
        _check_act_order(self)

    @property
    def k(self) -> int:
        """Rows of the weight matrix (length of ``perm``)."""
        return int(self.perm.shape[0])

    def to(self, device: torch.device | str | int) -> ActOrder:
        """A copy with ``perm`` and ``g_idx_sorted`` on ``device``."""
        return replace(self, perm=self.perm.to(device), g_idx_sorted=self.g_idx_sorted.to(device))


def _check_act_order_group_size(group_size: object) -> None:
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size not in _ACT_ORDER_GROUP_SIZES:
        raise ValueError(
            f"group_size: {group_size!r} is not a group size act-order takes; allowed: {list(_ACT_ORDER_GROUP_SIZES)}"
        )


def _check_act_order(ao: ActOrder) -> None:
    """The checks of :class:`ActOrder` (see its docstring); raises TypeError or ValueError naming the bad value."""
    _check_act_order_group_size(ao.group_size)
    if isinstance(ao.num_groups, bool) or not isinstance(ao.num_groups, int) or ao.num_groups < 1:
        raise ValueError(f"num_groups: must be an int >= 1 (the scale rows), got {ao.num_groups!r}")
    if not isinstance(ao.is_k_full, bool):
        raise TypeError(f"is_k_full: expected a bool, got {type(ao.is_k_full).__name__}")
    perm, g = _tensor("perm", ao.perm), _tensor("g_idx_sorted", ao.g_idx_sorted)
    for name, t in (("perm", perm), ("g_idx_sorted", g)):
        _dtype(name, t, (torch.int32,))
        _dims(name, t, 1)
    k = perm.shape[0]
    if k == 0:
        raise ValueError("perm: is empty (k must be >= 1)")
    if g.shape[0] != k or g.device != perm.device:
        raise ValueError(
            f"g_idx_sorted: expected shape [{k}] on {perm.device} (as perm), got {list(g.shape)} on {g.device}"
        )
    error = _permutation_error("perm", perm)
    if error:
        raise ValueError(error)
    outside = ((g < 0) | (g >= ao.num_groups)).nonzero()
    if outside.numel():
        i = int(outside[0, 0])
        raise ValueError(
            f"g_idx_sorted: g_idx_sorted[{i}] = {int(g[i])} is not a group in [0, num_groups={ao.num_groups})"
        )
    if ao.is_k_full:
        if k % ao.group_size:
            raise ValueError(f"is_k_full: True needs k % group_size == 0, got k = {k}, group_size = {ao.group_size}")
        full = torch.arange(k, device=g.device, dtype=torch.int32) // ao.group_size
        wrong = (g != full).nonzero()
        if wrong.numel():
            i = int(wrong[0, 0])
            raise ValueError(
                f"is_k_full: True, but g_idx_sorted[{i}] = {int(g[i])}, not {i} // group_size = {int(full[i])} "
                "(groups of exactly group_size consecutive rows); pass False for a K shard"
            )


def _permutation_error(name: str, perm: torch.Tensor) -> str | None:
    """Why ``perm`` (integer, 1-D) is not a permutation of 0..k-1, as "name: ..." naming the first bad entry; None
    if it is one."""
    k = perm.shape[0]
    p = perm.to(torch.int64)
    outside = ((p < 0) | (p >= k)).nonzero()
    if outside.numel():
        i = int(outside[0, 0])
        return f"{name}: {name}[{i}] = {int(p[i])} is out of range; {name} must be a permutation of 0..{k - 1}"
    twice = (torch.bincount(p, minlength=k) > 1).nonzero()
    if twice.numel():
        v = int(twice[0, 0])
        i, j = ((p == v).nonzero()[:2, 0]).tolist()
        return f"{name}: {name}[{i}] = {name}[{j}] = {v}; {name} must be a permutation of 0..{k - 1} (each row once)"
    return None


def prepare_act_order(g_idx: torch.Tensor, group_size: int) -> ActOrder:
    """Act-order metadata from a GPTQ checkpoint's ``g_idx`` (the group of each row of the weight matrix).

    Args:
        g_idx: integer tensor ``[k]`` (int32 in checkpoints; any integer dtype), values >= 0, on any device (the
            result's tensors are on the same device; pass CUDA tensors to :func:`gemm`). For a K shard of a
            row-parallel layer, the shard's rows of the full ``g_idx``.
        group_size: the checkpoint's group size: 32, 64 or 128.

    Returns:
        :class:`ActOrder`: ``perm`` (stable argsort of ``g_idx``, int32), ``g_idx_sorted`` (int32), ``is_k_full``,
        ``num_groups = max(g_idx) + 1`` and ``group_size``. Pure torch (no library call); it reads ``g_idx``'s
        values, so a CUDA ``g_idx`` synchronizes once.

    A ``desc_act`` checkpoint with channelwise scales (group size -1) needs no act-order: every row has the same
    scales, so repack without ``perm`` and call :func:`gemm` without ``act_order``.
    """
    g_idx = _tensor("g_idx", g_idx)
    _check_act_order_group_size(group_size)
    _dims("g_idx", g_idx, 1)
    if g_idx.dtype.is_floating_point or g_idx.dtype.is_complex or g_idx.dtype == torch.bool:
        raise ValueError(f"g_idx: dtype must be an integer type (int32 in GPTQ checkpoints), got {g_idx.dtype}")
    k = g_idx.shape[0]
    if k == 0:
        raise ValueError("g_idx: is empty (k must be >= 1)")
    lo, hi = int(g_idx.min()), int(g_idx.max())
    if lo < 0:
        raise ValueError(f"g_idx: groups must be >= 0, got {lo}")
    if hi >= 2**31:
        raise ValueError(f"g_idx: groups must be < 2^31, got {hi}")
    g = g_idx.to(torch.int64)
    order = torch.sort(g, stable=True).indices
    g_sorted = g.index_select(0, order)
    full = torch.arange(k, device=g.device, dtype=torch.int64) // group_size
    is_k_full = k % group_size == 0 and bool(torch.equal(g_sorted, full))
    return ActOrder(
        perm=order.to(torch.int32).contiguous(),
        g_idx_sorted=g_sorted.to(torch.int32).contiguous(),
        is_k_full=is_k_full,
        num_groups=hi + 1,
        group_size=group_size,
    )


# ----------------------------------------------------------------------------------------------------- gemm


def _act8(a_dtype: torch.dtype) -> _Act8 | None:
    """The kind of 8-bit activations (FP8 or INT8) that ``a`` of this dtype is; None for 16-bit activations."""
    return _ACT8.get(a_dtype)


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
        _dtype("scales", scales, (c_dtype,), f"{why} for b_type {b_type!r}")
        fmt, s_type = b_type, _DTYPES[c_dtype]
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
    allowed = " or ".join(str(d) for d in _DTYPES)
    if out_dtype is None:
        if act8 is not None:
            raise ValueError(
                f"out_dtype: {act8.name} activations (a of dtype {a.dtype}) need out_dtype={allowed}: the output "
                "dtype cannot be inferred from a"
            )
        return a.dtype
    if not isinstance(out_dtype, torch.dtype) or out_dtype not in _DTYPES:
        raise ValueError(f"out_dtype: must be {allowed} (or None for 16-bit activations), got {out_dtype!r}")
    if act8 is None and out_dtype != a.dtype:
        raise ValueError(
            f"out_dtype: with 16-bit activations the output has a's dtype {a.dtype}; got {out_dtype} (pass None)"
        )
    return out_dtype


def gemm(
    a: torch.Tensor,
    b_q: torch.Tensor,
    scales: torch.Tensor,
    *,
    b_type: str,
    zeros: torch.Tensor | None = None,
    group_size: int = -1,
    workspace: torch.Tensor | None = None,
    out: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    global_scale: torch.Tensor | None = None,
    act_order: ActOrder | None = None,
    thread_config: tuple[int, int] | None = None,
    blocks_per_sm: int = 0,
    a_scales: torch.Tensor | None = None,
    out_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """``C = A @ dequant(B) (+ bias)`` with 4-bit or 8-bit weights in the Marlin layout.

    8-bit activations, INT8 (``a`` of dtype ``torch.int8``) or FP8 (``torch.float8_e4m3fn``):
    ``C[r, :] = a_scales[r] * (A[r, :] @ dequant(B)) (+ bias)``, in ``out_dtype``. Their weights must be repacked
    with ``perm=a8_row_perm(k)`` (:func:`a8_row_perm`), and there is no act-order.

    - INT8: ``"u4"`` and ``"u4b8"``, f16 or bf16 output (:data:`INT8_ACT_FORMATS`); kernels of the sm80 family
      (archs 8.0 and up) and of the sm75 family (Turing: f16 output only). The integer products are exact (int32
      per 32-row step); the group scales multiply each step's sum in fp32, channelwise scales and ``a_scales`` the
      final sums.
    - FP8: ``"u4"`` and ``"u4b8"`` (f16 or bf16 output) and MXFP4 (bf16 output) (:data:`FP8_ACT_FORMATS`);
      kernels of the sm89 family only (archs 8.9, 12.0, 12.1).

    A library without the kernels for a call raises :class:`MarlinError` NOT_BUILT. "The output dtype" below is
    ``a.dtype`` for 16-bit activations and ``out_dtype`` for 8-bit ones.

    Args:
        a: activations ``[m, k]``, float16 or bfloat16 (bfloat16 only for MXFP4), or int8 / float8_e4m3fn (8-bit
            activations, see above), CUDA, contiguous; ``m >= 1``, ``k % 64 == 0``.
        b_q: weights in the Marlin layout, int32 ``[k/16, 2n]`` for the 4-bit types ``"u4b8"``, ``"u4"`` and
            ``"fe2m1f"`` (from ``repack_gptq(..., bits=4)`` or :func:`repack_awq`), ``[k/16, 4n]`` for the 8-bit
            types ``"u8b128"`` and ``"fe4m3fn"`` (from ``repack_gptq(..., bits=8)``); ``n % 64 == 0``.
        scales: ``[groups, n]``, permuted by :func:`permute_scales`; ``groups = 1`` when ``group_size == -1``
            (channelwise), ``k / group_size`` with groups, ``act_order.num_groups`` with act-order. Dtype:
            the output dtype, except for ``"fe2m1f"``: ``torch.float8_e4m3fn`` (NVFP4) or ``torch.uint8`` /
            ``torch.float8_e8m0fnu`` e8m0 exponent bytes (MXFP4, ``scale = 2^(E - 127)``).
        b_type: ``"u4b8"`` (GPTQ-INT4, ``W = (q - 8) * s``), ``"u8b128"`` (GPTQ-INT8, ``W = (q - 128) * s``),
            ``"u4"`` (AWQ-INT4, ``W = (q - z) * s``), ``"fe4m3fn"`` (FP8 weights, ``W = fp8(q) * s``) or
            ``"fe2m1f"`` (FP4 e2m1 weights, ``W = fp4(q) * s`` (NVFP4: ``* global_scale``)). With INT8
            activations: ``"u4"`` or ``"u4b8"`` (:data:`INT8_ACT_FORMATS`); with FP8 activations also ``"fe2m1f"``
            with e8m0 scales (MXFP4; :data:`FP8_ACT_FORMATS`).
        zeros: for ``"u4"`` only: ``[groups, n]`` of the output dtype from :func:`awq_zeros`.
        group_size: rows per scale: -1 (channelwise), 32, 64 or 128 for ``"u4"``, ``"u4b8"``, ``"u8b128"``;
            -1 or 128 for ``"fe4m3fn"``; 16 for NVFP4; 32 for MXFP4. Must divide ``k``. With ``act_order``: the
            checkpoint's group size (32, 64 or 128), which need not divide ``k`` for a K shard
            (``act_order.is_k_full`` False).
        workspace: optional uint8 CUDA tensor of at least :func:`workspace_bytes` bytes, zeroed before its
            first use (kernels leave its counters at zero). By default a cached per-device workspace is used.
        out: optional output ``[m, n]`` of the output dtype, contiguous, on ``a``'s device.
        bias: optional ``[n]`` of the output dtype, contiguous, on ``a``'s device: added to every row of C (with
            8-bit activations after the ``a_scales``: it is not scaled).
        global_scale: NVFP4 only, optional: a float32 CUDA tensor of one element (shape ``[]`` or ``[1]``) on
            ``a``'s device that multiplies C (``None`` means 1). It is read on the device, so it may change
            between calls (and CUDA graph replays) without a host sync.
        act_order: ``"u4b8"`` and ``"u8b128"`` only: :class:`ActOrder` from :func:`prepare_act_order` (tensors on
            ``a``'s device), for weights repacked with ``repack_gptq(..., perm=act_order.perm)``. A is multiplied
            in checkpoint column order as usual; a scratch ``[m, k]`` of ``a.dtype`` is allocated per call for A's
            permuted columns.
        thread_config: tuning override (``bench/tune.py``): ``(thread_k, thread_n)`` of the kernel's thread config,
            one of :data:`THREAD_CONFIGS`; ``None`` lets the launcher choose. The config must tile ``k`` and
            ``n`` and be built for the batch size ((128, 128) for ``m <= 16``, (64, 256) above), else
            :class:`MarlinError`.
        blocks_per_sm: tuning override: at most this many blocks per multiprocessor (1 or 2); 0 lets the launcher
            choose.
        a_scales: 8-bit (INT8 or FP8) activations only, optional: float32 ``[m]``, contiguous, on ``a``'s device:
            the per-row (per-token) scales of A, multiplying row r of C (before the bias). ``None`` means 1. Read on
            the device, like ``global_scale``.
        out_dtype: the output dtype, ``torch.float16`` or ``torch.bfloat16``: required with 8-bit activations
            (``torch.bfloat16`` for MXFP4); the 16-bit ``scales``, the ``zeros``, ``bias`` and ``out`` have it.
            With 16-bit activations ``None`` (or ``a.dtype``): C has ``a.dtype``.

    Returns:
        ``[m, n]`` tensor of the output dtype (``out_dtype``, else ``a.dtype``; ``out`` when given).
    """
    a = _tensor("a", a)
    b_q = _tensor("b_q", b_q)
    scales = _tensor("scales", scales)

    # Types first (they need no device: the same errors for CPU tensors), then devices and layouts.
    # a
    _dims("a", a, 2)
    _dtype("a", a, _A_DTYPES)
    act8 = _act8(a.dtype)
    c_dtype = _out_dtype(out_dtype, a, act8)
    if a_scales is not None and act8 is None:
        a8 = " or ".join(str(d) for d in _ACT8)
        raise ValueError(
            f"a_scales: only 8-bit activations (a of dtype {a8}) take per-row scales; a is {a.dtype} (pass None)"
        )
    m, k = a.shape
    if m < 1:
        raise ValueError(f"a: m (rows of a) must be >= 1, got {m}")
    if k % 64:
        raise ValueError(f"a: k (columns of a) = {k} must be a multiple of 64")
    _layout("a", a)

    # b_type, scales' dtype -> format; group_size
    if not isinstance(b_type, str) or b_type not in B_TYPES:
        raise ValueError(f"b_type: {b_type!r} is not one of {sorted(B_TYPES)}")
    fmt, s_type = _format(b_type, scales, a, c_dtype, act8)
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size not in GROUP_SIZES:
        raise ValueError(f"group_size: {group_size!r} is not one of {list(GROUP_SIZES)}")
    allowed = FORMAT_GROUP_SIZES[fmt]
    if group_size not in allowed:
        what = _format_name(fmt, b_type, scales.dtype)
        raise ValueError(f"group_size: {group_size} is not allowed for {what}; allowed: {list(allowed)}")
    k_shard = isinstance(act_order, ActOrder) and not act_order.is_k_full
    if group_size != -1 and k % group_size and not k_shard:  # an act-order K shard has groups of any size
        raise ValueError(f"group_size: {group_size} does not divide k = {k}")
    if act_order is not None:
        if not isinstance(act_order, ActOrder):
            raise TypeError(f"act_order: expected an ActOrder (prepare_act_order), got {type(act_order).__name__}")
        if act8 is not None:
            raise ValueError(
                f"act_order: there are no act-order kernels with {act8.name} activations (a of dtype {a.dtype}); "
                "pass None"
            )
        if b_type not in ACT_ORDER_B_TYPES:
            raise ValueError(
                f"act_order: b_type {b_type!r} has no act-order; only {list(ACT_ORDER_B_TYPES)} (GPTQ desc_act)"
            )
        if group_size not in _ACT_ORDER_GROUP_SIZES:
            raise ValueError(
                f"group_size: {group_size} cannot be used with act_order; pass the checkpoint's group size, one "
                f"of {list(_ACT_ORDER_GROUP_SIZES)}"
            )
        if group_size != act_order.group_size:
            raise ValueError(
                f"group_size: {group_size} differs from act_order.group_size = {act_order.group_size} (the group "
                "size given to prepare_act_order)"
            )
        groups = act_order.num_groups
    else:
        groups = 1 if group_size == -1 else k // group_size

    # devices: every tensor on a's
    _cuda("a", a)
    device = a.device

    # b_q
    _cuda("b_q", b_q, device)
    _dims("b_q", b_q, 2)
    _dtype("b_q", b_q, (torch.int32,))
    if b_q.shape[0] * 16 != k:
        raise ValueError(f"b_q: expected {k // 16} rows (k/16 for k = {k}), got {b_q.shape[0]}")
    words = _BITS[b_type] // 2  # int32 columns of b_q per column of B: 2 (4-bit) or 4 (8-bit)
    cols = b_q.shape[1]
    s_n = scales.shape[1] if scales.dim() == 2 else 0
    if s_n > 0 and s_n % 64 == 0 and s_n * words != cols:
        for other in sorted({b // 2 for b in _BITS.values()} - {words}):
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
    _layout("b_q", b_q)

    # scales (dtype checked by _format)
    _cuda("scales", scales, device)
    if act_order is not None and (scales.dim() != 2 or scales.shape[0] != groups):
        raise ValueError(
            f"scales: expected shape {[groups, n]} (act_order.num_groups = max(g_idx) + 1 rows), got "
            f"{list(scales.shape)}"
        )
    _layout("scales", scales, (groups, n))

    # zeros
    if b_type == "u4":
        if zeros is None:
            raise ValueError("zeros: b_type 'u4' (AWQ) needs zero points (see awq_zeros)")
        zeros = _tensor("zeros", zeros)
        _cuda("zeros", zeros, device)
        _dtype("zeros", zeros, (c_dtype,), " (the dtype of the scales)")
        _layout("zeros", zeros, (groups, n))
    elif zeros is not None:
        raise ValueError(f"zeros: must be None for b_type {b_type!r}")

    # bias
    if bias is not None:
        bias = _tensor("bias", bias)
        _cuda("bias", bias, device)
        _dtype("bias", bias, (c_dtype,), " (out_dtype)" if act8 else " (the dtype of a and of the output)")
        _layout("bias", bias, (n,))

    # a_scales (8-bit activations only: checked with a)
    if a_scales is not None:
        a_scales = _tensor("a_scales", a_scales)
        _cuda("a_scales", a_scales, device)
        _dtype("a_scales", a_scales, (torch.float32,))
        _layout("a_scales", a_scales, (m,), align=4)  # read as scalars: fp32 alignment suffices

    # global_scale
    if global_scale is not None:
        if fmt != "nvfp4":
            raise ValueError(
                f"global_scale: only NVFP4 (b_type 'fe2m1f' with float8_e4m3fn scales) takes one; got it with "
                f"b_type {b_type!r} and {scales.dtype} scales (pass None)"
            )
        global_scale = _tensor("global_scale", global_scale)
        _cuda("global_scale", global_scale, device)
        _dtype("global_scale", global_scale, (torch.float32,))
        if global_scale.numel() != 1:
            raise ValueError(f"global_scale: expected one element, got shape {list(global_scale.shape)}")

    # act_order tensors
    a_perm = None
    if act_order is not None:
        for name, t in (("act_order.perm", act_order.perm), ("act_order.g_idx_sorted", act_order.g_idx_sorted)):
            t = _tensor(name, t)
            _cuda(name, t, device)
            _dtype(name, t, (torch.int32,))
            _layout(name, t, (k,))
        a_perm = torch.empty((m, k), dtype=a.dtype, device=device)

    # tuning overrides
    if thread_config is not None and (
        not isinstance(thread_config, tuple) or tuple(thread_config) not in THREAD_CONFIGS
    ):
        raise ValueError(f"thread_config: {thread_config!r} is not one of {list(THREAD_CONFIGS)} (or None)")
    if isinstance(blocks_per_sm, bool) or not isinstance(blocks_per_sm, int) or blocks_per_sm not in (0, 1, 2):
        raise ValueError(f"blocks_per_sm: {blocks_per_sm!r} is not one of [0, 1, 2] (0: the launcher's choice)")

    # workspace
    lib = _lib.get()
    sm_count = _sm_count(device)
    if workspace is None:
        workspace = _default_workspace(device)
    else:
        workspace = _tensor("workspace", workspace)
        _cuda("workspace", workspace, device)
        _dtype("workspace", workspace, (torch.uint8,))
        _layout("workspace", workspace)
        need = lib.workspace_bytes(sm_count)
        if workspace.numel() < need:
            raise ValueError(f"workspace: {workspace.numel()} bytes, need at least {need} (workspace_bytes())")

    # out
    if out is None:
        out = torch.empty((m, n), dtype=c_dtype, device=device)
    else:
        out = _tensor("out", out)
        _cuda("out", out, device)
        _dtype("out", out, (c_dtype,), " (out_dtype)" if act8 else " (the dtype of a)")
        _layout("out", out, (m, n))

    args = _lib.MarlinGemmArgs(
        a=a.data_ptr(),
        b_q=b_q.data_ptr(),
        scales=scales.data_ptr(),
        zeros=zeros.data_ptr() if zeros is not None else None,
        c=out.data_ptr(),
        workspace=workspace.data_ptr(),
        workspace_bytes=workspace.numel(),
        m=m,
        n=n,
        k=k,
        lda=k,
        ldc=n,
        group_size=group_size,
        a_type=act8.a_type if act8 is not None else _DTYPES[a.dtype],
        b_type=B_TYPES[b_type],
        c_type=_DTYPES[c_dtype],
        s_type=s_type,
        sm_count=sm_count,
        stream=_stream(device) or None,
        bias=bias.data_ptr() if bias is not None else None,
        global_scale=global_scale.data_ptr() if global_scale is not None else None,
        perm=act_order.perm.data_ptr() if act_order is not None else None,
        g_idx_sorted=act_order.g_idx_sorted.data_ptr() if act_order is not None else None,
        a_perm=a_perm.data_ptr() if a_perm is not None else None,
        is_k_full=int(act_order.is_k_full) if act_order is not None else 0,
        force_thread_k=thread_config[0] if thread_config is not None else 0,
        force_thread_n=thread_config[1] if thread_config is not None else 0,
        force_blocks_per_sm=blocks_per_sm,
        a_scales=a_scales.data_ptr() if a_scales is not None else None,
    )
    with torch.cuda.device(device):
        lib.gemm(args)
    return out


# --------------------------------------------------------------------------------------------------- repack


def _row_perm(perm: object, k: int, device: torch.device) -> torch.Tensor | None:
    """Checks a repack's ``perm``: None, or an int32 [k] CUDA permutation of 0..k-1 on ``device`` (one sync)."""
    if perm is None:
        return None
    perm = _tensor("perm", perm)
    _cuda("perm", perm, device)
    _dtype("perm", perm, (torch.int32,))
    _layout("perm", perm, (k,))
    error = _permutation_error("perm", perm)
    if error:
        raise ValueError(error)
    return perm


def a8_row_perm(k: int, device: torch.device | str | int | None = None) -> torch.Tensor:
    """The row order of 4-bit weights for the kernels with 8-bit (INT8 or FP8) activations: int32 ``[k]``, to pass
    as ``perm`` to :func:`repack_gptq` (GPTQ-INT4, MXFP4) or :func:`repack_awq` (AWQ-INT4).

    Those kernels read the rows of every 16-row block of the weights permuted: repacked row ``16b + y`` is source
    row ``16b + P(y)``, ``P(y) = 4*(y//2) + y%2`` for ``y < 8`` and ``4*((y-8)//2) + 2 + y%2`` for ``y >= 8``, i.e.
    ``P = (0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15)``. In the Marlin layout the four rows of a block
    that lane ``4g + t`` holds (``2t, 2t+1, 2t+8, 2t+9``) are then the consecutive source rows ``4t..4t+3``. The
    GEMM is unchanged: A is multiplied in its own column order, and ``reference.dequant`` of the unpermuted
    weights is what it computes.

    ``k``: a positive multiple of 16. ``device``: where the result goes; ``None`` means the current CUDA device
    (what the repack functions need). Pure torch, no library call.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0 or k % 16:
        raise ValueError(f"k: {k!r} must be a positive multiple of 16 (a8_row_perm)")
    dev = torch.device("cuda", torch.cuda.current_device()) if device is None else torch.device(device)
    block = torch.tensor(_A8_BLOCK_PERM, dtype=torch.int32)
    rows = torch.arange(0, k, 16, dtype=torch.int32).unsqueeze(1) + block  # [k/16, 16]
    return rows.reshape(k).to(dev)


def repack_gptq(qweight: torch.Tensor, k: int, n: int, bits: int = 4, perm: torch.Tensor | None = None) -> torch.Tensor:
    """Weights packed along K (GPTQ packing) -> the Marlin layout.

    ``bits=4``: int32 ``[k/8, n]``, nibble i of word (r, c) is row 8r+i -> int32 ``[k/16, 2n]``; GPTQ-INT4
    (``b_type="u4b8"``) and FP4 e2m1 codes (``"fe2m1f"``, packed the same way). ``bits=8``: int32 ``[k/4, n]``,
    byte i of word (r, c) is row 4r+i -> int32 ``[k/16, 4n]``; GPTQ-INT8 (``"u8b128"``) and FP8 e4m3fn bytes
    (``"fe4m3fn"``, packed the same way).

    ``perm``: optional int32 ``[k]`` CUDA tensor on ``qweight``'s device, a permutation of ``0..k-1``; repacked
    row i is then source row ``perm[i]``. Act-order: ``ActOrder.perm`` from :func:`prepare_act_order`; 8-bit (INT8,
    FP8) activations: :func:`a8_row_perm`. It is checked to be a permutation (one device synchronization).

    ``qweight`` must be a contiguous CUDA tensor; ``k % 16 == 0`` and ``n % 64 == 0`` (``gemm`` further needs
    ``k % 64 == 0``). Returns a new tensor on the same device.
    """
    qweight = _tensor("qweight", qweight)
    if isinstance(bits, bool) or not isinstance(bits, int) or bits not in _GPTQ_BITS:
        raise ValueError(f"bits: {bits!r} is not one of {list(_GPTQ_BITS)}")
    _kn(k, n, k_multiple=16, where="repack_gptq")
    _cuda("qweight", qweight)
    _dtype("qweight", qweight, (torch.int32,))
    _dims("qweight", qweight, 2)
    per_word = 32 // bits
    if tuple(qweight.shape) != (k // per_word, n):
        raise ValueError(
            f"qweight: expected shape {[k // per_word, n]} ([k/{per_word}, n], {bits}-bit GPTQ packing for "
            f"k = {k}, n = {n}), got {list(qweight.shape)}"
        )
    _layout("qweight", qweight)
    perm = _row_perm(perm, k, qweight.device)
    out = torch.empty((k // 16, (bits // 2) * n), dtype=torch.int32, device=qweight.device)
    with torch.cuda.device(qweight.device):
        _lib.get().repack_gptq(
            qweight.data_ptr(),
            out.data_ptr(),
            k,
            n,
            bits,
            _stream(qweight.device),
            perm=perm.data_ptr() if perm is not None else None,
        )
    return out


def repack_awq(qweight: torch.Tensor, k: int, n: int, perm: torch.Tensor | None = None) -> torch.Tensor:
    """AWQ weights int32 ``[k, n/8]`` (nibble i of word (r, w) is column 8w + (0,2,4,6,1,3,5,7)[i]) -> Marlin
    layout int32 ``[k/16, 2n]``.

    ``perm``: optional int32 ``[k]`` CUDA tensor on ``qweight``'s device, a permutation of ``0..k-1``; repacked
    row i is then source row ``perm[i]`` (as in :func:`repack_gptq`). For 8-bit activations: :func:`a8_row_perm`.
    It is checked to be a permutation (one device synchronization).

    ``qweight`` must be a contiguous CUDA tensor; ``k % 16 == 0`` and ``n % 64 == 0``. Returns a new tensor.
    """
    qweight = _tensor("qweight", qweight)
    _kn(k, n, k_multiple=16, where="repack_awq")
    _cuda("qweight", qweight)
    _dtype("qweight", qweight, (torch.int32,))
    _layout("qweight", qweight, (k, n // 8))
    perm = _row_perm(perm, k, qweight.device)
    out = torch.empty((k // 16, 2 * n), dtype=torch.int32, device=qweight.device)
    with torch.cuda.device(qweight.device):
        _lib.get().repack_awq(
            qweight.data_ptr(),
            out.data_ptr(),
            k,
            n,
            4,
            _stream(qweight.device),
            perm=perm.data_ptr() if perm is not None else None,
        )
    return out


def permute_scales(scales: torch.Tensor) -> torch.Tensor:
    """Scales ``[groups, n]`` (CUDA, contiguous, ``n % 64 == 0``) -> the kernel's column order: inside each block
    of 64 columns, index ``8g + j`` holds column ``8j + g``. Returns a new tensor of the same shape and dtype.

    Dtypes: float16 or bfloat16 (2 bytes), or 1-byte scales: ``torch.float8_e4m3fn`` (NVFP4) and ``torch.uint8``
    or ``torch.float8_e8m0fnu`` (MXFP4 e8m0 exponent bytes); bytes are moved, never converted.
    """
    scales = _tensor("scales", scales)
    _cuda("scales", scales)
    _dims("scales", scales, 2)
    _dtype("scales", scales, (*_DTYPES, *_BYTE_SCALE_DTYPES))
    groups, n = scales.shape
    if groups < 1:
        raise ValueError("scales: needs at least one row (group)")
    if n == 0 or n % 64:
        raise ValueError(f"scales: n = {n} must be a positive multiple of 64")
    _layout("scales", scales)
    out = torch.empty_like(scales)
    with torch.cuda.device(scales.device):
        _lib.get().permute_scales(
            scales.data_ptr(), out.data_ptr(), groups, n, scales.element_size(), _stream(scales.device)
        )
    return out


def awq_zeros(qzeros: torch.Tensor, n: int, dtype: torch.dtype) -> torch.Tensor:
    """AWQ zero points int32 ``[groups, n/8]`` (AWQ nibble order) -> ``[groups, n]`` of ``dtype`` (float16 or
    bfloat16, the scales' dtype) in the kernel's column order, ready for ``gemm(..., zeros=)``.
    """
    qzeros = _tensor("qzeros", qzeros)
    if dtype not in _DTYPES:
        raise ValueError(f"dtype: must be torch.float16 or torch.bfloat16, got {dtype}")
    if n <= 0 or n % 64:
        raise ValueError(f"n: {n} must be a positive multiple of 64")
    _cuda("qzeros", qzeros)
    _dims("qzeros", qzeros, 2)
    _dtype("qzeros", qzeros, (torch.int32,))
    groups = qzeros.shape[0]
    if groups < 1:
        raise ValueError("qzeros: needs at least one row (group)")
    _layout("qzeros", qzeros, (groups, n // 8))
    out = torch.empty((groups, n), dtype=dtype, device=qzeros.device)
    with torch.cuda.device(qzeros.device):
        _lib.get().awq_zeros(qzeros.data_ptr(), out.data_ptr(), groups, n, _DTYPES[dtype], _stream(qzeros.device))
    return out


def built_kernel_count() -> int:
    """Number of kernel instantiations built into the loaded library."""
    return _lib.get().built_kernel_count()
