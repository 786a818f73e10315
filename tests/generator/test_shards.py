"""Sharding (--shards N): each kernel file split into N files, instantiations dealt round-robin."""

from __future__ import annotations

import unittest

from generator import catalog, plan, render
from generator.plan import plan_from_text
from tests.generator import support

FILES_8_0 = support.KERNEL_FILES_8_0  # unsharded
# file -> instantiations: 15 to 75 (its group sizes x 15) with 16-bit activations, 48 (4 group sizes x 12) with INT8
# activations
SIZES_8_0 = support.KERNEL_FILE_SIZES_8_0
SHARD_COUNTS = (1, 2, 3, 7)


def sharded(names: list[str], n: int) -> list[str]:
    if n == 1:
        return list(names)
    return [f"{name.removesuffix('.cu')}_part{i}of{n}.cu" for name in names for i in range(1, n + 1)]


class NamesTest(unittest.TestCase):
    def test_file_names(self) -> None:
        for n in SHARD_COUNTS:
            with self.subTest(shards=n):
                p = plan_from_text("8.0", shards=n)
                self.assertEqual(list(p.kernel_file_names), sharded(FILES_8_0, n))
                self.assertEqual(p.output_names, (*sharded(FILES_8_0, n), "kernel_selector.h"))

    def test_turing_file_names(self) -> None:
        """With 7.5 the sm75 files are split the same way, before the sm80 ones."""
        for n in SHARD_COUNTS:
            with self.subTest(shards=n):
                p = plan_from_text("7.5,8.0", shards=n)
                self.assertEqual(list(p.kernel_file_names), sharded(support.KERNEL_FILES_7_5 + FILES_8_0, n))
                sizes = {**support.KERNEL_FILE_SIZES_7_5, **SIZES_8_0}
                for whole in p.files:
                    parts = whole.split(n)
                    self.assertEqual(sum(len(part.instantiations) for part in parts), sizes[whole.name])
        # nvfp4 on 7.5: one f16 file of 1 group size x 15 = 15 instantiations; 7 shards get 3, 2, 2, 2, 2, 2, 2.
        p = plan_from_text("7.5", "nvfp4", shards=7)
        self.assertEqual(p.written_files[0].name, "sm75_kernel_float16_fe2m1f_float16_part1of7.cu")
        self.assertEqual([len(f.instantiations) for f in p.written_files], [3, 2, 2, 2, 2, 2, 2])

    def test_two_shards_spelled_out(self) -> None:
        p = plan_from_text("8.0", "gptq_int4", shards=2)
        self.assertEqual(
            list(p.kernel_file_names),
            [
                "sm80_kernel_bfloat16_u4b8_bfloat16_part1of2.cu",
                "sm80_kernel_bfloat16_u4b8_bfloat16_part2of2.cu",
                "sm80_kernel_float16_u4b8_float16_part1of2.cu",
                "sm80_kernel_float16_u4b8_float16_part2of2.cu",
            ],
        )

    def test_one_shard_is_todays_plan(self) -> None:
        self.assertEqual(plan_from_text("8.0,8.9", shards=1), plan_from_text("8.0,8.9"))
        self.assertEqual(plan_from_text("8.0").written_files, plan_from_text("8.0").files)

    def test_shard_file_name(self) -> None:
        self.assertEqual(plan.shard_file_name("x.cu", 0, 1), "x.cu")
        self.assertEqual(plan.shard_file_name("x.cu", 0, 16), "x_part1of16.cu")
        self.assertEqual(plan.shard_file_name("x.cu", 15, 16), "x_part16of16.cu")


class SplitTest(unittest.TestCase):
    def test_each_instantiation_in_exactly_one_shard(self) -> None:
        for n in SHARD_COUNTS:
            with self.subTest(shards=n):
                p = plan_from_text("8.0", shards=n)
                for whole in p.files:
                    parts = whole.split(n)
                    self.assertEqual(len(parts), n)
                    got = [i for part in parts for i in part.instantiations]
                    self.assertEqual(len(got), len(set(got)))
                    self.assertEqual(
                        sorted(got, key=lambda i: i.key), sorted(whole.instantiations, key=lambda i: i.key)
                    )

    def test_round_robin_and_even(self) -> None:
        for n in SHARD_COUNTS:
            with self.subTest(shards=n):
                p = plan_from_text("8.0", shards=n)
                for whole in p.files:
                    parts = whole.split(n)
                    sizes = [len(part.instantiations) for part in parts]
                    self.assertEqual(sum(sizes), SIZES_8_0[whole.name])
                    self.assertLessEqual(max(sizes) - min(sizes), 1)
                    for i, part in enumerate(parts):
                        self.assertEqual(part.instantiations, whole.instantiations[i::n])
        # gptq_int4: 5 group sizes x 15 = 75 = 7 * 10 + 5 per file: the first five parts get 11, the last two 10.
        p = plan_from_text("8.0", "gptq_int4", shards=7)
        self.assertEqual([len(f.instantiations) for f in p.written_files[:7]], [11, 11, 11, 11, 11, 10, 10])
        # mxfp4: 1 group size x 15 = 15 = 7 * 2 + 1: the first part gets 3, the others 2.
        p = plan_from_text("8.0", "mxfp4", shards=7)
        self.assertEqual([len(f.instantiations) for f in p.written_files], [3, 2, 2, 2, 2, 2, 2])
        # awq_int4_int8_act: 4 group sizes x 12 = 48 = 7 * 6 + 6 per file: the first six parts get 7, the last 6.
        p = plan_from_text("8.0", "awq_int4_int8_act", shards=7)
        self.assertEqual(p.written_files[0].name, "sm80_kernel_s8_u4_bfloat16_part1of7.cu")
        self.assertEqual([len(f.instantiations) for f in p.written_files[:7]], [7, 7, 7, 7, 7, 7, 6])
        self.assertEqual(len(p.written_files), 2 * 7)

    def test_more_shards_than_instantiations(self) -> None:
        whole = plan_from_text("8.0", "gptq_int4").files[0]
        small = plan.KernelFile(whole.family, whole.a, whole.b, whole.c, whole.instantiations[:3])
        parts = small.split(5)
        self.assertEqual([len(p.instantiations) for p in parts], [1, 1, 1, 0, 0])
        self.assertEqual(len({p.name for p in parts}), 5)

    def test_selector_unchanged(self) -> None:
        base = plan_from_text("8.0,8.9")
        selector = render.render_selector(base)
        for n in SHARD_COUNTS:
            with self.subTest(shards=n):
                p = plan_from_text("8.0,8.9", shards=n)
                self.assertEqual(p.instantiations, base.instantiations)
                self.assertEqual(render.render_selector(p), selector)

    def test_all_known_split(self) -> None:
        base = plan_from_text("7.5,8.0,8.9,9.0", all_known=True)
        p = plan_from_text("7.5,8.0,8.9,9.0", all_known=True, shards=3)
        self.assertEqual(len(p.written_files), 3 * len(base.files))
        got = [i for f in p.written_files for i in f.instantiations]
        self.assertEqual(len(got), len(base.instantiations))
        self.assertEqual(set(got), set(base.instantiations))

    def test_bad_shards(self) -> None:
        for bad in (0, 17, -1, True, 2.0, "2"):
            with self.subTest(shards=bad):
                with self.assertRaises(catalog.CatalogError) as ctx:
                    plan_from_text("8.0", shards=bad)  # type: ignore[arg-type]
                self.assertIn(f"bad shards {bad!r}", str(ctx.exception))
                self.assertIn("from 1 to 16", str(ctx.exception))


class CliTest(unittest.TestCase):
    def test_writes_shards_deterministically(self) -> None:
        for n in SHARD_COUNTS:
            with self.subTest(shards=n):
                trees = []
                for seed in ("1", "2"):
                    out = support.make_tmpdir() / f"out{seed}"
                    result = support.run_cli("8.0", "--shards", str(n), "--out", str(out), env={"PYTHONHASHSEED": seed})
                    self.assertEqual(result.returncode, 0, result.stderr)
                    trees.append(support.read_tree(out))
                self.assertEqual(trees[0], trees[1])
                self.assertEqual(sorted(trees[0]), sorted([*sharded(FILES_8_0, n), "kernel_selector.h"]))
                # Every selector branch is instantiated in exactly one file.
                count, branches = support.parse_selector(trees[0]["kernel_selector.h"].decode())
                in_files = [
                    key
                    for name, data in trees[0].items()
                    if name.endswith(".cu")
                    for key in support.parse_kernel_file(data.decode())
                ]
                self.assertEqual(count, support.BUILT_8_0)
                self.assertEqual(len(in_files), count)
                self.assertEqual(sorted(in_files), sorted(branches))

    def test_selector_bytes_unchanged(self) -> None:
        trees = []
        for n in (1, 3):
            out = support.make_tmpdir()
            self.assertEqual(support.run_cli("8.0", "--shards", str(n), "--out", str(out)).returncode, 0)
            trees.append(support.read_tree(out))
        self.assertEqual(trees[0]["kernel_selector.h"], trees[1]["kernel_selector.h"])

    def test_expect(self) -> None:
        names = sharded(["sm80_kernel_bfloat16_u4b8_bfloat16.cu", "sm80_kernel_float16_u4b8_float16.cu"], 2)
        ok = support.run_cli("8.0", "--configs", "gptq_int4", "--shards", "2", "--expect", *names, "kernel_selector.h")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        bad = support.run_cli("8.0", "--configs", "gptq_int4", "--expect", *names, "kernel_selector.h")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("declared but not generated: sm80_kernel_bfloat16_u4b8_bfloat16_part1of2.cu", bad.stderr)

    def test_list(self) -> None:
        result = support.run_cli("8.0", "--configs", "gptq_int4", "--shards", "2", "--list")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("sm80_kernel_float16_u4b8_float16_part2of2.cu", result.stdout)
        self.assertIn("150 instantiations in 4 kernel files", result.stdout)  # 2 pairs x 5 group sizes x 15

    def test_bad_shards(self) -> None:
        for bad in ("0", "17", "-1", "two", "2.5", ""):
            with self.subTest(shards=bad):
                result = support.run_cli("8.0", "--shards", bad, "--list")
                self.assertEqual(result.returncode, 2, result.stderr)
                lines = result.stderr.splitlines()
                self.assertEqual(len(lines), 1, result.stderr)
                self.assertIn(f"bad --shards '{bad}': expected an integer from 1 to 16", lines[0])

    def test_emit_starlark_takes_no_shards(self) -> None:
        result = support.run_cli("--emit-starlark", "--shards", "2")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--shards", result.stderr)


if __name__ == "__main__":
    unittest.main()
