"""`python -m generator` as Bazel and people run it: output files, listings, errors, Starlark export."""

from __future__ import annotations

import ast
import collections
import os
import subprocess
import sys
import unittest
from pathlib import Path

from generator import starlark
from tests.generator import support

ALLOWED_ARCHS = "7.5, 8.0, 8.6, 8.7, 8.9, 9.0, 10.0, 12.0, 12.1"
FILES_8_0 = ["kernel_selector.h", *support.KERNEL_FILES_8_0]
FILES_7_5 = ["kernel_selector.h", *support.KERNEL_FILES_7_5]
# With 8.9 (or 12.x): the sm80 files and the sm89 ones (FP8 activations).
FILES_8_9 = sorted(["kernel_selector.h", *support.KERNEL_FILES_8_0, *support.KERNEL_FILES_8_9])
# Every sm80 config's (a, c) pairs x group sizes x 15 (5 m_blocks values x 3 thread configs) with 16-bit
# activations, x 12 (4 m_blocks values x 3) with INT8 activations: 525 + 192 = 717.
BUILT_8_0 = support.BUILT_8_0
# 8.9 adds every FP8-activation config's (a, c) pairs x group sizes x 12 (4 m_blocks values x 3): 204 -> 921, the
# seed's figure for 8.0,8.9,9.0.
BUILT_8_9 = support.BUILT_8_0 + support.BUILT_8_9
INT8_ACT_CONFIGS = ("awq_int4_int8_act", "gptq_int4_int8_act")
SM80_CONFIGS = ("awq_int4", "gptq_int4", "gptq_int8", "fp8", "nvfp4", "mxfp4", *INT8_ACT_CONFIGS)
FP8_ACT_CONFIGS = ("awq_int4_fp8_act", "gptq_int4_fp8_act", "mxfp4_fp8_act")
IMPLEMENTED = SM80_CONFIGS + FP8_ACT_CONFIGS  # every known config
AVAILABLE = ", ".join(IMPLEMENTED)


class WriteTest(unittest.TestCase):
    def test_writes_planned_files(self) -> None:
        out = support.make_tmpdir() / "new" / "dir"
        result = support.run_cli("8.0,8.9", "--out", str(out))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")
        self.assertEqual(sorted(p.name for p in out.iterdir()), FILES_8_9)
        out = support.make_tmpdir() / "ampere"
        result = support.run_cli("8.0,9.0", "--out", str(out))  # no 8.9 or 12.x: no sm89 file
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(sorted(p.name for p in out.iterdir()), FILES_8_0)

    def test_keeps_other_files(self) -> None:
        out = support.make_tmpdir()
        (out / "mine.txt").write_text("keep")
        (out / "sm80_kernel_float16_fe4m3fn_float16.cu").write_text("old")
        result = support.run_cli("8.0", "--configs", "gptq_int4", "--out", str(out))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(
            sorted(p.name for p in out.iterdir()),
            [
                "kernel_selector.h",
                "mine.txt",
                "sm80_kernel_bfloat16_u4b8_bfloat16.cu",
                "sm80_kernel_float16_fe4m3fn_float16.cu",
                "sm80_kernel_float16_u4b8_float16.cu",
            ],
        )
        self.assertEqual((out / "mine.txt").read_text(), "keep")

    def test_deterministic(self) -> None:
        """Byte-identical output for the same input, in other folders and hash seeds."""
        trees = []
        for seed in ("1", "2"):
            out = support.make_tmpdir() / f"out{seed}"
            result = support.run_cli("8.0,8.9,9.0", "--out", str(out), env={"PYTHONHASHSEED": seed})
            self.assertEqual(result.returncode, 0, result.stderr)
            trees.append(support.read_tree(out))
        self.assertEqual(trees[0], trees[1])
        self.assertEqual(sorted(trees[0]), FILES_8_9)
        # The selector agrees with the kernel files.
        count, branches = support.parse_selector(trees[0]["kernel_selector.h"].decode())
        self.assertEqual(count, BUILT_8_9)
        in_files = [
            key
            for name, data in trees[0].items()
            if name.endswith(".cu")
            for key in support.parse_kernel_file(data.decode())
        ]
        self.assertEqual(len(in_files), BUILT_8_9)
        self.assertEqual(sorted(in_files), sorted(branches))
        for name in support.KERNEL_FILES_8_9:
            with self.subTest(file=name):
                keys = support.parse_kernel_file(trees[0][name].decode())
                self.assertEqual(len(keys), support.KERNEL_FILE_SIZES_8_9[name])
                self.assertEqual({key[0] for key in keys}, {"kFE4M3fn"})
        for name in support.KERNEL_FILES_8_0:
            with self.subTest(file=name):
                keys = support.parse_kernel_file(trees[0][name].decode())
                self.assertEqual(len(keys), support.KERNEL_FILE_SIZES_8_0[name])
                a = (
                    "kS8"
                    if name.startswith("sm80_kernel_s8_")
                    else ("kBFloat16" if "_bfloat16_" in name else "kFloat16")
                )
                self.assertEqual({key[0] for key in keys}, {a})

    def test_turing(self) -> None:
        """7.5 writes the sm75 files: f16 output only (Turing has no bf16), two-stage kernels, no mxfp4 (bf16 only)."""
        out = support.make_tmpdir() / "out"
        result = support.run_cli("7.5", "--out", str(out))
        self.assertEqual(result.returncode, 0, result.stderr)
        tree = support.read_tree(out)
        self.assertEqual(sorted(tree), FILES_7_5)
        count, branches = support.parse_selector(tree["kernel_selector.h"].decode())
        # One (a, c) pair (f16 -> f16, or s8 -> f16) x the group sizes of each config x 15 (INT8 activations: 12):
        # 255 + 96 = 351.
        self.assertEqual(count, support.BUILT_7_5)
        self.assertEqual(len(branches), support.BUILT_7_5)
        stages = support.KEY_FIELDS.index("stages")
        self.assertEqual({key[stages] for key in branches}, {"2"})
        self.assertEqual({key[0] for key in branches}, {"kFloat16", "kS8"})
        self.assertEqual({key[2] for key in branches}, {"kFloat16"})
        self.assertEqual(sum(key[0] == "kS8" for key in branches), 2 * 4 * 12)  # 2 configs x 4 group sizes x 12
        for name in support.KERNEL_FILES_7_5:
            with self.subTest(file=name):
                keys = support.parse_kernel_file(tree[name].decode())
                self.assertEqual(len(keys), support.KERNEL_FILE_SIZES_7_5[name])
        in_files = [key for name in support.KERNEL_FILES_7_5 for key in support.parse_kernel_file(tree[name].decode())]
        self.assertEqual(sorted(in_files), sorted(branches))

    def test_turing_and_ampere(self) -> None:
        out = support.make_tmpdir()
        result = support.run_cli("7.5,8.0", "--out", str(out))
        self.assertEqual(result.returncode, 0, result.stderr)
        tree = support.read_tree(out)
        self.assertEqual(sorted(tree), sorted({*FILES_7_5, *FILES_8_0}))
        count, branches = support.parse_selector(tree["kernel_selector.h"].decode())
        self.assertEqual(count, support.BUILT_7_5 + support.BUILT_8_0)
        self.assertEqual(len(set(branches)), count)

    def test_rerun_leaves_files_alone(self) -> None:
        out = support.make_tmpdir()
        self.assertEqual(support.run_cli("8.0", "--out", str(out)).returncode, 0)
        path = out / "kernel_selector.h"
        os.utime(path, (1_000_000, 1_000_000))
        self.assertEqual(support.run_cli("8.0", "--out", str(out)).returncode, 0)
        self.assertEqual(path.stat().st_mtime, 1_000_000)

    def test_as_script_from_elsewhere(self) -> None:
        """How the py_binary runs it: generator/__main__.py as a script, another cwd."""
        out = support.make_tmpdir()
        script = support.REPO_ROOT / "generator" / "__main__.py"
        done = subprocess.run(
            [sys.executable, str(script), "8.0", "--out", str(out / "x")],
            cwd=out,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(sorted(p.name for p in (out / "x").iterdir()), FILES_8_0)


class ListTest(unittest.TestCase):
    def test_list(self) -> None:
        result = support.run_cli("8.0,8.9,9.0", "--list")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        header = lines[0].split()
        self.assertEqual(header[:3], ["#", "family", "config"])
        self.assertIn("thread_m_blocks", header)
        rows = lines[1 : lines.index("")]
        self.assertEqual(len(rows), BUILT_8_9)
        self.assertEqual({row.split()[2] for row in rows}, set(IMPLEMENTED))
        # sm80 rows for the sm80 configs, sm89 rows for the FP8-activation ones.
        families = collections.Counter(row.split()[1] for row in rows)
        self.assertEqual(families, {"sm80": support.BUILT_8_0, "sm89": support.BUILT_8_9})
        for row in rows:
            self.assertEqual(row.split()[1] == "sm89", row.split()[2] in FP8_ACT_CONFIGS, row)
        for name in FILES_8_9:
            self.assertTrue(any(line.startswith(name) for line in lines), name)
        self.assertEqual(BUILT_8_9, 921)
        self.assertIn("921 instantiations in 19 kernel files", lines[-1])  # the seed's figures
        # Without 8.9 or 12.x: the sm80 configs only, 717 in 14 files.
        result = support.run_cli("8.0,9.0", "--list")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"{BUILT_8_0} instantiations in 14 kernel files", result.stdout.splitlines()[-1])
        self.assertEqual(BUILT_8_0, 717)

    def test_list_gptq_int8(self) -> None:
        result = support.run_cli("8.0", "--configs", "gptq_int8", "--list")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        rows = lines[1 : lines.index("")]
        # 2 (a, c) pairs x 5 group sizes (act-order included) x 15.
        self.assertEqual(len(rows), 2 * 5 * 15)
        self.assertEqual({row.split()[2] for row in rows}, {"gptq_int8"})
        self.assertIn("150 instantiations in 2 kernel files", lines[-1])
        for name in ("sm80_kernel_bfloat16_u8b128_bfloat16.cu", "sm80_kernel_float16_u8b128_float16.cu"):
            self.assertTrue(any(line.startswith(name) for line in lines), name)

    def test_list_int8_act(self) -> None:
        """INT8 activations: sm80 files (s8 -> f16, s8 -> bf16) for any arch >= 8.0, an sm75 one with 7.5."""
        result = support.run_cli("7.5,9.0a", "--configs", "gptq_int4_int8_act,awq_int4_int8_act", "--list")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        rows = lines[1 : lines.index("")]
        # Per config: (1 sm75 + 2 sm80) (a, c) pairs x 4 group sizes x 12 (m_blocks 1-4 x 3 thread configs).
        self.assertEqual(len(rows), 2 * (1 + 2) * 4 * 12)
        self.assertEqual(
            collections.Counter(row.split()[2] for row in rows), {"awq_int4_int8_act": 144, "gptq_int4_int8_act": 144}
        )
        self.assertEqual({row.split()[3] for row in rows}, {"s8"})
        self.assertIn("288 instantiations in 6 kernel files", lines[-1])
        for name in (
            "sm75_kernel_s8_u4_float16.cu",
            "sm75_kernel_s8_u4b8_float16.cu",
            "sm80_kernel_s8_u4_bfloat16.cu",
            "sm80_kernel_s8_u4_float16.cu",
            "sm80_kernel_s8_u4b8_bfloat16.cu",
            "sm80_kernel_s8_u4b8_float16.cu",
        ):
            self.assertTrue(any(line.startswith(name) for line in lines), name)

    def test_list_fp4(self) -> None:
        """nvfp4 (f16 and bf16) and mxfp4 (bf16 only) share the bf16 e2m1 file."""
        result = support.run_cli("9.0", "--configs", "mxfp4,nvfp4", "--list")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        rows = lines[1 : lines.index("")]
        # nvfp4: 2 (a, c) pairs x 1 group size x 15; mxfp4: 1 pair x 1 group size x 15.
        self.assertEqual(len(rows), 2 * 1 * 15 + 1 * 1 * 15)
        self.assertEqual(collections.Counter(row.split()[2] for row in rows), {"nvfp4": 30, "mxfp4": 15})
        self.assertIn("45 instantiations in 2 kernel files", lines[-1])
        for name in ("sm80_kernel_bfloat16_fe2m1f_bfloat16.cu", "sm80_kernel_float16_fe2m1f_float16.cu"):
            self.assertTrue(any(line.startswith(name) for line in lines), name)

    def test_list_writes_nothing_without_out(self) -> None:
        cwd = support.make_tmpdir()
        result = support.run_cli("8.0", "--list", cwd=cwd, env=_root_on_path())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(list(cwd.iterdir()), [])


def _root_on_path() -> dict[str, str]:
    old = os.environ.get("PYTHONPATH")
    root = str(support.REPO_ROOT)
    return {"PYTHONPATH": root + (os.pathsep + old if old else "")}


class ExpectTest(unittest.TestCase):
    def test_match(self) -> None:
        out = support.make_tmpdir()
        result = support.run_cli("8.0", "--out", str(out), "--expect", *FILES_8_0)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(sorted(p.name for p in out.iterdir()), FILES_8_0)

    def test_mismatch(self) -> None:
        out = support.make_tmpdir() / "out"
        declared = [n for n in FILES_8_0 if n != "sm80_kernel_s8_u4b8_float16.cu"]
        declared.append("sm89_kernel_fe4m3fn_u4b8_float16.cu")  # gptq_int4_fp8_act: 8.0 brings in no sm89
        result = support.run_cli("8.0", "--out", str(out), "--expect", *declared)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn(
            "declared but not generated: sm89_kernel_fe4m3fn_u4b8_float16.cu",
            result.stderr,
        )
        self.assertIn(
            "generated but not declared: sm80_kernel_s8_u4b8_float16.cu",
            result.stderr,
        )
        self.assertIn("stale", result.stderr)
        self.assertIn(
            "python -m generator --emit-starlark > rules/private/catalog.bzl",
            result.stderr,
        )
        self.assertFalse(out.exists())


class BadInputTest(unittest.TestCase):
    def assert_usage_error(self, args: list[str], *fragments: str) -> None:
        result = support.run_cli(*args)
        self.assertEqual(result.returncode, 2, f"{args}: {result.stderr}")
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, f"{args}: {result.stderr}")
        self.assertNotIn("Traceback", result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

    def test_bad_archs(self) -> None:
        out = str(support.make_tmpdir())
        cases = {
            "8,0": "'8'",
            "sm_80": "'sm_80'",
            "7.0": "'7.0'",
            "": "empty arch list",
            "8.0;8.9": "'8.0;8.9'",
            "8.0,": "empty entry",
        }
        for arch, fragment in cases.items():
            with self.subTest(arch=arch):
                self.assert_usage_error([arch, "--out", out], fragment, ALLOWED_ARCHS)
        self.assertEqual(list(Path(out).iterdir()), [])

    def test_bad_suffix(self) -> None:
        self.assert_usage_error(["8.0a", "--list"], "'8.0a'", "suffix")

    def test_configs(self) -> None:
        out = str(support.make_tmpdir())
        self.assert_usage_error(
            ["8.0", "--out", out, "--configs", "awq_int4,int3"],
            f"unknown quant config 'int3'; available: {AVAILABLE}",
        )
        self.assert_usage_error(["8.0", "--out", out, "--configs", ""], f"available: {AVAILABLE}")
        # mxfp4 is built now, but still needs an arch >= 8.0 (bf16 activations: nothing for Turing).
        self.assert_usage_error(
            ["7.5", "--out", out, "--configs", "mxfp4"],
            "quant config 'mxfp4' has no kernels for archs 7.5; archs that allow it: 8.0, 8.6",
        )
        self.assertEqual(list(Path(out).iterdir()), [])

    def test_not_implemented(self) -> None:
        """Every config is implemented now; the error for one that is not runs in-process in a hypothetical catalog
        where the INT8-activation pair is not (support.not_implemented)."""
        # The real catalog builds them: 8.0 and 8.9 bring in sm80 (and sm89, unused here).
        result = support.run_cli("8.0,8.9", "--configs", "gptq_int8,awq_int4_int8_act", "--list")
        self.assertEqual(result.returncode, 0, result.stderr)
        # gptq_int8: 2 pairs x 5 group sizes x 15; awq_int4_int8_act: 2 pairs x 4 group sizes x 12.
        self.assertIn(f"{2 * 5 * 15 + 2 * 4 * 12} instantiations in 4 kernel files", result.stdout.splitlines()[-1])
        out = support.make_tmpdir()
        available = ", ".join(c for c in IMPLEMENTED if c not in INT8_ACT_CONFIGS)
        with support.not_implemented(*INT8_ACT_CONFIGS):
            for name in INT8_ACT_CONFIGS:
                with self.subTest(config=name):
                    rc, stdout, stderr = support.run_cli_in_process(
                        "8.0,8.9", "--out", str(out), "--configs", f"gptq_int8,{name}"
                    )
                    self.assertEqual(rc, 2)
                    self.assertEqual(stdout, "")
                    self.assertEqual(
                        stderr,
                        f"python -m generator: error: quant config '{name}' is not implemented yet; "
                        f"available: {available}\n",
                    )
            # The internal all-known mode still plans them.
            rc, stdout, stderr = support.run_cli_in_process(
                "8.0", "--all-known", "--configs", INT8_ACT_CONFIGS[0], "--list"
            )
            self.assertEqual(rc, 0, stderr)
            self.assertIn("96 instantiations in 2 kernel files", stdout)
        self.assertEqual(list(out.iterdir()), [])

    def test_fp8_activations_without_8_9_or_12(self) -> None:
        """Named explicitly, an FP8-activation config with no 8.9/12.x arch is an error, not a silent skip."""
        out = support.make_tmpdir()
        for archs in ("8.0", "7.5,8.0,9.0a,10.0f"):
            for mode in ([], ["--all-known"]):
                with self.subTest(archs=archs, mode=mode):
                    self.assert_usage_error(
                        [archs, *mode, "--configs", "gptq_int4,gptq_int4_fp8_act", "--out", str(out)],
                        "quant config 'gptq_int4_fp8_act' has no kernels for archs "
                        f"{archs.replace(',', ', ')}; archs that allow it: 8.9, 12.0, 12.1",
                    )
        self.assertEqual(list(out.iterdir()), [])
        self.assert_usage_error(
            ["7.5", "--all-known", "--configs", "mxfp4", "--list"],
            "quant config 'mxfp4' has no kernels for archs 7.5; archs that allow it: 8.0, 8.6",
        )

    def test_flags(self) -> None:
        out = str(support.make_tmpdir())
        self.assert_usage_error(["8.0", "--out", out, "--fast"], "'--fast'", "--configs")
        self.assert_usage_error(["8.0", "--ou", out], "'--ou'", "--out")
        self.assert_usage_error(["8.0", "--out"], "--out")
        self.assert_usage_error(["8.0", "9.0", "--out", out], "'9.0'")
        self.assert_usage_error(["--out", out], "missing ARCHS", ALLOWED_ARCHS)
        self.assert_usage_error(["8.0"], "nothing to do", "--out")
        self.assert_usage_error(["--emit-starlark", "8.0"], "--emit-starlark")
        self.assert_usage_error(["--emit-starlark", "--all-known"], "--emit-starlark", "--all-known")

    def test_unwritable_out(self) -> None:
        tmp = support.make_tmpdir()
        a_file = tmp / "file"
        a_file.write_text("x")
        self.assert_usage_error(["8.0", "--out", str(a_file)], str(a_file), "--out")
        self.assert_usage_error(["8.0", "--out", str(a_file / "sub")], str(a_file / "sub"))
        if os.geteuid() != 0:  # root writes anywhere
            locked = tmp / "locked"
            locked.mkdir(mode=0o500)
            self.assert_usage_error(["8.0", "--out", str(locked)], str(locked))

    def test_help(self) -> None:
        result = support.run_cli("--help")
        self.assertEqual(result.returncode, 0)
        self.assertIn("--emit-starlark", result.stdout)
        self.assertIn("--all-known", result.stdout)
        text = " ".join(result.stdout.split())
        self.assertIn(f"quant configs: {AVAILABLE} (known, not implemented yet: none)", text)
        # In a hypothetical catalog where the INT8-activation pair is not implemented, the help names it.
        with support.not_implemented(*INT8_ACT_CONFIGS):
            rc, stdout, _ = support.run_cli_in_process("--help")
        self.assertEqual(rc, 0)
        available = ", ".join(c for c in IMPLEMENTED if c not in INT8_ACT_CONFIGS)
        self.assertIn(
            f"quant configs: {available} (known, not implemented yet: awq_int4_int8_act, gptq_int4_int8_act)",
            " ".join(stdout.split()),
        )


class AllKnownTest(unittest.TestCase):
    """The internal plan-everything mode: the seed's whole matrix, for tests and docs."""

    @staticmethod
    def summary(*args: str) -> str:
        result = support.run_cli(*args, "--list")
        if result.returncode != 0:
            raise AssertionError(result.stderr)
        return result.stdout.splitlines()[-1]

    def test_seed_totals(self) -> None:
        line = self.summary("8.0,8.9,9.0", "--all-known")
        self.assertTrue(
            line.startswith("921 instantiations in 19 kernel files (archs 8.0,8.9,9.0; families sm80,sm89;")
        )
        # The mode is marked even though everything is implemented now (the generator's wording).
        self.assertIn("all-known mode", line)
        self.assertTrue(self.summary("7.5,8.0,8.9,9.0", "--all-known").startswith("1272 instantiations in 26 "))
        self.assertTrue(self.summary("8.0,9.0", "--all-known").startswith("717 instantiations in 14 "))
        # Real builds: what is implemented, which is the seed's whole matrix now. 7.5 adds the sm75 family (f16
        # output, support.BUILT_7_5 in 7 files) to the sm80 one (support.BUILT_8_0 in 14 files), and 8.9 the sm89 one
        # (FP8 activations, support.BUILT_8_9 in 5 files): 351 + 717 + 204 = 1272 in 26.
        built = support.BUILT_7_5 + support.BUILT_8_0 + support.BUILT_8_9
        files = len(support.KERNEL_FILES_7_5) + len(support.KERNEL_FILES_8_0) + len(support.KERNEL_FILES_8_9)
        self.assertEqual((built, files), (1272, 26))
        for archs in ("7.5,8.0,8.9,9.0", "7.5,8.0,8.9,9.0,12.0"):
            line = self.summary(archs)
            self.assertTrue(
                line.startswith(
                    f"{built} instantiations in {files} kernel files (archs {archs}; families sm75,sm80,sm89;"
                ),
                line,
            )
            self.assertNotIn("all known", line)
        self.assertNotIn("all known", line)
        line = self.summary("7.5")
        self.assertTrue(line.startswith(f"{support.BUILT_7_5} instantiations in 7 kernel files"), line)
        self.assertIn("families sm75;", line)
        self.assertNotIn("mxfp4", line)
        self.assertIn("nvfp4,awq_int4_int8_act,gptq_int4_int8_act)", line)
        line = self.summary("8.9")
        self.assertTrue(line.startswith(f"{BUILT_8_9} instantiations in 19 kernel files"), line)
        self.assertIn("families sm80,sm89;", line)
        self.assertIn(
            "mxfp4,awq_int4_int8_act,gptq_int4_int8_act,awq_int4_fp8_act,gptq_int4_fp8_act,mxfp4_fp8_act)", line
        )
        line = self.summary("8.0,9.0")
        self.assertTrue(line.startswith(f"{support.BUILT_8_0} instantiations in 14 kernel files"), line)
        self.assertIn("families sm80;", line)
        # The same summaries as the all-known mode, but for its mark.
        for archs in ("7.5", "8.9", "8.0,9.0", "7.5,8.0,8.9,9.0"):
            real = self.summary(archs)
            full = self.summary(archs, "--all-known")
            self.assertEqual(full, real.removesuffix(")") + "; all-known mode)", archs)

    def test_writes_files(self) -> None:
        out = support.make_tmpdir()
        result = support.run_cli("8.9", "--all-known", "--configs", "mxfp4_fp8_act,gptq_int4", "--out", str(out))
        self.assertEqual(result.returncode, 0, result.stderr)
        # FP8 activations are implemented: a real build of the same configs writes the same files.
        real = support.make_tmpdir()
        result = support.run_cli("8.9", "--configs", "mxfp4_fp8_act,gptq_int4", "--out", str(real))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(support.read_tree(real), support.read_tree(out))
        self.assertEqual(
            sorted(p.name for p in out.iterdir()),
            [
                "kernel_selector.h",
                "sm80_kernel_bfloat16_u4b8_bfloat16.cu",
                "sm80_kernel_float16_u4b8_float16.cu",
                "sm89_kernel_fe4m3fn_fe2m1f_bfloat16.cu",
            ],
        )
        count, branches = support.parse_selector((out / "kernel_selector.h").read_text())
        self.assertEqual(count, 150 + 12)
        self.assertIn(
            (
                "kFE4M3fn",
                "kFE2M1f",
                "kBFloat16",
                "kFE8M0fnu",
                "256",
                "2",
                "16",
                "4",
                "false",
                "4",
                "2",
                "false",
                "false",
            ),
            branches,
        )


class StarlarkTest(unittest.TestCase):
    def test_emit(self) -> None:
        result = support.run_cli("--emit-starlark")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, starlark.render_catalog_bzl())
        self.assertTrue(result.stdout.startswith("# Generated by python -m generator --emit-starlark; do not edit.\n"))
        for name in (
            "SUPPORTED_ARCHS",
            "FAMILY_ARCHS",
            "IMPLEMENTED_FAMILIES",
            "ARCH_FAMILIES",
            "QUANT_CONFIG_FILES",
            "KNOWN_QUANT_CONFIGS",
            "IMPLEMENTED_QUANT_CONFIGS",
            "CONFIG_REQUIRED_ARCHS",
            "KNOWN_QUANT_CONFIG_FILES",
        ):
            self.assertIn(f"\n{name} = ", result.stdout)

    def test_checked_in_catalog_is_current(self) -> None:
        self.assertTrue(support.CATALOG_BZL.is_file(), support.CATALOG_BZL)
        self.assertEqual(
            support.CATALOG_BZL.read_text(),
            starlark.render_catalog_bzl(),
            "rules/private/catalog.bzl is stale: run python -m generator --emit-starlark > rules/private/catalog.bzl",
        )

    def test_catalog_parses(self) -> None:
        """Starlark's literal syntax is Python's: read the values back and compare."""
        tree = ast.parse(starlark.render_catalog_bzl())
        values = {
            node.targets[0].id: ast.literal_eval(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
        }
        self.assertEqual(values, starlark.catalog_values())


if __name__ == "__main__":
    unittest.main()
