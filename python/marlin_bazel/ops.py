"""Torch-facing entry points over the C API.

All functions take CUDA tensors and run asynchronously on the current torch stream of the tensors' device.
Arguments are validated here first (``ValueError`` naming the argument); what only the library can judge (no
kernel built for a config or arch, CUDA errors) raises :class:`marlin_bazel.MarlinError`.

Weight preparation from checkpoint formats (see docs/DESIGN.md for the layouts)::

    b_q = repack_gptq(qweight, k, n)          # GPTQ-INT4 int32 [k/8, n] -> Marlin [k/16, 2n]
    b_q = repack_gptq(qweight, k, n, bits=8)  # GPTQ-INT8 int32 [k/4, n] -> Marlin [k/16, 4n]
    b_q = repack_awq(qweight, k, n)           # AWQ  int32 [k, n/8]  -> Marlin [k/16, 2n]
    s = permute_scales(scales)                # [groups, n] f16/bf16 -> kernel column order
    z = awq_zeros(qzeros, n, scales.dtype)    # AWQ int32 [groups, n/8] -> [groups, n], kernel order
    c = gemm(a, b_q, s, b_type="u4b8", group_size=128)           # GPTQ-INT4
    c = gemm(a, b_q, s, b_type="u8b128", group_size=128)         # GPTQ-INT8
    c = gemm(a, b_q, s, b_type="u4", zeros=z, group_size=128)    # AWQ
"""

from __future__ import annotations

import threading

import torch

from . import _lib
from ._lib import ScalarType

__all__ = [
    "B_TYPES",
    "GROUP_SIZES",
    "awq_zeros",
    "built_kernel_count",
    "gemm",
    "permute_scales",
    "repack_awq",
    "repack_gptq",
    "workspace_bytes",
]

B_TYPES: dict[str, ScalarType] = {"u4": ScalarType.U4, "u4b8": ScalarType.U4B8, "u8b128": ScalarType.U8B128}
GROUP_SIZES = (-1, 32, 64, 128)
# Bits per weight of each b_type; a Marlin-layout b_q is int32 [k/16, (bits/2) * n].
_BITS: dict[str, int] = {"u4": 4, "u4b8": 4, "u8b128": 8}
# Weight widths repack_gptq accepts.
_GPTQ_BITS = (4, 8)
_DTYPES: dict[torch.dtype, ScalarType] = {
    torch.float16: ScalarType.FLOAT16,
    torch.bfloat16: ScalarType.BFLOAT16,
}
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


def _dtype(name: str, t: torch.Tensor, allowed: tuple[torch.dtype, ...]) -> None:
    if t.dtype not in allowed:
        want = " or ".join(str(d) for d in allowed)
        raise ValueError(f"{name}: dtype must be {want}, got {t.dtype}")


def _layout(name: str, t: torch.Tensor, shape: tuple[int, ...] | None = None) -> None:
    if shape is not None and tuple(t.shape) != shape:
        raise ValueError(f"{name}: expected shape {list(shape)}, got {list(t.shape)}")
    if not t.is_contiguous():
        raise ValueError(f"{name}: must be contiguous (strides {t.stride()} for shape {list(t.shape)})")
    if t.numel() and t.data_ptr() % _ALIGN:
        raise ValueError(f"{name}: data pointer must be {_ALIGN}-byte aligned")


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

    Kernels leave the workspace zeroed, so it is reused as is. Calls on the same device that may run
    concurrently (different streams) must each pass their own ``workspace``.
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
) -> torch.Tensor:
    """``C = A @ dequant(B)`` with 4-bit or 8-bit weights in the Marlin layout.

    Args:
        a: activations ``[m, k]``, float16 or bfloat16, CUDA, contiguous; ``m >= 1``, ``k % 64 == 0``.
        b_q: weights in the Marlin layout, int32 ``[k/16, 2n]`` for the 4-bit types (from :func:`repack_gptq` or
            :func:`repack_awq`), ``[k/16, 4n]`` for ``"u8b128"`` (from ``repack_gptq(..., bits=8)``);
            ``n % 64 == 0``.
        scales: ``[groups, n]`` of ``a.dtype``, permuted by :func:`permute_scales`; ``groups = 1`` when
            ``group_size == -1`` (channelwise), else ``k / group_size``.
        b_type: ``"u4b8"`` (GPTQ-INT4, ``W = (q - 8) * s``), ``"u8b128"`` (GPTQ-INT8, ``W = (q - 128) * s``) or
            ``"u4"`` (AWQ-INT4, ``W = (q - z) * s``).
        zeros: for ``"u4"`` only: ``[groups, n]`` of ``a.dtype`` from :func:`awq_zeros`.
        group_size: -1 (channelwise), 32, 64 or 128; must divide ``k``.
        workspace: optional uint8 CUDA tensor of at least :func:`workspace_bytes` bytes, zeroed before its
            first use (kernels leave it zeroed). By default a cached per-device workspace is used.
        out: optional output ``[m, n]`` of ``a.dtype``, contiguous, on ``a``'s device.

    Returns:
        ``[m, n]`` tensor of ``a.dtype`` (``out`` when given).
    """
    a = _tensor("a", a)
    b_q = _tensor("b_q", b_q)
    scales = _tensor("scales", scales)

    # a
    _cuda("a", a)
    device = a.device
    _dims("a", a, 2)
    _dtype("a", a, tuple(_DTYPES))
    m, k = a.shape
    if m < 1:
        raise ValueError(f"a: m (rows of a) must be >= 1, got {m}")
    if k % 64:
        raise ValueError(f"a: k (columns of a) = {k} must be a multiple of 64")
    _layout("a", a)

    # b_type, group_size
    if b_type not in B_TYPES:
        raise ValueError(f"b_type: {b_type!r} is not one of {sorted(B_TYPES)}")
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size not in GROUP_SIZES:
        raise ValueError(f"group_size: {group_size!r} is not one of {list(GROUP_SIZES)}")
    if group_size != -1 and k % group_size:
        raise ValueError(f"group_size: {group_size} does not divide k = {k}")
    groups = 1 if group_size == -1 else k // group_size

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

    # scales
    _cuda("scales", scales, device)
    _dtype("scales", scales, (a.dtype,))
    _layout("scales", scales, (groups, n))

    # zeros
    if b_type == "u4":
        if zeros is None:
            raise ValueError("zeros: b_type 'u4' (AWQ) needs zero points (see awq_zeros)")
        zeros = _tensor("zeros", zeros)
        _cuda("zeros", zeros, device)
        _dtype("zeros", zeros, (a.dtype,))
        _layout("zeros", zeros, (groups, n))
    elif zeros is not None:
        raise ValueError(f"zeros: must be None for b_type {b_type!r}")

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
        out = torch.empty((m, n), dtype=a.dtype, device=device)
    else:
        out = _tensor("out", out)
        _cuda("out", out, device)
        _dtype("out", out, (a.dtype,))
        _layout("out", out, (m, n))

    dtype_id = _DTYPES[a.dtype]
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
        a_type=dtype_id,
        b_type=B_TYPES[b_type],
        c_type=dtype_id,
        s_type=dtype_id,
        sm_count=sm_count,
        stream=_stream(device) or None,
    )
    with torch.cuda.device(device):
        lib.gemm(args)
    return out


# --------------------------------------------------------------------------------------------------- repack


def repack_gptq(qweight: torch.Tensor, k: int, n: int, bits: int = 4) -> torch.Tensor:
    """GPTQ weights packed along K -> the Marlin layout.

    ``bits=4`` (GPTQ-INT4, ``b_type="u4b8"``): int32 ``[k/8, n]``, nibble i of word (r, c) is row 8r+i ->
    int32 ``[k/16, 2n]``. ``bits=8`` (GPTQ-INT8, ``b_type="u8b128"``): int32 ``[k/4, n]``, byte i of word (r, c)
    is row 4r+i -> int32 ``[k/16, 4n]``.

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
    out = torch.empty((k // 16, (bits // 2) * n), dtype=torch.int32, device=qweight.device)
    with torch.cuda.device(qweight.device):
        _lib.get().repack_gptq(qweight.data_ptr(), out.data_ptr(), k, n, bits, _stream(qweight.device))
    return out


def repack_awq(qweight: torch.Tensor, k: int, n: int) -> torch.Tensor:
    """AWQ weights int32 ``[k, n/8]`` (nibble i of word (r, w) is column 8w + (0,2,4,6,1,3,5,7)[i]) -> Marlin
    layout int32 ``[k/16, 2n]``.

    ``qweight`` must be a contiguous CUDA tensor; ``k % 16 == 0`` and ``n % 64 == 0``. Returns a new tensor.
    """
    qweight = _tensor("qweight", qweight)
    _kn(k, n, k_multiple=16, where="repack_awq")
    _cuda("qweight", qweight)
    _dtype("qweight", qweight, (torch.int32,))
    _layout("qweight", qweight, (k, n // 8))
    out = torch.empty((k // 16, 2 * n), dtype=torch.int32, device=qweight.device)
    with torch.cuda.device(qweight.device):
        _lib.get().repack_awq(qweight.data_ptr(), out.data_ptr(), k, n, 4, _stream(qweight.device))
    return out


def permute_scales(scales: torch.Tensor) -> torch.Tensor:
    """Scales ``[groups, n]`` (float16 or bfloat16, CUDA, contiguous, ``n % 64 == 0``) -> the kernel's column
    order: inside each block of 64 columns, index ``8g + j`` holds column ``8j + g``. Returns a new tensor of the
    same shape and dtype.
    """
    scales = _tensor("scales", scales)
    _cuda("scales", scales)
    _dims("scales", scales, 2)
    _dtype("scales", scales, tuple(_DTYPES))
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
