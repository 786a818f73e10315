"""Expansion of archs and quant configs into instantiations and files."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
import unittest
from collections import Counter
from unittest import mock

from generator import catalog, plan, starlark
from generator.plan import plan_from_text
from tests.generator import support

FILES_8_0 = support.KERNEL_FILES_8_0
FILES_7_5 = support.KERNEL_FILES_7_5
FILES_8_9 = support.KERNEL_FILES_8_9
# The 16-bit-activation AWQ/GPTQ INT4 files (awq_int4, gptq_int4): a in f16/bf16, b in u4/u4b8.
INT4_FILES_8_0 = [
    n for n in FILES_8_0 if n.split("_")[2] in ("float16", "bfloat16") and n.split("_")[3] in ("u4", "u4b8")
]
# 15 instantiations per (a, c) pair and group size: 5 m_blocks values x 3 thread configs.
PER_GROUP_SIZE = 5 * 3
# 12 per (a, c) pair and group size for 8-bit activations (INT8 in sm75/sm80, FP8 in sm89): 4 m_blocks values (no
# 0.5) x 3 thread configs.
PER_GROUP_SIZE_NO_HALF = 4 * 3
# The implemented configs whose kernels are in the sm75/sm80 families (16-bit float activations, then INT8
# activations), then the FP8-activation ones (sm89 only). Every config of the seed is implemented.
HALF_ACT_CONFIGS = ("awq_int4", "gptq_int4", "gptq_int8", "fp8", "nvfp4", "mxfp4")
INT8_ACT_CONFIGS = ("awq_int4_int8_act", "gptq_int4_int8_act")
SM80_CONFIGS = HALF_ACT_CONFIGS + INT8_ACT_CONFIGS
FP8_ACT_CONFIGS = ("awq_int4_fp8_act", "gptq_int4_fp8_act", "mxfp4_fp8_act")
IMPLEMENTED = SM80_CONFIGS + FP8_ACT_CONFIGS
# The archs that bring in sm89 (and so allow the FP8-activation configs).
SM89_ARCHS = ("8.9", "12.0", "12.1")
BF16_PAIR, F16_PAIR = ("bfloat16", "bfloat16"), ("float16", "float16")
S8_PAIRS = (("s8", "bfloat16"), ("s8", "float16"))
# What real builds generate per sm80 config (any arch >= 8.0, sm80 only): b type, (a, c) pairs in file-name order,
# group sizes (every one of the seed's: nothing is pending), and so (a, c) pairs x group sizes x 15 (12 for INT8
# activations: no m_blocks 0.5).
BUILT_PER_CONFIG: dict[str, tuple[str, tuple[tuple[str, str], ...], tuple[int, ...], int]] = {
    "awq_int4": ("u4", (BF16_PAIR, F16_PAIR), (-1, 2, 4, 8), 2 * 4 * PER_GROUP_SIZE),
    "gptq_int4": ("u4b8", (BF16_PAIR, F16_PAIR), (-1, 0, 2, 4, 8), 2 * 5 * PER_GROUP_SIZE),
    "gptq_int8": ("u8b128", (BF16_PAIR, F16_PAIR), (-1, 0, 2, 4, 8), 2 * 5 * PER_GROUP_SIZE),
    "fp8": ("fe4m3fn", (BF16_PAIR, F16_PAIR), (-1, 8), 2 * 2 * PER_GROUP_SIZE),
    "nvfp4": ("fe2m1f", (BF16_PAIR, F16_PAIR), (1,), 2 * 1 * PER_GROUP_SIZE),
    "mxfp4": ("fe2m1f", (BF16_PAIR,), (2,), 1 * 1 * PER_GROUP_SIZE),
    "awq_int4_int8_act": ("u4", S8_PAIRS, (-1, 2, 4, 8), 2 * 4 * PER_GROUP_SIZE_NO_HALF),  # no act-order
    "gptq_int4_int8_act": ("u4b8", S8_PAIRS, (-1, 2, 4, 8), 2 * 4 * PER_GROUP_SIZE_NO_HALF),
}
# What 7.5 adds per implemented config (the sm75 family): Turing has no bf16, so only the pairs with f16 output
# (f16 -> f16, s8 -> f16) of each, with the same group sizes: 1 pair x group sizes x 15 (12 for INT8 activations).
# mxfp4 (bf16 only) has none.
BUILT_PER_CONFIG_7_5: dict[str, int] = {
    name: count // len(pairs) * sum(c == "float16" for _, c in pairs)
    for name, (_, pairs, _, count) in BUILT_PER_CONFIG.items()
}
# What 8.9, 12.0 or 12.1 add per FP8-activation config (the sm89 family; a = fe4m3fn): b type, output types,
# group sizes (no act-order), and so (a, c) pairs x group sizes x 12.
BUILT_PER_CONFIG_8_9: dict[str, tuple[str, tuple[str, ...], tuple[int, ...], int]] = {
    "awq_int4_fp8_act": ("u4", ("bfloat16", "float16"), (-1, 2, 4, 8), 2 * 4 * PER_GROUP_SIZE_NO_HALF),
    "gptq_int4_fp8_act": ("u4b8", ("bfloat16", "float16"), (-1, 2, 4, 8), 2 * 4 * PER_GROUP_SIZE_NO_HALF),
    "mxfp4_fp8_act": ("fe2m1f", ("bfloat16",), (2,), 1 * 1 * PER_GROUP_SIZE_NO_HALF),
}
# The scale type where it is not the output type.
SCALE_TYPES = {"nvfp4": "kFE4M3fn", "mxfp4": "kFE8M0fnu", "mxfp4_fp8_act": "kFE8M0fnu"}


class CountTest(unittest.TestCase):
    def test_8_0_implemented_configs(self) -> None:
        p = plan_from_text("8.0")
        counts = {name: n for name, (_, _, _, n) in BUILT_PER_CONFIG.items()}
        self.assertEqual(
            counts,
            {
                "awq_int4": 120,
                "gptq_int4": 150,
                "gptq_int8": 150,
                "fp8": 60,
                "nvfp4": 30,
                "mxfp4": 15,
                "awq_int4_int8_act": 96,
                "gptq_int4_int8_act": 96,
            },
        )
        # 525 with 16-bit activations + 192 with INT8 activations: the seed's 717 sm80 instantiations.
        self.assertEqual(sum(counts.values()), 525 + 192)
        self.assertEqual(sum(counts[c] for c in INT8_ACT_CONFIGS), support.BUILT_8_0_INT8_ACT)
        self.assertEqual(support.BUILT_8_0, 717)  # support's per-file derivation gives the same total
        self.assertEqual(sum(support.KERNEL_FILE_SIZES_8_0.values()), 717)
        self.assertEqual(len(p.instantiations), 717)
        self.assertEqual(Counter(i.config for i in p.instantiations), counts)
        self.assertEqual(list(p.kernel_file_names), FILES_8_0)
        self.assertEqual(len(FILES_8_0), 10 + 4)  # 4 s8 files: 2 weight types x 2 outputs
        self.assertEqual({f.name: len(f.instantiations) for f in p.files}, support.KERNEL_FILE_SIZES_8_0)
        self.assertEqual(p.output_names, (*FILES_8_0, "kernel_selector.h"))

    def test_8_9_implemented_configs(self) -> None:
        """8.9 brings in sm89 (FP8 activations) besides sm80: 717 + 204 = 921 instantiations in 14 + 5 files."""
        counts = {name: n for name, (_, _, _, n) in BUILT_PER_CONFIG_8_9.items()}
        self.assertEqual(counts, {"awq_int4_fp8_act": 96, "gptq_int4_fp8_act": 96, "mxfp4_fp8_act": 12})
        self.assertEqual(sum(counts.values()), 204)
        self.assertEqual(support.BUILT_8_9, 204)  # support's per-file derivation gives the same total
        self.assertEqual(sum(support.KERNEL_FILE_SIZES_8_9.values()), 204)
        self.assertEqual(len(FILES_8_9), 5)
        for archs in ("8.9", "12.0", "12.1a"):
            with self.subTest(archs=archs):
                p = plan_from_text(archs)
                self.assertEqual([f.name for f in p.families], ["sm80", "sm89"])
                self.assertEqual([q.name for q in p.configs], list(IMPLEMENTED))
                self.assertEqual(len(p.instantiations), support.BUILT_8_0 + support.BUILT_8_9)
                self.assertEqual(len(p.instantiations), 921)  # the seed's figure for 8.0,8.9,9.0
                self.assertEqual(len(p.files), 19)
                self.assertEqual(list(p.kernel_file_names), FILES_8_0 + FILES_8_9)
                sm89 = {f.name: len(f.instantiations) for f in p.files if f.family == "sm89"}
                self.assertEqual(sm89, support.KERNEL_FILE_SIZES_8_9)
                self.assertEqual(
                    Counter(i.config for f in p.files if f.family == "sm89" for i in f.instantiations), counts
                )
                self.assertEqual(p.output_names, (*FILES_8_0, *FILES_8_9, "kernel_selector.h"))

    def test_fp8_act_per_config(self) -> None:
        for name, (b, outputs, group_blocks, count) in BUILT_PER_CONFIG_8_9.items():
            with self.subTest(config=name):
                p = plan_from_text("8.9", name)
                self.assertEqual(len(p.instantiations), count)
                self.assertEqual(list(p.kernel_file_names), [f"sm89_kernel_fe4m3fn_{b}_{c}.cu" for c in outputs])
                self.assertEqual({i.config for i in p.instantiations}, {name})
                self.assertEqual(sorted({i.group_blocks for i in p.instantiations}), sorted(group_blocks))
                for i in p.instantiations:
                    self.assertEqual(i.a, catalog.kFE4M3fn)
                    self.assertEqual(i.s.cpp, SCALE_TYPES.get(name, i.c.cpp))
                    self.assertEqual(i.stages, 4)
                    self.assertIn(i.thread_m_blocks, (1, 2, 3, 4))
                    self.assertFalse(i.m_block_size_8)

    def test_three_archs(self) -> None:
        """The seed's arch list: real builds plan its whole matrix now, 717 + 204 = 921 in 14 + 5 = 19 files."""
        p = plan_from_text("8.0,8.9,9.0")
        self.assertEqual(len(p.instantiations), support.BUILT_8_0 + support.BUILT_8_9)  # 717 + 204
        self.assertEqual(len(p.instantiations), 921)
        self.assertEqual(list(p.kernel_file_names), FILES_8_0 + FILES_8_9)
        self.assertEqual(len(p.files), 19)
        self.assertEqual([f.name for f in p.families], ["sm80", "sm89"])
        p = plan_from_text("8.0,8.9,9.0", "awq_int4,gptq_int4")
        self.assertEqual(len(p.instantiations), 120 + 150)  # 2 pairs x (4 + 5) group sizes x 15
        self.assertEqual(list(p.kernel_file_names), INT4_FILES_8_0)
        self.assertEqual([f.name for f in p.families], ["sm80", "sm89"])  # sm89 brought in, but no file of it
        p = plan_from_text("8.0,8.9,9.0", "awq_int4,awq_int4_fp8_act")
        # awq_int4: 2 pairs x 4 group sizes x 15 (sm80); awq_int4_fp8_act: 2 pairs x 4 group sizes x 12 (sm89).
        self.assertEqual(len(p.instantiations), 2 * 4 * PER_GROUP_SIZE + 2 * 4 * PER_GROUP_SIZE_NO_HALF)
        self.assertEqual(
            list(p.kernel_file_names),
            [n for n in INT4_FILES_8_0 if "_u4_" in n] + [n for n in FILES_8_9 if "_u4_" in n],
        )
        p = plan_from_text("8.0,8.9,9.0", "awq_int4,awq_int4_int8_act")
        # awq_int4: 2 pairs x 4 group sizes x 15; awq_int4_int8_act: 2 pairs (s8 -> f16, bf16) x 4 x 12; both sm80.
        self.assertEqual(len(p.instantiations), 2 * 4 * PER_GROUP_SIZE + 2 * 4 * PER_GROUP_SIZE_NO_HALF)
        self.assertEqual(
            list(p.kernel_file_names),
            [
                "sm80_kernel_bfloat16_u4_bfloat16.cu",
                "sm80_kernel_float16_u4_float16.cu",
                "sm80_kernel_s8_u4_bfloat16.cu",
                "sm80_kernel_s8_u4_float16.cu",
            ],
        )
        p = plan_from_text("8.0,9.0")
        self.assertEqual(len(p.instantiations), support.BUILT_8_0)  # no 8.9 or 12.x: no sm89, the 717 of 8.0
        self.assertEqual(list(p.kernel_file_names), FILES_8_0)
        self.assertEqual([f.name for f in p.families], ["sm80"])

    def test_five_archs(self) -> None:
        """7.5 and 8.9/12.0 with others: sm75 + sm80 + sm89 = 351 + 717 + 204 = 1272 instantiations in 26 files
        (the seed's 921 for 8.0,8.9,9.0 plus its 351 for 7.5)."""
        p = plan_from_text("7.5,8.0,8.9,9.0,12.0")
        self.assertEqual([f.name for f in p.families], ["sm75", "sm80", "sm89"])
        self.assertEqual(len(p.instantiations), support.BUILT_7_5 + support.BUILT_8_0 + support.BUILT_8_9)
        self.assertEqual(len(p.instantiations), 921 + 351)
        self.assertEqual(list(p.kernel_file_names), FILES_7_5 + FILES_8_0 + FILES_8_9)
        self.assertEqual(len(p.files), 7 + 14 + 5)
        self.assertEqual(p.files, plan_from_text("7.5").files + plan_from_text("8.9").files)

    def test_per_config(self) -> None:
        for name, (b, pairs, group_blocks, count) in BUILT_PER_CONFIG.items():
            with self.subTest(config=name):
                p = plan_from_text("8.0", name)
                self.assertEqual(len(p.instantiations), count)
                self.assertEqual(list(p.kernel_file_names), [f"sm80_kernel_{a}_{b}_{c}.cu" for a, c in pairs])
                self.assertEqual({i.config for i in p.instantiations}, {name})
                self.assertEqual(sorted({i.group_blocks for i in p.instantiations}), sorted(group_blocks))
                for i in p.instantiations:
                    self.assertEqual(i.s.cpp, SCALE_TYPES.get(name, i.c.cpp))

    def test_int8_act_per_config(self) -> None:
        """INT8 activations (a = s8): sm80 files for every arch >= 8.0 (f16 and bf16 output), an sm75 file (f16
        output) for 7.5; m_blocks 1-4 (no 8-row block), no act-order, the output type as scale type."""
        for name in INT8_ACT_CONFIGS:
            b, pairs, group_blocks, count = BUILT_PER_CONFIG[name]
            self.assertEqual(pairs, S8_PAIRS)
            for archs, family, stages, n in (
                ("8.0", "sm80", 4, count),  # 2 pairs x 4 group sizes x 12 = 96
                ("9.0a", "sm80", 4, count),
                ("8.9", "sm80", 4, count),  # 8.9 brings in sm89 too, but s8 files are sm80 ones
                ("7.5", "sm75", 2, BUILT_PER_CONFIG_7_5[name]),  # 1 pair (s8 -> f16) x 4 x 12 = 48
            ):
                with self.subTest(config=name, archs=archs):
                    p = plan_from_text(archs, name)
                    self.assertEqual(len(p.instantiations), n)
                    outputs = ("float16",) if family == "sm75" else ("bfloat16", "float16")
                    self.assertEqual(list(p.kernel_file_names), [f"{family}_kernel_s8_{b}_{c}.cu" for c in outputs])
                    self.assertEqual(sorted({i.group_blocks for i in p.instantiations}), sorted(group_blocks))
                    self.assertEqual(sorted({i.thread_m_blocks for i in p.instantiations}), [1, 2, 3, 4])
                    for i in p.instantiations:
                        self.assertEqual(i.a, catalog.kS8)
                        self.assertEqual(i.s, i.c)
                        self.assertEqual(i.stages, stages)
                        self.assertFalse(i.m_block_size_8)
                        self.assertFalse(i.is_zp_float)
        self.assertEqual(BUILT_PER_CONFIG_7_5["awq_int4_int8_act"], 1 * 4 * PER_GROUP_SIZE_NO_HALF)
        # The same weight type with 16-bit and INT8 activations: separate files, no shared instantiation.
        p = plan_from_text("7.5,8.0", "gptq_int4,gptq_int4_int8_act")
        self.assertEqual(len(p.instantiations), len(set(p.instantiations)))
        # gptq_int4: (1 + 2) pairs x 5 group sizes x 15; gptq_int4_int8_act: (1 + 2) pairs x 4 x 12.
        self.assertEqual(len(p.instantiations), 3 * 5 * PER_GROUP_SIZE + 3 * 4 * PER_GROUP_SIZE_NO_HALF)

    def test_fp4_configs_share_a_file(self) -> None:
        """nvfp4 and mxfp4 both write the bf16 e2m1 file; their kernels differ in the scale type."""
        p = plan_from_text("8.0", "mxfp4,nvfp4")
        self.assertEqual(
            list(p.kernel_file_names),
            ["sm80_kernel_bfloat16_fe2m1f_bfloat16.cu", "sm80_kernel_float16_fe2m1f_float16.cu"],
        )
        shared, f16 = p.files
        # nvfp4 first (catalog order): 1 group size x 15 each.
        self.assertEqual([i.config for i in shared.instantiations], ["nvfp4"] * 15 + ["mxfp4"] * 15)
        self.assertEqual({i.s.cpp for i in shared.instantiations}, {"kFE4M3fn", "kFE8M0fnu"})
        self.assertEqual(len(set(shared.instantiations)), 30)
        self.assertEqual({i.config for i in f16.instantiations}, {"nvfp4"})
        self.assertEqual(len(f16.instantiations), 15)

    def test_default_is_all_enabled(self) -> None:
        """Without a config list: every implemented config the archs allow (FP8 activations need 8.9 or 12.x)."""
        self.assertEqual(catalog.IMPLEMENTED_QUANT_CONFIGS, IMPLEMENTED)
        self.assertEqual(plan_from_text("8.0"), plan_from_text("8.0", ",".join(SM80_CONFIGS)))
        self.assertEqual(plan_from_text("8.9"), plan_from_text("8.9", ",".join(IMPLEMENTED)))
        self.assertEqual(plan_from_text("8.0,12.1"), plan_from_text("8.0,12.1", ",".join(IMPLEMENTED)))

    def test_turing(self) -> None:
        """7.5 brings in the sm75 family: the f16-output variants (f16 -> f16, s8 -> f16) of the implemented configs
        Turing allows."""
        self.assertEqual(
            BUILT_PER_CONFIG_7_5,
            {
                "awq_int4": 1 * 4 * 15,
                "gptq_int4": 1 * 5 * 15,
                "gptq_int8": 1 * 5 * 15,
                "fp8": 1 * 2 * 15,
                "nvfp4": 1 * 1 * 15,
                "mxfp4": 0,
                "awq_int4_int8_act": 1 * 4 * 12,
                "gptq_int4_int8_act": 1 * 4 * 12,
            },
        )
        # 255 with f16 activations + 96 with INT8 activations: the seed's 351 sm75 instantiations.
        self.assertEqual(sum(BUILT_PER_CONFIG_7_5.values()), 255 + 96)
        self.assertEqual(support.BUILT_7_5, 351)  # support's per-file derivation gives the same total
        self.assertEqual(sum(support.KERNEL_FILE_SIZES_7_5.values()), 351)
        p = plan_from_text("7.5")
        self.assertEqual([f.name for f in p.families], ["sm75"])
        # Without a config list, 7.5 leaves mxfp4 (bf16 only) out.
        self.assertEqual([q.name for q in p.configs], [c for c in SM80_CONFIGS if c != "mxfp4"])
        self.assertEqual(len(p.instantiations), 351)
        self.assertEqual(Counter(i.config for i in p.instantiations), +Counter(BUILT_PER_CONFIG_7_5))
        self.assertEqual(list(p.kernel_file_names), FILES_7_5)
        self.assertEqual(len(FILES_7_5), 5 + 2)
        self.assertEqual({f.name: len(f.instantiations) for f in p.files}, support.KERNEL_FILE_SIZES_7_5)
        self.assertEqual(p.output_names, (*FILES_7_5, "kernel_selector.h"))
        for i in p.instantiations:
            self.assertEqual(i.stages, 2)
            a = catalog.kS8 if i.config in INT8_ACT_CONFIGS else catalog.kFloat16
            self.assertEqual((i.a, i.c), (a, catalog.kFloat16))
            self.assertEqual(i.s.cpp, SCALE_TYPES.get(i.config, "kFloat16"))
            self.assertIn(i.group_blocks, BUILT_PER_CONFIG[i.config][2])
        self.assertEqual(len(set(p.instantiations)), len(p.instantiations))

    def test_turing_per_config(self) -> None:
        for name, count in BUILT_PER_CONFIG_7_5.items():
            if not count:
                continue  # mxfp4: an error on 7.5 alone (ForbiddenTest.test_mxfp4_needs_sm80)
            with self.subTest(config=name):
                b, pairs, group_blocks, _ = BUILT_PER_CONFIG[name]
                p = plan_from_text("7.5", name)
                self.assertEqual(len(p.instantiations), count)
                self.assertEqual(
                    list(p.kernel_file_names), [f"sm75_kernel_{a}_{b}_{c}.cu" for a, c in pairs if c == "float16"]
                )
                self.assertEqual(sorted({i.group_blocks for i in p.instantiations}), sorted(group_blocks))

    def test_turing_with_later_archs(self) -> None:
        """7.5 with archs >= 8.0: the sm75 files, then the sm80 ones (then the sm89 ones with 8.9 or 12.x), each
        family as it is alone."""
        # 351 + 717 = 1068 instantiations in 7 + 14 = 21 files; + 204 in 5 more sm89 files = 1272 in 26.
        self.assertEqual(support.BUILT_7_5 + support.BUILT_8_0, 1068)
        self.assertEqual(support.BUILT_7_5 + support.BUILT_8_0 + support.BUILT_8_9, 1272)
        for archs in ("7.5,8.6", "7.5,8.0,9.0,10.0f"):
            with self.subTest(archs=archs):
                p = plan_from_text(archs)
                self.assertEqual([f.name for f in p.families], ["sm75", "sm80"])
                self.assertEqual(list(p.kernel_file_names), FILES_7_5 + FILES_8_0)
                self.assertEqual(p.files, plan_from_text("7.5").files + plan_from_text("8.0").files)
                self.assertEqual(len(p.instantiations), support.BUILT_7_5 + support.BUILT_8_0)
        for archs in ("7.5,8.0,8.9,9.0", "12.1a,7.5,9.0"):
            with self.subTest(archs=archs):
                p = plan_from_text(archs)
                self.assertEqual([f.name for f in p.families], ["sm75", "sm80", "sm89"])
                self.assertEqual(list(p.kernel_file_names), FILES_7_5 + FILES_8_0 + FILES_8_9)
                self.assertEqual(p.files, plan_from_text("7.5").files + plan_from_text("8.9").files)
                self.assertEqual(len(p.instantiations), support.BUILT_7_5 + support.BUILT_8_0 + support.BUILT_8_9)
        # mxfp4 is allowed once an arch >= 8.0 is listed, and still builds no sm75 file.
        p = plan_from_text("7.5,8.0", "mxfp4,nvfp4")
        self.assertEqual(
            list(p.kernel_file_names),
            [
                "sm75_kernel_float16_fe2m1f_float16.cu",
                "sm80_kernel_bfloat16_fe2m1f_bfloat16.cu",
                "sm80_kernel_float16_fe2m1f_float16.cu",
            ],
        )
        self.assertEqual({i.config for f in p.files if f.family == "sm75" for i in f.instantiations}, {"nvfp4"})

    def test_sm90_family(self) -> None:
        """9.0a (not 9.0) brings in the sm90 family: marlin_gemm_kernel_sm90, (64, 256, 256) with 2, 3 and 4 M
        blocks and the 128-token tile's 8, for every 16-bit-activation config's (a, c) pairs and group sizes, after
        the sm80 files."""
        p = plan_from_text("9.0a")
        self.assertEqual([f.name for f in p.families], ["sm80", "sm90"])
        sm90 = [f for f in p.files if f.family == "sm90"]
        insts = [i for f in sm90 for i in f.instantiations]
        # 4 M blocks (2, 3, 4, 8) x group sizes: awq_int4 4, gptq_int4 5, gptq_int8 5, fp8 2, nvfp4 1 per (a, c)
        # pair (2 each), mxfp4 1 for its one pair.
        self.assertEqual(len(insts), 4 * (2 * (4 + 5 + 5 + 2 + 1) + 1))
        for i in insts:
            self.assertTrue(i.wgmma)
            self.assertEqual(i.kernel, "marlin_gemm_kernel_sm90")
            self.assertEqual((i.threads, i.thread_n_blocks, i.thread_k_blocks, i.stages), (256, 16, 4, 4))
            self.assertIn(i.thread_m_blocks, (2, 3, 4, 8))
            self.assertFalse(i.m_block_size_8)
            self.assertIn(i.a.cpp, ("kFloat16", "kBFloat16"))
        self.assertEqual({i.config for i in insts}, {"awq_int4", "gptq_int4", "gptq_int8", "fp8", "nvfp4", "mxfp4"})
        self.assertEqual(sum(i.thread_m_blocks == 8 for i in insts), len(insts) // 4)
        # The sm80 family's kernels of the same template arguments stay (they are other kernels: KernelKey::wgmma);
        # the 128-token tile (8 M blocks) is the sm90 family's alone.
        sm80_keys = {i.key[:-1] for f in p.files if f.family == "sm80" for i in f.instantiations}
        self.assertTrue({i.key[:-1] for i in insts if i.thread_m_blocks != 8} <= sm80_keys)
        self.assertFalse(any(k[5] == 8 for k in sm80_keys))
        self.assertEqual(len(set(p.instantiations)), len(p.instantiations))
        self.assertNotIn("sm90", [f.name for f in plan_from_text("9.0").families])
        self.assertNotIn("sm90", [f.name for f in plan_from_text("10.0a").families])

    def test_sm89_family_builds_its_files(self) -> None:
        """sm89 (FP8 activations) is implemented: 8.9 and 12.x bring in its files, the same as the all-known plan's
        (as are the sm75 and sm80 ones now that the INT8-activation configs are implemented too)."""
        self.assertTrue(catalog.family("sm89").implemented)
        for archs in ("8.9", "12.0", "12.1a", "7.5,8.9,12.0"):
            with self.subTest(archs=archs):
                p = plan_from_text(archs)
                self.assertIn("sm89", [f.name for f in p.families])
                self.assertEqual([n for n in p.kernel_file_names if n.startswith("sm89")], FILES_8_9)
                sm89 = [f for f in p.files if f.family == "sm89"]
                self.assertEqual(sm89, [f for f in plan_from_text("8.9").files if f.family == "sm89"])
                full = plan_from_text(archs, all_known=True)
                self.assertEqual(sm89, [f for f in full.files if f.family == "sm89"])
                # Without the sm89 archs: the same sm75/sm80 files, nothing of sm89.
                others = plan_from_text(archs.replace("8.9", "8.0").replace("12.0", "9.0").replace("12.1a", "10.0a"))
                self.assertEqual([f for f in p.files if f.family != "sm89"], list(others.files))

    def test_family_not_implemented_builds_nothing(self) -> None:
        """The mechanism, via a hypothetical catalog where sm89 is not implemented: 8.9 and 12.x bring in sm80 only
        and no sm89 file; the all-known plan still has sm89."""
        fams = tuple(dataclasses.replace(f, implemented=False) if f.name == "sm89" else f for f in catalog.FAMILIES)
        with mock.patch.object(catalog, "FAMILIES", fams):
            self.assertEqual([f.name for f in fams if not f.implemented], ["sm89"])
            for archs in ("8.9", "12.0", "12.1a", "7.5,8.9,12.0"):
                with self.subTest(archs=archs):
                    p = plan_from_text(archs, ",".join(SM80_CONFIGS))
                    self.assertNotIn("sm89", [f.name for f in p.families])
                    self.assertEqual([n for n in p.kernel_file_names if n.startswith("sm89")], [])
                    full = plan_from_text(archs, all_known=True)
                    self.assertIn("sm89", [f.name for f in full.families])

    def test_act_order_is_built(self) -> None:
        for name in ("gptq_int4", "gptq_int8"):
            with self.subTest(config=name):
                real = plan_from_text("8.0", name)
                # 2 (a, c) pairs x 15 of the 150 are act-order.
                self.assertEqual(sum(i.group_blocks == 0 for i in real.instantiations), 2 * PER_GROUP_SIZE)
                full = plan_from_text("8.0", name, all_known=True)
                self.assertEqual(len(full.instantiations), 150)  # 2 (a, c) pairs x 5 group sizes x 15
                self.assertEqual(full.instantiations, real.instantiations)
                self.assertEqual(full.kernel_file_names, real.kernel_file_names)

    def test_pending_group_blocks_are_left_out(self) -> None:
        """The mechanism (no real config uses it now): a pending group size is planned only in all-known mode."""
        pending = dataclasses.replace(catalog.quant_config("gptq_int4"), pending_group_blocks=(0,))
        archs = catalog.parse_arch_list("8.0")
        real = plan.make_plan(archs, (pending,))
        full = plan.make_plan(archs, (pending,), all_known=True)
        self.assertEqual(len(real.instantiations), 2 * 4 * PER_GROUP_SIZE)  # act-order left out
        self.assertNotIn(0, {i.group_blocks for i in real.instantiations})
        self.assertEqual(len(full.instantiations), 2 * 5 * PER_GROUP_SIZE)
        self.assertEqual(full.kernel_file_names, real.kernel_file_names)
        self.assertEqual({i for i in full.instantiations if i.group_blocks != 0}, set(real.instantiations))


# ---------------------------------------------------------------------------------------------------------
# The seed's expansion rules (notes/seed-facts.md), restated here independently of generator/catalog.py, and
# the totals they give. The plan must agree with this formula for every arch list, and the formula must give
# the seed's published figures.

HALF = ("float16", "bfloat16")
# (weight, activations, outputs, number of group_blocks values, number of m_blocks values); outputs per
# activation: every listed one, except that a 16-bit float activation is never paired with the other one.
SEED_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], int, int], ...] = (
    ("u4", HALF, HALF, 4, 5),  # AWQ-INT4: -1, 2, 4, 8; m_blocks 0.5, 1, 2, 3, 4
    ("u4b8", HALF, HALF, 5, 5),  # GPTQ-INT4: -1, 0, 2, 4, 8
    ("u8b128", HALF, HALF, 5, 5),  # GPTQ-INT8: -1, 0, 2, 4, 8
    ("fe4m3fn", HALF, HALF, 2, 5),  # FP8: -1, 8
    ("fe2m1f", HALF, HALF, 1, 5),  # NVFP4: 1 (scales e4m3)
    ("fe2m1f", ("bfloat16",), HALF, 1, 5),  # MXFP4: 2, bf16 activations (scales e8m0)
    ("u4", ("s8",), HALF, 4, 4),  # INT8 activations: m_blocks 1-4
    ("u4b8", ("s8",), HALF, 4, 4),
    ("u4", ("fe4m3fn",), HALF, 4, 4),  # FP8 activations: m_blocks 1-4
    ("u4b8", ("fe4m3fn",), HALF, 4, 4),
    ("fe2m1f", ("fe4m3fn",), ("bfloat16",), 1, 4),  # MXFP4 with FP8 activations: bf16 output
)
THREAD_CONFIGS_PER_M_BLOCKS = 3  # 4 thread configs, one of the two 256-thread ones pruned per m_blocks value


def _family_rules(arch_numbers: set[int]) -> dict[str, tuple[set[str], set[str]]]:
    """The families an arch list brings in -> (activation types, output types) of their files."""
    out = {}
    if 75 in arch_numbers:
        out["sm75"] = ({"float16", "s8"}, {"float16"})
    if any(n >= 80 for n in arch_numbers):
        out["sm80"] = ({"float16", "bfloat16", "s8"}, set(HALF))
    if any(n == 89 or n // 10 == 12 for n in arch_numbers):
        out["sm89"] = ({"fe4m3fn"}, set(HALF))
    return out


def seed_formula(archs: str) -> tuple[dict[str, int], set[str]]:
    """(instantiations per family, file names) of the seed's whole matrix for an arch list such as "8.0,9.0a"."""
    numbers = set()
    for arch in archs.split(","):
        major, minor = re.match(r"(\d+)\.(\d+)", arch).groups()  # "9.0a" -> 9, 0: any suffix after
        numbers.add(int(major) * 10 + int(minor))
    counts: dict[str, int] = {}
    files: set[str] = set()
    for fam, (a_ok, c_ok) in _family_rules(numbers).items():
        counts[fam] = 0
        for b, a_types, c_types, n_groups, n_m_blocks in SEED_RULES:
            for a in a_types:
                for c in c_types:
                    if a in HALF and c in HALF and a != c:
                        continue
                    if a in a_ok and c in c_ok:
                        counts[fam] += n_m_blocks * THREAD_CONFIGS_PER_M_BLOCKS * n_groups
                        files.add(f"{fam}_kernel_{a}_{b}_{c}.cu")
    return {f: n for f, n in counts.items() if n}, files


class SeedMatrixTest(unittest.TestCase):
    """The all-known mode plans the seed's whole matrix."""

    def test_formula_gives_the_seed_figures(self) -> None:
        counts, files = seed_formula("8.0,8.9,9.0")
        self.assertEqual(counts, {"sm80": 717, "sm89": 204})
        self.assertEqual(sum(counts.values()), 921)
        self.assertEqual(len(files), 19)
        with_turing, _ = seed_formula("7.5,8.0,8.9,9.0")
        self.assertEqual(with_turing, {"sm75": 351, "sm80": 717, "sm89": 204})

    def test_seed_totals(self) -> None:
        p = plan_from_text("8.0,8.9,9.0", all_known=True)
        self.assertTrue(p.all_known)
        self.assertEqual(len(p.instantiations), 921)
        self.assertEqual(len(p.files), 19)
        self.assertEqual(Counter(f.family for f in p.files for _ in f.instantiations), {"sm80": 717, "sm89": 204})
        self.assertIn("sm80_kernel_bfloat16_u4b8_bfloat16.cu", p.kernel_file_names)
        self.assertIn("sm89_kernel_fe4m3fn_u4b8_float16.cu", p.kernel_file_names)
        turing = plan_from_text("7.5,8.0,8.9,9.0", all_known=True)
        sm75 = [i for f in turing.files if f.family == "sm75" for i in f.instantiations]
        self.assertEqual(len(sm75), 351)
        self.assertEqual(len(turing.instantiations), 921 + 351)
        self.assertEqual({i.stages for i in sm75}, {2})
        self.assertEqual({i.a.file_name for i in sm75}, {"float16", "s8"})
        self.assertEqual({i.c.file_name for i in sm75}, {"float16"})
        # Without 8.9 or 12.x the FP8-activation configs are left out (nothing asked for them by name).
        no_fp8 = plan_from_text("8.0,9.0", all_known=True)
        self.assertEqual(len(no_fp8.instantiations), 717)
        self.assertNotIn("awq_int4_fp8_act", [q.name for q in no_fp8.configs])

    def test_every_arch_list_matches_the_formula(self) -> None:
        """The all-known plan and, now that every config, family and group size is implemented, the real one."""
        archs = list(catalog.SUPPORTED_ARCHS)
        for n in range(1, len(archs) + 1):
            for subset in itertools.combinations(archs, n):
                text = ",".join(subset)
                counts, files = seed_formula(text)
                for all_known in (True, False):
                    p = plan_from_text(text, all_known=all_known)
                    got = Counter(f.family for f in p.files for _ in f.instantiations)
                    self.assertEqual(dict(got), counts, msg=f"{text} all_known={all_known}")
                    self.assertEqual(set(p.kernel_file_names), files, msg=f"{text} all_known={all_known}")
                    self.assertEqual(len(set(p.instantiations)), len(p.instantiations), msg=text)

    def test_m_blocks_and_stages(self) -> None:
        p = plan_from_text("7.5,8.9", all_known=True)
        for f in p.files:
            for i in f.instantiations:
                self.assertEqual(i.stages, 2 if f.family == "sm75" else 4)
                if i.a.file_name in ("s8", "fe4m3fn"):
                    self.assertFalse(i.m_block_size_8, i)
                self.assertEqual(f.family == "sm89", i.a.file_name == "fe4m3fn")

    def test_real_build_is_the_seed_matrix(self) -> None:
        """Where real builds still differ from the seed's matrix: nowhere. Every quant config and family is
        implemented and no group size is pending (act-order included), so real builds plan exactly what the
        all-known mode plans, in the same order: the seed's 921 instantiations in 19 files for 8.0,8.9,9.0 and
        351 more (7 files) with 7.5."""
        self.assertEqual([q.name for q in catalog.QUANT_CONFIGS if not q.implemented], [])
        self.assertEqual([q.name for q in catalog.QUANT_CONFIGS if q.pending_group_blocks], [])
        self.assertEqual([f.name for f in catalog.FAMILIES if not f.implemented], [])
        for archs, (count, files) in {
            "8.0,8.9,9.0": (717 + 204, 14 + 5),
            "7.5,8.0,8.9,9.0": (351 + 717 + 204, 7 + 14 + 5),
            "7.5": (351, 7),
            "8.0,9.0": (717, 14),
        }.items():
            with self.subTest(archs=archs):
                real = plan_from_text(archs)
                full = plan_from_text(archs, all_known=True)
                self.assertFalse(real.all_known)
                self.assertEqual(real.files, full.files)
                self.assertEqual(real.configs, full.configs)
                self.assertEqual((len(real.instantiations), len(real.files)), (count, files))
                self.assertEqual(sum(seed_formula(archs)[0].values()), count)

    def test_real_build_is_a_subset(self) -> None:
        """What real builds generate is the implemented part of the all-known plan (all of it now)."""
        for archs in ("7.5", "8.0", "8.0,8.9,9.0", "7.5,8.6,12.1"):
            with self.subTest(archs=archs):
                real = plan_from_text(archs)
                full = plan_from_text(archs, all_known=True)
                self.assertLessEqual(set(real.instantiations), set(full.instantiations))
                built = {
                    i
                    for f in full.files
                    if catalog.family(f.family).implemented
                    for i in f.instantiations
                    if i.group_blocks in catalog.quant_config(i.config, all_known=True).built_group_blocks
                }
                self.assertEqual(set(real.instantiations), built)


class ForbiddenTest(unittest.TestCase):
    def test_fp8_activations_need_8_9_or_12(self) -> None:
        for all_known in (False, True):
            for configs in ("awq_int4_fp8_act", "gptq_int4_fp8_act", "awq_int4,mxfp4_fp8_act"):
                for archs in ("8.0", "7.5,8.0,8.6,8.7,9.0a,10.0f"):
                    with self.subTest(configs=configs, archs=archs, all_known=all_known):
                        with self.assertRaises(catalog.CatalogError) as ctx:
                            plan_from_text(archs, configs, all_known=all_known)
                        self.assertIn("has no kernels for archs", str(ctx.exception))
                        self.assertIn("archs that allow it: 8.9, 12.0, 12.1", str(ctx.exception))
            for archs in ("8.9", "12.0", "12.1a", "8.0,8.9"):
                with self.subTest(archs=archs, all_known=all_known):
                    p = plan_from_text(archs, "gptq_int4_fp8_act", all_known=all_known)
                    self.assertEqual(len(p.instantiations), 2 * 4 * PER_GROUP_SIZE_NO_HALF)  # 2 pairs x 4 sizes x 12
                    self.assertEqual({f.family for f in p.files}, {"sm89"})

    def test_mxfp4_needs_sm80(self) -> None:
        for all_known in (False, True):
            with self.subTest(all_known=all_known):
                with self.assertRaisesRegex(
                    catalog.CatalogError, "'mxfp4' has no kernels for archs 7.5; archs that allow"
                ):
                    plan_from_text("7.5", "mxfp4", all_known=all_known)
        # Without a config list, 7.5 leaves mxfp4 out instead.
        self.assertNotIn("mxfp4", [q.name for q in plan_from_text("7.5").configs])
        self.assertEqual(len(plan_from_text("7.5,8.6", "mxfp4").instantiations), 15)

    def test_not_implemented(self) -> None:
        """Every config is implemented now: the not-implemented path runs in a hypothetical catalog where the
        INT8-activation pair is not (support.not_implemented)."""
        for name in INT8_ACT_CONFIGS:  # the real catalog builds them
            self.assertEqual(len(plan_from_text("8.0", f"gptq_int8,{name}").instantiations), 150 + 96)
        with support.not_implemented(*INT8_ACT_CONFIGS):
            with self.assertRaisesRegex(
                catalog.CatalogError,
                "^quant config 'gptq_int4_int8_act' is not implemented yet; "
                "available: awq_int4, gptq_int4, gptq_int8, fp8, nvfp4, mxfp4, "
                "awq_int4_fp8_act, gptq_int4_fp8_act, mxfp4_fp8_act$",
            ):
                plan_from_text("8.0", "gptq_int8,gptq_int4_int8_act")
            # Without a config list, real builds leave the configs out; the all-known mode plans them.
            real = plan_from_text("7.5,8.0")
            self.assertEqual([q.name for q in real.configs], [c for c in HALF_ACT_CONFIGS])
            self.assertEqual(len(real.instantiations), support.BUILT_7_5 - 96 + support.BUILT_8_0_HALF_ACT)
            self.assertNotIn(catalog.kS8, {i.a for i in real.instantiations})
            full = plan_from_text("7.5,8.0", all_known=True)
            self.assertEqual(len(full.instantiations), support.BUILT_7_5 + support.BUILT_8_0)
            # And make_plan, given a config that is not implemented, plans nothing of it in real mode.
            off = catalog.quant_config("awq_int4_int8_act", all_known=True)
            self.assertEqual(plan.make_plan(catalog.parse_arch_list("8.0"), (off,)).files, ())
        # An implemented FP8-activation config named for archs without 8.9 or 12.x gets the arch error.
        with self.assertRaisesRegex(catalog.CatalogError, "'awq_int4_fp8_act' has no kernels for archs 8.0;"):
            plan_from_text("8.0", "awq_int4_fp8_act")
        # Not implemented comes before the arch check: a hypothetical catalog where awq_int4_fp8_act is not
        # implemented (no real config is not implemented).
        with support.not_implemented("awq_int4_fp8_act"):
            with self.assertRaisesRegex(catalog.CatalogError, "'awq_int4_fp8_act' is not implemented yet"):
                plan_from_text("8.0", "awq_int4_fp8_act")


class ExpansionRuleTest(unittest.TestCase):
    def test_pruning(self) -> None:
        p = plan_from_text("8.0")
        configs: dict[float, set[tuple[int, int, int]]] = {}
        for i in p.instantiations:
            configs.setdefault(i.m_blocks, set()).add((i.thread_k_blocks * 16, i.thread_n_blocks * 16, i.threads))
        self.assertEqual(sorted(configs), [0.5, 1, 2, 3, 4])
        small = {(128, 128, 256), (64, 128, 128), (128, 64, 128)}
        large = {(64, 256, 256), (64, 128, 128), (128, 64, 128)}
        for m_blocks, seen in configs.items():
            with self.subTest(m_blocks=m_blocks):
                self.assertEqual(seen, small if m_blocks <= 1 else large)

    def test_half_m_block(self) -> None:
        p = plan_from_text("8.0")
        for i in p.instantiations:
            self.assertIn(i.thread_m_blocks, (1, 2, 3, 4))
            if i.m_block_size_8:
                self.assertEqual(i.thread_m_blocks, 1)
        # Only m_blocks 0.5 uses the 8-row block: every 16-bit-activation config's (a, c) pairs x group sizes
        # (2 x 4 + 2 x 5 + 2 x 5 + 2 x 2 + 2 x 1 + 1 x 1 = 35) x 3 thread configs, a fifth of their 525; the 192
        # INT8-activation instantiations have none (m_blocks 1-4).
        self.assertEqual(sum(i.m_block_size_8 for i in p.instantiations), 35 * 3)
        self.assertEqual(support.BUILT_8_0_HALF_ACT, 5 * 35 * 3)
        self.assertFalse(any(i.m_block_size_8 for i in p.instantiations if i.a == catalog.kS8))

    def test_fields(self) -> None:
        p = plan_from_text("7.5,8.0")
        for f in p.files:
            for i in f.instantiations:
                b, pairs, group_blocks, _ = BUILT_PER_CONFIG[i.config]
                self.assertEqual((i.a, i.b, i.c), (f.a, f.b, f.c))
                self.assertEqual(i.b.file_name, b)
                self.assertIn((i.a.file_name, i.c.file_name), pairs)
                self.assertEqual(i.s.cpp, SCALE_TYPES.get(i.config, i.c.cpp))
                self.assertEqual(i.stages, 2 if f.family == "sm75" else 4)
                self.assertFalse(i.is_zp_float)
                self.assertIn(i.group_blocks, group_blocks)
        self.assertEqual(len(set(p.instantiations)), len(p.instantiations))

    def test_first_instantiation(self) -> None:
        first = plan_from_text("8.0", "gptq_int4").files[1].instantiations[0]
        self.assertEqual(
            first.key,
            ("kFloat16", "kU4B8", "kFloat16", "kFloat16", 256, 1, 8, 8, True, 4, -1, False, False),
        )
        first = plan_from_text("8.0", "gptq_int8").files[1].instantiations[0]
        self.assertEqual(
            first.key,
            ("kFloat16", "kU8B128", "kFloat16", "kFloat16", 256, 1, 8, 8, True, 4, -1, False, False),
        )


class DeterminismTest(unittest.TestCase):
    def test_config_and_arch_order_do_not_matter(self) -> None:
        a = plan_from_text("8.0,9.0", "awq_int4,gptq_int4,gptq_int8")
        b = plan_from_text("9.0,8.0", "gptq_int8,gptq_int4,awq_int4")
        self.assertEqual(a.instantiations, b.instantiations)
        self.assertEqual([i.config for i in a.instantiations], [i.config for i in b.instantiations])

    def test_family_files_do_not_depend_on_archs(self) -> None:
        base = plan_from_text("8.0").files
        for archs in ("8.6", "9.0", "10.0f"):
            with self.subTest(archs=archs):
                self.assertEqual(plan_from_text(archs).files, base)
        # 9.0a: the same sm80 files, then the sm90 ones (wgmma), which no other arch brings in.
        hopper = plan_from_text("9.0a").files
        self.assertEqual(hopper[: len(base)], base)
        self.assertEqual({f.family for f in hopper[len(base) :]}, {"sm90"})
        self.assertEqual(plan_from_text("8.0,9.0a,10.0f").files, hopper)
        # With 8.9 or 12.x: the same sm80 files, then the sm89 ones, the same whichever sm89 arch brings them in.
        ada = plan_from_text("8.9").files
        self.assertEqual(ada[: len(base)], base)
        sm89 = ada[len(base) :]
        self.assertEqual([f.family for f in sm89], ["sm89"] * len(FILES_8_9))
        for archs in ("12.0", "10.0f,12.1", "8.0,8.9,12.1a"):
            with self.subTest(archs=archs):
                self.assertEqual(plan_from_text(archs).files, base + sm89)
        # With 7.5: the sm75 files, the same whichever later archs come with it, then the same sm80 (and sm89) files.
        turing = plan_from_text("7.5").files
        for archs in ("7.5,8.0,8.6,8.7", "10.0f,7.5"):
            with self.subTest(archs=archs):
                self.assertEqual(plan_from_text(archs).files, turing + base)
        for archs in ("7.5,8.0,8.6,8.7,12.0a", "8.9,7.5"):
            with self.subTest(archs=archs):
                self.assertEqual(plan_from_text(archs).files, turing + base + sm89)


@functools.cache
def _catalog_values() -> dict[str, starlark.StarlarkValue]:
    return starlark.catalog_values()


# The arch lists and config sets of StarlarkContractTest.agreement.
AGREEMENT_ARCH_LISTS = [["7.5"], ["8.0"], ["8.9"], ["12.1a"], ["7.5", "9.0a"], ["8.0", "8.9", "9.0"], ["7.5", "12.0"]]
# Besides the default (None) and each config alone:
AGREEMENT_CONFIG_SETS = [
    ["gptq_int8", "mxfp4_fp8_act"],  # mxfp4_fp8_act needs 8.9 or 12.x
    ["gptq_int8", "awq_int4_int8_act"],  # 16-bit and INT8 activations
    ["awq_int4_int8_act", "gptq_int4_int8_act"],  # both INT8-activation configs
    ["fp8", "mxfp4"],  # mxfp4 rejected for 7.5 alone
]


class StarlarkContractTest(unittest.TestCase):
    """What Bazel computes from catalog.bzl (as rules/private/plan.bzl does) equals what the generator writes."""

    @staticmethod
    def bazel_outputs(
        archs: list[str],
        configs: list[str] | None,
        all_known: bool = False,
        values: dict[str, starlark.StarlarkValue] | None = None,
    ) -> set[str] | str:
        """plan.bzl's plan_kernel_files in Python: the file set, or "error" for a forbidden combination.

        `values`: the exported catalog (default: the real one's)."""
        if values is None:
            values = _catalog_values()
        planned = support.starlark_planned_files(values, archs, configs, all_known)
        return "error" if planned is None else planned

    def generator_outputs(self, archs: list[str], configs: list[str] | None, all_known: bool = False) -> set[str] | str:
        try:
            p = plan_from_text(",".join(archs), None if configs is None else ",".join(configs), all_known=all_known)
        except catalog.CatalogError:
            return "error"
        return set(p.output_names)

    def test_every_arch_subset(self) -> None:
        archs = list(catalog.SUPPORTED_ARCHS)
        config_sets = [[name] for name in IMPLEMENTED] + [
            ["awq_int4", "gptq_int8", "nvfp4"],
            ["gptq_int4", "mxfp4_fp8_act"],
            ["awq_int4_int8_act", "mxfp4_fp8_act"],  # INT8 activations (sm75, sm80) with FP8 ones (sm89)
            list(SM80_CONFIGS),
            list(IMPLEMENTED),
        ]
        for n in range(1, len(archs) + 1):
            for subset in itertools.combinations(archs, n):
                for configs in config_sets:
                    msg = f"{subset} {configs}"
                    got = self.generator_outputs(list(subset), configs)
                    self.assertEqual(got, self.bazel_outputs(list(subset), configs), msg=msg)
                    turing = "7.5" in subset  # brings in sm75
                    ampere = subset != ("7.5",)  # any arch >= 8.0 brings in sm80
                    ada = any(a in SM89_ARCHS for a in subset)  # 8.9 or 12.x brings in sm89
                    if not ampere and "mxfp4" in configs:
                        # mxfp4 (bf16 only) has no kernels for 7.5 alone: named, it is an error.
                        self.assertEqual(got, "error", msg=msg)
                        continue
                    if not ada and any(c in FP8_ACT_CONFIGS for c in configs):
                        # FP8 activations have kernels for 8.9 and 12.x only: named without them, an error.
                        self.assertEqual(got, "error", msg=msg)
                        continue
                    p = plan_from_text(",".join(subset), ",".join(configs))
                    expected = sum(
                        BUILT_PER_CONFIG_8_9[c][3]
                        if c in FP8_ACT_CONFIGS
                        else (BUILT_PER_CONFIG_7_5[c] if turing else 0) + (BUILT_PER_CONFIG[c][3] if ampere else 0)
                        for c in configs
                    )
                    self.assertEqual(len(p.instantiations), expected, msg=msg)
                    self.assertEqual(
                        [f.name for f in p.families],
                        ["sm75"] * turing + ["sm80"] * ampere + ["sm89"] * ada,
                        msg=msg,
                    )

    def agreement(self, values: dict[str, starlark.StarlarkValue]) -> Counter[tuple[bool, str]]:
        """Check generator == Bazel for every arch list, config set and mode; count the errors per mode and set."""
        config_sets: list[list[str] | None] = [
            None,
            *([c] for c in catalog.KNOWN_QUANT_CONFIGS),
            *AGREEMENT_CONFIG_SETS,
        ]
        errors: Counter[tuple[bool, str]] = Counter()
        for archs in AGREEMENT_ARCH_LISTS:
            for configs in config_sets:
                for all_known in (False, True):
                    with self.subTest(archs=archs, configs=configs, all_known=all_known):
                        want = self.generator_outputs(archs, configs, all_known)
                        self.assertEqual(self.bazel_outputs(archs, configs, all_known, values), want)
                        if want == "error":
                            errors[all_known, ",".join(configs or ["default"])] += 1
        return errors

    def test_all_known_and_forbidden(self) -> None:
        """The same agreement in the all-known mode, errors included."""
        errors = self.agreement(_catalog_values())
        self.assertGreater(sum(errors.values()), 0)
        # Every config is implemented: real builds and the all-known mode reject the same (arch-forbidden) sets.
        self.assertEqual(
            {k: n for (all_known, k), n in errors.items() if all_known},
            {k: n for (all_known, k), n in errors.items() if not all_known},
        )
        self.assertEqual(errors[False, "awq_int4_int8_act,gptq_int4_int8_act"], 0)  # allowed by every arch list

    def test_not_implemented_agreement(self) -> None:
        """In a hypothetical catalog where the INT8-activation pair is not implemented, Bazel (from that catalog's
        export) and the generator agree, and both reject the pair in real builds only."""
        with support.not_implemented(*INT8_ACT_CONFIGS):
            values = starlark.catalog_values()
            self.assertEqual(values["IMPLEMENTED_QUANT_CONFIGS"], [*HALF_ACT_CONFIGS, *FP8_ACT_CONFIGS])
            self.assertNotIn("awq_int4_int8_act", values["QUANT_CONFIG_FILES"])  # type: ignore[operator]
            errors = self.agreement(values)
        # Named alone, each config of the pair is an error for every arch list in real builds, never in all-known.
        for name in INT8_ACT_CONFIGS:
            self.assertEqual(errors[False, name], len(AGREEMENT_ARCH_LISTS))
            self.assertEqual(errors[True, name], 0)
        self.assertEqual(errors[False, "gptq_int8,awq_int4_int8_act"], len(AGREEMENT_ARCH_LISTS))
        self.assertEqual(errors[True, "gptq_int8,awq_int4_int8_act"], 0)

    def test_values(self) -> None:
        values = starlark.catalog_values()
        self.assertEqual(
            list(values),
            [
                "SUPPORTED_ARCHS",
                "ARCH_MIN_CUDA",
                "ARCH_PTX_SUFFIX",
                "FAMILY_ARCHS",
                "IMPLEMENTED_FAMILIES",
                "ARCH_FAMILIES",
                "QUANT_CONFIG_FILES",
                "KNOWN_QUANT_CONFIGS",
                "IMPLEMENTED_QUANT_CONFIGS",
                "CONFIG_REQUIRED_ARCHS",
                "KNOWN_QUANT_CONFIG_FILES",
            ],
        )
        self.assertEqual(values["ARCH_MIN_CUDA"], catalog.ARCH_MIN_CUDA)
        self.assertEqual(values["ARCH_PTX_SUFFIX"], "+PTX")
        self.assertEqual(values["ARCH_FAMILIES"]["7.5"], ["sm75"])  # type: ignore[index]
        self.assertEqual(values["ARCH_FAMILIES"]["8.0"], ["sm80"])  # type: ignore[index]
        # sm89 is implemented: 8.9 and 12.x bring in sm80 and sm89.
        self.assertEqual(values["ARCH_FAMILIES"]["8.9"], ["sm80", "sm89"])  # type: ignore[index]
        self.assertEqual(values["ARCH_FAMILIES"]["12.0"], ["sm80", "sm89"])  # type: ignore[index]
        self.assertEqual(values["ARCH_FAMILIES"]["9.0"], ["sm80"])  # type: ignore[index]
        self.assertEqual(values["ARCH_FAMILIES"]["9.0a"], ["sm80", "sm90"])  # type: ignore[index]
        self.assertEqual(values["FAMILY_ARCHS"]["sm90"], ["9.0a"])  # type: ignore[index]
        self.assertEqual(values["FAMILY_ARCHS"]["sm89"], ["8.9", "12.0", "12.1"])  # type: ignore[index]
        self.assertEqual(values["IMPLEMENTED_FAMILIES"], ["sm75", "sm80", "sm89", "sm90"])
        self.assertEqual(values["IMPLEMENTED_QUANT_CONFIGS"], list(IMPLEMENTED))
        self.assertEqual(values["CONFIG_REQUIRED_ARCHS"]["mxfp4_fp8_act"], ["8.9", "12.0", "12.1"])  # type: ignore[index]
        # Real builds: only the implemented configs' files of the implemented families (sm75: f16 output only;
        # sm89: FP8 activations). Every config and family is implemented, so that is all of them.
        self.assertEqual(
            values["QUANT_CONFIG_FILES"],
            {
                "awq_int4": {
                    "sm75": ["sm75_kernel_float16_u4_float16.cu"],
                    "sm80": ["sm80_kernel_bfloat16_u4_bfloat16.cu", "sm80_kernel_float16_u4_float16.cu"],
                    "sm90": ["sm90_kernel_bfloat16_u4_bfloat16.cu", "sm90_kernel_float16_u4_float16.cu"],
                },
                "gptq_int4": {
                    "sm75": ["sm75_kernel_float16_u4b8_float16.cu"],
                    "sm80": ["sm80_kernel_bfloat16_u4b8_bfloat16.cu", "sm80_kernel_float16_u4b8_float16.cu"],
                    "sm90": ["sm90_kernel_bfloat16_u4b8_bfloat16.cu", "sm90_kernel_float16_u4b8_float16.cu"],
                },
                "gptq_int8": {
                    "sm75": ["sm75_kernel_float16_u8b128_float16.cu"],
                    "sm80": ["sm80_kernel_bfloat16_u8b128_bfloat16.cu", "sm80_kernel_float16_u8b128_float16.cu"],
                    "sm90": ["sm90_kernel_bfloat16_u8b128_bfloat16.cu", "sm90_kernel_float16_u8b128_float16.cu"],
                },
                "fp8": {
                    "sm75": ["sm75_kernel_float16_fe4m3fn_float16.cu"],
                    "sm80": ["sm80_kernel_bfloat16_fe4m3fn_bfloat16.cu", "sm80_kernel_float16_fe4m3fn_float16.cu"],
                    "sm90": ["sm90_kernel_bfloat16_fe4m3fn_bfloat16.cu", "sm90_kernel_float16_fe4m3fn_float16.cu"],
                },
                "nvfp4": {
                    "sm75": ["sm75_kernel_float16_fe2m1f_float16.cu"],
                    "sm80": ["sm80_kernel_bfloat16_fe2m1f_bfloat16.cu", "sm80_kernel_float16_fe2m1f_float16.cu"],
                    "sm90": ["sm90_kernel_bfloat16_fe2m1f_bfloat16.cu", "sm90_kernel_float16_fe2m1f_float16.cu"],
                },
                "mxfp4": {  # bf16 only: nothing for sm75
                    "sm80": ["sm80_kernel_bfloat16_fe2m1f_bfloat16.cu"],
                    "sm90": ["sm90_kernel_bfloat16_fe2m1f_bfloat16.cu"],
                },
                "awq_int4_int8_act": {  # s8 -> f16 only on Turing
                    "sm75": ["sm75_kernel_s8_u4_float16.cu"],
                    "sm80": ["sm80_kernel_s8_u4_bfloat16.cu", "sm80_kernel_s8_u4_float16.cu"],
                },
                "gptq_int4_int8_act": {
                    "sm75": ["sm75_kernel_s8_u4b8_float16.cu"],
                    "sm80": ["sm80_kernel_s8_u4b8_bfloat16.cu", "sm80_kernel_s8_u4b8_float16.cu"],
                },
                "awq_int4_fp8_act": {
                    "sm89": ["sm89_kernel_fe4m3fn_u4_bfloat16.cu", "sm89_kernel_fe4m3fn_u4_float16.cu"],
                },
                "gptq_int4_fp8_act": {
                    "sm89": ["sm89_kernel_fe4m3fn_u4b8_bfloat16.cu", "sm89_kernel_fe4m3fn_u4b8_float16.cu"],
                },
                "mxfp4_fp8_act": {"sm89": ["sm89_kernel_fe4m3fn_fe2m1f_bfloat16.cu"]},  # bf16 output only
            },
        )
        real = values["QUANT_CONFIG_FILES"]
        assert isinstance(real, dict)
        real_files = {name for per_family in real.values() for names in per_family.values() for name in names}  # type: ignore[union-attr]
        sm90_files = {n.replace("sm80_", "sm90_", 1) for n in FILES_8_0 if "_s8_" not in n}  # no INT8 activations
        self.assertEqual(real_files, set(FILES_7_5 + FILES_8_0 + FILES_8_9) | sm90_files)
        known = values["KNOWN_QUANT_CONFIG_FILES"]
        assert isinstance(known, dict)
        self.assertEqual(list(known), list(catalog.KNOWN_QUANT_CONFIGS))
        every_file = {name for per_family in known.values() for names in per_family.values() for name in names}  # type: ignore[union-attr]
        # The seed's 19 for 8.0,8.9,9.0, 7 sm75 files and 10 of the sm90 family (9.0a).
        self.assertEqual(len(every_file), 19 + 7 + 10)
        self.assertEqual(len(real_files), 19 + 7 + 10)
        self.assertEqual(known, real)  # nothing left that real builds do not declare


if __name__ == "__main__":
    unittest.main()
