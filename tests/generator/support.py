"""Helpers shared by the generator tests: paths, running the CLI, parsing the generated files."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

# The repository root: the source tree, or the main repository's folder in Bazel's runfiles tree.
REPO_ROOT = Path(__file__).absolute().parents[2]
CATALOG_BZL = REPO_ROOT / "rules" / "private" / "catalog.bzl"
SCALAR_TYPE_HEADER = REPO_ROOT / "csrc" / "marlin" / "scalar_type.cuh"
RULE_TESTS_BZL = REPO_ROOT / "tests" / "rules" / "rule_tests.bzl"

# Each group size of a file with 16-bit float activations gives 5 m_blocks values (0.5, 1, 2, 3, 4) x 3 thread
# configs = 15 instantiations.
PER_GROUP_SIZE = 5 * 3
# 8-bit activations (INT8 s8 and FP8 e4m3) take no m_blocks 0.5: each group size gives 4 m_blocks values (1-4) x 3
# thread configs = 12.
PER_GROUP_SIZE_NO_HALF = 4 * 3
_EIGHT_BIT_ACTIVATIONS = ("s8", "fe4m3fn")


def starlark_planned_files(
    values: dict[str, Any], archs: list[str], configs: list[str] | None, all_known: bool
) -> set[str] | None:
    """rules/private/plan.bzl's plan_kernel_files in Python, from the variables of catalog.bzl (`values`): the
    files Bazel declares for valid archs and configs, or None where the rules reject the combination (a config
    that is not available or that no listed arch allows)."""
    required: dict[str, list[str]] = values["CONFIG_REQUIRED_ARCHS"]
    available: list[str] = values["KNOWN_QUANT_CONFIGS" if all_known else "IMPLEMENTED_QUANT_CONFIGS"]
    config_files: dict[str, dict[str, list[str]]] = values[
        "KNOWN_QUANT_CONFIG_FILES" if all_known else "QUANT_CONFIG_FILES"
    ]
    archs = [a.removesuffix(values["ARCH_PTX_SUFFIX"]) for a in archs]  # +PTX does not change the files
    letters = {a[-1] for a in values["ARCH_MIN_CUDA"] if a[-1].isalpha()}  # nvcc's suffixes ("a", "f")

    def base(arch: str) -> str:
        return arch[:-1] if arch[-1] in letters else arch

    bases = [base(a) for a in archs]
    if configs is None:
        configs = [c for c in available if any(b in required[c] for b in bases)]
    elif any(c not in available or not any(b in required[c] for b in bases) for c in configs):
        return None
    if all_known:  # plan.bzl's family_takes: "9.0" of a family takes "9.0a", its "9.0a" only "9.0a"
        family_archs: dict[str, list[str]] = values["FAMILY_ARCHS"]
        families = {f for f, fa in family_archs.items() if any(a in fa or base(a) in fa for a in archs)}
    else:  # plan.bzl's arch_families
        arch_families: dict[str, list[str]] = values["ARCH_FAMILIES"]
        families = {f for a in archs for f in arch_families.get(a, arch_families[base(a)])}
    out = {"kernel_selector.h"}
    for c in configs:
        for fam in families:
            out.update(config_files[c].get(fam, []))
    return out


def per_group_size(file_name: str) -> int:
    """Instantiations per group size of a kernel file `{family}_kernel_{a}_{b}_{c}.cu`: 12 for 8-bit a, else 15."""
    a = file_name.split("_")[2]
    return PER_GROUP_SIZE_NO_HALF if a in _EIGHT_BIT_ACTIVATIONS else PER_GROUP_SIZE


# What real builds generate for 8.0 (any arch >= 8.0): the sm80 files of every implemented config, one per
# (a, b, c) -> the number of group sizes the file holds, summed over the configs that write it.
# - 16-bit float activations (awq_int4, gptq_int4, gptq_int8, fp8, nvfp4, mxfp4): a = c in f16/bf16 (mixed pairs are
#   never built). nvfp4 and mxfp4 share the bf16 e2m1 file (their instantiations differ in the scale type: e4m3 vs
#   e8m0); mxfp4 has no f16 one.
# - INT8 activations (awq_int4_int8_act, gptq_int4_int8_act): a = s8, c in f16/bf16, one file per (weight, output).
KERNEL_FILE_GROUP_SIZES_8_0 = {
    "sm80_kernel_bfloat16_fe2m1f_bfloat16.cu": 1 + 1,  # nvfp4: 1; mxfp4: 2
    "sm80_kernel_bfloat16_fe4m3fn_bfloat16.cu": 2,  # fp8: -1, 8
    "sm80_kernel_bfloat16_u4_bfloat16.cu": 4,  # awq_int4: -1, 2, 4, 8
    "sm80_kernel_bfloat16_u4b8_bfloat16.cu": 5,  # gptq_int4: -1, 0 (act-order), 2, 4, 8
    "sm80_kernel_bfloat16_u8b128_bfloat16.cu": 5,  # gptq_int8: -1, 0 (act-order), 2, 4, 8
    "sm80_kernel_float16_fe2m1f_float16.cu": 1,  # nvfp4 only (mxfp4 takes bf16 activations only)
    "sm80_kernel_float16_fe4m3fn_float16.cu": 2,
    "sm80_kernel_float16_u4_float16.cu": 4,
    "sm80_kernel_float16_u4b8_float16.cu": 5,
    "sm80_kernel_float16_u8b128_float16.cu": 5,
    "sm80_kernel_s8_u4_bfloat16.cu": 4,  # awq_int4_int8_act: -1, 2, 4, 8
    "sm80_kernel_s8_u4_float16.cu": 4,
    "sm80_kernel_s8_u4b8_bfloat16.cu": 4,  # gptq_int4_int8_act: -1, 2, 4, 8 (no act-order)
    "sm80_kernel_s8_u4b8_float16.cu": 4,
}
KERNEL_FILES_8_0 = list(KERNEL_FILE_GROUP_SIZES_8_0)  # in plan order: by name
KERNEL_FILE_SIZES_8_0 = {name: n * per_group_size(name) for name, n in KERNEL_FILE_GROUP_SIZES_8_0.items()}
# 16-bit activations: awq_int4 2 (a, c) pairs x 4 group sizes, gptq_int4 and gptq_int8 2 x 5 each, fp8 2 x 2,
# nvfp4 2 x 1, mxfp4 1 x 1: 35 (pair, group size) combinations x 15 = 525 instantiations in 10 files.
BUILT_8_0_HALF_ACT = (2 * 4 + 2 * 5 + 2 * 5 + 2 * 2 + 2 * 1 + 1 * 1) * PER_GROUP_SIZE
# INT8 activations: awq_int4_int8_act and gptq_int4_int8_act 2 (a, c) pairs (s8 -> f16, s8 -> bf16) x 4 group sizes
# each: 16 combinations x 12 = 192 instantiations in 4 files.
BUILT_8_0_INT8_ACT = (2 * 4 + 2 * 4) * PER_GROUP_SIZE_NO_HALF
# 525 + 192 = 717 in 14 files: the seed's sm80 figure (notes/seed-facts.md), as every config is implemented.
BUILT_8_0 = BUILT_8_0_HALF_ACT + BUILT_8_0_INT8_ACT

# What real builds add when 7.5 is listed: the sm75 family (Turing: two stages, no bf16), so only the f16 -> f16
# file of each implemented config that has an f16 pair and the s8 -> f16 file of each INT8-activation config ->
# the group sizes that file holds. mxfp4 takes bf16 activations only: it has no sm75 file, and nvfp4 alone writes
# the f16 e2m1 file.
KERNEL_FILE_GROUP_SIZES_7_5 = {
    "sm75_kernel_float16_fe2m1f_float16.cu": 1,  # nvfp4: 1
    "sm75_kernel_float16_fe4m3fn_float16.cu": 2,  # fp8: -1, 8
    "sm75_kernel_float16_u4_float16.cu": 4,  # awq_int4: -1, 2, 4, 8
    "sm75_kernel_float16_u4b8_float16.cu": 5,  # gptq_int4: -1, 0 (act-order), 2, 4, 8
    "sm75_kernel_float16_u8b128_float16.cu": 5,  # gptq_int8: -1, 0 (act-order), 2, 4, 8
    "sm75_kernel_s8_u4_float16.cu": 4,  # awq_int4_int8_act: -1, 2, 4, 8
    "sm75_kernel_s8_u4b8_float16.cu": 4,  # gptq_int4_int8_act: -1, 2, 4, 8
}
KERNEL_FILES_7_5 = list(KERNEL_FILE_GROUP_SIZES_7_5)  # in plan order: by name
KERNEL_FILE_SIZES_7_5 = {name: n * per_group_size(name) for name, n in KERNEL_FILE_GROUP_SIZES_7_5.items()}
# One (a, c) pair (f16 -> f16) per 16-bit config: awq_int4 1 x 4 group sizes, gptq_int4 and gptq_int8 1 x 5 each,
# fp8 1 x 2, nvfp4 1 x 1, mxfp4 none: 17 (pair, group size) combinations x 15 = 255; one pair (s8 -> f16) per
# INT8-activation config: 1 x 4 each, 8 combinations x 12 = 96. 255 + 96 = 351 instantiations in 7 files: the seed's
# sm75 figure.
BUILT_7_5 = (1 * 4 + 1 * 5 + 1 * 5 + 1 * 2 + 1 * 1) * PER_GROUP_SIZE + (1 * 4 + 1 * 4) * PER_GROUP_SIZE_NO_HALF

# What real builds add when 8.9, 12.0 or 12.1 is listed: the sm89 family (FP8 e4m3 activations, four stages), one
# file per (a, b, c) with a = fe4m3fn and c in f16/bf16 (mxfp4_fp8_act: bf16 only) -> the group sizes it holds.
KERNEL_FILE_GROUP_SIZES_8_9 = {
    "sm89_kernel_fe4m3fn_fe2m1f_bfloat16.cu": 1,  # mxfp4_fp8_act: 2
    "sm89_kernel_fe4m3fn_u4_bfloat16.cu": 4,  # awq_int4_fp8_act: -1, 2, 4, 8
    "sm89_kernel_fe4m3fn_u4_float16.cu": 4,
    "sm89_kernel_fe4m3fn_u4b8_bfloat16.cu": 4,  # gptq_int4_fp8_act: -1, 2, 4, 8 (no act-order)
    "sm89_kernel_fe4m3fn_u4b8_float16.cu": 4,
}
KERNEL_FILES_8_9 = list(KERNEL_FILE_GROUP_SIZES_8_9)  # in plan order: by name
KERNEL_FILE_SIZES_8_9 = {name: n * per_group_size(name) for name, n in KERNEL_FILE_GROUP_SIZES_8_9.items()}
# awq_int4_fp8_act and gptq_int4_fp8_act 2 (a, c) pairs x 4 group sizes each, mxfp4_fp8_act 1 x 1: 17 (pair,
# group size) combinations x 12 = 204 instantiations in 5 files (the seed's sm89 figure).
BUILT_8_9 = (2 * 4 + 2 * 4 + 1 * 1) * PER_GROUP_SIZE_NO_HALF

KEY_FIELDS = (
    "a_type",
    "b_type",
    "c_type",
    "s_type",
    "threads",
    "thread_m_blocks",
    "thread_n_blocks",
    "thread_k_blocks",
    "m_block_size_8",
    "stages",
    "group_blocks",
    "is_zp_float",
    "wgmma",  # not a template argument: which kernel template (marlin_gemm_kernel_sm90 when true)
)

Key = tuple[str, ...]


def make_tmpdir() -> Path:
    """A fresh temporary folder (under Bazel's TEST_TMPDIR when there is one)."""
    return Path(tempfile.mkdtemp(prefix="gen_test_", dir=os.environ.get("TEST_TMPDIR")))


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m generator ARGS` in the repository root and capture its output."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=cwd or REPO_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def run_cli_in_process(*args: str) -> tuple[int, str, str]:
    """`python -m generator ARGS` in this process (so that a patched catalog applies): (exit status, out, err)."""
    from generator import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(list(args))
        except SystemExit as e:  # --help
            rc = e.code if isinstance(e.code, int) else 1
    return rc, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def not_implemented(*names: str) -> Iterator[None]:
    """A hypothetical catalog where the named quant configs are not implemented.

    Every real config is implemented now, so the not-implemented path (errors, help text, real builds leaving a
    config out, the Starlark export) is only reachable this way. Patches what the generator reads at call time:
    catalog.QUANT_CONFIGS, its by-name lookup and IMPLEMENTED_QUANT_CONFIGS.
    """
    from generator import catalog

    unknown = set(names) - set(catalog.KNOWN_QUANT_CONFIGS)
    if unknown:
        raise AssertionError(f"unknown quant configs {sorted(unknown)}")
    configs = tuple(dataclasses.replace(q, implemented=False) if q.name in names else q for q in catalog.QUANT_CONFIGS)
    with mock.patch.multiple(
        catalog,
        QUANT_CONFIGS=configs,
        _CONFIGS_BY_NAME={q.name: q for q in configs},
        IMPLEMENTED_QUANT_CONFIGS=tuple(q.name for q in configs if q.implemented),
    ):
        yield


def read_tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


_KERNEL = r"(?P<kernel>marlin_gemm_kernel(?:_sm90)?)"
_ARGS_RE = re.compile(r"template __global__ void " + _KERNEL + r"<(?P<args>[^>]*)>\(const GemmParams\);")
_BRANCH_RE = re.compile(r"if \((?P<cond>[^)]*)\)\s*return &" + _KERNEL + r"<(?P<args>[^>]*)>;")
_COUNT_RE = re.compile(r"inline constexpr int kBuiltInstantiations = (?P<n>-?[0-9]+);")


def _split_args(m: re.Match[str], prefix: str) -> Key:
    """The template arguments of a match, then whether the kernel is the sm90 family's (the key's last field)."""
    out = []
    for raw in m["args"].split(","):
        item = " ".join(raw.split())
        out.append(item.removeprefix(prefix))
    return (*out, "true" if m["kernel"].endswith("_sm90") else "false")


def parse_kernel_file(text: str) -> list[Key]:
    """The key (template arguments, wgmma) of every explicit instantiation in a generated .cu file."""
    return [_split_args(m, "ScalarTypeId::") for m in _ARGS_RE.finditer(text)]


def parse_selector(text: str) -> tuple[int, list[Key]]:
    """(kBuiltInstantiations, one key per branch); checks each branch returns what it tests for."""
    count = _COUNT_RE.search(text)
    if count is None:
        raise AssertionError("kBuiltInstantiations not found")
    keys: list[Key] = []
    for m in _BRANCH_RE.finditer(text):
        tested: dict[str, str] = {}
        for clause in m["cond"].split("&&"):
            lhs, rhs = (part.strip() for part in clause.split("=="))
            tested[lhs.removeprefix("key.")] = rhs.removeprefix("S::")
        if tuple(tested) != KEY_FIELDS:
            raise AssertionError(f"branch tests {tuple(tested)}, expected {KEY_FIELDS}")
        cond_key = tuple(tested[f] for f in KEY_FIELDS)
        ret_key = _split_args(m, "S::")
        if cond_key != ret_key:
            raise AssertionError(f"branch for {cond_key} returns {ret_key}")
        keys.append(cond_key)
    return int(count["n"]), keys


def key_strings(inst: object) -> Key:
    """An Instantiation's template arguments spelled as in the generated C++."""
    from generator.render import cpp_literal

    return tuple(cpp_literal(v) for v in inst.key)  # type: ignore[attr-defined]
