"""docs/DESIGN.md agrees with the catalog and the plan: the quant-config table and the instantiation counts."""

from __future__ import annotations

import unittest
from collections import Counter

from generator import catalog
from generator.catalog import Family, QuantConfig, ScalarType
from generator.plan import plan_from_text
from tests.generator import support

DESIGN = support.REPO_ROOT / "docs" / "DESIGN.md"
SHORT = {"float16": "f16", "bfloat16": "bf16"}


def section_table(heading: str) -> list[dict[str, str]]:
    """The first Markdown table after `## heading`, as one dict per row (header cell -> cell text)."""
    lines = DESIGN.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"## {heading}")
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    if len(rows) < 3:
        raise AssertionError(f"no table under '## {heading}' in {DESIGN}")
    header, body = rows[0], rows[2:]
    return [dict(zip(header, row, strict=True)) for row in body]


def _short(t: ScalarType) -> str:
    return SHORT.get(t.file_name, t.file_name)


def expected_family_implemented(fam: Family) -> str:
    """The family table's "implemented" cell: "no", "yes" when implemented configs build every activation type of
    the family (its "a types" cell), or else "yes (f16 activations)" naming the activation types they build (as
    sm75 and sm80 were before the INT8-activation configs were implemented: no s8 kernels)."""
    if not fam.implemented:
        return "no"
    built = {c.a for q in catalog.QUANT_CONFIGS if q.implemented for c in q.combos if fam.accepts(c.a, c.c)}
    if built == set(fam.a_types):
        return "yes"
    return "yes (" + ", ".join(_short(t) for t in fam.a_types if t in built) + " activations)"


def expected_row(q: QuantConfig) -> dict[str, str]:
    """The table row the catalog implies for one config."""
    scales = {c.s for c in q.combos}
    if all(c.s == c.c for c in q.combos):
        s_text = "= c"
    else:
        assert len(scales) == 1, q.name
        s_text = next(iter(scales)).cpp
    m_blocks = "1-4" if q.thread_m_blocks == (1, 2, 3, 4) else "0.5, 1-4"
    assert m_blocks == "0.5, 1-4" or q.thread_m_blocks == (1, 2, 3, 4), q.name
    if not q.implemented:
        implemented = "no"
    elif q.pending_group_blocks:
        implemented = "yes, except group_blocks " + ", ".join(str(g) for g in q.pending_group_blocks)
    else:
        implemented = "yes"
    return {
        "name": f"`{q.name}`",
        "b type": q.b_type.cpp,
        "a → c": ", ".join(f"{_short(c.a)} → {_short(c.c)}" for c in q.combos),
        "s type": s_text,
        "group_blocks": ", ".join(str(g) for g in q.group_blocks),
        "m_blocks": m_blocks,
        "families": ", ".join(f.name for f in catalog.config_families(q)),
        "zero points": "yes (`has_zp`)" if q.has_zp else "no",
        "implemented": implemented,
    }


class QuantConfigTableTest(unittest.TestCase):
    def test_table_matches_catalog(self) -> None:
        rows = section_table("Quant configs (user-facing names)")
        self.assertEqual([r["name"] for r in rows], [f"`{n}`" for n in catalog.KNOWN_QUANT_CONFIGS])
        for q, row in zip(catalog.QUANT_CONFIGS, rows, strict=True):
            with self.subTest(config=q.name):
                self.assertEqual(row, expected_row(q))


class FamilyTableTest(unittest.TestCase):
    def test_table_matches_catalog(self) -> None:
        rows = section_table("Archs and families")
        self.assertEqual([r["family"] for r in rows], [f"`{f.name}`" for f in catalog.FAMILIES])
        for fam, row in zip(catalog.FAMILIES, rows, strict=True):
            with self.subTest(family=fam.name):
                self.assertEqual(row["stages"], str(fam.stages))
                self.assertEqual(row["a types"], ", ".join(_short(t) for t in fam.a_types))
                self.assertEqual(row["c types"], ", ".join(_short(t) for t in fam.c_types))
                self.assertEqual(row["implemented"], expected_family_implemented(fam))
        # Every family builds all its activation types now (sm75: f16 and s8; sm80: f16, bf16 and s8; sm89: e4m3;
        # sm90: f16 and bf16).
        self.assertEqual([expected_family_implemented(f) for f in catalog.FAMILIES], ["yes", "yes", "yes", "yes"])
        # Without the INT8-activation configs (a hypothetical catalog), sm75 and sm80 would build no s8 kernels.
        with support.not_implemented("awq_int4_int8_act", "gptq_int4_int8_act"):
            self.assertEqual(
                [expected_family_implemented(f) for f in catalog.FAMILIES],
                ["yes (f16 activations)", "yes (f16, bf16 activations)", "yes", "yes"],
            )


class CountTableTest(unittest.TestCase):
    def test_counts_match_plan(self) -> None:
        rows = section_table("Instantiation counts")
        self.assertIn("`8.0,8.9,9.0`", [r["archs"] for r in rows])
        for row in rows:
            archs = row["archs"].strip("`")
            with self.subTest(archs=archs):
                full = plan_from_text(archs, all_known=True)
                real = plan_from_text(archs)
                per_family = Counter(f.family for f in full.files for _ in f.instantiations)
                got = {fam.name: str(per_family[fam.name]) for fam in catalog.FAMILIES}
                got["all known"] = str(len(full.instantiations))
                got["files"] = str(len(full.files))
                got["built now"] = str(len(real.instantiations))
                got["files built now"] = str(len(real.files))
                self.assertEqual({k: v for k, v in row.items() if k != "archs"}, got)


if __name__ == "__main__":
    unittest.main()
