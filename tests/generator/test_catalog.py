"""The catalog's data: names, archs, configs and their lookups."""

from __future__ import annotations

import re
import unittest

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
        archs = catalog.parse_arch_list("9.0a,8.0,8.9,8.0")
        self.assertEqual([str(a) for a in archs], ["8.0", "8.9", "9.0a"])
        self.assertEqual([a.name for a in archs], ["8.0", "8.9", "9.0"])
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
        }
        for text, message in cases.items():
            with self.subTest(text=text):
                with self.assertRaises(CatalogError) as ctx:
                    catalog.parse_arch_list(text)
                self.assertIn(message, str(ctx.exception))
                if "suffix" in message:
                    self.assertRegex(str(ctx.exception), "allowed: 'a'|takes no suffix")
                elif text.strip():
                    self.assertIn("8.0, 8.6", str(ctx.exception))

    def test_families(self) -> None:
        self.assertEqual(catalog.families_for_arch("7.5"), ())
        for arch in catalog.SUPPORTED_ARCHS[1:]:
            with self.subTest(arch=arch):
                names = [f.name for f in catalog.families_for_arch(arch)]
                self.assertEqual(names, ["sm80"])
        every = [f.name for f in catalog.families_for_arch("8.9", enabled_only=False)]
        self.assertEqual(every, ["sm80", "sm89"])
        every = [f.name for f in catalog.families_for_arch("7.5", enabled_only=False)]
        self.assertEqual(every, ["sm75"])
        self.assertEqual(catalog.family("sm75").stages, 2)
        self.assertEqual(catalog.family("sm80").stages, 4)


class QuantConfigTest(unittest.TestCase):
    def test_consistent(self) -> None:
        self.assertEqual(catalog.check_catalog(), [])

    def test_names(self) -> None:
        self.assertEqual(catalog.ENABLED_QUANT_CONFIGS, ("awq_int4", "gptq_int4"))
        for name in ("gptq_int8", "fp8", "nvfp4", "mxfp4"):
            self.assertIn(name, catalog.KNOWN_QUANT_CONFIGS)
        self.assertEqual(len(set(catalog.KNOWN_QUANT_CONFIGS)), 11)

    def test_enabled_configs(self) -> None:
        awq = catalog.quant_config("awq_int4")
        gptq = catalog.quant_config("gptq_int4")
        self.assertEqual(awq.b_type, catalog.kU4)
        self.assertTrue(awq.has_zp)
        self.assertEqual(gptq.b_type, catalog.kU4B8)
        self.assertFalse(gptq.has_zp)
        for q in (awq, gptq):
            self.assertEqual(q.group_blocks, (-1, 2, 4, 8))
            self.assertEqual(
                [(c.a.cpp, c.c.cpp, c.s.cpp) for c in q.combos],
                [
                    ("kFloat16", "kFloat16", "kFloat16"),
                    ("kBFloat16", "kBFloat16", "kBFloat16"),
                ],
            )

    def test_full_vocabulary(self) -> None:
        by_name = {q.name: q for q in catalog.QUANT_CONFIGS}
        self.assertEqual(by_name["nvfp4"].combos[0].s, catalog.kFE4M3fn)
        self.assertEqual(
            [(c.a, c.c, c.s) for c in by_name["mxfp4"].combos],
            [(catalog.kBFloat16, catalog.kBFloat16, catalog.kFE8M0fnu)],
        )
        self.assertEqual({c.a for c in by_name["gptq_int4_int8_act"].combos}, {catalog.kS8})
        self.assertEqual(by_name["awq_int4_fp8_act"].thread_m_blocks, (1, 2, 3, 4))
        self.assertEqual(by_name["gptq_int8"].group_blocks, (-1, 0, 2, 4, 8))

    def test_not_implemented(self) -> None:
        with self.assertRaises(CatalogError) as ctx:
            catalog.quant_config("gptq_int8")
        self.assertEqual(
            str(ctx.exception),
            "quant config 'gptq_int8' is not implemented yet; available: awq_int4, gptq_int4",
        )

    def test_unknown(self) -> None:
        with self.assertRaises(CatalogError) as ctx:
            catalog.quant_config("int3")
        self.assertIn("unknown quant config 'int3'", str(ctx.exception))
        self.assertIn("awq_int4, gptq_int4", str(ctx.exception))

    def test_parse_list(self) -> None:
        names = [q.name for q in catalog.parse_config_list("gptq_int4,awq_int4")]
        self.assertEqual(names, ["awq_int4", "gptq_int4"])
        names = [q.name for q in catalog.parse_config_list("gptq_int4,gptq_int4")]
        self.assertEqual(names, ["gptq_int4"])
        for bad in ("", "awq_int4,", "awq_int4,,gptq_int4"):
            with self.subTest(text=bad), self.assertRaises(CatalogError):
                catalog.parse_config_list(bad)


if __name__ == "__main__":
    unittest.main()
