"""CPU tests of the ctypes binding (marlin_bazel._lib) against csrc/include/marlin/marlin.h, with gcc.

1. A tiny C program prints sizeof/offsetof of every marlin_gemm_args field and the enum values; they must equal
   the ctypes Structure's and the Python enums'.
2. A stub library compiled from the header (no CUDA) implements every C API function by echoing its arguments
   into the error message; loading it through marlin_bazel._lib.Library checks argument passing, the status ->
   MarlinError path and the message text end to end.

Needs gcc (fails without it: the C compiler is part of the toolchain); needs no torch and no GPU.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import unittest.mock
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT / "python") not in sys.path:
    sys.path.insert(0, str(_ROOT / "python"))

from marlin_bazel import _lib, _provenance

INCLUDE = _ROOT / "csrc" / "include"
GCC = shutil.which("gcc") or shutil.which("cc")

FIELDS = [name for name, _ in _lib.MarlinGemmArgs._fields_]

LAYOUT_C = r"""
#include <stddef.h>
#include <stdio.h>
#include "marlin/marlin.h"
#define F(name) printf("%s %zu %zu\n", #name, offsetof(marlin_gemm_args, name), sizeof(((marlin_gemm_args*)0)->name));
#define E(name) printf("enum %s %d\n", #name, (int)name);
int main(void) {
  printf("sizeof %zu\n", sizeof(marlin_gemm_args));
  printf("alignof %zu\n", _Alignof(marlin_gemm_args));
  printf("enumsize %zu %zu\n", sizeof(marlin_status), sizeof(marlin_scalar_type));
  FIELDS
  E(MARLIN_OK) E(MARLIN_ERR_INVALID_ARGUMENT) E(MARLIN_ERR_NOT_BUILT) E(MARLIN_ERR_CUDA)
  E(MARLIN_TYPE_FLOAT16) E(MARLIN_TYPE_BFLOAT16) E(MARLIN_TYPE_S8) E(MARLIN_TYPE_FE4M3FN) E(MARLIN_TYPE_U4)
  E(MARLIN_TYPE_U4B8) E(MARLIN_TYPE_U8B128) E(MARLIN_TYPE_FE2M1F) E(MARLIN_TYPE_FE8M0FNU)
  return 0;
}
"""

# Each function echoes what it received; marlin_gemm succeeds when m == 42 (to test the OK path).
STUB_C = r"""
#include <stdio.h>
#include "marlin/marlin.h"
marlin_status marlin_gemm(const marlin_gemm_args* a, char* err, size_t err_len) {
  if (a->m == 42) return MARLIN_OK;
  if (err_len > 0)
    snprintf(err, err_len,
             "a=%p b_q=%p scales=%p zeros=%p c=%p workspace=%p workspace_bytes=%zu m=%lld n=%lld k=%lld "
             "lda=%lld ldc=%lld group_size=%lld a_type=%d b_type=%d c_type=%d s_type=%d sm_count=%d stream=%p "
             "bias=%p global_scale=%p perm=%p g_idx_sorted=%p a_perm=%p is_k_full=%d force=%d,%d,%d a_scales=%p",
             a->a, a->b_q, a->scales, a->zeros, a->c, a->workspace, a->workspace_bytes, (long long)a->m,
             (long long)a->n, (long long)a->k, (long long)a->lda, (long long)a->ldc, (long long)a->group_size,
             (int)a->a_type, (int)a->b_type, (int)a->c_type, (int)a->s_type, a->sm_count, a->stream, a->bias,
             (const void*)a->global_scale, (const void*)a->perm, (const void*)a->g_idx_sorted, a->a_perm,
             a->is_k_full, a->force_thread_k, a->force_thread_n, a->force_blocks_per_sm, (const void*)a->a_scales);
  return MARLIN_ERR_INVALID_ARGUMENT;
}
size_t marlin_workspace_bytes(int sm_count) { return (size_t)sm_count * 1000u + 7u + ((size_t)1 << 33); }
marlin_status marlin_repack_gptq(const int32_t* in, const int32_t* perm, int32_t* out, int64_t k, int64_t n,
                                 int num_bits, void* stream, char* err, size_t err_len) {
  snprintf(err, err_len, "gptq in=%p perm=%p out=%p k=%lld n=%lld bits=%d stream=%p", (const void*)in,
           (const void*)perm, (void*)out, (long long)k, (long long)n, num_bits, stream);
  return MARLIN_ERR_NOT_BUILT;
}
marlin_status marlin_repack_awq(const int32_t* in, const int32_t* perm, int32_t* out, int64_t k, int64_t n,
                                int num_bits, void* stream, char* err, size_t err_len) {
  snprintf(err, err_len, "awq in=%p perm=%p out=%p k=%lld n=%lld bits=%d stream=%p", (const void*)in,
           (const void*)perm, (void*)out, (long long)k, (long long)n, num_bits, stream);
  return MARLIN_ERR_CUDA;
}
marlin_status marlin_permute_scales(const void* in, void* out, int64_t groups, int64_t n, int elem_bytes,
                                    void* stream, char* err, size_t err_len) {
  snprintf(err, err_len, "scales in=%p out=%p groups=%lld n=%lld elem=%d stream=%p", in, out, (long long)groups,
           (long long)n, elem_bytes, stream);
  return MARLIN_ERR_INVALID_ARGUMENT;
}
marlin_status marlin_awq_zeros(const int32_t* in, void* out, int64_t groups, int64_t n,
                               marlin_scalar_type s_type, void* stream, char* err, size_t err_len) {
  snprintf(err, err_len, "zeros in=%p out=%p groups=%lld n=%lld s_type=%d stream=%p", (const void*)in, out,
           (long long)groups, (long long)n, (int)s_type, stream);
  return (marlin_status)7;
}
marlin_status marlin_check_act_order(const int32_t* perm, const int32_t* g_idx_sorted, int64_t k, int64_t num_groups,
                                     int64_t group_size, int is_k_full, void* stream, char* err, size_t err_len) {
  snprintf(err, err_len, "act_order perm=%p g_idx_sorted=%p k=%lld groups=%lld group_size=%lld full=%d stream=%p",
           (const void*)perm, (const void*)g_idx_sorted, (long long)k, (long long)num_groups, (long long)group_size,
           is_k_full, stream);
  return MARLIN_ERR_INVALID_ARGUMENT;
}
int marlin_built_kernel_count(void) { return 240; }
// m == 42: a plan of m, n, k and the forced config, written into plan; else an error naming m.
marlin_status marlin_gemm_plan(const marlin_gemm_args* a, char* plan, size_t plan_len, char* err, size_t err_len) {
  if (a->m != 42) {
    snprintf(err, err_len, "plan m=%lld", (long long)a->m);
    return MARLIN_ERR_NOT_BUILT;
  }
  snprintf(plan, plan_len, "family=sm80 m=%lld n=%lld k=%lld thread_k=%d", (long long)a->m, (long long)a->n,
           (long long)a->k, a->force_thread_k);
  return MARLIN_OK;
}
"""

# A library built before marlin_gemm_plan: everything else must still work with it.
OLD_STUB_C = STUB_C[: STUB_C.index("// m == 42: a plan")]


def _compile(tmp: Path, source: str, name: str, *extra: str) -> Path:
    src = tmp / f"{name}.c"
    src.write_text(source)
    out = tmp / name
    if GCC is None:
        raise AssertionError("gcc (or cc) must be on PATH to compile the ABI probes")
    cmd = [GCC, "-std=c11", "-Wall", "-Werror", "-I", str(INCLUDE), *extra, str(src), "-o", str(out)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if proc.returncode:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return out


def _ptr(value: int) -> str:
    # glibc prints a non-NULL void* as 0x<hex> and NULL as (nil).
    return hex(value) if value else "(nil)"


class LayoutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls._tmp = tempfile.TemporaryDirectory()
        fields = " ".join(f"F({name})" for name in FIELDS)
        exe = _compile(Path(cls._tmp.name), LAYOUT_C.replace("FIELDS", fields), "layout")
        cls.lines = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines()

    @classmethod
    def tearDownClass(cls) -> None:
        cls._tmp.cleanup()

    def _get(self, key: str) -> list[str]:
        for line in self.lines:
            parts = line.split()
            if parts[0] == key:
                return parts[1:]
        raise AssertionError(f"{key} not printed")

    def test_size_and_alignment(self) -> None:
        self.assertEqual(int(self._get("sizeof")[0]), ctypes.sizeof(_lib.MarlinGemmArgs))
        self.assertEqual(int(self._get("alignof")[0]), ctypes.alignment(_lib.MarlinGemmArgs))

    def test_every_field(self) -> None:
        # The field list comes from Python; the C program fails to compile if a name is not in the header.
        # Comparing the count of C fields: the last field must end where sizeof ends (modulo padding).
        for name, ctype in _lib.MarlinGemmArgs._fields_:
            with self.subTest(field=name):
                offset, size = (int(x) for x in self._get(name))
                self.assertEqual(getattr(_lib.MarlinGemmArgs, name).offset, offset, f"offset of {name}")
                self.assertEqual(ctypes.sizeof(ctype), size, f"size of {name}")

    def test_no_missing_fields(self) -> None:
        # Sum of field sizes plus padding must cover the C struct: with the offsets equal this means no C field
        # sits in a gap that Python does not know about.
        covered = 0
        for name, ctype in _lib.MarlinGemmArgs._fields_:
            offset = getattr(_lib.MarlinGemmArgs, name).offset
            align = ctypes.alignment(ctype)
            expected_start = (covered + align - 1) // align * align
            self.assertEqual(offset, expected_start, f"unexpected gap before {name}")
            covered = offset + ctypes.sizeof(ctype)
        c_size = int(self._get("sizeof")[0])
        self.assertLess(c_size - covered, ctypes.alignment(_lib.MarlinGemmArgs), "C struct has trailing fields")

    def test_header_field_names(self) -> None:
        # The header lists the fields in this order (declarations between 'typedef struct {' and the name).
        text = (INCLUDE / "marlin" / "marlin.h").read_text()
        body = text.split("typedef struct {", 1)[1].split("} marlin_gemm_args;", 1)[0]
        names: list[str] = []
        for line in body.splitlines():
            decl = line.split("//", 1)[0].strip().rstrip(";")
            if not decl:
                continue
            for part in decl.split(","):
                names.append(part.strip().split()[-1].lstrip("*"))
        self.assertEqual(names, FIELDS)

    def test_enums(self) -> None:
        self.assertEqual(self._get("enumsize"), ["4", "4"])
        values = {line.split()[1]: int(line.split()[2]) for line in self.lines if line.startswith("enum ")}
        for status in _lib.Status:
            name = "MARLIN_OK" if status is _lib.Status.OK else f"MARLIN_ERR_{status.name}"
            self.assertEqual(values.pop(name), int(status), name)
        for st in _lib.ScalarType:
            self.assertEqual(values.pop(f"MARLIN_TYPE_{st.name}"), int(st), st.name)
        self.assertEqual(values, {})

    def test_8bit_activation_types(self) -> None:
        # a_type of INT8 activations (MARLIN_TYPE_S8) and of FP8 ones (MARLIN_TYPE_FE4M3FN), as ops.gemm passes them.
        values = {line.split()[1]: int(line.split()[2]) for line in self.lines if line.startswith("enum ")}
        self.assertEqual((values["MARLIN_TYPE_S8"], int(_lib.ScalarType.S8)), (2, 2))
        self.assertEqual((values["MARLIN_TYPE_FE4M3FN"], int(_lib.ScalarType.FE4M3FN)), (3, 3))


class StubLibraryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls._tmp = tempfile.TemporaryDirectory()
        path = _compile(Path(cls._tmp.name), STUB_C, "libmarlin.so", "-shared", "-fPIC")
        cls.lib = _lib.Library(path)

    @classmethod
    def tearDownClass(cls) -> None:
        cls._tmp.cleanup()

    def test_gemm_passes_every_field(self) -> None:
        args = _lib.MarlinGemmArgs(
            a=0x7F0000001000,
            b_q=0x7F0000002000,
            scales=0x7F0000003000,
            zeros=None,
            c=0x7F0000004000,
            workspace=0x7F0000005000,
            workspace_bytes=(1 << 40) + 3,
            m=123456789012,
            n=28672,
            k=8192,
            lda=8200,
            ldc=28680,
            group_size=-1,
            a_type=_lib.ScalarType.BFLOAT16,
            b_type=_lib.ScalarType.U4B8,
            c_type=_lib.ScalarType.FLOAT16,
            s_type=_lib.ScalarType.FE8M0FNU,
            sm_count=132,
            stream=0x5555AAAA0000,
            bias=0x7F0000006000,
            global_scale=0x7F0000007000,
            perm=0x7F0000008000,
            g_idx_sorted=0x7F0000009000,
            a_perm=0x7F000000A000,
            is_k_full=-2,
            force_thread_k=64,
            force_thread_n=256,
            force_blocks_per_sm=-7,
            a_scales=0x7F000000B000,
        )
        with self.assertRaises(_lib.MarlinError) as cm:
            self.lib.gemm(args)
        err = cm.exception
        self.assertEqual(err.code, _lib.Status.INVALID_ARGUMENT)
        expected = (
            "a=0x7f0000001000 b_q=0x7f0000002000 scales=0x7f0000003000 zeros=(nil) c=0x7f0000004000 "
            f"workspace=0x7f0000005000 workspace_bytes={(1 << 40) + 3} m=123456789012 n=28672 k=8192 lda=8200 "
            "ldc=28680 group_size=-1 a_type=1 b_type=5 c_type=0 s_type=8 sm_count=132 stream=0x5555aaaa0000 "
            "bias=0x7f0000006000 global_scale=0x7f0000007000 perm=0x7f0000008000 g_idx_sorted=0x7f0000009000 "
            "a_perm=0x7f000000a000 is_k_full=-2 force=64,256,-7 a_scales=0x7f000000b000"
        )
        self.assertEqual(err.message, expected)
        self.assertIn("MARLIN_ERR_INVALID_ARGUMENT", str(err))

    def test_gemm_int8_activations(self) -> None:
        # An INT8-activation call as ops.gemm makes it: a_type S8, AWQ weights with zeros, bf16 output and scales,
        # lda = k (1-byte rows), per-row a_scales and a bias; no act-order, no global scale.
        args = _lib.MarlinGemmArgs(
            a=0x7F0000001000,
            b_q=0x7F0000002000,
            scales=0x7F0000003000,
            zeros=0x7F0000003800,
            c=0x7F0000004000,
            workspace=0x7F0000005000,
            workspace_bytes=4096,
            m=33,
            n=4096,
            k=4096,
            lda=4096,
            ldc=4096,
            group_size=128,
            a_type=_lib.ScalarType.S8,
            b_type=_lib.ScalarType.U4,
            c_type=_lib.ScalarType.BFLOAT16,
            s_type=_lib.ScalarType.BFLOAT16,
            sm_count=132,
            bias=0x7F0000006000,
            a_scales=0x7F000000B000,
        )
        with self.assertRaises(_lib.MarlinError) as cm:
            self.lib.gemm(args)
        expected = (
            "a=0x7f0000001000 b_q=0x7f0000002000 scales=0x7f0000003000 zeros=0x7f0000003800 c=0x7f0000004000 "
            "workspace=0x7f0000005000 workspace_bytes=4096 m=33 n=4096 k=4096 lda=4096 ldc=4096 group_size=128 "
            "a_type=2 b_type=4 c_type=1 s_type=1 sm_count=132 stream=(nil) bias=0x7f0000006000 global_scale=(nil) "
            "perm=(nil) g_idx_sorted=(nil) a_perm=(nil) is_k_full=0 force=0,0,0 a_scales=0x7f000000b000"
        )
        self.assertEqual(cm.exception.message, expected)

    def test_gemm_new_fields_default_to_null(self) -> None:
        # Fields not given are NULL / 0: calls written before bias, global_scale, act-order and a_scales keep their
        # meaning.
        with self.assertRaises(_lib.MarlinError) as cm:
            self.lib.gemm(_lib.MarlinGemmArgs(m=1, b_type=_lib.ScalarType.U4B8))
        self.assertTrue(
            cm.exception.message.endswith(
                "bias=(nil) global_scale=(nil) perm=(nil) g_idx_sorted=(nil) a_perm=(nil) is_k_full=0 force=0,0,0 "
                "a_scales=(nil)"
            ),
            cm.exception.message,
        )

    def test_gemm_ok(self) -> None:
        self.lib.gemm(_lib.MarlinGemmArgs(m=42))  # no exception

    def test_gemm_plan(self) -> None:
        text = self.lib.gemm_plan(_lib.MarlinGemmArgs(m=42, n=1 << 33, k=4096, force_thread_k=64))
        self.assertEqual(text, f"family=sm80 m=42 n={1 << 33} k=4096 thread_k=64")
        with self.assertRaises(_lib.MarlinError) as cm:
            self.lib.gemm_plan(_lib.MarlinGemmArgs(m=7))
        self.assertEqual((cm.exception.code, cm.exception.message), (_lib.Status.NOT_BUILT, "plan m=7"))

    def test_library_without_gemm_plan(self) -> None:
        path = _compile(Path(self._tmp.name), OLD_STUB_C, "libmarlin_old.so", "-shared", "-fPIC")
        old = _lib.Library(path)  # loads
        self.assertEqual(old.built_kernel_count(), 240)
        with self.assertRaisesRegex(_lib.MarlinError, "has no marlin_gemm_plan: rebuild it") as cm:
            old.gemm_plan(_lib.MarlinGemmArgs(m=42))
        self.assertEqual(cm.exception.code, _lib.Status.NOT_BUILT)

    def test_workspace_bytes_is_size_t(self) -> None:
        self.assertEqual(self.lib.workspace_bytes(132), 132 * 1000 + 7 + (1 << 33))

    def test_built_kernel_count(self) -> None:
        self.assertEqual(self.lib.built_kernel_count(), 240)

    def test_repack_and_permute(self) -> None:
        big = 1 << 36
        with self.assertRaises(_lib.MarlinError) as cm:
            self.lib.repack_gptq(0x1000, 0x2000, big + 16, 4096, 4, 0x3000)
        self.assertEqual(cm.exception.code, _lib.Status.NOT_BUILT)
        self.assertEqual(
            cm.exception.message, f"gptq in=0x1000 perm=(nil) out=0x2000 k={big + 16} n=4096 bits=4 stream=0x3000"
        )
        with self.assertRaises(_lib.MarlinError) as cm:
            self.lib.repack_gptq(0x1000, 0x2000, 64, 128, 8, None, perm=0x4000)
        self.assertEqual(cm.exception.message, "gptq in=0x1000 perm=0x4000 out=0x2000 k=64 n=128 bits=8 stream=(nil)")
        with self.assertRaises(_lib.MarlinError) as cm:
            self.lib.repack_awq(0x1000, 0x2000, 64, big, 4, None)
        self.assertEqual(cm.exception.code, _lib.Status.CUDA)
        self.assertEqual(cm.exception.message, f"awq in=0x1000 perm=(nil) out=0x2000 k=64 n={big} bits=4 stream=(nil)")
        with self.assertRaises(_lib.MarlinError) as cm:
            self.lib.repack_awq(0x1000, 0x2000, 32, 64, 4, 0x3000, perm=0x5000)  # e.g. a8_row_perm(32)
        self.assertEqual(cm.exception.message, "awq in=0x1000 perm=0x5000 out=0x2000 k=32 n=64 bits=4 stream=0x3000")
        with self.assertRaises(_lib.MarlinError) as cm:
            self.lib.permute_scales(0x10, 0x20, 3, 192, 2, 0)
        self.assertEqual(cm.exception.message, "scales in=0x10 out=0x20 groups=3 n=192 elem=2 stream=(nil)")
        with self.assertRaises(_lib.MarlinError) as cm:
            self.lib.permute_scales(0x10, 0x20, 4, 64, 1, 0x40)  # 1-byte scales (e4m3 / e8m0)
        self.assertEqual(cm.exception.message, "scales in=0x10 out=0x20 groups=4 n=64 elem=1 stream=0x40")
        with self.assertRaises(_lib.MarlinError) as cm:
            self.lib.awq_zeros(0x10, 0x20, 5, 128, _lib.ScalarType.BFLOAT16, 0x40)
        self.assertEqual(cm.exception.message, "zeros in=0x10 out=0x20 groups=5 n=128 s_type=1 stream=0x40")
        self.assertEqual(cm.exception.code, 7)
        self.assertIn("status 7", str(cm.exception))

    def test_check_act_order(self) -> None:
        big = 1 << 33
        with self.assertRaises(_lib.MarlinError) as cm:
            self.lib.check_act_order(0x1000, 0x2000, big, 7, 128, True, 0x3000)
        self.assertEqual(cm.exception.code, _lib.Status.INVALID_ARGUMENT)
        self.assertEqual(
            cm.exception.message,
            f"act_order perm=0x1000 g_idx_sorted=0x2000 k={big} groups=7 group_size=128 full=1 stream=0x3000",
        )
        with self.assertRaises(_lib.MarlinError) as cm:
            self.lib.check_act_order(0x1000, 0, 64, 2, 32, False, None)
        self.assertEqual(
            cm.exception.message,
            "act_order perm=0x1000 g_idx_sorted=(nil) k=64 groups=2 group_size=32 full=0 stream=(nil)",
        )

    def test_missing_library(self) -> None:
        with self.assertRaisesRegex(_lib.LibraryNotFoundError, "MARLIN_LIB"):
            _lib.Library(Path(self._tmp.name) / "nope.so")

    def test_library_path_env(self) -> None:
        old = os.environ.get(_lib.ENV_VAR)
        try:
            os.environ[_lib.ENV_VAR] = "/some/where/libx.so"
            self.assertEqual(_lib.library_path(), Path("/some/where/libx.so"))
            del os.environ[_lib.ENV_VAR]
            self.assertEqual(_lib.library_path(), Path(_lib.__file__).resolve().parent / "libmarlin.so")
        finally:
            if old is not None:
                os.environ[_lib.ENV_VAR] = old

    def test_error_pickles(self) -> None:
        import pickle

        err = pickle.loads(pickle.dumps(_lib.MarlinError(1, "k: 96 is not a multiple of 64")))
        self.assertEqual((err.code, err.message), (1, "k: 96 is not a multiple of 64"))


class ProvenanceTest(unittest.TestCase):
    """What recorded GPU results name (marlin_bazel._provenance): the commit and the library's path and sha256."""

    def test_library_and_commit(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            lib = Path(tmp) / "libmarlin.so"
            lib.write_bytes(b"not really a library")
            env = {_lib.ENV_VAR: str(lib), "MARLIN_COMMIT": "abc1234"}
            with unittest.mock.patch.dict(os.environ, env):
                got = _provenance.provenance()
        # printf 'not really a library' | sha256sum
        want = "8c94411e7c8b87bd238af6ff286f5e356e89b0b393364163b58e2ca433a40fe5"
        self.assertEqual(got, {"commit": "abc1234", "library": str(lib), "library_sha256": want})

    def test_missing_library(self) -> None:
        with unittest.mock.patch.dict(os.environ, {_lib.ENV_VAR: "/nonexistent/libmarlin.so"}):
            self.assertIsNone(_provenance.provenance()["library_sha256"])


if __name__ == "__main__":
    unittest.main()
