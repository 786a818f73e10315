"""Torch-facing entry points over the C API.

All functions take CUDA tensors and run asynchronously on the current torch stream of the tensors' device. They
call the PyTorch custom ops ``torch.ops.marlin_bazel.*`` (:mod:`marlin_bazel._custom_ops`), so they work under
``torch.compile(fullgraph=True)`` and CUDA-graph capture; those ops call the library. Arguments are validated
first (``ValueError`` naming the argument; also while torch.compile traces); what only the library can judge (no
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

from dataclasses import dataclass, replace

import torch

from . import _checks as chk
from . import (
    _custom_ops,  # (importing it registers torch.ops.marlin_bazel)
    _lib,
)
from ._gemm_args import (
    ACT_ORDER_B_TYPES,
    ACT_ORDER_GROUP_SIZES,
    B_TYPES,
    FORMAT_GROUP_SIZES,
    FP8_ACT_FORMATS,
    GPTQ_BITS,
    GROUP_SIZES,
    INT8_ACT_FORMATS,
    THREAD_CONFIGS,
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

# a8_row_perm: repacked row 16b + y of every 16-row block is source row 16b + _A8_BLOCK_PERM[y].
_A8_BLOCK_PERM = (0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15)


# ------------------------------------------------------------------------------------------------ workspace


def workspace_bytes(device: torch.device | str | int | None = None) -> int:
    """Bytes of workspace :func:`gemm` needs on ``device`` (default: the current CUDA device).

    The library sizes it for all multiprocessors of the device (``marlin_workspace_bytes(sm_count)``).
    """
    dev = torch.device("cuda", torch.cuda.current_device()) if device is None else torch.device(device)
    if dev.type != "cuda":
        raise ValueError(f"device: must be a CUDA device, got {dev}")
    if dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return _lib.get().workspace_bytes(chk.sm_count(dev))


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
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size not in ACT_ORDER_GROUP_SIZES:
        raise ValueError(
            f"group_size: {group_size!r} is not a group size act-order takes; allowed: {list(ACT_ORDER_GROUP_SIZES)}"
        )


def _check_act_order(ao: ActOrder) -> None:
    """The checks of :class:`ActOrder` (see its docstring); raises TypeError or ValueError naming the bad value."""
    _check_act_order_group_size(ao.group_size)
    if isinstance(ao.num_groups, bool) or not isinstance(ao.num_groups, int) or ao.num_groups < 1:
        raise ValueError(f"num_groups: must be an int >= 1 (the scale rows), got {ao.num_groups!r}")
    if not isinstance(ao.is_k_full, bool):
        raise TypeError(f"is_k_full: expected a bool, got {type(ao.is_k_full).__name__}")
    perm, g = chk.tensor("perm", ao.perm), chk.tensor("g_idx_sorted", ao.g_idx_sorted)
    for name, t in (("perm", perm), ("g_idx_sorted", g)):
        chk.dtype(name, t, (torch.int32,))
        chk.dims(name, t, 1)
    k = perm.shape[0]
    if k == 0:
        raise ValueError("perm: is empty (k must be >= 1)")
    if g.shape[0] != k or g.device != perm.device:
        raise ValueError(
            f"g_idx_sorted: expected shape [{k}] on {perm.device} (as perm), got {list(g.shape)} on {g.device}"
        )
    error = chk.permutation_error("perm", perm)
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
    g_idx = chk.tensor("g_idx", g_idx)
    _check_act_order_group_size(group_size)
    chk.dims("g_idx", g_idx, 1)
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
        workspace: optional uint8 CUDA tensor of at least :func:`workspace_bytes` bytes (scratch and tile
            counters). It need not be zeroed: the first call that gets a tensor zeroes it, and kernels leave its
            counters at zero. Calls that may overlap (other streams, graphs replayed on other streams) need
            different ones. By default each (device, stream) has its own, made on its first call and kept (about
            34 MB on a 132-SM GPU: with many short-lived streams, pass workspaces).
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
    args = _gemm_op_args(
        a, b_q, scales, b_type, zeros, group_size, workspace, out, bias, global_scale, act_order, thread_config,
        blocks_per_sm, a_scales, out_dtype,
    )  # fmt: skip
    if out is None:
        return torch.ops.marlin_bazel.gemm(*args)
    torch.ops.marlin_bazel.gemm_out(out, *args)
    return out


def gemm_plan(
    a: torch.Tensor,
    b_q: torch.Tensor,
    scales: torch.Tensor,
    *,
    b_type: str,
    zeros: torch.Tensor | None = None,
    group_size: int = -1,
    workspace: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    global_scale: torch.Tensor | None = None,
    act_order: ActOrder | None = None,
    thread_config: tuple[int, int] | None = None,
    blocks_per_sm: int = 0,
    a_scales: torch.Tensor | None = None,
    out_dtype: torch.dtype | None = None,
) -> dict[str, str | int]:
    """What :func:`gemm` with these arguments would launch on the current device, launching nothing (C API
    ``marlin_gemm_plan``): the kernel family (``"sm75"``, ``"sm80"``, ``"sm89"`` or ``"sm90"``), the types
    (``a``, ``b``, ``c``, ``s``), the kernel's ``threads``, ``thread_m_blocks``, ``thread_n_blocks``,
    ``thread_k_blocks``, ``m_block_size_8``, ``stages``, ``group_blocks`` and ``smem_bytes``, and the work split:
    ``blocks_per_sm``, ``grid``, ``m_chunks``, ``n_tiles``, ``k_iters``, ``dp_tiles`` (tiles done whole) and
    ``sk_share`` (K steps per block over the rest). Numbers are ints, names strings. For tuning and for finding out
    why a shape runs slow. Takes :func:`gemm`'s arguments (without ``out``), checks them as it does and raises
    the same errors; allocates what :func:`gemm` would (its output, the default workspace).
    """
    args = _gemm_op_args(
        a, b_q, scales, b_type, zeros, group_size, workspace, None, bias, global_scale, act_order, thread_config,
        blocks_per_sm, a_scales, out_dtype,
    )  # fmt: skip
    fields = (f.split("=", 1) for f in _custom_ops.gemm_plan(*args).split())
    return {key: int(value) if value.lstrip("-").isdigit() else value for key, value in fields}


def _gemm_op_args(
    a: torch.Tensor,
    b_q: torch.Tensor,
    scales: torch.Tensor,
    b_type: str,
    zeros: torch.Tensor | None,
    group_size: int,
    workspace: torch.Tensor | None,
    out: torch.Tensor | None,
    bias: torch.Tensor | None,
    global_scale: torch.Tensor | None,
    act_order: ActOrder | None,
    thread_config: tuple[int, int] | None,
    blocks_per_sm: int,
    a_scales: torch.Tensor | None,
    out_dtype: torch.dtype | None,
) -> tuple[object, ...]:
    """:func:`gemm`'s arguments checked and turned into the custom op's (``_custom_ops._GEMM_ARGS``); ``out`` is
    only checked (``gemm_out`` takes it first)."""
    # The Python values first (what the op's schema cannot carry, or would refuse with a less clear message); the
    # tensors are checked by the op (_gemm_args.check_gemm), while tracing as when run.
    a, b_q, scales = chk.tensor("a", a), chk.tensor("b_q", b_q), chk.tensor("scales", scales)
    for name, t in (("zeros", zeros), ("workspace", workspace), ("out", out), ("bias", bias),
                    ("global_scale", global_scale), ("a_scales", a_scales)):  # fmt: skip
        if t is not None:
            chk.tensor(name, t)
    if not isinstance(b_type, str) or b_type not in B_TYPES:
        raise ValueError(f"b_type: {b_type!r} is not one of {sorted(B_TYPES)}")
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size not in GROUP_SIZES:
        raise ValueError(f"group_size: {group_size!r} is not one of {list(GROUP_SIZES)}")
    if out_dtype is not None and not isinstance(out_dtype, torch.dtype):
        raise ValueError(f"out_dtype: must be a torch.dtype or None, got {out_dtype!r}")
    if thread_config is not None and (
        not isinstance(thread_config, tuple) or tuple(thread_config) not in THREAD_CONFIGS
    ):
        raise ValueError(f"thread_config: {thread_config!r} is not one of {list(THREAD_CONFIGS)} (or None)")
    if isinstance(blocks_per_sm, bool) or not isinstance(blocks_per_sm, int) or blocks_per_sm not in (0, 1, 2):
        raise ValueError(f"blocks_per_sm: {blocks_per_sm!r} is not one of [0, 1, 2] (0: the launcher's choice)")
    if act_order is not None:
        if not isinstance(act_order, ActOrder):
            raise TypeError(f"act_order: expected an ActOrder (prepare_act_order), got {type(act_order).__name__}")
        if group_size != act_order.group_size and group_size in ACT_ORDER_GROUP_SIZES:
            raise ValueError(
                f"group_size: {group_size} differs from act_order.group_size = {act_order.group_size} (the group "
                "size given to prepare_act_order)"
            )
    thread_k, thread_n = thread_config if thread_config is not None else (0, 0)
    return (
        a, b_q, scales, b_type, zeros, group_size, workspace, bias, global_scale,
        act_order.perm if act_order is not None else None,
        act_order.g_idx_sorted if act_order is not None else None,
        act_order.is_k_full if act_order is not None else False,
        act_order.num_groups if act_order is not None else 0,
        thread_k, thread_n, blocks_per_sm, a_scales, out_dtype,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------- repack


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
    qweight = chk.tensor("qweight", qweight)
    if isinstance(bits, bool) or bits not in GPTQ_BITS:
        raise ValueError(f"bits: {bits!r} is not one of {list(GPTQ_BITS)}")
    k, n = chk.int_arg("k", k), chk.int_arg("n", n)
    if perm is not None:
        perm = chk.tensor("perm", perm)
    return torch.ops.marlin_bazel.repack_gptq(qweight, k, n, bits, perm)


def repack_awq(qweight: torch.Tensor, k: int, n: int, perm: torch.Tensor | None = None) -> torch.Tensor:
    """AWQ weights int32 ``[k, n/8]`` (nibble i of word (r, w) is column 8w + (0,2,4,6,1,3,5,7)[i]) -> Marlin
    layout int32 ``[k/16, 2n]``.

    ``perm``: optional int32 ``[k]`` CUDA tensor on ``qweight``'s device, a permutation of ``0..k-1``; repacked
    row i is then source row ``perm[i]`` (as in :func:`repack_gptq`). For 8-bit activations: :func:`a8_row_perm`.
    It is checked to be a permutation (one device synchronization).

    ``qweight`` must be a contiguous CUDA tensor; ``k % 16 == 0`` and ``n % 64 == 0``. Returns a new tensor.
    """
    qweight = chk.tensor("qweight", qweight)
    k, n = chk.int_arg("k", k), chk.int_arg("n", n)
    if perm is not None:
        perm = chk.tensor("perm", perm)
    return torch.ops.marlin_bazel.repack_awq(qweight, k, n, perm)


def permute_scales(scales: torch.Tensor) -> torch.Tensor:
    """Scales ``[groups, n]`` (CUDA, contiguous, ``n % 64 == 0``) -> the kernel's column order: inside each block
    of 64 columns, index ``8g + j`` holds column ``8j + g``. Returns a new tensor of the same shape and dtype.

    Dtypes: float16 or bfloat16 (2 bytes), or 1-byte scales: ``torch.float8_e4m3fn`` (NVFP4) and ``torch.uint8``
    or ``torch.float8_e8m0fnu`` (MXFP4 e8m0 exponent bytes); bytes are moved, never converted.
    """
    return torch.ops.marlin_bazel.permute_scales(chk.tensor("scales", scales))


def awq_zeros(qzeros: torch.Tensor, n: int, dtype: torch.dtype) -> torch.Tensor:
    """AWQ zero points int32 ``[groups, n/8]`` (AWQ nibble order) -> ``[groups, n]`` of ``dtype`` (float16 or
    bfloat16, the scales' dtype) in the kernel's column order, ready for ``gemm(..., zeros=)``.
    """
    qzeros = chk.tensor("qzeros", qzeros)
    n = chk.int_arg("n", n)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"dtype: must be torch.float16 or torch.bfloat16, got {dtype!r}")
    return torch.ops.marlin_bazel.awq_zeros(qzeros, n, dtype)


def built_kernel_count() -> int:
    """Number of kernel instantiations built into the loaded library."""
    return _lib.get().built_kernel_count()
