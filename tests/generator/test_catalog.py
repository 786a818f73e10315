"""The catalog's data: names, archs, configs and their lookups."""

from __future__ import annotations

import dataclasses
import re
import unittest
from unittest import mock

from generator import catalog
from generator.catalog import CatalogError
from tests.generator import support


class ScalarTypeTest(unittest.TestCase):
    def test_spellings(self) -> None:
        names = {t.cpp: t.file_name for t in catalog.SCALAR_TYPES}
        self.assertEqual(
            names,
            {
                "kFloat16": "float16",
                "kBFloat16": "bfloat16",
                "kS8": "s8",
                "kFE4M3fn": "fe4m3fn",
                "kU4": "u4",
                "kU4B8": "u4b8",
                "kU8B128": "u8b128",
                "kFE2M1f": "fe2m1f",
                "kFE8M0fnu": "fe8m0fnu",
            },
        )

    def test_matches_cuda_enum(self) -> None:
        text = support.SCALAR_TYPE_HEADER.read_text()
        enum = {m[1]: int(m[2]) for m in re.finditer(r"\b(k\w+)\s*=\s*(\d+)", text)}
        self.assertEqual(enum, {t.cpp: t.value for t in catalog.SCALAR_TYPES})


class ArchTest(unittest.TestCase):
    def test_supported(self) -> None:
        self.assertEqual(
            catalog.SUPPORTED_ARCHS,
            ("7.5", "8.0", "8.6", "8.7", "8.9", "9.0", "10.0", "12.0", "12.1"),
        )

    def test_parse_list(self) -> None:
        archs = catalog.parse_arch_list("9.0a,8.0+PTX,8.9")
        self.assertEqual([str(a) for a in archs], ["8.0+PTX", "8.9", "9.0a"])
        self.assertEqual([a.name for a in archs], ["8.0", "8.9", "9.0"])
        self.assertEqual([a.target for a in archs], ["8.0", "8.9", "9.0a"])
        self.assertEqual([a.ptx for a in archs], [True, False, False])
        self.assertEqual(catalog.parse_arch("10.0f").suffix, "f")
        self.assertEqual(catalog.parse_arch("12.1a").spec.number, 121)

    def test_bad_archs(self) -> None:
        cases = {
            "": "empty arch list",
            " ": "empty arch list",
            "8,0": "bad arch '8' in '8,0'",
            "sm_80": "bad arch 'sm_80' (write 8.0)",
            "80": "bad arch '80'",
            "7.0": "unsupported arch '7.0'",
            "8.0,,8.9": "empty entry",
            "8.0,": "empty entry",
            "8.0a": "suffix 'a' does not exist for 8.0",
            "9.0f": "suffix 'f' does not exist for 9.0",
            "9.0x": "suffix 'x' does not exist",
            "8.0.1": "bad arch '8.0.1'",
            "8.0,8.9,8.0": "arch 8.0 is listed twice",
            "8.0,8.0+PTX": "arch 8.0 is listed twice",
            "8.0, 8.9": "bad arch ' 8.9' in '8.0, 8.9': no spaces allowed",
            "8.0+ptx": "bad arch '8.0+ptx'",
            "+PTX": "bad arch '+PTX'",
        }
        for text, message in cases.items():
            with self.subTest(text=text):
                with self.assertRaises(CatalogError) as ctx:
                    catalog.parse_arch_list(text)
                self.assertIn(message, str(ctx.exception))
                if "suffix" in message:
                    self.assertRegex(str(ctx.exception), "allowed: 'a'|takes no suffix")
                elif text.strip() and "twice" not in message:
                    self.assertIn("8.0, 8.6", str(ctx.exception))

    def test_allowed_text_as_in_the_rules(self) -> None:
        # tests/rules/rule_tests.bzl holds the rules' message text (planning_test checks plan.bzl against it).
        m = re.search(r'^ALLOWED_ARCHS = "(.*)"$', support.RULE_TESTS_BZL.read_text(), re.MULTILINE)
        assert m is not None, "no ALLOWED_ARCHS in tests/rules/rule_tests.bzl"
        self.assertEqual(m.group(1), "allowed: " + catalog.allowed_archs_text())

    def test_min_cuda(self) -> None:
        # The first CUDA release of each target, from NVIDIA's release notes: sm_90a 12.0, sm_100/sm_120 12.8,
        # sm_121 and the family-specific 'f' targets 12.9.
        want = {"7.5": "10.0", "8.9": "11.8", "9.0": "11.8", "9.0a": "12.0", "10.0": "12.8", "10.0a": "12.8",
                "10.0f": "12.9", "12.0": "12.8", "12.0f": "12.9", "12.1": "12.9", "12.1a": "12.9"}  # fmt: skip
        self.assertEqual({k: catalog.ARCH_MIN_CUDA[k] for k in want}, want)
        # Exactly the spellings the parser accepts, so the rules (which read this table) accept the same ones.
        spellings = {a.name + s for a in catalog.ARCHS for s in ("", *a.suffixes)}
        self.assertEqual(set(catalog.ARCH_MIN_CUDA), spellings)
        for spelling in spellings:
            self.assertEqual(str(catalog.parse_arch(spelling)), spelling)
            self.assertEqual(str(catalog.parse_arch(spelling + "+PTX")), spelling + "+PTX")

    def test_families(self) -> None:
        # Every family is implemented now (sm75, sm80, sm89: FP8 activations, sm90: wgmma), so real builds and the
        # all-known mode bring in the same families: sm75 for 7.5, sm80 for >= 8.0, sm89 too for 8.9 and 12.x, and
        # sm90 too for 9.0a (not for a plain 9.0: wgmma exists on sm_90a only).
        self.assertEqual(catalog.IMPLEMENTED_FAMILIES, ("sm75", "sm80", "sm89", "sm90"))
        self.assertTrue(catalog.family("sm89").implemented)
        real = {arch: [f.name for f in catalog.families_for_arch(arch)] for arch in catalog.SUPPORTED_ARCHS}
        every = {
            arch: [f.name for f in catalog.families_for_arch(arch, all_known=True)] for arch in catalog.SUPPORTED_ARCHS
        }
        self.assertEqual(real, every)
        for arch in catalog.SUPPORTED_ARCHS:
            with self.subTest(arch=arch):
                self.assertEqual("sm89" in real[arch], arch in ("8.9", "12.0", "12.1"))
        self.assertEqual(
            every,
            {
                "7.5": ["sm75"],
                "8.0": ["sm80"],
                "8.6": ["sm80"],
                "8.7": ["sm80"],
                "8.9": ["sm80", "sm89"],
                "9.0": ["sm80"],
                "10.0": ["sm80"],
                "12.0": ["sm80", "sm89"],
                "12.1": ["sm80", "sm89"],
            },
        )
        for arch, want in (
            ("9.0a", ["sm80", "sm90"]),
            ("9.0", ["sm80"]),
            ("10.0a", ["sm80"]),
            ("12.0a", ["sm80", "sm89"]),
        ):
            with self.subTest(arch=arch):
                self.assertEqual([f.name for f in catalog.families_for_arch(arch)], want)
        self.assertEqual(catalog.family("sm75").stages, 2)
        self.assertEqual(catalog.family("sm80").stages, 4)
        self.assertEqual(catalog.family("sm89").stages, 4)

    def test_family_types(self) -> None:
        """sm75: f16 and s8 activations, f16 output (no bf16 on Turing); sm89: FP8 activations only; sm90: 16-bit
        activations only."""
        f16, bf16, s8, fp8 = catalog.kFloat16, catalog.kBFloat16, catalog.kS8, catalog.kFE4M3fn
        expected = {
            "sm75": {(f16, f16), (s8, f16)},
            "sm80": {(f16, f16), (f16, bf16), (bf16, f16), (bf16, bf16), (s8, f16), (s8, bf16)},
            "sm89": {(fp8, f16), (fp8, bf16)},
            "sm90": {(f16, f16), (f16, bf16), (bf16, f16), (bf16, bf16)},
        }
        for fam in catalog.FAMILIES:
            with self.subTest(family=fam.name):
                accepted = {(a, c) for a in catalog.SCALAR_TYPES for c in catalog.SCALAR_TYPES if fam.accepts(a, c)}
                self.assertEqual(accepted, expected[fam.name])


# The seed's QUANT_CONFIGS (notes/seed-facts.md), written down again here rather than read from the catalog:
# name -> (b type, (a, c, s) triples, group_blocks, m_blocks).
F16, BF16 = "kFloat16", "kBFloat16"
# What csrc/marlin compiles now, in catalog order: every config of the seed (the INT8-activation pair sits between
# the 16-bit-activation configs and the FP8-activation ones). No config is left that is not implemented.
INT8_ACT = ("awq_int4_int8_act", "gptq_int4_int8_act")
FP8_ACT = ("awq_int4_fp8_act", "gptq_int4_fp8_act", "mxfp4_fp8_act")
IMPLEMENTED = ("awq_int4", "gptq_int4", "gptq_int8", "fp8", "nvfp4", "mxfp4", *INT8_ACT, *FP8_ACT)
AVAILABLE = ", ".join(IMPLEMENTED)
HALF_PAIRS = ((F16, F16, F16), (BF16, BF16, BF16))
ALL_M = (0.5, 1, 2, 3, 4)
NO_HALF_M = (1, 2, 3, 4)
SEED_CONFIGS: dict[str, tuple[str, tuple[tuple[str, str, str], ...], tuple[int, ...], tuple[float, ...]]] = {
    "awq_int4": ("kU4", HALF_PAIRS, (-1, 2, 4, 8), ALL_M),
    "gptq_int4": ("kU4B8", HALF_PAIRS, (-1, 0, 2, 4, 8), ALL_M),
    "gptq_int8": ("kU8B128", HALF_PAIRS, (-1, 0, 2, 4, 8), ALL_M),
    "fp8": ("kFE4M3fn", HALF_PAIRS, (-1, 8), ALL_M),
    "nvfp4": ("kFE2M1f", ((F16, F16, "kFE4M3fn"), (BF16, BF16, "kFE4M3fn")), (1,), ALL_M),
    "mxfp4": ("kFE2M1f", ((BF16, BF16, "kFE8M0fnu"),), (2,), ALL_M),
    "awq_int4_int8_act": ("kU4", (("kS8", F16, F16), ("kS8", BF16, BF16)), (-1, 2, 4, 8), NO_HALF_M),
    "gptq_int4_int8_act": ("kU4B8", (("kS8", F16, F16), ("kS8", BF16, BF16)), (-1, 2, 4, 8), NO_HALF_M),
    "awq_int4_fp8_act": ("kU4", (("kFE4M3fn", F16, F16), ("kFE4M3fn", BF16, BF16)), (-1, 2, 4, 8), NO_HALF_M),
    "gptq_int4_fp8_act": ("kU4B8", (("kFE4M3fn", F16, F16), ("kFE4M3fn", BF16, BF16)), (-1, 2, 4, 8), NO_HALF_M),
    "mxfp4_fp8_act": ("kFE2M1f", (("kFE4M3fn", BF16, "kFE8M0fnu"),), (2,), NO_HALF_M),
}


class QuantConfigTest(unittest.TestCase):
    def test_consistent(self) -> None:
        self.assertEqual(catalog.check_catalog(), [])

    def test_names(self) -> None:
        self.assertEqual(catalog.IMPLEMENTED_QUANT_CONFIGS, IMPLEMENTED)
        self.assertEqual(catalog.KNOWN_QUANT_CONFIGS, tuple(SEED_CONFIGS))
        # Every known config is implemented now (11 of 11), in the same order.
        self.assertEqual(len(IMPLEMENTED), 11)
        self.assertEqual(catalog.KNOWN_QUANT_CONFIGS, catalog.IMPLEMENTED_QUANT_CONFIGS)

    def test_seed_matrix(self) -> None:
        """Every config has the seed's weight, activation/output/scale types, group sizes and M blocks."""
        for q in catalog.QUANT_CONFIGS:
            with self.subTest(config=q.name):
                b, triples, group_blocks, m_blocks = SEED_CONFIGS[q.name]
                self.assertEqual(q.b_type.cpp, b)
                self.assertEqual(tuple((c.a.cpp, c.c.cpp, c.s.cpp) for c in q.combos), triples)
                self.assertEqual(q.group_blocks, group_blocks)
                self.assertEqual(q.thread_m_blocks, m_blocks)
                self.assertEqual(q.has_zp, b == "kU4")
                self.assertFalse(q.is_zp_float)

    def test_implemented_configs(self) -> None:
        # Real builds take every group size of the seed for each implemented config; nothing is pending now.
        built = {
            "awq_int4": (-1, 2, 4, 8),
            "gptq_int4": (-1, 0, 2, 4, 8),  # act-order (0) included
            "gptq_int8": (-1, 0, 2, 4, 8),
            "fp8": (-1, 8),
            "nvfp4": (1,),  # groups of 16 rows
            "mxfp4": (2,),  # groups of 32 rows
            "awq_int4_int8_act": (-1, 2, 4, 8),  # INT8 activations (sm75, sm80): no act-order
            "gptq_int4_int8_act": (-1, 2, 4, 8),
            "awq_int4_fp8_act": (-1, 2, 4, 8),  # FP8 activations (sm89): no act-order
            "gptq_int4_fp8_act": (-1, 2, 4, 8),
            "mxfp4_fp8_act": (2,),
        }
        self.assertEqual(tuple(built), IMPLEMENTED)
        for name, group_blocks in built.items():
            with self.subTest(config=name):
                q = catalog.quant_config(name)
                self.assertTrue(q.implemented)
                self.assertEqual(q.pending_group_blocks, ())
                self.assertEqual(q.built_group_blocks, group_blocks)
                self.assertEqual(q.planned_group_blocks(), group_blocks)
                self.assertEqual(q.planned_group_blocks(all_known=True), group_blocks)
        # The pending mechanism (no real config uses it now): a hypothetical GPTQ config whose act-order is not
        # implemented builds every group size but 0; the all-known mode still plans 0.
        pending = dataclasses.replace(catalog.quant_config("gptq_int4"), pending_group_blocks=(0,))
        self.assertEqual(pending.built_group_blocks, (-1, 2, 4, 8))
        self.assertEqual(pending.planned_group_blocks(), (-1, 2, 4, 8))
        self.assertEqual(pending.planned_group_blocks(all_known=True), (-1, 0, 2, 4, 8))
        # A config that is not implemented (none is now: hypothetical ones) builds nothing, pending or not; the
        # all-known mode still plans every group size.
        self.assertEqual([q.name for q in catalog.QUANT_CONFIGS if not q.implemented], [])
        self.assertEqual(dataclasses.replace(pending, implemented=False).built_group_blocks, ())
        for name in INT8_ACT:
            with self.subTest(config=name):
                off = dataclasses.replace(catalog.quant_config(name), implemented=False)
                self.assertEqual(off.built_group_blocks, ())
                self.assertEqual(off.planned_group_blocks(), ())
                self.assertEqual(off.planned_group_blocks(all_known=True), (-1, 2, 4, 8))

    def test_config_archs(self) -> None:
        everything = catalog.SUPPORTED_ARCHS
        at_least_80 = catalog.SUPPORTED_ARCHS[1:]
        fp8_archs = ("8.9", "12.0", "12.1")
        for q in catalog.QUANT_CONFIGS:
            with self.subTest(config=q.name):
                families = [f.name for f in catalog.config_families(q)]
                if q.name.endswith("_fp8_act"):
                    self.assertEqual(families, ["sm89"])
                    self.assertEqual(catalog.config_archs(q), fp8_archs)
                elif q.name == "mxfp4":  # bf16 only: nothing for Turing
                    self.assertEqual(families, ["sm80", "sm90"])
                    self.assertEqual(catalog.config_archs(q), at_least_80)
                elif q.name in INT8_ACT:  # s8 -> f16 on Turing, s8 -> f16/bf16 on every arch >= 8.0; no wgmma
                    self.assertEqual(families, ["sm75", "sm80"])
                    self.assertEqual(catalog.config_archs(q), everything)
                else:  # 16-bit activations: wgmma kernels too (sm90, which adds no arch of its own base)
                    self.assertEqual(families, ["sm75", "sm80", "sm90"])
                    self.assertEqual(catalog.config_archs(q), everything)

    def test_check_archs_allow(self) -> None:
        fp8_act = catalog.quant_config("awq_int4_fp8_act", all_known=True)
        mxfp4 = catalog.quant_config("mxfp4", all_known=True)
        for archs in ("8.9", "12.0a", "8.0,12.1", "7.5,8.9"):
            with self.subTest(archs=archs):
                catalog.check_archs_allow(catalog.parse_arch_list(archs), (fp8_act,))
        with self.assertRaises(CatalogError) as ctx:
            catalog.check_archs_allow(catalog.parse_arch_list("8.0,9.0a,10.0"), (mxfp4, fp8_act))
        self.assertEqual(
            str(ctx.exception),
            "quant config 'awq_int4_fp8_act' has no kernels for archs 8.0, 9.0a, 10.0; "
            "archs that allow it: 8.9, 12.0, 12.1",
        )
        with self.assertRaises(CatalogError) as ctx:
            catalog.check_archs_allow(catalog.parse_arch_list("7.5"), (mxfp4,))
        self.assertIn(
            "quant config 'mxfp4' has no kernels for archs 7.5; archs that allow it: 8.0, 8.6", str(ctx.exception)
        )

    def test_not_implemented(self) -> None:
        # No real config is left that is not implemented: every one is available without all_known.
        self.assertEqual(
            tuple(n for n in catalog.KNOWN_QUANT_CONFIGS if n not in catalog.IMPLEMENTED_QUANT_CONFIGS), ()
        )
        for name in catalog.KNOWN_QUANT_CONFIGS:
            with self.subTest(config=name):
                self.assertTrue(catalog.quant_config(name).implemented)
        # The mechanism, in a hypothetical catalog where the INT8-activation pair is not implemented (as it was
        # before csrc/marlin had its kernels): asking for either fails, naming it and what is available.
        with support.not_implemented(*INT8_ACT):
            available = ", ".join(n for n in IMPLEMENTED if n not in INT8_ACT)
            self.assertEqual(len(catalog.IMPLEMENTED_QUANT_CONFIGS), 11 - 2)
            for name in INT8_ACT:
                with self.subTest(config=name, catalog="hypothetical"):
                    with self.assertRaises(CatalogError) as ctx:
                        catalog.quant_config(name)
                    self.assertEqual(
                        str(ctx.exception), f"quant config '{name}' is not implemented yet; available: {available}"
                    )
                    # The internal all-known mode takes it.
                    self.assertEqual(catalog.quant_config(name, all_known=True).name, name)
                    self.assertFalse(catalog.quant_config(name, all_known=True).implemented)
                    with self.assertRaises(CatalogError):
                        catalog.parse_config_list(f"fp8,{name}")
            # The hypothetical catalog is consistent (a config may be taken back out).
            self.assertEqual(catalog.check_catalog(), [])
        # Outside the patch the real catalog is back.
        self.assertTrue(catalog.quant_config("awq_int4_int8_act").implemented)

    def test_unknown(self) -> None:
        with self.assertRaises(CatalogError) as ctx:
            catalog.quant_config("int3")
        self.assertEqual(str(ctx.exception), f"unknown quant config 'int3'; available: {AVAILABLE}")
        with self.assertRaises(CatalogError) as ctx:
            catalog.quant_config("int3", all_known=True)
        # All-known: every config in catalog order, where the INT8-activation pair sits before FP8_ACT.
        self.assertEqual(
            str(ctx.exception), f"unknown quant config 'int3'; available: {', '.join(catalog.KNOWN_QUANT_CONFIGS)}"
        )
        self.assertIn("mxfp4, awq_int4_int8_act, gptq_int4_int8_act, awq_int4_fp8_act,", str(ctx.exception))
        # Every known config is implemented, so real builds list the same ones.
        self.assertEqual(str(ctx.exception), f"unknown quant config 'int3'; available: {AVAILABLE}")

    def test_parse_list(self) -> None:
        names = [q.name for q in catalog.parse_config_list("gptq_int4,awq_int4")]
        self.assertEqual(names, ["awq_int4", "gptq_int4"])
        names = [q.name for q in catalog.parse_config_list("gptq_int4,gptq_int4")]
        self.assertEqual(names, ["gptq_int4"])
        names = [q.name for q in catalog.parse_config_list("gptq_int8,awq_int4,gptq_int4")]
        self.assertEqual(names, ["awq_int4", "gptq_int4", "gptq_int8"])
        names = [q.name for q in catalog.parse_config_list("mxfp4,gptq_int4,nvfp4,fp8")]
        self.assertEqual(names, ["gptq_int4", "fp8", "nvfp4", "mxfp4"])
        for bad in ("", " ", "awq_int4,", "awq_int4,,gptq_int4", "awq_int4,int3", "fp8,awq_int4_int8"):
            with self.subTest(text=bad), self.assertRaises(CatalogError):
                catalog.parse_config_list(bad)
        # FP8- and INT8-activation configs are implemented now: real builds parse them (the arch check comes later).
        names = [q.name for q in catalog.parse_config_list("mxfp4_fp8_act,fp8,awq_int4")]
        self.assertEqual(names, ["awq_int4", "fp8", "mxfp4_fp8_act"])
        names = [q.name for q in catalog.parse_config_list("gptq_int4_int8_act,fp8,awq_int4")]
        self.assertEqual(names, ["awq_int4", "fp8", "gptq_int4_int8_act"])
        names = [q.name for q in catalog.parse_config_list("gptq_int4_fp8_act,awq_int4_int8_act,gptq_int4_int8_act")]
        self.assertEqual(names, ["awq_int4_int8_act", "gptq_int4_int8_act", "gptq_int4_fp8_act"])
        names = [q.name for q in catalog.parse_config_list("gptq_int4_int8_act,fp8,awq_int4", all_known=True)]
        self.assertEqual(names, ["awq_int4", "fp8", "gptq_int4_int8_act"])


class CheckCatalogTest(unittest.TestCase):
    """check_catalog() reports the mistakes an edit of the implemented flags can make."""

    def problems(self, **changes: object) -> list[str]:
        configs = tuple(
            dataclasses.replace(q, **changes[q.name]) if q.name in changes else q  # type: ignore[arg-type]
            for q in catalog.QUANT_CONFIGS
        )
        with mock.patch.object(catalog, "QUANT_CONFIGS", configs):
            return catalog.check_catalog()

    def test_fp8_act_needs_sm89(self) -> None:
        """A hypothetical catalog where sm89 is taken back out (implemented=False) but the FP8-activation configs
        stay implemented: each of their (a, c) pairs has no implemented family."""
        fams = tuple(dataclasses.replace(f, implemented=False) if f.name == "sm89" else f for f in catalog.FAMILIES)
        with mock.patch.object(catalog, "FAMILIES", fams):
            found = self.problems()
            # awq_int4_fp8_act and gptq_int4_fp8_act: 2 (a, c) pairs each; mxfp4_fp8_act: 1 (-> bf16).
            self.assertEqual(len(found), 2 + 2 + 1, found)
            self.assertEqual(
                found[0],
                "quant config awq_int4_fp8_act is implemented but a=fe4m3fn c=float16 has no implemented family",
            )
            self.assertEqual(
                found[-1],
                "quant config mxfp4_fp8_act is implemented but a=fe4m3fn c=bfloat16 has no implemented family",
            )
            # Taking the FP8-activation configs back out too makes the catalog consistent again.
            off = {name: {"implemented": False} for name in FP8_ACT}
            self.assertEqual(self.problems(**off), [])
        # The real catalog (sm89 implemented) takes them.
        self.assertEqual(self.problems(), [])

    def test_int8_act_needs_sm75_or_sm80(self) -> None:
        """s8 -> f16 lives in sm75 and sm80, s8 -> bf16 in sm80 only: a hypothetical catalog without an implemented
        sm80 leaves each INT8-activation config's bf16 pair (and every 16-bit config's bf16 one) homeless."""
        fams = tuple(dataclasses.replace(f, implemented=False) if f.name == "sm80" else f for f in catalog.FAMILIES)
        with mock.patch.object(catalog, "FAMILIES", fams):
            found = self.problems()
            # bf16 -> bf16 of awq_int4, gptq_int4, gptq_int8, fp8, nvfp4, mxfp4; s8 -> bf16 of the INT8 pair.
            self.assertEqual(len(found), 6 + 2, found)
            for name in INT8_ACT:
                self.assertIn(
                    f"quant config {name} is implemented but a=s8 c=bfloat16 has no implemented family", found
                )
            self.assertFalse([p for p in found if "c=float16" in p], found)  # sm75 still takes the f16 outputs
        # Without sm75 and sm80 both, s8 -> f16 has no home either.
        fams = tuple(dataclasses.replace(f, implemented=f.name == "sm89") for f in catalog.FAMILIES)
        with mock.patch.object(catalog, "FAMILIES", fams):
            found = self.problems()
            for name in INT8_ACT:
                self.assertIn(f"quant config {name} is implemented but a=s8 c=float16 has no implemented family", found)
            # Taking every 16-bit and INT8-activation config back out leaves the FP8-activation ones, which sm89 holds.
            off = {q.name: {"implemented": False} for q in catalog.QUANT_CONFIGS if q.name not in FP8_ACT}
            self.assertEqual(self.problems(**off), [])

    def test_pending_group_blocks(self) -> None:
        # No real config has pending group sizes now; these are hypothetical edits of the catalog.
        self.assertEqual([q.name for q in catalog.QUANT_CONFIGS if q.pending_group_blocks], [])
        # An implemented config may leave some of its group sizes pending (as GPTQ's act-order once was)...
        self.assertEqual(self.problems(gptq_int4={"pending_group_blocks": (0,)}), [])
        self.assertEqual(self.problems(fp8={"pending_group_blocks": (8,)}), [])
        # ...but a config that is not implemented has nothing to leave out.
        self.assertEqual(
            self.problems(gptq_int8={"implemented": False, "pending_group_blocks": (0,)}),
            ["quant config gptq_int8: pending_group_blocks on a config that is not implemented"],
        )
        self.assertEqual(
            self.problems(gptq_int4_int8_act={"implemented": False, "pending_group_blocks": (2,)}),
            ["quant config gptq_int4_int8_act: pending_group_blocks on a config that is not implemented"],
        )
        # The INT8-activation configs are implemented: they may leave a group size pending too.
        self.assertEqual(self.problems(gptq_int4_int8_act={"pending_group_blocks": (2,)}), [])
        self.assertEqual(
            self.problems(gptq_int4={"pending_group_blocks": (3,)}),
            ["quant config gptq_int4: pending group_blocks 3 is not one of its group_blocks"],
        )
        self.assertEqual(
            self.problems(fp8={"pending_group_blocks": (-1, 8)}),
            ["quant config fp8 is implemented but every group_blocks value is pending"],
        )
        # Taking a config back out (implemented=False) is consistent as long as nothing is pending.
        self.assertEqual(self.problems(gptq_int8={"implemented": False}), [])


if __name__ == "__main__":
    unittest.main()
