"""Pure planning and validation functions of the marlin rules.

Every function that can reject its input returns a pair (value, error): error is None on success, else one
sentence that names the bad value and the allowed ones; value is then None. The rules fail() with the error;
tests call the functions directly (//tests/rules:planning_test).

Real builds plan what csrc/marlin implements (implemented quant configs and families, from catalog.bzl). The
planning functions also take `all_known = True`, an internal mode for tests and docs that plans the seed's
whole matrix (every known quant config and family, implemented or not); no rule passes it.
"""

load(
    ":catalog.bzl",
    "ARCH_FAMILIES",
    "ARCH_MIN_CUDA",
    "ARCH_PTX_SUFFIX",
    "CONFIG_REQUIRED_ARCHS",
    "FAMILY_ARCHS",
    "IMPLEMENTED_QUANT_CONFIGS",
    "KNOWN_QUANT_CONFIGS",
    "KNOWN_QUANT_CONFIG_FILES",
    "QUANT_CONFIG_FILES",
    "SUPPORTED_ARCHS",
)

# Kernel-file families, in output-group order: sm75 (7.5), sm80 (archs >= 8.0), sm89 (FP8 activations: 8.9
# and 12.x), sm90 (wgmma: 9.0a only). A family's files are compiled only for its archs.
FAMILIES = list(FAMILY_ARCHS.keys())

# Name of the generated selector header (always generated).
SELECTOR_FILE = "kernel_selector.h"

# Allowed values of `shards` (the generator's --shards): each kernel file is split into this many parts.
MIN_SHARDS = 1
MAX_SHARDS = 16

# Suffixes nvcc accepts after an arch (9.0a: arch-specific, 10.0f: family-specific), as ARCH_MIN_CUDA spells them.
ARCH_SUFFIXES = sorted({arch[-1]: True for arch in ARCH_MIN_CUDA if arch[-1].isalpha()}.keys())

def _quoted(value):
    return json.encode(value)

def allowed_archs_text():
    """The allowed arch strings as one phrase for error messages."""
    return "%s (with a suffix where nvcc has one: %s; %s after any of them also embeds its PTX)" % (
        ", ".join(SUPPORTED_ARCHS),
        ", ".join([a for a in ARCH_MIN_CUDA if a not in SUPPORTED_ARCHS]),
        ARCH_PTX_SUFFIX,
    )

def allowed_configs_text(all_known = False):
    """The allowed quant config names as one phrase for error messages (all known ones with all_known)."""
    return ", ".join(KNOWN_QUANT_CONFIGS if all_known else IMPLEMENTED_QUANT_CONFIGS)

def arch_target(arch):
    """Strips +PTX: "8.0+PTX" -> "8.0", the arch that SASS is compiled for. The arch must be valid."""
    if arch.endswith(ARCH_PTX_SUFFIX):
        return arch[:-len(ARCH_PTX_SUFFIX)]
    return arch

def arch_base(arch):
    """The arch without +PTX and without its a/f suffix.

    Args:
      arch: a validated arch, e.g. "9.0a+PTX".

    Returns:
      The base arch, e.g. "9.0".
    """
    target = arch_target(arch)
    if target and target[-1] in ARCH_SUFFIXES:
        return target[:-1]
    return target

def _arch_error(arch, what):
    """The error for one entry that is not an accepted arch (None if it is one)."""
    target = arch_target(arch)
    if target in ARCH_MIN_CUDA:
        return None
    base = target[:-1] if target and target[-1].isalpha() else target
    if base in SUPPORTED_ARCHS:
        suffixes = [a[len(base):] for a in ARCH_MIN_CUDA if a.startswith(base) and a != base and a[len(base):].isalpha()]
        return "marlin-bazel: arch %s in %s: %s has no suffix %s (%s); allowed: %s" % (
            _quoted(arch),
            what,
            base,
            _quoted(target[len(base):]),
            "it takes " + " or ".join(suffixes) if suffixes else "it takes none",
            allowed_archs_text(),
        )
    return "marlin-bazel: unknown arch %s in %s; allowed: %s" % (_quoted(arch), what, allowed_archs_text())

def _arch_number(arch):
    """Returns major * 10 + minor: "9.0a" -> 90, "12.1" -> 121. The arch must be valid."""
    major, minor = arch_base(arch).split(".")
    return int(major) * 10 + int(minor)

def _check_list(values, what, allowed_text):
    """Shared checks of a string_list attribute: non-empty, only strings, no duplicates."""
    if type(values) != "list":
        return "marlin-bazel: %s must be a list of strings, got %s; allowed: %s" % (what, _quoted(values), allowed_text)
    if not values:
        return "marlin-bazel: %s is empty; list at least one of: %s" % (what, allowed_text)
    seen = {}
    for value in values:
        if type(value) != "string":
            return "marlin-bazel: %s holds %s, which is not a string; allowed: %s" % (what, _quoted(value), allowed_text)
        if value in seen:
            return "marlin-bazel: %s lists %s twice; allowed: %s, each at most once" % (what, _quoted(value), allowed_text)
        seen[value] = True
    return None

def validate_archs(archs, what = "archs"):
    """Checks an arch list such as ["8.0", "9.0a"].

    Args:
      archs: list of arch strings.
      what: where the list came from, for the message (attribute or flag name).

    Returns:
      (archs, None) when valid, else (None, error).
    """
    error = _check_list(archs, what, allowed_archs_text())
    if error:
        return None, error
    targets = {}
    for arch in archs:
        error = _arch_error(arch, what)
        if error:
            return None, error
        target = arch_target(arch)
        if target in targets:
            return None, "marlin-bazel: %s lists arch %s twice (%s and %s); list each arch once" % (
                what,
                target,
                _quoted(targets[target]),
                _quoted(arch),
            )
        targets[target] = arch
    return list(archs), None

def check_archs_cuda(archs, cuda_version):
    """Checks that a CUDA toolkit can compile for every arch of a (valid) list.

    Args:
      archs: validated arch list.
      cuda_version: the toolkit's "MAJOR.MINOR", e.g. "12.4".

    Returns:
      None, or the error for the first arch that needs a newer CUDA.
    """
    have = version_tuple(cuda_version)
    for arch in archs:
        need = ARCH_MIN_CUDA[arch_target(arch)]
        if have < version_tuple(need):
            return "marlin-bazel: arch %s needs CUDA %s or newer, but the toolkit is CUDA %s; drop the arch or point at a newer toolkit with --repo_env=CUDA_PATH=/path/to/cuda" % (
                _quoted(arch),
                need,
                cuda_version,
            )
    return None

def version_tuple(version):
    """A CUDA version as a comparable pair.

    Args:
      version: "MAJOR.MINOR" (more parts are ignored, a missing minor is 0), e.g. "12.8".

    Returns:
      (major, minor), e.g. (12, 8).
    """
    parts = version.split(".")
    return (int(parts[0]), int(parts[1]) if len(parts) > 1 else 0)

def resolve_archs(attr_archs, setting_archs):
    """The archs a target builds for: its own `archs` attribute if set, else the //rules:archs build setting.

    Args:
      attr_archs: the target's archs attribute (empty: not set).
      setting_archs: the value of the //rules:archs build setting.

    Returns:
      (archs, None) or (None, error).
    """
    if attr_archs:
        return validate_archs(attr_archs, "archs")
    return validate_archs(setting_archs, "--//rules:archs")

def family_takes(family, arch):
    """Whether a (valid) arch brings in a (known) kernel-file family.

    A plain "9.0" in FAMILY_ARCHS also takes "9.0a"; a suffixed "9.0a" (the sm90 family: wgmma exists on sm_90a
    only) takes only "9.0a".

    Args:
      family: a name of FAMILIES.
      arch: a validated arch.

    Returns:
      True or False.
    """
    return arch_target(arch) in FAMILY_ARCHS[family] or arch_base(arch) in FAMILY_ARCHS[family]

def arch_families(arch):
    """The implemented families a (valid) arch brings in.

    Args:
      arch: a validated arch ("9.0a" has an entry of its own; other suffixed archs take their base's).

    Returns:
      A list of family names.
    """
    target = arch_target(arch)
    return ARCH_FAMILIES[target] if target in ARCH_FAMILIES else ARCH_FAMILIES[arch_base(arch)]

def family_archs(family, archs):
    """The archs (valid, in the given order) that a kernel-file family is compiled for.

    Args:
      family: "sm75" (7.5), "sm80" (archs >= 8.0), "sm89" (8.9 and 12.x), "sm90" (9.0a) or "" (any family:
        every arch).
      archs: validated arch list.

    Returns:
      (archs, None) or (None, error) for an unknown family.
    """
    if family == "":
        return list(archs), None
    if family in FAMILY_ARCHS:
        return [a for a in archs if family_takes(family, a)], None
    return None, "marlin-bazel: unknown arch_family %s; allowed: %s or \"\" (any)" % (
        _quoted(family),
        ", ".join(FAMILIES),
    )

def _arch_code(arch):
    """Returns the arch as nvcc writes it: "9.0a" -> "90a", "12.1+PTX" -> "121". The arch must be valid."""
    target = arch_target(arch)
    suffix = target[-1] if target[-1] in ARCH_SUFFIXES else ""
    return "%d%s" % (_arch_number(arch), suffix)

def sm_names(archs):
    """["8.0", "9.0a"] -> ["sm_80", "sm_90a"]. The archs must be valid."""
    return ["sm_" + _arch_code(arch) for arch in archs]

def gencode_flags(archs):
    """The -gencode flags for a list of archs.

    Args:
      archs: validated arch list.

    Returns:
      ["-gencode", "arch=compute_XY,code=sm_XY", ...], one pair per arch ("9.0a" -> compute_90a/sm_90a), and
      for "XY+PTX" also "arch=compute_XY,code=compute_XY" (the PTX, which the driver compiles for newer GPUs).
    """
    flags = []
    for arch in archs:
        code = _arch_code(arch)
        flags.extend(["-gencode", "arch=compute_%s,code=sm_%s" % (code, code)])
        if arch.endswith(ARCH_PTX_SUFFIX):
            flags.extend(["-gencode", "arch=compute_%s,code=compute_%s" % (code, code)])
    return flags

def validate_quant_configs(quant_configs, all_known = False):
    """Checks a quant config list such as ["awq_int4", "gptq_int4"].

    Args:
      quant_configs: list of quant config names.
      all_known: internal (tests, docs): accept known configs that are not implemented yet.

    Returns:
      (quant_configs, None) or (None, error). Unknown names and, unless all_known, names of configs that are
      not implemented yet are errors.
    """
    error = _check_list(quant_configs, "quant_configs", allowed_configs_text(all_known))
    if error:
        return None, error
    for name in quant_configs:
        if name not in KNOWN_QUANT_CONFIGS:
            return None, "marlin-bazel: unknown quant config %s in quant_configs; allowed: %s" % (
                _quoted(name),
                allowed_configs_text(all_known),
            )
        if not all_known and name not in IMPLEMENTED_QUANT_CONFIGS:
            return None, "marlin-bazel: quant config %s is not implemented yet; available: %s" % (
                _quoted(name),
                allowed_configs_text(),
            )
    return list(quant_configs), None

def _archs_allow(archs, config):
    """Whether one of the (valid) archs brings in a family that holds kernels of the (known) config."""
    for arch in archs:
        if arch_base(arch) in CONFIG_REQUIRED_ARCHS[config]:
            return True
    return False

def check_config_archs(archs, quant_configs):
    """Checks that every quant config has kernels for at least one of the archs.

    FP8-activation configs need 8.9 or 12.x, mxfp4 needs an arch >= 8.0 (sm75 has no bf16): asking for one
    with none of those archs is an error rather than a silent skip.

    Args:
      archs: validated arch list.
      quant_configs: validated quant config names.

    Returns:
      (quant_configs, None) or (None, error) naming the first config left without kernels and the archs that
      would allow it.
    """
    for config in quant_configs:
        if not _archs_allow(archs, config):
            return None, "marlin-bazel: quant config %s has no kernels for archs %s; archs that allow it: %s" % (
                _quoted(config),
                ", ".join(archs),
                ", ".join(CONFIG_REQUIRED_ARCHS[config]),
            )
    return list(quant_configs), None

def validate_shards(shards):
    """Checks a shard count: an int from MIN_SHARDS to MAX_SHARDS.

    Args:
      shards: the `shards` attribute.

    Returns:
      (shards, None) or (None, error) naming the value and the allowed range.
    """
    if type(shards) != "int" or shards < MIN_SHARDS or shards > MAX_SHARDS:
        return None, "marlin-bazel: bad shards %s; allowed: an integer from %d to %d (1: one file per family and type combination)" % (
            _quoted(shards),
            MIN_SHARDS,
            MAX_SHARDS,
        )
    return shards, None

def shard_file_names(name, shards):
    """The files one kernel file is written as: "x.cu", 2 -> ["x_part1of2.cu", "x_part2of2.cu"]; 1 -> ["x.cu"].

    Args:
      name: unsharded kernel file basename (ends in ".cu").
      shards: validated shard count.

    Returns:
      The basenames, part 1 first (the generator's naming).
    """
    if shards == 1:
        return [name]
    stem = name[:-len(".cu")] if name.endswith(".cu") else name
    return ["%s_part%dof%d.cu" % (stem, i, shards) for i in range(1, shards + 1)]

# The quant_configs value that stands for every implemented config the archs allow.
ALL_QUANT_CONFIGS = "all"

def resolve_quant_configs(archs, quant_configs):
    """Expands `["all"]` into every implemented quant config that the archs allow; other lists unchanged.

    Args:
      archs: arch list (validated here when "all" is used).
      quant_configs: quant config names as given to a rule.

    Returns:
      (list of names, None) or (None, error). "all" with other entries is an error.
    """
    if ALL_QUANT_CONFIGS not in quant_configs:
        return quant_configs, None
    if len(quant_configs) != 1:
        return None, 'marlin-bazel: bad quant_configs %s: "%s" must be the only entry' % (
            json.encode(quant_configs),
            ALL_QUANT_CONFIGS,
        )
    archs, error = validate_archs(archs)
    if error:
        return None, error
    return [config for config in IMPLEMENTED_QUANT_CONFIGS if _archs_allow(archs, config)], None

def plan_kernel_files(archs, quant_configs, all_known = False, shards = 1):
    """The files the generator writes for these archs and quant configs.

    Args:
      archs: arch list (validated here).
      quant_configs: quant config names (validated here, and checked against the archs with
        check_config_archs); None: every config (implemented, or known with all_known) that the archs allow,
        like the generator without --configs.
      all_known: internal, for tests and docs (the generator's --all-known): plan the seed's whole matrix,
        every known config and family whether implemented or not. Real builds never set it.
      shards: split each kernel file into this many (validated here; see shard_file_names).

    Returns:
      (plan, None) or (None, error). plan is a dict: one key per family in FAMILIES with the kernel file
      basenames of that family (possibly empty; sorted by unsharded name, parts in order), and "selector"
      with SELECTOR_FILE.
    """
    archs, error = validate_archs(archs)
    if error:
        return None, error
    shards, error = validate_shards(shards)
    if error:
        return None, error
    if quant_configs == None:
        candidates = KNOWN_QUANT_CONFIGS if all_known else IMPLEMENTED_QUANT_CONFIGS
        quant_configs = [config for config in candidates if _archs_allow(archs, config)]
    else:
        quant_configs, error = validate_quant_configs(quant_configs, all_known)
        if error:
            return None, error
        quant_configs, error = check_config_archs(archs, quant_configs)
        if error:
            return None, error
    config_files = KNOWN_QUANT_CONFIG_FILES if all_known else QUANT_CONFIG_FILES
    families = {}
    for arch in archs:
        if all_known:
            for family in FAMILIES:
                if family_takes(family, arch):
                    families[family] = True
        else:
            for family in arch_families(arch):
                families[family] = True
    plan = {}
    for family in FAMILIES:
        names = {}
        if family in families:
            for config in quant_configs:
                for name in config_files[config].get(family, []):
                    names[name] = True
        plan[family] = [part for name in sorted(names.keys()) for part in shard_file_names(name, shards)]
    plan["selector"] = SELECTOR_FILE
    return plan, None

def plan_file_names(plan):
    """Every file of a plan.

    Args:
      plan: a plan from plan_kernel_files.

    Returns:
      The basenames: kernel files by family, then the selector.
    """
    names = []
    for family in FAMILIES:
        names.extend(plan[family])
    names.append(plan["selector"])
    return names
