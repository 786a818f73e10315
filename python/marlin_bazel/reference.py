"""Pure-torch reference implementations of the layouts in docs/DESIGN.md.

Everything here runs on CPU or CUDA tensors alike and is meant for tests and for preparing weights without the
C library: packing into the GPTQ and AWQ checkpoint formats, unpacking them again, dequantization to an fp32
weight matrix, and the Marlin weight layouts (4-bit and 8-bit) and scale permutation that the CUDA repack
kernels must match bit for bit.

Conventions: ``q`` is an integer tensor ``[K, N]`` (any integer dtype) of ``bits``-bit values: 0..15 for
``bits=4`` (the default everywhere; GPTQ-INT4 and AWQ-INT4), 0..255 for ``bits=8`` (GPTQ-INT8, GPTQ and Marlin
layouts only). Packed words are ``torch.int32`` holding the unsigned 32-bit pattern (so a word with the top bit
set is negative).
"""

from __future__ import annotations

import torch

__all__ = [
    "AWQ_ORDER",
    "MARLIN_NIBBLE",
    "awq_zeros_reference",
    "dequant",
    "marlin_layout_reference",
    "pack_awq",
    "pack_awq_zeros",
    "pack_gptq",
    "permute_scales_reference",
    "unpack_awq",
    "unpack_awq_zeros",
    "unpack_gptq",
    "unpack_marlin_layout",
    "unpermute_scales_reference",
]

# Nibble i of an AWQ word holds column 8w + AWQ_ORDER[i].
AWQ_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)
# In a Marlin word, value v_j sits in nibble MARLIN_NIBBLE[j].
MARLIN_NIBBLE = (0, 4, 1, 5, 2, 6, 3, 7)

# b_type -> bits per weight.
_B_TYPES: dict[str, int] = {"u4": 4, "u4b8": 4, "u8b128": 8}
_BITS = (4, 8)


def _check_bits(bits: object) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or bits not in _BITS:
        raise ValueError(f"bits: {bits!r} is not one of {list(_BITS)}")
    return bits


def _check_q(q: torch.Tensor, name: str = "q", bits: int = 4) -> None:
    if q.dim() != 2:
        raise ValueError(f"{name}: expected a 2-D tensor, got shape {tuple(q.shape)}")
    if q.dtype.is_floating_point or q.dtype.is_complex or q.dtype == torch.bool:
        raise ValueError(f"{name}: expected an integer tensor, got {q.dtype}")
    top = (1 << bits) - 1
    if q.numel() and (int(q.min()) < 0 or int(q.max()) > top):
        raise ValueError(f"{name}: values must lie in 0..{top} ({bits}-bit)")


def _check_packed(packed: torch.Tensor, name: str) -> None:
    if packed.dim() != 2 or packed.dtype != torch.int32:
        raise ValueError(f"{name}: expected a 2-D torch.int32 tensor, got {packed.dtype} {tuple(packed.shape)}")


def _to_int32(words: torch.Tensor) -> torch.Tensor:
    """int64 words in 0..2**32-1 -> int32 with the same bit pattern."""
    return torch.where(words >= 2**31, words - 2**32, words).to(torch.int32)


def _fields(packed: torch.Tensor, bits: int = 4) -> torch.Tensor:
    """int32 [..., W] -> int32 [..., W, 32/bits]; entry i is field i (bits ``bits*i`` up)."""
    shifts = torch.arange(0, 32, bits, dtype=torch.int32, device=packed.device)
    # Arithmetic shift of a negative word still leaves the right bits in the low field.
    return (packed.unsqueeze(-1) >> shifts) & ((1 << bits) - 1)


def _nibbles(packed: torch.Tensor) -> torch.Tensor:
    """int32 [..., W] -> int32 [..., W, 8]; entry i is nibble i (bits 4i..4i+3)."""
    return _fields(packed, 4)


def _pack_last(vals: torch.Tensor, bits: int = 4) -> torch.Tensor:
    """int [..., 32/bits] (field i = entry i, ``bits`` bits each) -> int32 [...]."""
    shifts = torch.arange(0, 32, bits, dtype=torch.int64, device=vals.device)
    return _to_int32((vals.to(torch.int64) << shifts).sum(dim=-1))


def pack_gptq(q: torch.Tensor, bits: int = 4) -> torch.Tensor:
    """GPTQ packing along K, ``p = 32 / bits`` values per word.

    ``bits=4``: ``q`` [K, N] in 0..15 -> int32 [K/8, N]; nibble i of word (r, n) is ``q[8r + i, n]``.
    ``bits=8``: ``q`` [K, N] in 0..255 -> int32 [K/4, N]; byte i of word (r, n) is ``q[4r + i, n]``.
    """
    bits = _check_bits(bits)
    _check_q(q, bits=bits)
    per = 32 // bits
    k, n = q.shape
    if k % per:
        raise ValueError(f"q: K={k} must be a multiple of {per} for {bits}-bit packing")
    # [K/p, p, N] -> [K/p, N, p]
    return _pack_last(q.reshape(k // per, per, n).transpose(1, 2), bits)


def unpack_gptq(packed: torch.Tensor, bits: int = 4) -> torch.Tensor:
    """Inverse of :func:`pack_gptq`: int32 [K/8, N] -> [K, N] in 0..15 (``bits=4``), or int32 [K/4, N] ->
    [K, N] in 0..255 (``bits=8``); int32 either way."""
    bits = _check_bits(bits)
    _check_packed(packed, "packed")
    r, n = packed.shape
    per = 32 // bits
    return _fields(packed, bits).transpose(1, 2).reshape(per * r, n)


def pack_awq(q: torch.Tensor) -> torch.Tensor:
    """AWQ packing: ``q`` [K, N] in 0..15 -> int32 [K, N/8].

    Nibble i of word (k, w) is ``q[k, 8w + AWQ_ORDER[i]]`` with ``AWQ_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)``.
    """
    _check_q(q)
    k, n = q.shape
    if n % 8:
        raise ValueError(f"q: N={n} must be a multiple of 8")
    order = torch.tensor(AWQ_ORDER, device=q.device)
    return _pack_last(q.reshape(k, n // 8, 8).index_select(2, order))


def unpack_awq(packed: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`pack_awq`: int32 [K, N/8] -> int32 [K, N] in 0..15."""
    _check_packed(packed, "packed")
    k, w = packed.shape
    nib = _nibbles(packed)  # [K, W, 8], entry i = column 8w + AWQ_ORDER[i]
    inverse = [AWQ_ORDER.index(c) for c in range(8)]  # column c comes from nibble inverse[c]
    return nib.index_select(2, torch.tensor(inverse, device=packed.device)).reshape(k, 8 * w)


def pack_awq_zeros(z: torch.Tensor) -> torch.Tensor:
    """AWQ zero points [groups, N] in 0..15 -> int32 [groups, N/8], same nibble order as :func:`pack_awq`."""
    return pack_awq(z)


def unpack_awq_zeros(packed: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`pack_awq_zeros`: int32 [groups, N/8] -> int32 [groups, N]."""
    return unpack_awq(packed)


def dequant(
    q: torch.Tensor,
    scales: torch.Tensor,
    zeros: torch.Tensor | None,
    group_size: int,
    b_type: str,
) -> torch.Tensor:
    """The fp32 weight matrix W [K, N] that ``gemm`` multiplies by.

    ``q``: [K, N] integers, 0..15 for the 4-bit types, 0..255 for ``"u8b128"``. ``scales``: [groups, N] (any
    float dtype, not permuted), ``groups = 1`` for ``group_size == -1`` (channelwise) else ``K / group_size``;
    row r of ``q`` uses scale row ``r // group_size``. ``zeros``: [groups, N] integer zero points in 0..15 for
    ``b_type == "u4"`` (AWQ, ``W = (q - z) * s``), ``None`` for ``"u4b8"`` (GPTQ-INT4, ``W = (q - 8) * s``) and
    ``"u8b128"`` (GPTQ-INT8, ``W = (q - 128) * s``).
    """
    if b_type not in _B_TYPES:
        raise ValueError(f"b_type: {b_type!r} is not one of {tuple(_B_TYPES)}")
    _check_q(q, bits=_B_TYPES[b_type])
    k, n = q.shape
    if group_size == -1:
        groups = 1
    elif group_size > 0 and k % group_size == 0:
        groups = k // group_size
    else:
        raise ValueError(f"group_size: {group_size} must be -1 or a positive divisor of K={k}")
    if tuple(scales.shape) != (groups, n):
        raise ValueError(f"scales: expected shape {(groups, n)}, got {tuple(scales.shape)}")
    rows = k if group_size == -1 else group_size
    s = scales.to(torch.float32).repeat_interleave(rows, dim=0)
    fixed_zero = {"u4b8": 8.0, "u8b128": 128.0}.get(b_type)
    if fixed_zero is not None:
        if zeros is not None:
            raise ValueError(f"zeros: must be None for b_type {b_type!r} (it uses the fixed zero {fixed_zero:g})")
        return (q.to(torch.float32) - fixed_zero) * s
    if zeros is None:
        raise ValueError("zeros: b_type 'u4' (AWQ) needs zero points")
    _check_q(zeros, "zeros")
    if tuple(zeros.shape) != (groups, n):
        raise ValueError(f"zeros: expected shape {(groups, n)}, got {tuple(zeros.shape)}")
    z = zeros.to(torch.float32).repeat_interleave(rows, dim=0)
    return (q.to(torch.float32) - z) * s


# 4-bit Marlin layout (DESIGN.md): tile (kb, nc) covers rows 16kb.. and columns 64nc..; inside it lane l = 4g + t
# owns words 4l..4l+3; word i holds v_j, j = 0..7, with
#   row = 16kb + 2t + (0, 1, 8, 9)[j % 4]    -> row offset 8a + 2t + b with a = (j % 4) // 2, b = j % 2
#   col = 64nc + 16i + g + 8 (j // 4)        -> col offset 16i + 8h + g with h = j // 4
# so j = 4h + 2a + b, and v_j sits in nibble MARLIN_NIBBLE[j].
# A [K, N] tensor viewed as [K/16, a:2, t:4, b:2, N/64, i:4, h:2, g:8] and permuted to
# [kb, nc, g, t, i, h, a, b] lists every word's eight values in order v0..v7.
_TO_MARLIN = (0, 4, 7, 2, 5, 6, 1, 3)
_FROM_MARLIN = tuple(_TO_MARLIN.index(d) for d in range(8))

# 8-bit Marlin layout (DESIGN.md): same tiles (1024 bytes = 256 words each); lane l = 4g + t owns words
# 8l..8l+7; word j holds, in bytes 0..3, rows 16kb + 2t + (0, 1, 8, 9) of column 64nc + 8j + g:
#   byte = 2a + b for row offset 8a + 2t + b, col offset 8j + g.
# A [K, N] tensor viewed as [K/16, a:2, t:4, b:2, N/64, j:8, g:8] and permuted to [kb, nc, g, t, j, a, b] lists
# every word's four bytes in order.
_TO_MARLIN8 = (0, 4, 6, 2, 5, 1, 3)
_FROM_MARLIN8 = tuple(_TO_MARLIN8.index(d) for d in range(7))


def marlin_layout_reference(q: torch.Tensor, bits: int = 4) -> torch.Tensor:
    """``q`` [K, N] -> the Marlin layout (K % 16 == 0, N % 64 == 0).

    ``bits=4`` (values 0..15) -> int32 [K/16, 2N]: tile (kb, nc) is the 128 words at flat word offset
    ``(kb * N/64 + nc) * 128``; word ``4l + i`` of a tile (lane ``l = 4g + t``) holds ``B[ks][n0], B[ks+1][n0],
    B[ks+8][n0], B[ks+9][n0]`` and the same for ``n1`` in nibbles ``(0,4,1,5,2,6,3,7)``, where
    ``ks = 16kb + 2t``, ``n0 = 64nc + 16i + g``, ``n1 = n0 + 8``.

    ``bits=8`` (values 0..255) -> int32 [K/16, 4N]: tile (kb, nc) is the 256 words at flat word offset
    ``(kb * N/64 + nc) * 256``; word ``8l + j`` of a tile holds ``B[ks][n], B[ks+1][n], B[ks+8][n], B[ks+9][n]``
    in bytes 0..3, where ``ks = 16kb + 2t``, ``n = 64nc + 8j + g``.
    """
    bits = _check_bits(bits)
    _check_q(q, bits=bits)
    k, n = q.shape
    if k % 16 or n % 64:
        raise ValueError(f"q: K={k} must be a multiple of 16 and N={n} a multiple of 64")
    v = q.to(torch.int64)
    if bits == 8:
        v = v.reshape(k // 16, 2, 4, 2, n // 64, 8, 8).permute(*_TO_MARLIN8)
        v = v.reshape(k // 16, n // 64, 8, 4, 8, 4)  # [kb, nc, g, t, j, byte]
        shifts = torch.arange(0, 32, 8, dtype=torch.int64, device=q.device)
        return _to_int32((v << shifts).sum(dim=-1)).reshape(k // 16, 4 * n)
    v = v.reshape(k // 16, 2, 4, 2, n // 64, 4, 2, 8).permute(*_TO_MARLIN)
    v = v.reshape(k // 16, n // 64, 8, 4, 4, 8)  # [kb, nc, g, t, i, j]
    shifts = 4 * torch.tensor(MARLIN_NIBBLE, dtype=torch.int64, device=q.device)
    return _to_int32((v << shifts).sum(dim=-1)).reshape(k // 16, 2 * n)


def unpack_marlin_layout(b_q: torch.Tensor, bits: int = 4) -> torch.Tensor:
    """Inverse of :func:`marlin_layout_reference`: int32 [K/16, 2N] -> int32 [K, N] in 0..15 (``bits=4``), or
    int32 [K/16, 4N] -> int32 [K, N] in 0..255 (``bits=8``)."""
    bits = _check_bits(bits)
    _check_packed(b_q, "b_q")
    kb, cols = b_q.shape
    words_per_col = bits // 2  # 32-bit words per column of B per 16 rows: 2 (4-bit) or 4 (8-bit)
    if cols % (64 * words_per_col):
        raise ValueError(f"b_q: {words_per_col}N={cols} must be a multiple of {64 * words_per_col}")
    n = cols // words_per_col
    if bits == 8:
        v = _fields(b_q.reshape(kb, n // 64, 8, 4, 8), 8)  # [kb, nc, g, t, j, byte]
        v = v.reshape(kb, n // 64, 8, 4, 8, 2, 2)  # [kb, nc, g, t, j, a, b]
        return v.permute(*_FROM_MARLIN8).reshape(16 * kb, n)
    nib = _nibbles(b_q.reshape(kb, n // 64, 8, 4, 4))  # [kb, nc, g, t, i, nibble]
    order = torch.tensor(MARLIN_NIBBLE, device=b_q.device)
    v = nib.index_select(5, order).reshape(kb, n // 64, 8, 4, 4, 2, 2, 2)  # [kb, nc, g, t, i, h, a, b]
    return v.permute(*_FROM_MARLIN).reshape(16 * kb, n)


def permute_scales_reference(scales: torch.Tensor) -> torch.Tensor:
    """Scales [groups, N] -> the kernel's column order (same shape and dtype, N % 64 == 0).

    Inside each block of 64 columns, stored index ``8g + j`` holds column ``8j + g`` (j, g in 0..7).
    """
    if scales.dim() != 2 or scales.shape[1] % 64:
        raise ValueError(f"scales: expected [groups, N] with N % 64 == 0, got {tuple(scales.shape)}")
    groups, n = scales.shape
    return scales.reshape(groups, n // 64, 8, 8).transpose(2, 3).reshape(groups, n).contiguous()


def unpermute_scales_reference(scales: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`permute_scales_reference` (the permutation is an involution)."""
    return permute_scales_reference(scales)


def awq_zeros_reference(qzeros: torch.Tensor, n: int, dtype: torch.dtype) -> torch.Tensor:
    """AWQ zero points int32 [groups, N/8] -> [groups, N] values of ``dtype``, permuted like the scales."""
    _check_packed(qzeros, "qzeros")
    if qzeros.shape[1] * 8 != n:
        raise ValueError(f"qzeros: expected {n // 8} columns for n={n}, got {qzeros.shape[1]}")
    return permute_scales_reference(unpack_awq(qzeros).to(dtype))
