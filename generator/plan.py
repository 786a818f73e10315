"""Expansion of (archs, quant configs) into kernel instantiations, grouped into the files that hold them.

The result depends only on its inputs and is always in the same order: families in catalog order, then files
by name, then instantiations by (config, types, m_blocks, thread config, group_blocks) in catalog order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator import catalog
from generator.catalog import Arch, Family, QuantConfig, ScalarType, ThreadConfig

SELECTOR_FILE = "kernel_selector.h"


@dataclass(frozen=True)
class Instantiation:
    """One `marlin_gemm_kernel<...>` instantiation: the template arguments, in template order."""

    a: ScalarType
    b: ScalarType
    c: ScalarType
    s: ScalarType
    threads: int
    thread_m_blocks: int  # 1..4, or 8 (the sm90 family's 128-token tile)
    thread_n_blocks: int
    thread_k_blocks: int
    m_block_size_8: bool
    stages: int
    group_blocks: int
    is_zp_float: bool
    # The sm90 family's kernel (`marlin_gemm_kernel_sm90`, KernelKey::wgmma) rather than `marlin_gemm_kernel`.
    wgmma: bool = False
    # Where it came from; not part of its identity.
    config: str = field(default="", compare=False)

    @property
    def kernel(self) -> str:
        return "marlin_gemm_kernel_sm90" if self.wgmma else "marlin_gemm_kernel"

    @property
    def key(self) -> tuple[object, ...]:
        """The template arguments, then wgmma, as a tuple (what the selector matches on: KernelKey)."""
        return (
            self.a.cpp,
            self.b.cpp,
            self.c.cpp,
            self.s.cpp,
            self.threads,
            self.thread_m_blocks,
            self.thread_n_blocks,
            self.thread_k_blocks,
            self.m_block_size_8,
            self.stages,
            self.group_blocks,
            self.is_zp_float,
            self.wgmma,
        )

    @property
    def m_blocks(self) -> float:
        """The seed's spelling: 0.5 for one block of 8 rows."""
        return 0.5 if self.m_block_size_8 else self.thread_m_blocks


def kernel_file_name(family: str, a: ScalarType, b: ScalarType, c: ScalarType) -> str:
    return f"{family}_kernel_{a.file_name}_{b.file_name}_{c.file_name}.cu"


# Allowed values of --shards (and of the rules' `shards` attribute).
MIN_SHARDS = 1
MAX_SHARDS = 16


def check_shards(shards: object) -> int:
    """Return shards if it is an int in MIN_SHARDS..MAX_SHARDS; else raise CatalogError naming it and the range."""
    if isinstance(shards, bool) or not isinstance(shards, int) or not MIN_SHARDS <= shards <= MAX_SHARDS:
        raise catalog.CatalogError(
            f"bad shards {shards!r}: expected an integer from {MIN_SHARDS} to {MAX_SHARDS} (1: one file per "
            "family and type combination)"
        )
    return shards


def shard_file_name(name: str, shard: int, shards: int) -> str:
    """`sm80_kernel_float16_u4_float16.cu`, shard 0 of 2 -> `sm80_kernel_float16_u4_float16_part1of2.cu`.

    `shard` counts from 0; the name counts from 1. With one shard the name is unchanged.
    """
    if shards == 1:
        return name
    stem = name.removesuffix(".cu")
    return f"{stem}_part{shard + 1}of{shards}.cu"


def split_instantiations(insts: tuple[Instantiation, ...], shards: int) -> tuple[tuple[Instantiation, ...], ...]:
    """Deal the instantiations round-robin into `shards` parts (part i gets insts[i::shards]).

    Round-robin rather than contiguous chunks: neighbouring instantiations differ mostly in thread config and
    group size, so every part gets a similar mix of cheap and expensive kernels. Part sizes differ by at most
    one; a part may be empty when there are fewer instantiations than shards.
    """
    return tuple(insts[i::shards] for i in range(shards))


@dataclass(frozen=True)
class KernelFile:
    family: str
    a: ScalarType
    b: ScalarType
    c: ScalarType
    instantiations: tuple[Instantiation, ...]
    # Which part of its (family, a, b, c) file this is, counting from 0, and of how many parts.
    shard: int = 0
    shards: int = 1

    @property
    def name(self) -> str:
        return shard_file_name(kernel_file_name(self.family, self.a, self.b, self.c), self.shard, self.shards)

    def split(self, shards: int) -> tuple[KernelFile, ...]:
        """This (unsharded) file as `shards` files, instantiations dealt round-robin; itself when shards is 1."""
        if shards == 1:
            return (self,)
        parts = split_instantiations(self.instantiations, shards)
        return tuple(
            KernelFile(self.family, self.a, self.b, self.c, part, shard=i, shards=shards)
            for i, part in enumerate(parts)
        )


@dataclass(frozen=True)
class Plan:
    archs: tuple[Arch, ...]
    configs: tuple[QuantConfig, ...]
    families: tuple[Family, ...]
    # One per (family, a, b, c), unsharded: these fix the instantiation order (and so the selector).
    files: tuple[KernelFile, ...]
    # Planned in the internal all-known mode (the seed's whole matrix, implemented or not).
    all_known: bool = False
    # Each file of `files` is written as this many parts (see `written_files`).
    shards: int = 1

    @property
    def instantiations(self) -> tuple[Instantiation, ...]:
        """Every instantiation, in file order (the selector's branch order); independent of the shards."""
        return tuple(i for f in self.files for i in f.instantiations)

    @property
    def written_files(self) -> tuple[KernelFile, ...]:
        """The kernel files the generator writes: each file of `files` split into `shards` parts, in order."""
        return tuple(part for f in self.files for part in f.split(self.shards))

    @property
    def kernel_file_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.written_files)

    @property
    def output_names(self) -> tuple[str, ...]:
        """Every file the generator writes (what Bazel must declare)."""
        return (*self.kernel_file_names, SELECTOR_FILE)


def _m_blocks_args(m_blocks: float) -> tuple[int, bool]:
    """0.5 -> (1, True); n -> (n, False)."""
    if m_blocks == 0.5:
        return 1, True
    if m_blocks != int(m_blocks) or not (1 <= m_blocks <= 4 or m_blocks == 8):
        raise ValueError(f"bad thread_m_blocks {m_blocks}")
    return int(m_blocks), False


def thread_configs_for(config: QuantConfig, m_blocks: float) -> tuple[ThreadConfig, ...]:
    """The pruned thread configs for one m_blocks value (3 of the 4 standard ones)."""
    return tuple(t for t in config.thread_configs if t.used_for(m_blocks))


def expand_config(config: QuantConfig, family: Family, *, all_known: bool = False) -> list[Instantiation]:
    """All instantiations of one config that belong to one family, in catalog order.

    Real builds (the default) take the config's built group_blocks only (none when it is not implemented);
    `all_known` takes every group_blocks value of the seed.
    """
    out: list[Instantiation] = []
    group_blocks_list = config.planned_group_blocks(all_known=all_known)
    for combo in config.combos:
        if not family.accepts(combo.a, combo.c):
            continue
        for m_blocks in (*config.thread_m_blocks, *family.extra_m_blocks):
            if family.thread_m_blocks is not None and m_blocks not in family.thread_m_blocks:
                continue
            thread_m_blocks, m_block_size_8 = _m_blocks_args(m_blocks)
            for tc in thread_configs_for(config, m_blocks):
                if family.thread_configs is not None and tc not in family.thread_configs:
                    continue
                for group_blocks in group_blocks_list:
                    out.append(
                        Instantiation(
                            a=combo.a,
                            b=config.b_type,
                            c=combo.c,
                            s=combo.s,
                            threads=tc.threads,
                            thread_m_blocks=thread_m_blocks,
                            thread_n_blocks=tc.thread_n // 16,
                            thread_k_blocks=tc.thread_k // 16,
                            m_block_size_8=m_block_size_8,
                            stages=family.stages,
                            group_blocks=group_blocks,
                            is_zp_float=config.is_zp_float,
                            wgmma=family.wgmma,
                            config=config.name,
                        )
                    )
    return out


def plan_families(archs: tuple[Arch, ...], *, all_known: bool = False) -> tuple[Family, ...]:
    """The families the archs bring in (implemented ones, or all with `all_known`), in catalog order."""
    names = {f.name for a in archs for f in catalog.families_for_arch(a.target, all_known=all_known)}
    return tuple(f for f in catalog.FAMILIES if f.name in names)


def make_plan(
    archs: tuple[Arch, ...],
    configs: tuple[QuantConfig, ...],
    *,
    all_known: bool = False,
    shards: int = 1,
) -> Plan:
    """Expand archs and configs into files. Configs are taken in catalog order whatever order they come in.

    Inputs are taken as valid (see `plan_from_text` for the checks). By default only what csrc/marlin
    implements is planned: implemented families, built group_blocks (nothing of a config that is not
    implemented). `all_known` is the internal plan-everything mode, for tests and docs: every family and every
    group_blocks value of the seed's matrix.
    """
    order = {q.name: i for i, q in enumerate(catalog.QUANT_CONFIGS)}
    configs = tuple(sorted(set(configs), key=lambda q: order[q.name]))
    families = plan_families(archs, all_known=all_known)
    files: list[KernelFile] = []
    for fam in families:
        by_file: dict[tuple[ScalarType, ScalarType, ScalarType], dict[Instantiation, None]] = {}
        for config in configs:
            for inst in expand_config(config, fam, all_known=all_known):
                # A dict keeps the first occurrence and drops exact duplicates from another config.
                by_file.setdefault((inst.a, inst.b, inst.c), {}).setdefault(inst, None)
        group = [KernelFile(fam.name, a, b, c, tuple(insts)) for (a, b, c), insts in by_file.items()]
        files.extend(sorted(group, key=lambda f: f.name))
    return Plan(archs=archs, configs=configs, families=families, files=tuple(files), all_known=all_known, shards=shards)


def plan_from_text(archs: str, configs: str | None = None, *, all_known: bool = False, shards: int = 1) -> Plan:
    """`make_plan` from CLI-style strings, with the checks of the CLI and the Bazel rules.

    Raises CatalogError for bad archs, unknown configs, configs that are not implemented (unless `all_known`)
    and configs named in `configs` that none of the archs allows (e.g. FP8 activations without 8.9 or 12.x),
    and shards outside MIN_SHARDS..MAX_SHARDS.
    Without `configs`: every implemented config (every known one with `all_known`) that the archs allow; the
    others are left out, as the seed's generator does.
    """
    arch_list = catalog.parse_arch_list(archs)
    if configs is None:
        names = catalog.KNOWN_QUANT_CONFIGS if all_known else catalog.IMPLEMENTED_QUANT_CONFIGS
        candidates = tuple(catalog.quant_config(n, all_known=all_known) for n in names)
        config_list = tuple(q for q in candidates if catalog.archs_allow(arch_list, q))
    else:
        config_list = catalog.parse_config_list(configs, all_known=all_known)
        catalog.check_archs_allow(arch_list, config_list)
    return make_plan(arch_list, config_list, all_known=all_known, shards=check_shards(shards))


def config_files_by_family(config: QuantConfig, *, all_known: bool = False) -> dict[str, list[str]]:
    """For one config: family -> sorted file names it contributes (families with none are left out).

    By default only implemented families and built group_blocks count (what real builds write); `all_known`
    counts every family and group_blocks value. A family's files depend only on the configs, never on which of
    the family's archs are listed; this is what lets Bazel declare the outputs from the arch list alone.
    """
    out: dict[str, list[str]] = {}
    for fam in catalog.FAMILIES:
        if not (fam.implemented or all_known):
            continue
        insts = expand_config(config, fam, all_known=all_known)
        names = sorted({kernel_file_name(fam.name, i.a, i.b, i.c) for i in insts})
        if names:
            out[fam.name] = names
    return out
