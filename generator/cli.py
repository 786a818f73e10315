"""Command line: `python -m generator ARCHS --out DIR ...` and `python -m generator --emit-starlark`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from generator import catalog, render, starlark
from generator.plan import MAX_SHARDS, MIN_SHARDS, Plan, plan_from_text

PROG = "python -m generator"
OPTIONS = ("--out", "--configs", "--shards", "--list", "--expect", "--emit-starlark", "--all-known", "--help")
STALE_HINT = "the Starlark catalog is stale: run python -m generator --emit-starlark > rules/private/catalog.bzl"


class UsageError(Exception):
    """Bad input: reported as one line on stderr with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _not_implemented() -> list[str]:
    return [n for n in catalog.KNOWN_QUANT_CONFIGS if n not in catalog.IMPLEMENTED_QUANT_CONFIGS] or ["none"]


def _parser() -> _Parser:
    p = _Parser(
        prog=PROG,
        allow_abbrev=False,
        description="Write Marlin kernel instantiation files and kernel_selector.h for the given archs.",
        epilog=(
            f"archs: {catalog.allowed_archs_text()}; quant configs: {', '.join(catalog.IMPLEMENTED_QUANT_CONFIGS)} "
            f"(known, not implemented yet: {', '.join(_not_implemented())})"
        ),
    )
    p.add_argument(
        "archs",
        nargs="?",
        metavar="ARCHS",
        help='comma-separated archs, e.g. "8.0,8.9,9.0a"',
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="folder to write into (created if missing; other files are kept)",
    )
    p.add_argument(
        "--configs",
        metavar="NAMES",
        help=(
            "comma-separated quant configs (default: every implemented one that the archs allow: "
            f"{','.join(catalog.IMPLEMENTED_QUANT_CONFIGS)})"
        ),
    )
    p.add_argument(
        "--shards",
        metavar="N",
        help=(
            f"split each kernel file into N files NAME_part<i>of<N>.cu, instantiations dealt round-robin "
            f"({MIN_SHARDS}..{MAX_SHARDS}; default 1: one file per family and type combination, unsplit)"
        ),
    )
    p.add_argument(
        "--list",
        action="store_true",
        help="print the instantiation table and the file list",
    )
    p.add_argument(
        "--expect",
        nargs="+",
        action="extend",
        metavar="NAME",
        help="basenames of the files Bazel declared; any difference from the plan is an error",
    )
    p.add_argument(
        "--all-known",
        action="store_true",
        help=(
            "internal, for tests and docs: plan the seed's whole matrix (every known quant config, family and "
            "group size, implemented or not); its kernels need not compile, real builds never use it"
        ),
    )
    p.add_argument(
        "--emit-starlark",
        action="store_true",
        help="print rules/private/catalog.bzl and exit",
    )
    return p


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    args, extra = _parser().parse_known_args(list(argv))
    for item in extra:
        if item.startswith("-"):
            raise UsageError(f"unknown option '{item}'; allowed: {', '.join(OPTIONS)}")
        raise UsageError(f"unexpected argument '{item}'; give one comma-separated ARCHS list, e.g. \"8.0,8.9\"")
    if args.emit_starlark:
        others = [
            name
            for name, given in (
                ("ARCHS", args.archs is not None),
                ("--out", args.out is not None),
                ("--configs", args.configs is not None),
                ("--shards", args.shards is not None),
                ("--list", args.list),
                ("--expect", args.expect is not None),
                ("--all-known", args.all_known),
            )
            if given
        ]
        if others:
            raise UsageError(f"--emit-starlark takes no other arguments (got {', '.join(others)})")
        return args
    if args.archs is None:
        raise UsageError(f"missing ARCHS: give a comma-separated list from {catalog.allowed_archs_text()}")
    args.shards = _parse_shards(args.shards)
    return args


def _parse_shards(text: str | None) -> int:
    """--shards N -> N (1 when not given); anything but an integer in range is a UsageError naming it."""
    if text is None:
        return 1
    try:
        value = int(text.strip(), 10)
    except ValueError:
        value = None
    if value is None or not MIN_SHARDS <= value <= MAX_SHARDS:
        raise UsageError(f"bad --shards '{text}': expected an integer from {MIN_SHARDS} to {MAX_SHARDS}")
    return value


def check_expected(plan: Plan, expected: Sequence[str]) -> None:
    """Raise UsageError when the files Bazel declared differ from the files the plan writes."""
    planned = set(plan.output_names)
    declared = set(expected)
    # Declared by Bazel but not written by the generator, and the reverse.
    missing = sorted(declared - planned)
    extra = sorted(planned - declared)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"declared but not generated: {', '.join(missing)}")
        if extra:
            parts.append(f"generated but not declared: {', '.join(extra)}")
        raise UsageError(f"--expect differs from the plan ({'; '.join(parts)}); {STALE_HINT}")


def write_files(out_dir: Path, contents: dict[str, str]) -> None:
    """Write the files (unchanged ones are left alone, so their timestamps stay); touch nothing else."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, text in contents.items():
            path = out_dir / name
            data = text.encode("utf-8")
            if path.is_file() and path.read_bytes() == data:
                continue
            path.write_bytes(data)
    except OSError as e:
        raise UsageError(f"cannot write to --out '{out_dir}': {e.strerror or e}") from None


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    cells = [[str(h) for h in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]


def print_listing(plan: Plan, out: TextIO) -> None:
    header = (
        "#",
        "family",
        "config",
        "a",
        "b",
        "c",
        "s",
        "threads",
        "thread_m_blocks",
        "thread_n_blocks",
        "thread_k_blocks",
        "m_block_size_8",
        "stages",
        "group_blocks",
        "is_zp_float",
    )
    rows = []
    n = 0
    for f in plan.files:
        for i in f.instantiations:
            n += 1
            rows.append(
                (
                    n,
                    f.family,
                    i.config,
                    i.a,
                    i.b,
                    i.c,
                    i.s,
                    i.threads,
                    i.thread_m_blocks,
                    i.thread_n_blocks,
                    i.thread_k_blocks,
                    render.cpp_literal(i.m_block_size_8),
                    i.stages,
                    i.group_blocks,
                    render.cpp_literal(i.is_zp_float),
                )
            )
    lines = _table(header, rows)
    lines.append("")
    file_rows = [(f.name, f.family, len(f.instantiations)) for f in plan.written_files]
    file_rows.append(("kernel_selector.h", "-", len(plan.instantiations)))
    lines.extend(_table(("file", "family", "instantiations"), file_rows))
    lines.append("")
    archs = ",".join(str(a) for a in plan.archs)
    families = ",".join(f.name for f in plan.families) or "none"
    configs = ",".join(q.name for q in plan.configs) or "none"
    mode = "; all-known mode" if plan.all_known else ""
    lines.append(
        f"{len(plan.instantiations)} instantiations in {len(plan.written_files)} kernel files "
        f"(archs {archs}; families {families}; configs {configs}{mode})"
    )
    out.write("\n".join(lines) + "\n")


def run(argv: Sequence[str]) -> int:
    args = _parse(argv)
    if args.emit_starlark:
        sys.stdout.write(starlark.render_catalog_bzl())
        return 0
    try:
        plan = plan_from_text(args.archs, args.configs, all_known=args.all_known, shards=args.shards)
    except catalog.CatalogError as e:
        raise UsageError(str(e)) from None
    if args.out is None and not args.list and args.expect is None:
        raise UsageError("nothing to do: give --out DIR, --list or --expect NAME ...")
    if args.expect is not None:
        check_expected(plan, args.expect)
    if args.out is not None:
        write_files(Path(args.out), render.render_plan(plan))
    if args.list:
        print_listing(plan, sys.stdout)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except render.TemplateError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
