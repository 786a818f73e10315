"""The library's entry points as PyTorch custom ops: ``torch.ops.marlin_bazel.*``.

Each op has a real implementation, which checks its arguments (the data pointers included) and calls the C library
through the ctypes binding (:mod:`marlin_bazel._lib`) on the current torch stream, and a fake one, which runs the
same checks but the pointer ones and gives the output's shape and dtype. So torch.compile traces a call as one
node of its graph (``fullgraph=True`` works), CUDA-graph capture records the kernels, and a bad call fails with the
same message while tracing as when run. :mod:`marlin_bazel.ops` is the documented API over these ops.

Ops (schemas: ``_GEMM_ARGS`` for the two GEMM ops, the signatures below for the others):
    gemm(a, b_q, scales, b_type, ...) -> Tensor       C = A @ dequant(B)
    gemm_out(out, a, b_q, scales, b_type, ...) -> ()  the same into ``out``
    repack_gptq(qweight, k, n, bits, perm) -> Tensor
    repack_awq(qweight, k, n, perm) -> Tensor
    permute_scales(scales) -> Tensor
    awq_zeros(qzeros, n, dtype) -> Tensor
"""

from __future__ import annotations

import inspect
import threading
from types import SimpleNamespace

import torch
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary

from . import _checks as chk
from . import _gemm_args as ga
from . import _lib

# --------------------------------------------------------------------------------------------------- workspace

_ws_lock = threading.Lock()
_workspaces: dict[tuple[int, int], Tensor] = {}
# User workspaces already zeroed by a call (held weakly: a tensor freed and its memory reused is a new one).
_zeroed: WeakIdKeyDictionary = WeakIdKeyDictionary()


def default_workspace(device: torch.device, stream: int, sm_count: int) -> Tensor:
    """The workspace of calls that pass none: one per (device, stream), zeroed when made (sized for sm_count
    multiprocessors). ``device`` has its index, as a tensor's device has; ``stream`` is the handle the call runs on.

    Kernels leave its tile counters at zero (the rest is scratch), so it is reused as is by the stream's next call;
    calls on other streams, which may overlap, get their own. Each is kept for the life of the process (a stream's
    handle may be reused by a later stream, which then takes it over). A CUDA graph captures on its own stream, so
    graphs captured there share one: replays of such graphs on different streams at once need workspaces passed.
    """
    key = (device.index, stream)
    ws = _workspaces.get(key)
    if ws is None:
        with _ws_lock:
            ws = _workspaces.get(key)
            if ws is None:
                size = _lib.get().workspace_bytes(sm_count)
                ws = torch.zeros(max(size, 1), dtype=torch.uint8, device=device)
                _workspaces[key] = ws
    return ws


def zeroed_once(workspace: Tensor) -> Tensor:
    """A user's workspace, zeroed (on the current stream) the first time a call gets it: one from ``torch.empty``
    works. Kernels leave it zeroed for the next call."""
    if workspace not in _zeroed:
        with _ws_lock:
            if workspace not in _zeroed:
                workspace.zero_()
                _zeroed[workspace] = True
    return workspace


# -------------------------------------------------------------------------------------------------------- gemm


_GEMM_PARAMS = inspect.signature(ga.check_gemm)


def _run_gemm(out: Tensor | None, *args: object, **kwargs: object) -> Tensor:
    """The real implementation of ``gemm`` (``out`` None) and ``gemm_out``: the arguments as ``gemm_out`` takes
    them."""
    lib, gemm_args, out, scratch = _gemm_call(out, *args, **kwargs)
    with torch.cuda.device(out.device):
        lib.gemm(gemm_args)
    del scratch  # (held until the launch is enqueued: the kernels write it)
    return out


def gemm_plan(*args: object, **kwargs: object) -> str:
    """:func:`marlin_bazel.ops.gemm_plan`: ``marlin_gemm_plan`` for the arguments of ``gemm``. Not a custom op:
    it returns text, and launches nothing."""
    lib, gemm_args, out, _ = _gemm_call(None, *args, **kwargs)
    with torch.cuda.device(out.device):
        return lib.gemm_plan(gemm_args)


def _gemm_call(
    out: Tensor | None, *args: object, **kwargs: object
) -> tuple[_lib.Library, _lib.MarlinGemmArgs, Tensor, Tensor | None]:
    """Checks the arguments as ``gemm_out`` takes them and makes the C call's: the library, its arguments, the
    output (allocated when ``out`` is None) and act-order's scratch for A's permuted columns, which the caller
    must hold until the call is enqueued (the arguments keep only its address)."""
    bound = _GEMM_PARAMS.bind(out, *args, **kwargs)
    bound.apply_defaults()
    call = ga.check_gemm(**bound.arguments)
    p = SimpleNamespace(**bound.arguments)
    for name, t in (("a", p.a), ("b_q", p.b_q), ("scales", p.scales), ("zeros", p.zeros), ("bias", p.bias)):
        chk.aligned(name, t)
    chk.aligned("out", out)
    chk.aligned("a_scales", p.a_scales, 4)  # read as scalars: fp32 alignment suffices
    chk.aligned("act_order.perm", p.perm)
    chk.aligned("act_order.g_idx_sorted", p.g_idx_sorted)
    chk.aligned("workspace", p.workspace)

    lib = _lib.get()
    device = call.device
    sm_count = chk.sm_count(device)
    stream = chk.stream(device)
    workspace = p.workspace
    if workspace is None:
        workspace = default_workspace(device, stream, sm_count)
    else:
        need = lib.workspace_bytes(sm_count)
        if workspace.numel() < need:
            raise ValueError(f"workspace: {workspace.numel()} bytes, need at least {need} (workspace_bytes())")
        zeroed_once(workspace)
    act_order = p.perm is not None
    a_perm = torch.empty((call.m, call.k), dtype=p.a.dtype, device=device) if act_order else None
    if out is None:
        out = torch.empty((call.m, call.n), dtype=call.c_dtype, device=device)

    def ptr(t: Tensor | None) -> int | None:
        return t.data_ptr() if t is not None else None

    args = _lib.MarlinGemmArgs(
        a=p.a.data_ptr(),
        b_q=p.b_q.data_ptr(),
        scales=p.scales.data_ptr(),
        zeros=ptr(p.zeros),
        c=out.data_ptr(),
        workspace=workspace.data_ptr(),
        workspace_bytes=workspace.numel(),
        m=call.m,
        n=call.n,
        k=call.k,
        lda=call.k,
        ldc=call.n,
        group_size=p.group_size,
        a_type=call.a_type,
        b_type=call.b_type,
        c_type=call.c_type,
        s_type=call.s_type,
        sm_count=sm_count,
        stream=stream or None,
        bias=ptr(p.bias),
        global_scale=ptr(p.global_scale),
        perm=ptr(p.perm),
        g_idx_sorted=ptr(p.g_idx_sorted),
        a_perm=ptr(a_perm),
        is_k_full=int(p.is_k_full) if act_order else 0,
        force_thread_k=p.thread_k,
        force_thread_n=p.thread_n,
        force_blocks_per_sm=p.blocks_per_sm,
        a_scales=ptr(p.a_scales),
    )
    return lib, args, out, a_perm


# The arguments gemm and gemm_out (after its out) take, in the order and with the defaults of check_gemm (a CPU test
# holds the two together). Act-order comes as perm, g_idx_sorted, is_k_full and num_groups (0: none), the thread
# config as thread_k, thread_n (0, 0: the launcher's choice). The workspace is not declared mutated: a call writes
# scratch into it and leaves it as it found it (counters at zero), and on one stream calls on it never overlap.
# (torch 2.11 also fails on a mutated optional argument left at its default: an index past the arguments given.)
_GEMM_ARGS = (
    "Tensor a, Tensor b_q, Tensor scales, str b_type, Tensor? zeros=None, SymInt group_size=-1, "
    "Tensor? workspace=None, Tensor? bias=None, Tensor? global_scale=None, Tensor? perm=None, "
    "Tensor? g_idx_sorted=None, bool is_k_full=False, SymInt num_groups=0, SymInt thread_k=0, SymInt thread_n=0, "
    "SymInt blocks_per_sm=0, Tensor? a_scales=None, ScalarType? out_dtype=None"
)


@torch.library.custom_op("marlin_bazel::gemm", mutates_args=(), schema=f"({_GEMM_ARGS}) -> Tensor")
def gemm(*args: object, **kwargs: object) -> Tensor:
    """:func:`marlin_bazel.ops.gemm`, with the arguments of ``_GEMM_ARGS``."""
    return _run_gemm(None, *args, **kwargs)


@gemm.register_fake
def _gemm_fake(*args: object, **kwargs: object) -> Tensor:
    call = ga.check_gemm(None, *args, **kwargs)
    return torch.empty((call.m, call.n), dtype=call.c_dtype, device=call.device)


@torch.library.custom_op(
    "marlin_bazel::gemm_out", mutates_args=("out",), schema=f"(Tensor(a!) out, {_GEMM_ARGS}) -> ()"
)
def gemm_out(out: Tensor, *args: object, **kwargs: object) -> None:
    """:func:`gemm` into ``out``."""
    _run_gemm(out, *args, **kwargs)


@gemm_out.register_fake
def _gemm_out_fake(*args: object, **kwargs: object) -> None:
    ga.check_gemm(*args, **kwargs)


# ------------------------------------------------------------------------------------------------------ repack


def _check_repack_gptq(qweight: Tensor, k: int, n: int, bits: int, perm: Tensor | None) -> None:
    if bits not in ga.GPTQ_BITS:
        raise ValueError(f"bits: {bits!r} is not one of {list(ga.GPTQ_BITS)}")
    chk.kn(k, n, k_multiple=16, where="repack_gptq")
    chk.cuda("qweight", qweight)
    chk.dtype("qweight", qweight, (torch.int32,))
    chk.dims("qweight", qweight, 2)
    per_word = 32 // bits
    if tuple(qweight.shape) != (k // per_word, n):
        raise ValueError(
            f"qweight: expected shape {[k // per_word, n]} ([k/{per_word}, n], {bits}-bit GPTQ packing for "
            f"k = {k}, n = {n}), got {list(qweight.shape)}"
        )
    chk.layout("qweight", qweight)
    _check_row_perm(perm, k, qweight.device)


def _check_row_perm(perm: Tensor | None, k: int, device: torch.device) -> None:
    """A repack's ``perm``: None, or an int32 [k] CUDA tensor on ``device`` (whether it is a permutation is the
    real implementation's to check: it reads the values)."""
    if perm is not None:
        chk.cuda("perm", perm, device)
        chk.dtype("perm", perm, (torch.int32,))
        chk.layout("perm", perm, (k,))


def _row_perm_ptr(perm: Tensor | None) -> int | None:
    """``perm``'s pointer after checking that it is a permutation of 0..k-1 (one device synchronization)."""
    if perm is None:
        return None
    chk.aligned("perm", perm)
    error = chk.permutation_error("perm", perm)
    if error:
        raise ValueError(error)
    return perm.data_ptr()


@torch.library.custom_op("marlin_bazel::repack_gptq", mutates_args=())
def repack_gptq(qweight: Tensor, k: int, n: int, bits: int = 4, perm: Tensor | None = None) -> Tensor:
    """:func:`marlin_bazel.ops.repack_gptq`."""
    _check_repack_gptq(qweight, k, n, bits, perm)
    chk.aligned("qweight", qweight)
    perm_ptr = _row_perm_ptr(perm)
    out = torch.empty((k // 16, (bits // 2) * n), dtype=torch.int32, device=qweight.device)
    with torch.cuda.device(qweight.device):
        _lib.get().repack_gptq(
            qweight.data_ptr(), out.data_ptr(), k, n, bits, chk.stream(qweight.device), perm=perm_ptr
        )
    return out


@repack_gptq.register_fake
def _repack_gptq_fake(qweight: Tensor, k: int, n: int, bits: int = 4, perm: Tensor | None = None) -> Tensor:
    _check_repack_gptq(qweight, k, n, bits, perm)
    return qweight.new_empty((k // 16, (bits // 2) * n))


def _check_repack_awq(qweight: Tensor, k: int, n: int, perm: Tensor | None) -> None:
    chk.kn(k, n, k_multiple=16, where="repack_awq")
    chk.cuda("qweight", qweight)
    chk.dtype("qweight", qweight, (torch.int32,))
    chk.layout("qweight", qweight, (k, n // 8))
    _check_row_perm(perm, k, qweight.device)


@torch.library.custom_op("marlin_bazel::repack_awq", mutates_args=())
def repack_awq(qweight: Tensor, k: int, n: int, perm: Tensor | None = None) -> Tensor:
    """:func:`marlin_bazel.ops.repack_awq`."""
    _check_repack_awq(qweight, k, n, perm)
    chk.aligned("qweight", qweight)
    perm_ptr = _row_perm_ptr(perm)
    out = torch.empty((k // 16, 2 * n), dtype=torch.int32, device=qweight.device)
    with torch.cuda.device(qweight.device):
        _lib.get().repack_awq(qweight.data_ptr(), out.data_ptr(), k, n, 4, chk.stream(qweight.device), perm=perm_ptr)
    return out


@repack_awq.register_fake
def _repack_awq_fake(qweight: Tensor, k: int, n: int, perm: Tensor | None = None) -> Tensor:
    _check_repack_awq(qweight, k, n, perm)
    return qweight.new_empty((k // 16, 2 * n))


def _check_permute_scales(scales: Tensor) -> None:
    chk.cuda("scales", scales)
    chk.dims("scales", scales, 2)
    chk.dtype("scales", scales, (*ga.DTYPES, *ga.BYTE_SCALE_DTYPES))
    groups, n = scales.shape
    if groups < 1:
        raise ValueError("scales: needs at least one row (group)")
    if n == 0 or n % 64:
        raise ValueError(f"scales: n = {n} must be a positive multiple of 64")
    chk.layout("scales", scales)


@torch.library.custom_op("marlin_bazel::permute_scales", mutates_args=())
def permute_scales(scales: Tensor) -> Tensor:
    """:func:`marlin_bazel.ops.permute_scales`."""
    _check_permute_scales(scales)
    chk.aligned("scales", scales)
    groups, n = scales.shape
    out = torch.empty_like(scales)
    with torch.cuda.device(scales.device):
        _lib.get().permute_scales(
            scales.data_ptr(), out.data_ptr(), groups, n, scales.element_size(), chk.stream(scales.device)
        )
    return out


@permute_scales.register_fake
def _permute_scales_fake(scales: Tensor) -> Tensor:
    _check_permute_scales(scales)
    return torch.empty_like(scales)


def _check_awq_zeros(qzeros: Tensor, n: int, dtype: torch.dtype) -> None:
    if dtype not in ga.DTYPES:
        raise ValueError(f"dtype: must be torch.float16 or torch.bfloat16, got {dtype}")
    if n <= 0 or n % 64:
        raise ValueError(f"n: {n} must be a positive multiple of 64")
    chk.cuda("qzeros", qzeros)
    chk.dims("qzeros", qzeros, 2)
    chk.dtype("qzeros", qzeros, (torch.int32,))
    if qzeros.shape[0] < 1:
        raise ValueError("qzeros: needs at least one row (group)")
    chk.layout("qzeros", qzeros, (qzeros.shape[0], n // 8))


@torch.library.custom_op("marlin_bazel::awq_zeros", mutates_args=())
def awq_zeros(qzeros: Tensor, n: int, dtype: torch.dtype) -> Tensor:
    """:func:`marlin_bazel.ops.awq_zeros`."""
    _check_awq_zeros(qzeros, n, dtype)
    chk.aligned("qzeros", qzeros)
    groups = qzeros.shape[0]
    out = torch.empty((groups, n), dtype=dtype, device=qzeros.device)
    with torch.cuda.device(qzeros.device):
        _lib.get().awq_zeros(qzeros.data_ptr(), out.data_ptr(), groups, n, ga.DTYPES[dtype], chk.stream(qzeros.device))
    return out


@awq_zeros.register_fake
def _awq_zeros_fake(qzeros: Tensor, n: int, dtype: torch.dtype) -> Tensor:
    _check_awq_zeros(qzeros, n, dtype)
    return qzeros.new_empty((qzeros.shape[0], n), dtype=dtype)
