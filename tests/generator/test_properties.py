"""Property tests (hypothesis) over random arch and quant-config lists: the plan, the files the generator
writes, the Starlark catalog and kernel_selector.h always agree, planning is deterministic and independent of
input order, and bad input fails with CatalogError naming the bad value.

Examples are derandomized (the same ones on every run) and no example database is written, so CI is
reproducible. Under `python -m unittest discover` the module is skipped when hypothesis is not installed; under
Bazel it comes from @marlin_py_test_deps (rules/requirements_test_lock.txt) and must be there.
"""

from __future__ import annotations

import ast
import collections
import functools
import os
import shutil
import tempfile
import unittest
from typing import Any

# Hypothesis keeps caches (constants, unicode data) under .hypothesis/ of the working folder unless told
# otherwise: keep them out of the source tree.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY",
    os.path.join(os.environ.get("TEST_TMPDIR") or tempfile.gettempdir(), "marlin_bazel_hypothesis"),
)

try:
    from hypothesis import HealthCheck, assume, given, settings
    from hypothesis import strategies as st
except ImportError:
    if os.environ.get("TEST_SRCDIR"):  # run by Bazel: hypothesis is a declared dependency, never skip
        raise
    raise unittest.SkipTest("hypothesis is not installed (pip install hypothesis); property tests skipped") from None

from generator import catalog, cli
from generator.plan import SELECTOR_FILE, Plan, plan_from_text
from tests.generator import support

# Same examples on every run, no .hypothesis folder, no time limit per example (rendering large plans takes a
# while on a slow machine).
PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow],
)

# ------------------------------------------------------------------------------------
# What the Starlark side predicts, from the checked-in rules/private/catalog.bzl


@functools.cache
def bzl_values() -> dict[str, Any]:
    """The variables of rules/private/catalog.bzl (Starlark's literal syntax is Python's)."""
    tree = ast.parse(support.CATALOG_BZL.read_text())
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }


def bzl_outputs(archs: list[str], configs: list[str] | None, all_known: bool) -> set[str] | None:
    """The files Bazel declares for valid archs and configs (as rules/private/plan.bzl plans them), or None
    where the rules reject the combination (a config that is not available or that no listed arch allows)."""
    return support.starlark_planned_files(bzl_values(), archs, configs, all_known)


# ------------------------------------------------------------------------------------
# Strategies

# Every spelling of an arch that the catalog accepts: "9.0", "9.0a", "10.0f", "8.0+PTX", ...
VALID_ARCHS: tuple[str, ...] = tuple(
    a.name + s + p for a in catalog.ARCHS for s in ("", *a.suffixes) for p in ("", catalog.PTX_SUFFIX)
)


@st.composite
def arch_lists(draw: st.DrawFn) -> list[str]:
    """A non-empty list of distinct supported archs in random order, each with or without an allowed suffix and
    with or without +PTX."""
    specs = draw(st.lists(st.sampled_from(catalog.ARCHS), min_size=1, unique=True))
    return [
        spec.name + draw(st.sampled_from(("", *spec.suffixes))) + draw(st.sampled_from(("", catalog.PTX_SUFFIX)))
        for spec in specs
    ]


def config_lists(names: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    """A non-empty list of distinct names in random order."""
    return st.lists(st.sampled_from(names), min_size=1, unique=True)


# Entries that look like archs or configs but are not, mixed with arbitrary text.
_NEAR_MISSES = [
    "",
    " ",
    "8",
    "8.0.0",
    "sm_80",
    "sm80",
    "compute_90a",
    "8.0a",
    "7.5f",
    "9.0f",
    "13.0",
    "8.0 a",
    "8,0",
    " 8.0",
    "8.0+ptx",
    "+PTX",
    "8.0+PTX+PTX",
    "9.0+PTXa",
]
_JUNK = st.one_of(st.sampled_from(_NEAR_MISSES), st.text(max_size=10))


def junk_lists(valid: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Comma-joined lists mixing valid entries and junk (the strategy does not ensure a bad entry; see below)."""
    return st.one_of(
        st.text(max_size=20),
        st.lists(st.one_of(st.sampled_from(valid), _JUNK), min_size=1, max_size=4).map(",".join),
    )


def first_bad_entry(text: str, valid: tuple[str, ...], *, strip: bool = True) -> str | None:
    """The first entry of a comma-separated list that is not valid ("" for an empty one); None if all are.

    Config lists allow spaces around entries (`strip`); arch lists do not, as in the rules.
    """
    for entry in text.split(","):
        entry = entry.strip() if strip else entry
        if entry not in valid:
            return entry
    return None


# ------------------------------------------------------------------------------------
# Helpers


def plan_of(archs: list[str], configs: list[str] | None, all_known: bool) -> Plan | None:
    try:
        return plan_from_text(",".join(archs), None if configs is None else ",".join(configs), all_known=all_known)
    except catalog.CatalogError:
        return None


def generate(archs: list[str], configs: list[str] | None, all_known: bool) -> dict[str, str]:
    """Run the CLI in-process into a fresh folder; return file name -> content of everything it wrote."""
    out = support.make_tmpdir()
    try:
        argv = [",".join(archs), "--out", str(out)]
        if configs is not None:
            argv += ["--configs", ",".join(configs)]
        if all_known:
            argv.append("--all-known")
        rc = cli.main(argv)
        if rc != 0:
            raise AssertionError(f"generator exited {rc} for {argv}")
        return {name: data.decode("utf-8") for name, data in support.read_tree(out).items()}
    finally:
        shutil.rmtree(out, ignore_errors=True)


class PlanMatchesStarlarkTest(unittest.TestCase):
    """(1) The plan's files are what catalog.bzl predicts; rejections agree too."""

    def check(self, archs: list[str], configs: list[str] | None, all_known: bool) -> None:
        want = bzl_outputs(archs, configs, all_known)
        p = plan_of(archs, configs, all_known)
        if want is None:
            self.assertIsNone(p, f"generator accepts {archs} {configs} (all_known={all_known}); catalog.bzl rejects")
            return
        self.assertIsNotNone(p, f"generator rejects {archs} {configs} (all_known={all_known}); catalog.bzl accepts")
        assert p is not None
        self.assertEqual(len(p.output_names), len(set(p.output_names)))
        self.assertEqual(set(p.output_names), want)

    @PROPERTY_SETTINGS
    @given(archs=arch_lists(), configs=config_lists(catalog.IMPLEMENTED_QUANT_CONFIGS))
    def test_implemented(self, archs: list[str], configs: list[str]) -> None:
        self.check(archs, configs, all_known=False)

    @PROPERTY_SETTINGS
    @given(archs=arch_lists())
    def test_default_configs(self, archs: list[str]) -> None:
        self.check(archs, None, all_known=False)

    @PROPERTY_SETTINGS
    @given(archs=arch_lists(), configs=st.one_of(st.none(), config_lists(catalog.KNOWN_QUANT_CONFIGS)))
    def test_all_known(self, archs: list[str], configs: list[str] | None) -> None:
        self.check(archs, configs, all_known=True)


class WrittenFilesTest(unittest.TestCase):
    """(2) The generator writes exactly the planned files plus kernel_selector.h, and (3) every instantiation
    of the .cu files is in the selector exactly once and the reverse, kBuiltInstantiations of them."""

    def check(self, archs: list[str], configs: list[str] | None, all_known: bool) -> None:
        p = plan_of(archs, configs, all_known)
        assume(p is not None)  # rejections are covered by PlanMatchesStarlarkTest
        assert p is not None
        files = generate(archs, configs, all_known)
        self.assertEqual(set(files), set(p.output_names))
        self.assertEqual(set(files), bzl_outputs(archs, configs, all_known))
        self.assertIn(SELECTOR_FILE, files)

        in_kernels: collections.Counter[support.Key] = collections.Counter()
        for name, text in files.items():
            if name != SELECTOR_FILE:
                self.assertTrue(name.endswith(".cu"), name)
                in_kernels.update(support.parse_kernel_file(text))
        count, branches = support.parse_selector(files[SELECTOR_FILE])
        in_selector = collections.Counter(branches)
        self.assertEqual([k for k, n in in_kernels.items() if n > 1], [], "instantiated more than once")
        self.assertEqual([k for k, n in in_selector.items() if n > 1], [], "selected more than once")
        self.assertEqual(set(in_kernels) - set(in_selector), set(), "instantiated but not selectable")
        self.assertEqual(set(in_selector) - set(in_kernels), set(), "selectable but not instantiated")
        self.assertEqual(count, len(branches))
        self.assertEqual(count, len(p.instantiations))
        self.assertEqual(branches, [support.key_strings(i) for i in p.instantiations])

    @PROPERTY_SETTINGS
    @given(archs=arch_lists(), configs=config_lists(catalog.IMPLEMENTED_QUANT_CONFIGS))
    def test_implemented(self, archs: list[str], configs: list[str]) -> None:
        self.check(archs, configs, all_known=False)

    @settings(PROPERTY_SETTINGS, max_examples=25)
    @given(archs=arch_lists(), configs=st.one_of(st.none(), config_lists(catalog.KNOWN_QUANT_CONFIGS)))
    def test_all_known(self, archs: list[str], configs: list[str] | None) -> None:
        self.check(archs, configs, all_known=True)


class DeterminismTest(unittest.TestCase):
    """(4) Planning twice gives the same plan, whatever the order of the inputs (and repetition of the configs;
    an arch listed twice is an error, as in the rules)."""

    @PROPERTY_SETTINGS
    @given(
        data=st.data(),
        archs=arch_lists(),
        configs=st.one_of(st.none(), config_lists(catalog.KNOWN_QUANT_CONFIGS)),
        all_known=st.booleans(),
    )
    def test_order_independent(
        self, data: st.DataObject, archs: list[str], configs: list[str] | None, all_known: bool
    ) -> None:
        p = plan_of(archs, configs, all_known)
        assume(p is not None)
        assert p is not None
        self.assertEqual(plan_of(archs, configs, all_known), p)
        archs2 = data.draw(st.permutations(archs))
        repeated = data.draw(st.sampled_from(archs))
        self.assertIsNone(plan_of([*archs, repeated.removesuffix(catalog.PTX_SUFFIX)], configs, all_known))
        configs2 = None
        if configs is not None:
            configs2 = data.draw(st.permutations(configs + data.draw(st.lists(st.sampled_from(configs), max_size=2))))
        q = plan_of(archs2, configs2, all_known)
        self.assertEqual(q, p)
        assert q is not None
        # Equal plans can still differ in what equality leaves out (e.g. which config an instantiation came from).
        self.assertEqual(q.output_names, p.output_names)
        self.assertEqual([i.config for i in q.instantiations], [i.config for i in p.instantiations])
        self.assertEqual([str(a) for a in q.archs], [str(a) for a in p.archs])

    @settings(PROPERTY_SETTINGS, max_examples=15)
    @given(data=st.data(), archs=arch_lists(), configs=config_lists(catalog.IMPLEMENTED_QUANT_CONFIGS))
    def test_written_bytes(self, data: st.DataObject, archs: list[str], configs: list[str]) -> None:
        assume(plan_of(archs, configs, False) is not None)
        first = generate(archs, configs, all_known=False)
        again = generate(data.draw(st.permutations(archs)), data.draw(st.permutations(configs)), all_known=False)
        self.assertEqual(again, first)


class InvalidInputTest(unittest.TestCase):
    """(5) Bad archs or configs raise CatalogError naming the bad value; never another exception."""

    def assert_names(self, message: str, text: str, bad: str) -> None:
        if not text.strip():
            self.assertIn("empty", message)
        elif bad == "":
            self.assertIn(f"'{text}'", message)  # an empty entry: the message quotes the whole list
            self.assertIn("empty entry", message)
        else:
            self.assertIn(f"'{bad}'", message)

    @settings(PROPERTY_SETTINGS, max_examples=300)
    @given(text=junk_lists(VALID_ARCHS), all_known=st.booleans())
    def test_bad_archs(self, text: str, all_known: bool) -> None:
        bad = first_bad_entry(text, VALID_ARCHS, strip=False)
        assume(bad is not None)
        assert bad is not None
        with self.assertRaises(catalog.CatalogError) as caught:
            plan_from_text(text, "gptq_int4", all_known=all_known)
        self.assert_names(str(caught.exception), text, bad)
        with self.assertRaises(catalog.CatalogError):
            plan_from_text(text, None, all_known=all_known)

    @settings(PROPERTY_SETTINGS, max_examples=300)
    @given(
        text=st.one_of(junk_lists(catalog.IMPLEMENTED_QUANT_CONFIGS), junk_lists(catalog.KNOWN_QUANT_CONFIGS)),
        all_known=st.booleans(),
    )
    def test_bad_configs(self, text: str, all_known: bool) -> None:
        valid = catalog.KNOWN_QUANT_CONFIGS if all_known else catalog.IMPLEMENTED_QUANT_CONFIGS
        bad = first_bad_entry(text, valid)
        assume(bad is not None)
        assert bad is not None
        every_arch = ",".join(catalog.SUPPORTED_ARCHS)  # allows every config: only the names can be wrong
        with self.assertRaises(catalog.CatalogError) as caught:
            plan_from_text(every_arch, text, all_known=all_known)
        self.assert_names(str(caught.exception), text, bad)


if __name__ == "__main__":
    unittest.main()
