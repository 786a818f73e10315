"""Helpers shared by the generator tests: paths, running the CLI, parsing the generated files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# The repository root: the source tree, or the main repository's folder in Bazel's runfiles tree.
REPO_ROOT = Path(__file__).absolute().parents[2]
CATALOG_BZL = REPO_ROOT / "rules" / "private" / "catalog.bzl"
SCALAR_TYPE_HEADER = REPO_ROOT / "csrc" / "marlin" / "scalar_type.cuh"

# What real builds generate for 8.0: every implemented config (awq_int4, gptq_int4, gptq_int8), one sm80 file
# per weight type and f16/bf16, 60 instantiations each.
KERNEL_FILES_8_0 = [
    "sm80_kernel_bfloat16_u4_bfloat16.cu",
    "sm80_kernel_bfloat16_u4b8_bfloat16.cu",
    "sm80_kernel_bfloat16_u8b128_bfloat16.cu",
    "sm80_kernel_float16_u4_float16.cu",
    "sm80_kernel_float16_u4b8_float16.cu",
    "sm80_kernel_float16_u8b128_float16.cu",
]

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


def read_tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


_ARGS_RE = re.compile(r"template __global__ void marlin_gemm_kernel<(?P<args>[^>]*)>\(const GemmParams\);")
_BRANCH_RE = re.compile(r"if \((?P<cond>[^)]*)\)\s*return &marlin_gemm_kernel<(?P<args>[^>]*)>;")
_COUNT_RE = re.compile(r"inline constexpr int kBuiltInstantiations = (?P<n>-?[0-9]+);")


def _split_args(text: str, prefix: str) -> Key:
    out = []
    for raw in text.split(","):
        item = " ".join(raw.split())
        out.append(item.removeprefix(prefix))
    return tuple(out)


def parse_kernel_file(text: str) -> list[Key]:
    """The template arguments of every explicit instantiation in a generated .cu file."""
    return [_split_args(m["args"], "ScalarTypeId::") for m in _ARGS_RE.finditer(text)]


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
        ret_key = _split_args(m["args"], "S::")
        if cond_key != ret_key:
            raise AssertionError(f"branch for {cond_key} returns {ret_key}")
        keys.append(cond_key)
    return int(count["n"]), keys


def key_strings(inst: object) -> Key:
    """An Instantiation's template arguments spelled as in the generated C++."""
    from generator.render import cpp_literal

    return tuple(cpp_literal(v) for v in inst.key)  # type: ignore[attr-defined]
