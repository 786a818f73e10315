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
    thread_m_blocks: int  # 1..4
    thread_n_blocks: int
    thread_k_blocks: int
    m_block_size_8: bool
    stages: int
    group_blocks: int
    is_zp_float: bool
    # Where it came from; not part of its identity.
    config: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[object, ...]:
        """The template arguments as a tuple (what the selector matches on)."""
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
        )

    @property
    def m_blocks(self) -> float:
        """The seed's spelling: 0.5 for one block of 8 rows."""
        return 0.5 if self.m_block_size_8 else self.thread_m_blocks


def kernel_file_name(family: str, a: ScalarType, b: ScalarType, c: ScalarType) -> str:
    return f"{family}_kernel_{a.file_name}_{b.file_name}_{c.file_name}.cu"


@dataclass(frozen=True)
class KernelFile:
    family: str
    a: ScalarType
    b: ScalarType
    c: ScalarType
    instantiations: tuple[Instantiation, ...]

    @property
    def name(self) -> str:
        return kernel_file_name(self.family, self.a, self.b, self.c)


@dataclass(frozen=True)
class Plan:
    archs: tuple[Arch, ...]
    configs: tuple[QuantConfig, ...]
    families: tuple[Family, ...]
    files: tuple[KernelFile, ...]

    @property
    def instantiations(self) -> tuple[Instantiation, ...]:
        """Every instantiation, in file order (the selector's branch order)."""
        return tuple(i for f in self.files for i in f.instantiations)

    @property
    def kernel_file_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.files)

    @property
    def output_names(self) -> tuple[str, ...]:
        """Every file the generator writes (what Bazel must declare)."""
        return (*self.kernel_file_names, SELECTOR_FILE)


def _m_blocks_args(m_blocks: float) -> tuple[int, bool]:
    """0.5 -> (1, True); n -> (n, False)."""
    if m_blocks == 0.5:
        return 1, True
    if m_blocks != int(m_blocks) or not 1 <= m_blocks <= 4:
        raise ValueError(f"bad thread_m_blocks {m_blocks}")
    return int(m_blocks), False


def thread_configs_for(config: QuantConfig, m_blocks: float) -> tuple[ThreadConfig, ...]:
    """The pruned thread configs for one m_blocks value (3 of the 4 standard ones)."""
    return tuple(t for t in config.thread_configs if t.used_for(m_blocks))


def expand_config(config: QuantConfig, family: Family) -> list[Instantiation]:
    """All instantiations of one config that belong to one family, in catalog order."""
    out: list[Instantiation] = []
    for combo in config.combos:
        if not family.accepts(combo.a, combo.c):
            continue
        for m_blocks in config.thread_m_blocks:
            thread_m_blocks, m_block_size_8 = _m_blocks_args(m_blocks)
            for tc in thread_configs_for(config, m_blocks):
                for group_blocks in config.group_blocks:
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
                            config=config.name,
                        )
                    )
    return out


def plan_families(archs: tuple[Arch, ...], *, enabled_only: bool = True) -> tuple[Family, ...]:
    """The families the archs bring in (by default only enabled ones), in catalog order."""
    names = {f.name for a in archs for f in catalog.families_for_arch(a.name, enabled_only=enabled_only)}
    return tuple(f for f in catalog.FAMILIES if f.name in names)


def make_plan(
    archs: tuple[Arch, ...],
    configs: tuple[QuantConfig, ...],
    *,
    include_disabled_families: bool = False,
) -> Plan:
    """Expand archs and configs into files. Configs are taken in catalog order whatever order they come in.

    `include_disabled_families` is for checking the data model against the seed's full expansion; the CLI
    never sets it.
    """
    order = {q.name: i for i, q in enumerate(catalog.QUANT_CONFIGS)}
    configs = tuple(sorted(set(configs), key=lambda q: order[q.name]))
    families = plan_families(archs, enabled_only=not include_disabled_families)
    files: list[KernelFile] = []
    for fam in families:
        by_file: dict[tuple[ScalarType, ScalarType, ScalarType], dict[Instantiation, None]] = {}
        for config in configs:
            for inst in expand_config(config, fam):
                # A dict keeps the first occurrence and drops exact duplicates from another config.
                by_file.setdefault((inst.a, inst.b, inst.c), {}).setdefault(inst, None)
        group = [KernelFile(fam.name, a, b, c, tuple(insts)) for (a, b, c), insts in by_file.items()]
        files.extend(sorted(group, key=lambda f: f.name))
    return Plan(archs=archs, configs=configs, families=families, files=tuple(files))


def plan_from_text(archs: str, configs: str | None = None) -> Plan:
    """`make_plan` from CLI-style strings; configs default to every enabled one."""
    arch_list = catalog.parse_arch_list(archs)
    if configs is None:
        config_list = tuple(q for q in catalog.QUANT_CONFIGS if q.enabled)
    else:
        config_list = catalog.parse_config_list(configs)
    return make_plan(arch_list, config_list)


def config_files_by_family(config: QuantConfig) -> dict[str, list[str]]:
    """For one config: enabled family -> sorted file names it contributes (families with none are left out).

    A family's files depend only on the configs, never on which of the family's archs are listed; this is
    what lets Bazel declare the outputs from the arch list alone.
    """
    out: dict[str, list[str]] = {}
    for fam in catalog.FAMILIES:
        if not fam.enabled:
            continue
        names = sorted({kernel_file_name(fam.name, i.a, i.b, i.c) for i in expand_config(config, fam)})
        if names:
            out[fam.name] = names
    return out
