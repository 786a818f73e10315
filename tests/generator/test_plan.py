"""Expansion of archs and quant configs into instantiations and files."""

from __future__ import annotations

import dataclasses
import itertools
import unittest
from collections import Counter

from generator import catalog, plan, starlark
from generator.plan import plan_from_text

FILES_8_0 = [
    "sm80_kernel_bfloat16_u4_bfloat16.cu",
    "sm80_kernel_bfloat16_u4b8_bfloat16.cu",
    "sm80_kernel_float16_u4_float16.cu",
    "sm80_kernel_float16_u4b8_float16.cu",
]


class CountTest(unittest.TestCase):
    def test_8_0_both_configs(self) -> None:
        p = plan_from_text("8.0")
        self.assertEqual(len(p.instantiations), 240)
        self.assertEqual(list(p.kernel_file_names), FILES_8_0)
        self.assertEqual([len(f.instantiations) for f in p.files], [60, 60, 60, 60])
        self.assertEqual(p.output_names, (*FILES_8_0, "kernel_selector.h"))

    def test_three_archs(self) -> None:
        p = plan_from_text("8.0,8.9,9.0", "awq_int4,gptq_int4")
        self.assertEqual(len(p.instantiations), 240)
        self.assertEqual(list(p.kernel_file_names), FILES_8_0)
        self.assertEqual([f.name for f in p.families], ["sm80"])

    def test_per_config(self) -> None:
        for name, b in (("awq_int4", "u4"), ("gptq_int4", "u4b8")):
            with self.subTest(config=name):
                p = plan_from_text("8.0", name)
                self.assertEqual(len(p.instantiations), 120)
                self.assertEqual(
                    list(p.kernel_file_names),
                    [
                        f"sm80_kernel_bfloat16_{b}_bfloat16.cu",
                        f"sm80_kernel_float16_{b}_float16.cu",
                    ],
                )
                self.assertEqual({i.config for i in p.instantiations}, {name})

    def test_default_is_all_enabled(self) -> None:
        self.assertEqual(plan_from_text("8.0"), plan_from_text("8.0", "awq_int4,gptq_int4"))

    def test_turing_only_builds_nothing_yet(self) -> None:
        p = plan_from_text("7.5")
        self.assertEqual(p.files, ())
        self.assertEqual(p.output_names, ("kernel_selector.h",))

    def test_seed_totals(self) -> None:
        """With act-order GPTQ-INT4 and every family on, the seed's numbers come out."""
        configs = []
        for q in catalog.QUANT_CONFIGS:
            if q.name == "gptq_int4":
                q = dataclasses.replace(q, group_blocks=(-1, 0, 2, 4, 8))
            configs.append(q)
        full = tuple(configs)
        p = plan.make_plan(catalog.parse_arch_list("8.0,8.9,9.0"), full, include_disabled_families=True)
        self.assertEqual(len(p.instantiations), 921)
        self.assertEqual(len(p.files), 19)
        per_family = Counter(f.family for f in p.files for _ in f.instantiations)
        self.assertEqual(per_family, {"sm80": 717, "sm89": 204})
        self.assertIn("sm80_kernel_bfloat16_u4b8_bfloat16.cu", p.kernel_file_names)
        self.assertIn("sm89_kernel_fe4m3fn_u4b8_float16.cu", p.kernel_file_names)
        with_turing = plan.make_plan(
            catalog.parse_arch_list("7.5,8.0,8.9,9.0"),
            full,
            include_disabled_families=True,
        )
        turing = [i for f in with_turing.files if f.family == "sm75" for i in f.instantiations]
        self.assertEqual(len(turing), 351)
        self.assertEqual({i.stages for i in turing}, {2})
        # Without 8.9 or 12.x there are no FP8-activation kernels.
        no_fp8 = plan.make_plan(catalog.parse_arch_list("8.0,9.0"), full, include_disabled_families=True)
        self.assertEqual(len(no_fp8.instantiations), 717)


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
        self.assertEqual(sum(i.m_block_size_8 for i in p.instantiations), 48)

    def test_fields(self) -> None:
        p = plan_from_text("8.0")
        for f in p.files:
            for i in f.instantiations:
                self.assertEqual((i.a, i.b, i.c), (f.a, f.b, f.c))
                self.assertEqual(i.s, i.c)
                self.assertEqual(i.stages, 4)
                self.assertFalse(i.is_zp_float)
                self.assertIn(i.group_blocks, (-1, 2, 4, 8))
        self.assertEqual(len(set(p.instantiations)), len(p.instantiations))

    def test_first_instantiation(self) -> None:
        first = plan_from_text("8.0", "gptq_int4").files[1].instantiations[0]
        self.assertEqual(
            first.key,
            ("kFloat16", "kU4B8", "kFloat16", "kFloat16", 256, 1, 8, 8, True, 4, -1, False),
        )


class DeterminismTest(unittest.TestCase):
    def test_config_and_arch_order_do_not_matter(self) -> None:
        a = plan_from_text("8.0,9.0", "awq_int4,gptq_int4")
        b = plan_from_text("9.0,8.0", "gptq_int4,awq_int4")
        self.assertEqual(a.instantiations, b.instantiations)
        self.assertEqual([i.config for i in a.instantiations], [i.config for i in b.instantiations])

    def test_family_files_do_not_depend_on_archs(self) -> None:
        base = plan_from_text("8.0").files
        for archs in ("8.6", "8.9", "9.0a", "10.0f,12.1", "7.5,8.0,8.6,8.7,12.0a"):
            with self.subTest(archs=archs):
                self.assertEqual(plan_from_text(archs).files, base)


class StarlarkContractTest(unittest.TestCase):
    """What Bazel computes from catalog.bzl equals what the generator writes."""

    @staticmethod
    def bazel_outputs(archs: list[str], configs: list[str]) -> set[str]:
        values = starlark.catalog_values()
        arch_families = values["ARCH_FAMILIES"]
        config_files = values["QUANT_CONFIG_FILES"]
        assert isinstance(arch_families, dict) and isinstance(config_files, dict)
        families = {f for a in archs for f in arch_families[a]}
        out = {"kernel_selector.h"}
        for c in configs:
            per_family = config_files[c]
            assert isinstance(per_family, dict)
            for fam in families:
                out.update(per_family.get(fam, []))
        return out

    def test_every_arch_subset(self) -> None:
        archs = list(catalog.SUPPORTED_ARCHS)
        config_sets = [["awq_int4"], ["gptq_int4"], ["awq_int4", "gptq_int4"]]
        for n in range(1, len(archs) + 1):
            for subset in itertools.combinations(archs, n):
                for configs in config_sets:
                    p = plan.make_plan(
                        catalog.parse_arch_list(",".join(subset)),
                        catalog.parse_config_list(",".join(configs)),
                    )
                    self.assertEqual(
                        set(p.output_names),
                        self.bazel_outputs(list(subset), configs),
                        msg=f"{subset} {configs}",
                    )
                    expected = 120 * len(configs) if subset != ("7.5",) else 0
                    self.assertEqual(len(p.instantiations), expected)

    def test_values(self) -> None:
        values = starlark.catalog_values()
        self.assertEqual(
            list(values),
            [
                "SUPPORTED_ARCHS",
                "ARCH_FAMILIES",
                "QUANT_CONFIG_FILES",
                "KNOWN_QUANT_CONFIGS",
                "ENABLED_QUANT_CONFIGS",
            ],
        )
        self.assertEqual(values["ARCH_FAMILIES"]["7.5"], [])  # type: ignore[index]
        self.assertEqual(values["ARCH_FAMILIES"]["8.0"], ["sm80"])  # type: ignore[index]
        self.assertEqual(
            values["QUANT_CONFIG_FILES"],
            {
                "awq_int4": {"sm80": [FILES_8_0[0], FILES_8_0[2]]},
                "gptq_int4": {"sm80": [FILES_8_0[1], FILES_8_0[3]]},
            },
        )


if __name__ == "__main__":
    unittest.main()
