"""Argument checks shared by the torch-facing functions: each raises TypeError or ValueError whose message starts
with the argument's name and says what is allowed.

The checks here read only what a FakeTensor also has (types, devices, dtypes, shapes, strides), so the custom ops'
fake implementations (:mod:`marlin_bazel._custom_ops`) run them while tracing; :func:`aligned` reads the data
pointer and is for real tensors only.
"""

from __future__ import annotations

import operator

import torch

ALIGN = 16  # bytes; every operand is read or written with 16-byte vectors


def tensor(name: str, t: object) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    return t


def cuda(name: str, t: torch.Tensor, device: torch.device | None = None) -> None:
    if t.device.type != "cuda":
        raise ValueError(f"{name}: must be a CUDA tensor, got one on {t.device}")
    if device is not None and t.device != device:
        raise ValueError(f"{name}: is on {t.device}, expected {device} (the device of a)")


def dtype(name: str, t: torch.Tensor, allowed: tuple[torch.dtype, ...], why: str = "") -> None:
    if t.dtype not in allowed:
        want = " or ".join(str(d) for d in allowed)
        raise ValueError(f"{name}: dtype must be {want}{why}, got {t.dtype}")


def layout(name: str, t: torch.Tensor, shape: tuple[int, ...] | None = None) -> None:
    """The shape (if given) and contiguity; the alignment is :func:`aligned`'s."""
    if shape is not None and tuple(t.shape) != shape:
        raise ValueError(f"{name}: expected shape {list(shape)}, got {list(t.shape)}")
    if not t.is_contiguous():
        raise ValueError(f"{name}: must be contiguous (strides {t.stride()} for shape {list(t.shape)})")


def aligned(name: str, t: torch.Tensor | None, align: int = ALIGN) -> None:
    """The data pointer's alignment (a real tensor; None passes)."""
    if t is not None and t.numel() and t.data_ptr() % align:
        raise ValueError(f"{name}: data pointer must be {align}-byte aligned")


def dims(name: str, t: torch.Tensor, ndim: int) -> None:
    if t.dim() != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D tensor, got shape {list(t.shape)}")


def kn(k: int, n: int, *, k_multiple: int, where: str) -> None:
    if k <= 0 or k % k_multiple:
        raise ValueError(f"k: {k} must be a positive multiple of {k_multiple} ({where})")
    if n <= 0 or n % 64:
        raise ValueError(f"n: {n} must be a positive multiple of 64 ({where})")


def int_arg(name: str, v: object) -> int:
    """``v`` as an int argument (anything with ``__index__`` but a bool), else a TypeError naming it."""
    if isinstance(v, bool) or not hasattr(type(v), "__index__"):
        raise TypeError(f"{name}: expected an int, got {type(v).__name__}")
    return operator.index(v)


def stream(device: torch.device) -> int:
    return torch.cuda.current_stream(device).cuda_stream


def sm_count(device: torch.device) -> int:
    return torch.cuda.get_device_properties(device).multi_processor_count


def permutation_error(name: str, perm: torch.Tensor) -> str | None:
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
