"""Pure-torch reference implementations of the layouts in docs/DESIGN.md.

Everything here runs on CPU or CUDA tensors alike and is meant for tests and for preparing weights without the
C library: packing into the GPTQ and AWQ checkpoint formats, unpacking them again, dequantization to an fp32
weight matrix, the float64 GEMM the kernels compute (:func:`gemm_reference`, also with INT8 and FP8 activations
and their per-row scales), and the Marlin weight layouts (4-bit and 8-bit; 4-bit also in the row order of the
kernels with 8-bit activations, :func:`a8_row_perm_reference`) and scale permutation that the CUDA repack kernels
must match bit for bit.

Conventions: ``q`` is an integer tensor ``[K, N]`` (any integer dtype) of ``bits``-bit values: 0..15 for
``bits=4`` (the default everywhere; GPTQ-INT4, AWQ-INT4 and FP4 e2m1 codes), 0..255 for ``bits=8`` (GPTQ-INT8 and
FP8 e4m3 codes; GPTQ and Marlin layouts only). Packed words are ``torch.int32`` holding the unsigned 32-bit
pattern (so a word with the top bit set is negative).

The floating-point codes are decoded from their bit fields (:func:`fp8_e4m3fn_to_float`,
:func:`fp4_e2m1_to_float`, :func:`e8m0_to_float`), exactly: every value they denote is a float32.
"""

from __future__ import annotations

import torch

__all__ = [
    "AWQ_ORDER",
    "MARLIN_NIBBLE",
    "SCALE_FORMATS",
    "a8_row_perm_reference",
    "activations_reference",
    "awq_zeros_reference",
    "dequant",
    "e8m0_to_float",
    "fp4_e2m1_to_float",
    "fp8_e4m3fn_to_float",
    "gemm_reference",
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
_B_TYPES: dict[str, int] = {"u4": 4, "u4b8": 4, "u8b128": 8, "fe4m3fn": 8, "fe2m1f": 4}
_BITS = (4, 8)
# Scale formats of b_type "fe2m1f": NVFP4 (e4m3 scales, 16 rows each) and MXFP4 (e8m0 scales, 32 rows each).
SCALE_FORMATS = ("nvfp4", "mxfp4")


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


# ------------------------------------------------------------------------------- floating-point codes


def _codes(codes: torch.Tensor, name: str, bits: int, float_dtype_name: str | None) -> torch.Tensor:
    """An integer tensor of ``bits``-bit codes (or a tensor of the named 1-byte float dtype, taken bit for bit)
    -> int64 codes."""
    if not isinstance(codes, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(codes).__name__}")
    fdtype = getattr(torch, float_dtype_name, None) if float_dtype_name else None
    if fdtype is not None and codes.dtype == fdtype:
        return codes.view(torch.uint8).to(torch.int64)
    if codes.dtype.is_floating_point or codes.dtype.is_complex or codes.dtype == torch.bool:
        want = f"an integer tensor or torch.{float_dtype_name}" if float_dtype_name else "an integer tensor"
        raise ValueError(f"{name}: expected {want}, got {codes.dtype}")
    top = (1 << bits) - 1
    if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) > top):
        raise ValueError(f"{name}: codes must lie in 0..{top} ({bits}-bit)")
    return codes.to(torch.int64)


def _pow2(exponent: torch.Tensor) -> torch.Tensor:
    """2**exponent as float64, exactly, for integer exponents in -1022..1023: the float64 whose biased exponent
    field is exponent + 1023 and whose mantissa is 0."""
    return ((exponent.to(torch.int64) + 1023) << 52).view(torch.float64)


def fp8_e4m3fn_to_float(codes: torch.Tensor) -> torch.Tensor:
    """FP8 e4m3fn codes -> float32 values, same shape.

    ``codes``: integers 0..255 (any integer dtype) or a ``torch.float8_e4m3fn`` tensor (its bytes are used).
    Bit 7 is the sign, bits 6..3 the exponent E (bias 7), bits 2..0 the mantissa M. E = 0: ``M * 2^-9``
    (subnormal, ``M/8 * 2^(1-7)``); else ``(1 + M/8) * 2^(E-7)``. The "fn" variant has no infinities: only
    E = 15, M = 7 (0x7F, 0xFF) is NaN, so the largest value is 0x7E = 448.
    """
    c = _codes(codes, "codes", 8, "float8_e4m3fn")
    sign = torch.where(c >= 128, -1.0, 1.0).to(torch.float64)
    e = (c >> 3) & 0xF
    m = (c & 0x7).to(torch.float64)
    # Normal: (8 + M) * 2^(E - 10) = (1 + M/8) * 2^(E - 7); subnormal: M * 2^-9. Both are exact in float64.
    mag = torch.where(e == 0, m * 2.0**-9, (m + 8.0) * _pow2(e - 10))
    out = sign * mag
    out = torch.where((e == 15) & ((c & 0x7) == 7), torch.full_like(out, float("nan")), out)
    return out.to(torch.float32)


def fp4_e2m1_to_float(codes: torch.Tensor) -> torch.Tensor:
    """FP4 e2m1 codes (integers 0..15) -> float32 values, same shape.

    Bit 3 is the sign, bits 2..1 the exponent E (bias 1), bit 0 the mantissa M. E = 0: ``M * 0.5`` (subnormal,
    ``M/2 * 2^(1-1)``); else ``(1 + M/2) * 2^(E-1)``. The magnitudes are 0, 0.5, 1, 1.5, 2, 3, 4, 6; there is no
    NaN or infinity (0b1000 is -0.0).
    """
    c = _codes(codes, "codes", 4, None)
    sign = torch.where(c >= 8, -1.0, 1.0).to(torch.float64)
    e = (c >> 1) & 0x3
    m = (c & 0x1).to(torch.float64)
    # Normal: (2 + M) * 2^(E - 2) = (1 + M/2) * 2^(E - 1); subnormal: M * 2^-1.
    mag = torch.where(e == 0, m * 0.5, (m + 2.0) * _pow2(e - 2))
    return (sign * mag).to(torch.float32)


def e8m0_to_float(codes: torch.Tensor) -> torch.Tensor:
    """E8M0 scale codes (integers 0..255, ``torch.uint8``, or a ``torch.float8_e8m0fnu`` tensor) -> float32
    ``2^(E - 127)``, same shape.

    There is no sign and no mantissa: code 0 is 2^-127 (a float32 subnormal, exact), 254 is 2^127, and 255 is NaN.
    """
    c = _codes(codes, "codes", 8, "float8_e8m0fnu")
    out = _pow2(c - 127)  # float64; converting 2^-127..2^127 to float32 is exact
    out = torch.where(c == 255, torch.full_like(out, float("nan")), out)
    return out.to(torch.float32)


def _scale_values(scales: torch.Tensor, scale_format: str | None) -> torch.Tensor:
    """The float32 value of each scale: decoded bytes for NVFP4 (e4m3) and MXFP4 (e8m0), else a float cast."""
    if not isinstance(scales, torch.Tensor):
        raise TypeError(f"scales: expected a torch.Tensor, got {type(scales).__name__}")
    if scale_format == "nvfp4":
        try:
            return fp8_e4m3fn_to_float(scales)
        except ValueError as exc:
            raise ValueError(f"scales: NVFP4 scales are e4m3 codes ({exc})") from None
    if scale_format == "mxfp4":
        try:
            return e8m0_to_float(scales)
        except ValueError as exc:
            raise ValueError(f"scales: MXFP4 scales are e8m0 codes ({exc})") from None
    if not scales.dtype.is_floating_point or scales.element_size() < 2:
        raise ValueError(f"scales: expected a float tensor (float16, bfloat16, float32, ...), got {scales.dtype}")
    return scales.to(torch.float32)


def dequant(
    q: torch.Tensor,
    scales: torch.Tensor,
    zeros: torch.Tensor | None,
    group_size: int,
    b_type: str,
    *,
    g_idx: torch.Tensor | None = None,
    scale_format: str | None = None,
    global_scale: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """The fp32 weight matrix W [K, N] that ``gemm`` multiplies by.

    ``q``: [K, N] integer codes: 0..15 for the 4-bit types (``"u4"``, ``"u4b8"``, ``"fe2m1f"``), 0..255 for the
    8-bit ones (``"u8b128"``, ``"fe4m3fn"``). ``scales``: [groups, N], not permuted; ``groups = 1`` for
    ``group_size == -1`` (channelwise) else ``K / group_size``, and row r of ``q`` uses scale row
    ``r // group_size``. Per b_type:

    - ``"u4"`` (AWQ): ``W = (q - z) * s`` with ``zeros`` [groups, N] integer zero points in 0..15;
    - ``"u4b8"`` (GPTQ-INT4): ``W = (q - 8) * s``; ``"u8b128"`` (GPTQ-INT8): ``W = (q - 128) * s``;
    - ``"fe4m3fn"`` (FP8 weights): ``W = fp8(q) * s``, ``q`` e4m3fn bytes (:func:`fp8_e4m3fn_to_float`);
    - ``"fe2m1f"`` (FP4 weights): ``W = fp4(q) * scale`` (:func:`fp4_e2m1_to_float`), with ``scale_format``
      ``"nvfp4"``: ``scales`` are e4m3fn codes (integers 0..255 or a ``torch.float8_e4m3fn`` tensor), usually one
      per 16 rows, and ``W`` is further multiplied by ``global_scale`` (a float or a one-element tensor; ``None``
      means 1); or ``"mxfp4"``: ``scales`` are e8m0 codes (integers 0..255, ``torch.uint8`` or
      ``torch.float8_e8m0fnu``), ``scale = 2^(E - 127)``, usually one per 32 rows.

    For the other b_types ``scales`` is any float tensor (float16, bfloat16, float32, ...), ``scale_format`` and
    ``global_scale`` must be ``None``, and ``zeros`` is ``None`` except for ``"u4"``.

    ``g_idx`` (act-order, GPTQ ``desc_act``): an integer [K] tensor, the group of each row of ``q`` (checkpoint
    order); row r then uses scale (and zero point) row ``g_idx[r]``, ``scales`` may have any number of rows above
    ``max(g_idx)``, and ``group_size`` (which must not be -1, and need not divide K: a K shard) is not used for the
    lookup.
    """
    if b_type not in _B_TYPES:
        raise ValueError(f"b_type: {b_type!r} is not one of {tuple(_B_TYPES)}")
    _check_q(q, bits=_B_TYPES[b_type])
    k, n = q.shape
    if isinstance(group_size, bool) or not isinstance(group_size, int):
        raise ValueError(f"group_size: expected an int, got {group_size!r}")
    if group_size == -1:
        groups = 1
    elif group_size > 0 and (k % group_size == 0 or g_idx is not None):  # act-order K shards: groups of any size
        groups = -(-k // group_size)
    else:
        raise ValueError(f"group_size: {group_size} must be -1 or a positive divisor of K={k}")

    # How scales are read.
    if b_type == "fe2m1f":
        if scale_format not in SCALE_FORMATS:
            raise ValueError(f"scale_format: b_type 'fe2m1f' needs one of {SCALE_FORMATS}, got {scale_format!r}")
    elif scale_format is not None:
        raise ValueError(f"scale_format: must be None for b_type {b_type!r}, got {scale_format!r}")
    if global_scale is not None and scale_format != "nvfp4":
        raise ValueError(f"global_scale: only NVFP4 (scale_format 'nvfp4') has one, got it for b_type {b_type!r}")
    s_val = _scale_values(scales, scale_format)

    # Which scale row each row of q uses.
    if g_idx is not None:
        if group_size == -1:
            raise ValueError("group_size: act-order (g_idx) needs grouped scales, got -1 (channelwise)")
        if not isinstance(g_idx, torch.Tensor) or g_idx.dim() != 1 or g_idx.shape[0] != k:
            got = list(g_idx.shape) if isinstance(g_idx, torch.Tensor) else type(g_idx).__name__
            raise ValueError(f"g_idx: expected an integer tensor of shape [{k}] (one group per row of q), got {got}")
        if g_idx.dtype.is_floating_point or g_idx.dtype.is_complex or g_idx.dtype == torch.bool:
            raise ValueError(f"g_idx: expected an integer tensor, got {g_idx.dtype}")
        if s_val.dim() != 2 or s_val.shape[1] != n:
            raise ValueError(f"scales: expected shape [groups, {n}], got {tuple(scales.shape)}")
        if k and (int(g_idx.min()) < 0 or int(g_idx.max()) >= s_val.shape[0]):
            raise ValueError(f"g_idx: groups must lie in 0..{s_val.shape[0] - 1} (rows of scales)")
        rows_of = g_idx.to(device=q.device, dtype=torch.int64)
    else:
        if tuple(s_val.shape) != (groups, n):
            raise ValueError(f"scales: expected shape {(groups, n)}, got {tuple(scales.shape)}")
        rows_of = torch.arange(k, device=q.device) // (k if group_size == -1 else group_size)
    s = s_val.to(q.device).index_select(0, rows_of)  # [K, N]

    if b_type == "fe4m3fn":
        _no_zeros(zeros, b_type)
        return fp8_e4m3fn_to_float(q) * s
    if b_type == "fe2m1f":
        _no_zeros(zeros, b_type)
        w = fp4_e2m1_to_float(q) * s  # exact: 2 significant bits times at most 4 (e4m3) or 1 (e8m0)
        if global_scale is not None:
            w = w * _global_scale_value(global_scale).to(w.device)
        return w
    fixed_zero = {"u4b8": 8.0, "u8b128": 128.0}.get(b_type)
    if fixed_zero is not None:
        if zeros is not None:
            raise ValueError(f"zeros: must be None for b_type {b_type!r} (it uses the fixed zero {fixed_zero:g})")
        return (q.to(torch.float32) - fixed_zero) * s
    if zeros is None:
        raise ValueError("zeros: b_type 'u4' (AWQ) needs zero points")
    _check_q(zeros, "zeros")
    if tuple(zeros.shape) != (s_val.shape[0], n):
        raise ValueError(f"zeros: expected shape {(s_val.shape[0], n)}, got {tuple(zeros.shape)}")
    z = zeros.to(device=q.device, dtype=torch.float32).index_select(0, rows_of)
    return (q.to(torch.float32) - z) * s


# Activation dtypes of gemm: 16-bit floats, and the 8-bit kinds (INT8; FP8 e4m3fn where torch has it).
_A16_DTYPES = (torch.float16, torch.bfloat16)
_A8_DTYPES = tuple(d for d in (torch.int8, getattr(torch, "float8_e4m3fn", None)) if d is not None)


def activations_reference(a: torch.Tensor, a_scales: torch.Tensor | None = None) -> torch.Tensor:
    """The float64 activations ``A_ref`` [M, K] that ``gemm`` multiplies by W: ``A_ref[r, k] = a_scales[r] *
    value(a[r, k])``, exactly.

    ``a``: [M, K] of ``torch.float16`` or ``torch.bfloat16`` (16-bit activations), ``torch.int8`` (INT8
    activations: the integers -128..127; the kernels' callers use -127..127) or ``torch.float8_e4m3fn`` (FP8
    activations, decoded by :func:`fp8_e4m3fn_to_float`). ``a_scales``: ``None`` (1), or with 8-bit activations a
    float tensor [M] (fp32 in ``gemm``), the per-row (per-token) scales. Every value is exact in float64: an int8
    or e4m3 value (at most 8 and 4 significant bits) times an fp32 scale (24).
    """
    if not isinstance(a, torch.Tensor):
        raise TypeError(f"a: expected a torch.Tensor, got {type(a).__name__}")
    if a.dim() != 2:
        raise ValueError(f"a: expected a 2-D tensor [M, K], got shape {tuple(a.shape)}")
    if a.dtype in _A16_DTYPES or a.dtype == torch.int8:
        values = a.to(torch.float64)
    elif a.dtype in _A8_DTYPES:  # float8_e4m3fn
        values = fp8_e4m3fn_to_float(a).to(torch.float64)
    else:
        want = ", ".join(str(d) for d in _A16_DTYPES + _A8_DTYPES)
        raise ValueError(f"a: dtype must be one of {want}, got {a.dtype}")
    if a_scales is None:
        return values
    if a.dtype not in _A8_DTYPES:
        raise ValueError(f"a_scales: only 8-bit activations (int8, float8_e4m3fn) have per-row scales, a is {a.dtype}")
    if not isinstance(a_scales, torch.Tensor) or not a_scales.dtype.is_floating_point:
        got = a_scales.dtype if isinstance(a_scales, torch.Tensor) else type(a_scales).__name__
        raise ValueError(f"a_scales: expected a float tensor [{a.shape[0]}], got {got}")
    if tuple(a_scales.shape) != (a.shape[0],):
        raise ValueError(f"a_scales: expected shape ({a.shape[0]},) (one per row of a), got {tuple(a_scales.shape)}")
    return values * a_scales.to(device=a.device, dtype=torch.float64).unsqueeze(1)


def gemm_reference(
    a: torch.Tensor,
    w: torch.Tensor,
    *,
    a_scales: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """What ``ops.gemm`` computes, in float64 and without its roundings: ``C = A_ref @ W (+ bias)``, [M, N].

    ``A_ref = activations_reference(a, a_scales)``; so with INT8 or FP8 activations
    ``C[r, n] = a_scales[r] * sum_k A[r, k] * W[k, n] (+ bias[n])``, e.g. for INT8 activations and AWQ weights
    ``a_scales[r] * sum_k A[r, k] * (q[k, n] - z[g(k), n]) * s[g(k), n] + bias[n]``. ``w``: the [K, N] weight
    matrix of :func:`dequant`, in checkpoint row order (a repack's ``perm``, act-order's or ``a8_row_perm``'s,
    does not change the product). ``bias``: ``None`` or [N], added after the scales. The result is on ``a``'s
    device.
    """
    a_ref = activations_reference(a, a_scales)
    if not isinstance(w, torch.Tensor) or w.dim() != 2 or w.shape[0] != a.shape[1]:
        got = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
        raise ValueError(f"w: expected a tensor [K, N] with K = {a.shape[1]} (columns of a), got {got}")
    c = a_ref @ w.to(device=a.device, dtype=torch.float64)
    if bias is not None:
        if not isinstance(bias, torch.Tensor) or tuple(bias.shape) != (w.shape[1],):
            got = tuple(bias.shape) if isinstance(bias, torch.Tensor) else type(bias).__name__
            raise ValueError(f"bias: expected a tensor of shape ({w.shape[1]},) (one per column of w), got {got}")
        c = c + bias.to(device=a.device, dtype=torch.float64)
    return c


def _no_zeros(zeros: torch.Tensor | None, b_type: str) -> None:
    if zeros is not None:
        raise ValueError(f"zeros: must be None for b_type {b_type!r} (floating-point weights have no zero point)")


def _global_scale_value(global_scale: float | torch.Tensor) -> torch.Tensor:
    if isinstance(global_scale, torch.Tensor):
        if global_scale.numel() != 1 or not global_scale.dtype.is_floating_point:
            raise ValueError(
                f"global_scale: expected one floating-point value, got {global_scale.dtype} "
                f"of shape {list(global_scale.shape)}"
            )
        return global_scale.reshape(()).to(torch.float32)
    if isinstance(global_scale, bool) or not isinstance(global_scale, (int, float)):
        raise ValueError(f"global_scale: expected a float or a one-element tensor, got {type(global_scale).__name__}")
    return torch.tensor(float(global_scale), dtype=torch.float32)


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


def marlin_layout_reference(q: torch.Tensor, bits: int = 4, *, perm: torch.Tensor | None = None) -> torch.Tensor:
    """``q`` [K, N] -> the Marlin layout (K % 16 == 0, N % 64 == 0).

    ``perm`` (act-order): an integer [K] permutation of 0..K-1; the rows are laid out in that order, i.e. the
    result is ``marlin_layout_reference(q[perm], bits)`` (repacked row i is row ``perm[i]`` of ``q``), what
    ``repack_gptq(..., perm=perm)`` must produce.

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
    if perm is not None:
        _check_perm(perm, k)
        q = q.index_select(0, perm.to(device=q.device, dtype=torch.int64))
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


def _check_perm(perm: torch.Tensor, k: int) -> None:
    if not isinstance(perm, torch.Tensor) or perm.dim() != 1 or perm.shape[0] != k:
        got = list(perm.shape) if isinstance(perm, torch.Tensor) else type(perm).__name__
        raise ValueError(f"perm: expected an integer tensor of shape [{k}], got {got}")
    if perm.dtype.is_floating_point or perm.dtype.is_complex or perm.dtype == torch.bool:
        raise ValueError(f"perm: expected an integer tensor, got {perm.dtype}")
    if not torch.equal(torch.sort(perm.to(torch.int64)).values.cpu(), torch.arange(k)):
        raise ValueError(f"perm: must be a permutation of 0..{k - 1}")


def a8_row_perm_reference(k: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The row order the kernels with 8-bit (INT8, FP8) activations read 4-bit weights in: int32 [K] (K % 16 == 0), to
    pass as ``perm`` to :func:`marlin_layout_reference` (and to the CUDA repacks); ``ops.a8_row_perm`` must equal
    it.

    For each 16-row block b, repacked row ``16b + y`` is source row ``16b + P(y)`` with ``P(y) = 4*(y//2) + y%2``
    for ``y < 8`` and ``P(y) = 4*((y-8)//2) + 2 + y%2`` for ``y >= 8``: P = 0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7,
    10, 11, 14, 15. The Marlin layout puts rows ``2t, 2t+1, 2t+8, 2t+9`` of a block in lane ``4g + t`` (values
    v0..v3 of column n0); after P they are source rows ``4t, 4t+1, 4t+2, 4t+3``. ``device``: default CPU.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0 or k % 16:
        raise ValueError(f"k: {k!r} must be a positive multiple of 16")
    row = torch.arange(k, dtype=torch.int64, device=device)
    y = row % 16
    high = y >= 8
    yy = torch.where(high, y - 8, y)
    p = 4 * (yy // 2) + yy % 2 + 2 * high.to(torch.int64)
    return (row - y + p).to(torch.int32)


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
