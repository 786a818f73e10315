"""ctypes binding of the marlin-bazel C API (``csrc/include/marlin/marlin.h``).

This module needs no torch: pointers are plain ``int`` addresses and streams are ``cudaStream_t`` handles as
``int`` (0 or ``None`` for the default stream). :mod:`marlin_bazel.ops` builds the torch-facing API on top.

The library is found, in order, at the path in the environment variable ``MARLIN_LIB``, else as
``libmarlin.so`` next to this package. It is loaded on first use, once per process.
"""

from __future__ import annotations

import ctypes
import enum
import os
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "ENV_VAR",
    "LIB_NAME",
    "Library",
    "LibraryNotFoundError",
    "MarlinError",
    "MarlinGemmArgs",
    "ScalarType",
    "Status",
    "get",
    "library_path",
]

ENV_VAR = "MARLIN_LIB"
LIB_NAME = "libmarlin.so"
_ERR_LEN = 1024


class Status(enum.IntEnum):
    """``marlin_status``."""

    OK = 0
    INVALID_ARGUMENT = 1  # a shape, pointer, alignment or type that the API never accepts
    NOT_BUILT = 2  # valid, but this library holds no kernel for it (quant config or arch)
    CUDA = 3  # the CUDA runtime reported an error


class ScalarType(enum.IntEnum):
    """``marlin_scalar_type`` (numbered as ``marlin::ScalarTypeId``)."""

    FLOAT16 = 0
    BFLOAT16 = 1
    S8 = 2  # INT8 activations
    FE4M3FN = 3  # FP8 e4m3: weights, activations, NVFP4 scales
    U4 = 4  # AWQ-INT4: (q - zero) * scale
    U4B8 = 5  # GPTQ-INT4: (q - 8) * scale
    U8B128 = 6  # GPTQ-INT8: (q - 128) * scale
    FE2M1F = 7
    FE8M0FNU = 8


class MarlinError(RuntimeError):
    """A C API call returned a status other than ``MARLIN_OK``.

    ``code`` is the raw status (compare with :class:`Status`), ``message`` the text the library wrote, which
    names the bad argument.
    """

    def __init__(self, code: int, message: str) -> None:
        self.code = int(code)
        self.message = message
        try:
            label = f"MARLIN_ERR_{Status(self.code).name}"
        except ValueError:
            label = f"status {self.code}"
        super().__init__(f"{message} ({label})" if message else label)

    def __reduce__(self) -> tuple[type[MarlinError], tuple[int, str]]:
        return (MarlinError, (self.code, self.message))


class LibraryNotFoundError(OSError):
    """``libmarlin.so`` is not where ``MARLIN_LIB`` or the package directory says."""


# Mirrors marlin_gemm_args field by field; tests/gpu/test_abi_cpu.py compares offsets and size with the
# header via gcc. Enums are int-sized (all values are small and non-negative).
class MarlinGemmArgs(ctypes.Structure):
    """``marlin_gemm_args``; pointers are integer device addresses (``None`` for NULL)."""

    _fields_ = [
        ("a", ctypes.c_void_p),  # [m, k] activations, row stride lda elements, a_type (S8, FE4M3FN: lda % 16 == 0)
        ("b_q", ctypes.c_void_p),  # [k/16, 2n] int32 (U4, U4B8, FE2M1F) or [k/16, 4n] (U8B128, FE4M3FN), Marlin layout
        ("scales", ctypes.c_void_p),  # [groups, n] s_type, permuted; groups = 1, k/group_size or act-order groups
        ("zeros", ctypes.c_void_p),  # [k/group_size, n] s_type, permuted; U4 only, else NULL
        ("c", ctypes.c_void_p),  # [m, n] output, row stride ldc elements, c_type
        ("workspace", ctypes.c_void_p),  # marlin_workspace_bytes(sm_count) bytes, zeroed once
        ("workspace_bytes", ctypes.c_size_t),
        ("m", ctypes.c_int64),
        ("n", ctypes.c_int64),
        ("k", ctypes.c_int64),
        ("lda", ctypes.c_int64),  # 0 means k
        ("ldc", ctypes.c_int64),  # 0 means n
        ("group_size", ctypes.c_int64),  # -1 channelwise, else 16 (NVFP4), 32, 64 or 128
        ("a_type", ctypes.c_int),
        ("b_type", ctypes.c_int),
        ("c_type", ctypes.c_int),
        ("s_type", ctypes.c_int),
        ("sm_count", ctypes.c_int),  # 0 = all of the current device
        ("stream", ctypes.c_void_p),  # cudaStream_t; NULL = default stream
        ("bias", ctypes.c_void_p),  # [n] c_type added to every row of C, or NULL
        ("global_scale", ctypes.c_void_p),  # const float*: one fp32 on the device (NVFP4 only), NULL means 1
        # Act-order (GPTQ desc_act, U4B8 and U8B128 only); perm NULL means none.
        ("perm", ctypes.c_void_p),  # const int32_t* [k]: repacked row i is checkpoint row perm[i]
        ("g_idx_sorted", ctypes.c_void_p),  # const int32_t* [k]: group of repacked row i; required unless is_k_full
        ("a_perm", ctypes.c_void_p),  # [m, k] a_type scratch for A's columns in perm order
        ("is_k_full", ctypes.c_int),  # nonzero: groups of exactly group_size consecutive repacked rows
        ("force_thread_k", ctypes.c_int),  # tuning: (thread_k, thread_n) of the thread config; 0, 0 = launcher's
        ("force_thread_n", ctypes.c_int),
        ("force_blocks_per_sm", ctypes.c_int),  # tuning: 1 or 2 blocks per multiprocessor; 0 = launcher's choice
        # const float* [m]: 8-bit activations (a_type S8 or FE4M3FN) only: per-row scales of A that multiply C's
        # rows; NULL means 1. Must be NULL for 16-bit activations.
        ("a_scales", ctypes.c_void_p),
    ]


_ERR_BUF = ctypes.POINTER(ctypes.c_char)


def library_path() -> Path:
    """Where the library is looked for: ``$MARLIN_LIB``, else ``libmarlin.so`` next to this package."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parent / LIB_NAME


class Library:
    """One loaded copy of the C library, with typed wrappers that raise :class:`MarlinError`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise LibraryNotFoundError(
                f"marlin library not found at {self.path}: set {ENV_VAR} to the shared library built from "
                f"//csrc:marlin, or put {LIB_NAME} next to the marlin_bazel package"
            )
        dll = ctypes.CDLL(str(self.path))
        self._dll = dll
        status = ctypes.c_int
        i64 = ctypes.c_int64
        vp = ctypes.c_void_p
        sz = ctypes.c_size_t
        dll.marlin_gemm.argtypes = [ctypes.POINTER(MarlinGemmArgs), _ERR_BUF, sz]
        dll.marlin_gemm.restype = status
        dll.marlin_workspace_bytes.argtypes = [ctypes.c_int]
        dll.marlin_workspace_bytes.restype = sz
        dll.marlin_repack_gptq.argtypes = [vp, vp, vp, i64, i64, ctypes.c_int, vp, _ERR_BUF, sz]
        dll.marlin_repack_gptq.restype = status
        dll.marlin_repack_awq.argtypes = [vp, vp, vp, i64, i64, ctypes.c_int, vp, _ERR_BUF, sz]
        dll.marlin_repack_awq.restype = status
        dll.marlin_permute_scales.argtypes = [vp, vp, i64, i64, ctypes.c_int, vp, _ERR_BUF, sz]
        dll.marlin_permute_scales.restype = status
        dll.marlin_awq_zeros.argtypes = [vp, vp, i64, i64, ctypes.c_int, vp, _ERR_BUF, sz]
        dll.marlin_awq_zeros.restype = status
        dll.marlin_check_act_order.argtypes = [vp, vp, i64, i64, i64, ctypes.c_int, vp, _ERR_BUF, sz]
        dll.marlin_check_act_order.restype = status
        dll.marlin_built_kernel_count.argtypes = []
        dll.marlin_built_kernel_count.restype = ctypes.c_int

    def __repr__(self) -> str:
        return f"Library({str(self.path)!r})"

    @staticmethod
    def _call(fn: Callable[..., int], *args: object) -> None:
        err = ctypes.create_string_buffer(_ERR_LEN)
        code = fn(*args, err, _ERR_LEN)
        if code != Status.OK:
            raise MarlinError(code, err.value.decode("utf-8", errors="replace"))

    def gemm(self, args: MarlinGemmArgs) -> None:
        """``marlin_gemm``: C = A @ dequant(B), asynchronous on ``args.stream``."""
        self._call(self._dll.marlin_gemm, ctypes.byref(args))

    def gemm_plan(self, args: MarlinGemmArgs) -> str:
        """``marlin_gemm_plan``: what ``marlin_gemm`` would launch for ``args``, as ``key=value`` fields."""
        fn = getattr(self._dll, "marlin_gemm_plan", None)
        if fn is None:  # (bound here, not in __init__, so that older libraries still load for everything else)
            raise MarlinError(Status.NOT_BUILT, f"{self.path} has no marlin_gemm_plan: rebuild it from this version")
        fn.argtypes = [ctypes.POINTER(MarlinGemmArgs), ctypes.c_char_p, ctypes.c_size_t, _ERR_BUF, ctypes.c_size_t]
        fn.restype = ctypes.c_int
        text = ctypes.create_string_buffer(_ERR_LEN)
        self._call(fn, ctypes.byref(args), text, _ERR_LEN)
        return text.value.decode("utf-8", errors="replace")

    def workspace_bytes(self, sm_count: int) -> int:
        """``marlin_workspace_bytes``: workspace size for ``sm_count`` multiprocessors (0 = current device)."""
        return int(self._dll.marlin_workspace_bytes(int(sm_count)))

    def repack_gptq(
        self, src: int, dst: int, k: int, n: int, num_bits: int, stream: int | None, *, perm: int | None = None
    ) -> None:
        """``marlin_repack_gptq``: int32 [k/8, n] (``num_bits`` 4) or [k/4, n] (8) at ``src`` -> Marlin layout
        [k/16, 2n] or [k/16, 4n] at ``dst``. ``perm``: address of an int32 [k] act-order row order (repacked row i
        is source row perm[i]), or ``None``/0 for none. (The C function takes ``perm`` second; it is keyword-only
        here so that calls written before it existed keep their meaning.)"""
        self._call(self._dll.marlin_repack_gptq, src, perm or None, dst, k, n, num_bits, stream or None)

    def repack_awq(
        self, src: int, dst: int, k: int, n: int, num_bits: int, stream: int | None, *, perm: int | None = None
    ) -> None:
        """``marlin_repack_awq``: int32 [k, n/8] (AWQ order) at ``src`` -> Marlin layout [k/16, 2n] at ``dst``.
        ``perm``: address of an int32 [k] row order (repacked row i is source row perm[i]; e.g. the 16-row block
        permutation that kernels with 8-bit activations read), or ``None``/0 for none. (Keyword-only, as in
        :meth:`repack_gptq`; the C function takes it second.)"""
        self._call(self._dll.marlin_repack_awq, src, perm or None, dst, k, n, num_bits, stream or None)

    def permute_scales(self, src: int, dst: int, groups: int, n: int, elem_bytes: int, stream: int | None) -> None:
        """``marlin_permute_scales``: [groups, n] values of ``elem_bytes`` (2: f16/bf16, 1: e4m3/e8m0) -> the
        kernel's column order."""
        self._call(self._dll.marlin_permute_scales, src, dst, groups, n, elem_bytes, stream or None)

    def awq_zeros(self, src: int, dst: int, groups: int, n: int, s_type: int, stream: int | None) -> None:
        """``marlin_awq_zeros``: int32 [groups, n/8] -> [groups, n] of ``s_type`` in the kernel's order."""
        self._call(self._dll.marlin_awq_zeros, src, dst, groups, n, int(s_type), stream or None)

    def check_act_order(
        self,
        perm: int,
        g_idx_sorted: int,
        k: int,
        num_groups: int,
        group_size: int,
        is_k_full: bool,
        stream: int | None,
    ) -> None:
        """``marlin_check_act_order``: int32 [k] ``perm`` a permutation of 0..k-1, int32 [k] ``g_idx_sorted`` in
        [0, num_groups) (and == i // group_size with ``is_k_full``), checked on the device; waits for ``stream``."""
        self._call(
            self._dll.marlin_check_act_order,
            perm,
            g_idx_sorted or None,
            k,
            num_groups,
            group_size,
            int(is_k_full),
            stream or None,
        )

    def built_kernel_count(self) -> int:
        """``marlin_built_kernel_count``: kernel instantiations built into this library."""
        return int(self._dll.marlin_built_kernel_count())


_lock = threading.Lock()
_default: Library | None = None


def get() -> Library:
    """The process-wide library at :func:`library_path`, loaded on first call."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = Library(library_path())
    return _default
