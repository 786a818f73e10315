"""The kernel library: every scalar type, arch, family, thread config and quant config the generator knows.

This module is pure data plus small lookups. `plan.py` expands it into instantiations, `render.py` turns those
into text, and `starlark.py` exports the parts Bazel needs to `rules/private/catalog.bzl`. Change what gets
built here and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# ------------------------------------------------------------------------------------
# Scalar types


@dataclass(frozen=True, order=True)
class ScalarType:
    """A value of `marlin::ScalarTypeId` (csrc/marlin/scalar_type.cuh)."""

    value: int  # the enum's numeric value, also `marlin_scalar_type` in the C API
    cpp: str  # enumerator name, e.g. "kFloat16"
    file_name: str  # spelling in generated file names, e.g. "float16"

    @property
    def qualified(self) -> str:
        return f"ScalarTypeId::{self.cpp}"

    def __str__(self) -> str:
        return self.file_name


kFloat16 = ScalarType(0, "kFloat16", "float16")
kBFloat16 = ScalarType(1, "kBFloat16", "bfloat16")
kS8 = ScalarType(2, "kS8", "s8")
kFE4M3fn = ScalarType(3, "kFE4M3fn", "fe4m3fn")
kU4 = ScalarType(4, "kU4", "u4")
kU4B8 = ScalarType(5, "kU4B8", "u4b8")
kU8B128 = ScalarType(6, "kU8B128", "u8b128")
kFE2M1f = ScalarType(7, "kFE2M1f", "fe2m1f")
# Scale type only; never in a file name.
kFE8M0fnu = ScalarType(8, "kFE8M0fnu", "fe8m0fnu")

SCALAR_TYPES: tuple[ScalarType, ...] = (
    kFloat16,
    kBFloat16,
    kS8,
    kFE4M3fn,
    kU4,
    kU4B8,
    kU8B128,
    kFE2M1f,
    kFE8M0fnu,
)

# 16-bit floating-point activation/output types.
HALF_TYPES: tuple[ScalarType, ...] = (kFloat16, kBFloat16)

# ------------------------------------------------------------------------------------
# Archs


@dataclass(frozen=True)
class ArchSpec:
    """A compute capability the generator accepts, e.g. "9.0", the -gencode suffixes nvcc knows for it, and the
    first CUDA release that compiles for it."""

    name: str  # "MAJOR.MINOR"
    min_cuda: str  # "MAJOR.MINOR" of the first CUDA release with this sm_XY
    # Allowed single-letter suffixes: "a" (arch-specific), "f" (family-specific).
    suffixes: str = ""

    @property
    def major(self) -> int:
        return int(self.name.split(".")[0])

    @property
    def minor(self) -> int:
        return int(self.name.split(".")[1])

    @property
    def number(self) -> int:
        """`8.9` -> 89, `12.0` -> 120."""
        return self.major * 10 + self.minor


# CUDA 13 (what is tested) compiles for 7.5 and newer; the minimum versions matter for older toolkits.
ARCHS: tuple[ArchSpec, ...] = (
    ArchSpec("7.5", "10.0"),
    ArchSpec("8.0", "11.0"),
    ArchSpec("8.6", "11.1"),
    ArchSpec("8.7", "11.4"),
    ArchSpec("8.9", "11.8"),
    ArchSpec("9.0", "11.8", suffixes="a"),
    ArchSpec("10.0", "12.8", suffixes="af"),
    ArchSpec("12.0", "12.8", suffixes="af"),
    ArchSpec("12.1", "12.9", suffixes="af"),
)

# The first CUDA release with each suffix: sm_90a came with 12.0, the family-specific "f" targets with 12.9.
SUFFIX_MIN_CUDA: dict[str, str] = {"a": "12.0", "f": "12.9"}

# Written after an arch ("8.0+PTX"), it also embeds the arch's PTX, which the driver compiles for newer GPUs.
PTX_SUFFIX = "+PTX"


def arch_base(arch: str) -> str:
    """An arch-list spelling without its nvcc suffix letter: "9.0a" -> "9.0", "10.0f" -> "10.0", "8.0" -> "8.0"."""
    return arch[:-1] if arch[-1:] in SUFFIX_MIN_CUDA else arch


SUPPORTED_ARCHS: tuple[str, ...] = tuple(a.name for a in ARCHS)
_ARCHS_BY_NAME: dict[str, ArchSpec] = {a.name: a for a in ARCHS}


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def _arch_min_cuda() -> dict[str, str]:
    """Every accepted spelling of an arch (without +PTX), in catalog order -> the first CUDA that has it."""
    out: dict[str, str] = {}
    for spec in ARCHS:
        out[spec.name] = spec.min_cuda
        for suffix in spec.suffixes:
            out[spec.name + suffix] = max(spec.min_cuda, SUFFIX_MIN_CUDA[suffix], key=_version)
    return out


# The one definition of what an arch list may hold (catalog.bzl gets it as ARCH_MIN_CUDA): these spellings,
# each optionally followed by PTX_SUFFIX.
ARCH_MIN_CUDA: dict[str, str] = _arch_min_cuda()

_ARCH_RE = re.compile(r"^(?P<base>[0-9]+\.[0-9]+)(?P<suffix>[a-z]?)$")
_SM_RE = re.compile(r"^(?:sm|compute)_?(?P<major>[0-9]+)(?P<minor>[0-9])(?P<suffix>[a-z]?)$")


class CatalogError(ValueError):
    """A name or value that the catalog does not know; the message names it and the allowed ones."""


@dataclass(frozen=True)
class Arch:
    """One parsed entry of an arch list: its spec, the suffix the user wrote (kept for -gencode) and whether
    the entry asks for PTX too ("8.0+PTX")."""

    spec: ArchSpec
    suffix: str = ""
    ptx: bool = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def target(self) -> str:
        """The arch nvcc compiles for, without +PTX: "9.0a"."""
        return self.spec.name + self.suffix

    def __str__(self) -> str:
        return self.target + (PTX_SUFFIX if self.ptx else "")


def allowed_archs_text() -> str:
    """The accepted archs as one phrase, worded as the rules' allowed_archs_text() (rules/private/plan.bzl)."""
    suffixed = ", ".join(a for a in ARCH_MIN_CUDA if a not in SUPPORTED_ARCHS)
    return (
        ", ".join(SUPPORTED_ARCHS)
        + f" (with a suffix where nvcc has one: {suffixed}; {PTX_SUFFIX} after any of them also embeds its PTX)"
    )


def parse_arch(text: str, arch_list: str | None = None) -> Arch:
    """Parse one arch such as "8.0", "9.0a" or "8.0+PTX"; raise CatalogError naming it and the allowed ones."""
    where = f" in '{arch_list}'" if arch_list is not None and arch_list != text else ""
    if text != text.strip():
        raise CatalogError(f"bad arch '{text}'{where}: no spaces allowed; expected one of {allowed_archs_text()}")
    ptx = text.endswith(PTX_SUFFIX)
    target = text[: -len(PTX_SUFFIX)] if ptx else text
    m = _ARCH_RE.match(target)
    if m is None:
        sm = _SM_RE.match(target)
        hint = ""
        if sm is not None:
            hint = f" (write {sm['major']}.{sm['minor']}{sm['suffix']})"
        raise CatalogError(f"bad arch '{text}'{where}{hint}: expected MAJOR.MINOR, one of {allowed_archs_text()}")
    spec = _ARCHS_BY_NAME.get(m["base"])
    if spec is None:
        raise CatalogError(f"unsupported arch '{text}'{where}; supported: {allowed_archs_text()}")
    suffix = m["suffix"]
    if suffix and suffix not in spec.suffixes:
        allowed = " or ".join(f"'{s}'" for s in spec.suffixes)
        allowed = f"allowed: {allowed}" if allowed else f"{spec.name} takes no suffix"
        raise CatalogError(f"bad arch '{text}'{where}: suffix '{suffix}' does not exist for {spec.name} ({allowed})")
    return Arch(spec, suffix, ptx)


def parse_arch_list(text: str) -> tuple[Arch, ...]:
    """Parse a comma-separated arch list ("8.0,8.9,9.0a"), as the rules' validate_archs does.

    An arch listed twice ("8.0,8.0" or "8.0,8.0+PTX") is an error; the result is ordered by arch number.
    """
    if not text.strip():
        raise CatalogError("empty arch list; expected comma-separated archs from " + allowed_archs_text())
    parsed: list[Arch] = []
    for entry in text.split(","):
        if not entry:
            raise CatalogError(
                f"bad arch list '{text}': empty entry; expected e.g. '8.0,8.9' from {allowed_archs_text()}"
            )
        parsed.append(parse_arch(entry, text))
    seen: dict[str, Arch] = {}
    for arch in parsed:
        if arch.target in seen:
            raise CatalogError(f"bad arch list '{text}': arch {arch.target} is listed twice; list each arch once")
        seen[arch.target] = arch
    return tuple(sorted(seen.values(), key=lambda a: (a.spec.number, a.suffix)))


# ------------------------------------------------------------------------------------
# Thread configs and M blocks


@dataclass(frozen=True)
class ThreadConfig:
    thread_k: int
    thread_n: int
    threads: int
    # Which batch sizes get this config: "small" only for m_blocks <= 1, "large" only for m_blocks > 1.
    batch: Literal["any", "small", "large"] = "any"

    def used_for(self, m_blocks: float) -> bool:
        if self.batch == "small":
            return m_blocks <= 1
        if self.batch == "large":
            return m_blocks > 1
        return True


THREAD_CONFIGS: tuple[ThreadConfig, ...] = (
    ThreadConfig(128, 128, 256, batch="small"),
    ThreadConfig(64, 256, 256, batch="large"),
    ThreadConfig(64, 128, 128),
    ThreadConfig(128, 64, 128),
)

# Blocks of 16 rows of A per thread block; 0.5 is one block of 8 rows (thread_m_blocks=1, m_block_size_8).
THREAD_M_BLOCKS: tuple[float, ...] = (0.5, 1, 2, 3, 4)
THREAD_M_BLOCKS_NO_HALF: tuple[float, ...] = (1, 2, 3, 4)

# ------------------------------------------------------------------------------------
# Families: groups of generated files compiled for the same set of archs


@dataclass(frozen=True)
class Family:
    name: str  # file-name prefix, e.g. "sm80"
    # The archs whose lists bring this family in (and that its files are compiled for). A plain "9.0" also takes
    # "9.0a"; a suffixed "9.0a" takes only "9.0a".
    archs: tuple[str, ...]
    stages: int  # pipeline depth of its kernels
    a_types: tuple[ScalarType, ...]  # activation types of its kernels
    c_types: tuple[ScalarType, ...]  # output types it can produce
    # Whether csrc/marlin compiles this family's kernels. Real builds generate files only for implemented
    # families; the internal all-known mode (tests, docs) plans every family.
    implemented: bool
    note: str = ""
    # Its kernels are marlin_gemm_kernel_sm90 (KernelKey::wgmma), not marlin_gemm_kernel (plan.Instantiation).
    wgmma: bool = False
    # Restrictions of the quant configs' thread configs and M blocks to those this family builds (None: all).
    thread_configs: tuple[ThreadConfig, ...] | None = None
    thread_m_blocks: tuple[float, ...] | None = None
    # M blocks only this family builds, for every config it takes besides the configs' own (sm90: 8, the
    # 128-token tile).
    extra_m_blocks: tuple[int, ...] = ()

    def accepts(self, a: ScalarType, c: ScalarType) -> bool:
        return a in self.a_types and c in self.c_types

    @property
    def complete(self) -> bool:
        """Whether it builds every M block and thread config of its configs (else another family must too)."""
        return self.thread_configs is None and self.thread_m_blocks is None

    def takes(self, arch: str) -> bool:
        """Whether an arch-list entry ("9.0", "9.0a") brings this family in."""
        return arch in self.archs or arch_base(arch) in self.archs


_AT_LEAST_80 = tuple(a.name for a in ARCHS if a.number >= 80)

FAMILIES: tuple[Family, ...] = (
    Family(
        "sm75",
        archs=("7.5",),
        stages=2,
        a_types=(kFloat16, kS8),
        c_types=(kFloat16,),
        implemented=True,
        note="Turing: no bf16, two-stage pipeline",
    ),
    Family(
        "sm80",
        archs=_AT_LEAST_80,
        stages=4,
        a_types=(kFloat16, kBFloat16, kS8),
        c_types=HALF_TYPES,
        implemented=True,
    ),
    Family(
        "sm89",
        archs=("8.9", "12.0", "12.1"),
        stages=4,
        a_types=(kFE4M3fn,),
        c_types=HALF_TYPES,
        implemented=True,
        note="FP8 activations: only 8.9 and 12.x have a native e4m3 mma",
    ),
    Family(
        "sm90",
        archs=("9.0a",),
        stages=4,
        a_types=HALF_TYPES,
        c_types=HALF_TYPES,
        implemented=True,
        note="Hopper wgmma (sm_90a only): 16-bit activations, 2, 3, 4 and 8 M blocks, (64, 256, 256)",
        wgmma=True,
        thread_configs=(ThreadConfig(64, 256, 256, batch="large"),),
        thread_m_blocks=(2, 3, 4, 8),
        extra_m_blocks=(8,),
    ),
)

_FAMILIES_BY_NAME: dict[str, Family] = {f.name: f for f in FAMILIES}
IMPLEMENTED_FAMILIES: tuple[str, ...] = tuple(f.name for f in FAMILIES if f.implemented)


def family(name: str) -> Family:
    return _FAMILIES_BY_NAME[name]


def families_for_arch(arch: str, *, all_known: bool = False) -> tuple[Family, ...]:
    """The families an arch-list entry ("9.0", "9.0a") brings in, in catalog order: implemented ones, or all."""
    return tuple(f for f in FAMILIES if f.takes(arch) and (f.implemented or all_known))


# ------------------------------------------------------------------------------------
# Quant configs


@dataclass(frozen=True)
class TypeCombo:
    """Activation, output and scale type of one kernel variant (the weight type is the config's)."""

    a: ScalarType
    c: ScalarType
    s: ScalarType


def _combos(
    a_types: tuple[ScalarType, ...] = HALF_TYPES,
    c_types: tuple[ScalarType, ...] = HALF_TYPES,
    s_type: ScalarType | None = None,
) -> tuple[TypeCombo, ...]:
    """Every (a, c) pair except mixed f16/bf16 ones; the scale type defaults to the output type."""
    out = []
    for a in a_types:
        for c in c_types:
            if a in HALF_TYPES and c in HALF_TYPES and a != c:
                continue
            out.append(TypeCombo(a, c, s_type if s_type is not None else c))
    return tuple(out)


@dataclass(frozen=True)
class QuantConfig:
    name: str  # user-facing: `quant_configs` in the Bazel rule, `--configs` in the CLI
    description: str
    b_type: ScalarType
    combos: tuple[TypeCombo, ...]
    # -1 channelwise, 0 act-order, n > 0 groups of 16 * n rows. The seed's full set, built or not.
    group_blocks: tuple[int, ...]
    thread_m_blocks: tuple[float, ...] = THREAD_M_BLOCKS
    thread_configs: tuple[ThreadConfig, ...] = THREAD_CONFIGS
    has_zp: bool = False
    is_zp_float: bool = False
    # Whether csrc/marlin compiles this config's kernels: only implemented configs can be requested for real
    # builds (and appear in rules/private/catalog.bzl's QUANT_CONFIG_FILES).
    implemented: bool = False
    # Group sizes of an implemented config whose kernels are not implemented yet (e.g. act-order, 0): real
    # builds leave them out; the all-known mode plans them. Enabling one is deleting it from here.
    pending_group_blocks: tuple[int, ...] = ()

    @property
    def built_group_blocks(self) -> tuple[int, ...]:
        """The group_blocks values real builds generate: none unless implemented, then all but the pending."""
        if not self.implemented:
            return ()
        return tuple(g for g in self.group_blocks if g not in self.pending_group_blocks)

    def planned_group_blocks(self, *, all_known: bool = False) -> tuple[int, ...]:
        return self.group_blocks if all_known else self.built_group_blocks


QUANT_CONFIGS: tuple[QuantConfig, ...] = (
    QuantConfig(
        "awq_int4",
        "AWQ 4-bit weights with zero points",
        b_type=kU4,
        combos=_combos(),
        group_blocks=(-1, 2, 4, 8),
        has_zp=True,
        implemented=True,
    ),
    QuantConfig(
        "gptq_int4",
        "GPTQ 4-bit weights, symmetric (bias 8), with or without act-order",
        b_type=kU4B8,
        combos=_combos(),
        group_blocks=(-1, 0, 2, 4, 8),
        implemented=True,
    ),
    QuantConfig(
        "gptq_int8",
        "GPTQ 8-bit weights, symmetric (bias 128), with or without act-order",
        b_type=kU8B128,
        combos=_combos(),
        group_blocks=(-1, 0, 2, 4, 8),
        implemented=True,
    ),
    QuantConfig(
        "fp8",
        "FP8 e4m3 weights",
        b_type=kFE4M3fn,
        combos=_combos(),
        group_blocks=(-1, 8),
        implemented=True,
    ),
    QuantConfig(
        "nvfp4",
        "NVFP4: FP4 e2m1 weights, e4m3 scales per 16 rows",
        b_type=kFE2M1f,
        combos=_combos(s_type=kFE4M3fn),
        group_blocks=(1,),
        implemented=True,
    ),
    QuantConfig(
        "mxfp4",
        "MXFP4: FP4 e2m1 weights, e8m0 scales per 32 rows, bf16 activations",
        b_type=kFE2M1f,
        combos=_combos(a_types=(kBFloat16,), s_type=kFE8M0fnu),
        group_blocks=(2,),
        implemented=True,
    ),
    QuantConfig(
        "awq_int4_int8_act",
        "AWQ 4-bit weights with INT8 activations",
        b_type=kU4,
        combos=_combos(a_types=(kS8,)),
        group_blocks=(-1, 2, 4, 8),
        thread_m_blocks=THREAD_M_BLOCKS_NO_HALF,
        has_zp=True,
        implemented=True,
    ),
    QuantConfig(
        "gptq_int4_int8_act",
        "GPTQ 4-bit weights with INT8 activations",
        b_type=kU4B8,
        combos=_combos(a_types=(kS8,)),
        group_blocks=(-1, 2, 4, 8),
        thread_m_blocks=THREAD_M_BLOCKS_NO_HALF,
        implemented=True,
    ),
    QuantConfig(
        "awq_int4_fp8_act",
        "AWQ 4-bit weights with FP8 e4m3 activations",
        b_type=kU4,
        combos=_combos(a_types=(kFE4M3fn,)),
        group_blocks=(-1, 2, 4, 8),
        thread_m_blocks=THREAD_M_BLOCKS_NO_HALF,
        has_zp=True,
        implemented=True,
    ),
    QuantConfig(
        "gptq_int4_fp8_act",
        "GPTQ 4-bit weights with FP8 e4m3 activations",
        b_type=kU4B8,
        combos=_combos(a_types=(kFE4M3fn,)),
        group_blocks=(-1, 2, 4, 8),
        thread_m_blocks=THREAD_M_BLOCKS_NO_HALF,
        implemented=True,
    ),
    QuantConfig(
        "mxfp4_fp8_act",
        "MXFP4 weights with FP8 e4m3 activations, bf16 output",
        b_type=kFE2M1f,
        combos=_combos(a_types=(kFE4M3fn,), c_types=(kBFloat16,), s_type=kFE8M0fnu),
        group_blocks=(2,),
        thread_m_blocks=THREAD_M_BLOCKS_NO_HALF,
        implemented=True,
    ),
)

_CONFIGS_BY_NAME: dict[str, QuantConfig] = {q.name: q for q in QUANT_CONFIGS}

KNOWN_QUANT_CONFIGS: tuple[str, ...] = tuple(q.name for q in QUANT_CONFIGS)
IMPLEMENTED_QUANT_CONFIGS: tuple[str, ...] = tuple(q.name for q in QUANT_CONFIGS if q.implemented)


def config_families(config: QuantConfig) -> tuple[Family, ...]:
    """Every family (implemented or not) that holds kernels of the config, in catalog order."""
    return tuple(f for f in FAMILIES if any(f.accepts(c.a, c.c) for c in config.combos))


def config_archs(config: QuantConfig) -> tuple[str, ...]:
    """The archs (in catalog order) that allow the config: those that bring in one of its families."""
    homes = config_families(config)
    return tuple(a for a in SUPPORTED_ARCHS if any(a in f.archs for f in homes))


def _available(all_known: bool) -> str:
    return ", ".join(KNOWN_QUANT_CONFIGS if all_known else IMPLEMENTED_QUANT_CONFIGS)


def quant_config(name: str, *, all_known: bool = False) -> QuantConfig:
    """The config called `name`; raise CatalogError for unknown names and (unless all_known) not implemented ones.

    `all_known` is the internal plan-everything mode for tests and docs; builds never set it.
    """
    q = _CONFIGS_BY_NAME.get(name)
    if q is None:
        raise CatalogError(f"unknown quant config '{name}'; available: {_available(all_known)}")
    if not q.implemented and not all_known:
        raise CatalogError(f"quant config '{name}' is not implemented yet; available: {_available(all_known)}")
    return q


def parse_config_list(text: str, *, all_known: bool = False) -> tuple[QuantConfig, ...]:
    """Parse "awq_int4,gptq_int4" into configs in catalog order (duplicates collapse)."""
    if not text.strip():
        raise CatalogError(f"empty quant config list; available: {_available(all_known)}")
    chosen: set[str] = set()
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            raise CatalogError(f"bad quant config list '{text}': empty entry; available: {_available(all_known)}")
        chosen.add(quant_config(entry, all_known=all_known).name)
    return tuple(q for q in QUANT_CONFIGS if q.name in chosen)


def archs_allow(archs: tuple[Arch, ...], config: QuantConfig) -> bool:
    """Whether an arch list brings in a family that holds kernels of the config."""
    allowed = config_archs(config)
    return any(a.name in allowed for a in archs)


def check_archs_allow(archs: tuple[Arch, ...], configs: tuple[QuantConfig, ...]) -> None:
    """Raise CatalogError for the first config that the arch list leaves without any family.

    A config named explicitly must have kernels for one of the archs (e.g. FP8 activations need 8.9 or 12.x);
    planning it into nothing would be a silent skip.
    """
    for q in configs:
        if not archs_allow(archs, q):
            got = ", ".join(str(a) for a in archs)
            raise CatalogError(
                f"quant config '{q.name}' has no kernels for archs {got}; archs that allow it: "
                f"{', '.join(config_archs(q))}"
            )


# ------------------------------------------------------------------------------------
# Consistency of the data above


def check_catalog() -> list[str]:
    """Return the inconsistencies of the catalog (empty when all is well)."""
    problems: list[str] = []

    def unique(what: str, values: list[object]) -> None:
        if len(set(values)) != len(values):
            problems.append(f"duplicate {what}: {values}")

    unique("scalar type values", [t.value for t in SCALAR_TYPES])
    unique("scalar type names", [t.cpp for t in SCALAR_TYPES])
    unique("scalar type file names", [t.file_name for t in SCALAR_TYPES])
    unique("archs", list(SUPPORTED_ARCHS))
    unique("families", [f.name for f in FAMILIES])
    unique("quant configs", list(KNOWN_QUANT_CONFIGS))
    for f in FAMILIES:
        for a in f.archs:
            try:
                parse_arch(a)
            except CatalogError:
                problems.append(f"family {f.name}: unknown arch {a}")
    for q in QUANT_CONFIGS:
        if not q.combos or not q.group_blocks or not q.thread_m_blocks:
            problems.append(f"quant config {q.name}: empty expansion axis")
        unique(f"group_blocks of {q.name}", list(q.group_blocks))
        for mb in q.thread_m_blocks:
            if mb not in THREAD_M_BLOCKS:
                problems.append(f"quant config {q.name}: bad m_blocks {mb}")
        for gb in q.group_blocks:
            if gb < -1:
                problems.append(f"quant config {q.name}: bad group_blocks {gb}")
        for gb in q.pending_group_blocks:
            if gb not in q.group_blocks:
                problems.append(f"quant config {q.name}: pending group_blocks {gb} is not one of its group_blocks")
        if q.pending_group_blocks and not q.implemented:
            problems.append(f"quant config {q.name}: pending_group_blocks on a config that is not implemented")
        if q.implemented and not q.built_group_blocks:
            problems.append(f"quant config {q.name} is implemented but every group_blocks value is pending")
        for combo in q.combos:
            # A family that builds only some M blocks or thread configs (sm90) is no home on its own.
            homes = [f for f in FAMILIES if f.accepts(combo.a, combo.c) and f.complete]
            if not homes:
                problems.append(f"quant config {q.name}: no family takes a={combo.a} c={combo.c}")
            if q.implemented and not any(f.implemented for f in homes):
                problems.append(
                    f"quant config {q.name} is implemented but a={combo.a} c={combo.c} has no implemented family"
                )
    return problems
