"""Pure planning and validation functions of the marlin rules.

Every function that can reject its input returns a pair (value, error): error is None on success, else one
sentence that names the bad value and the allowed ones; value is then None. The rules fail() with the error;
tests call the functions directly (//tests:planning_test).
"""

load(":catalog.bzl", "ARCH_FAMILIES", "QUANT_CONFIG_FILES", "SUPPORTED_ARCHS")

# Kernel-file families, in output-group order. A family's files are compiled only for its archs.
FAMILIES = ["sm75", "sm80", "sm89"]

# Name of the generated selector header (always generated).
SELECTOR_FILE = "kernel_selector.h"

# Suffixes nvcc accepts after an arch: 9.0a (arch-specific), 10.0f (family-specific).
ARCH_SUFFIXES = ["a", "f"]

def _quoted(value):
    return json.encode(value)

def allowed_archs_text():
    """The allowed arch strings as one phrase for error messages."""
    return "%s (optionally with suffix %s, e.g. 9.0a)" % (
        ", ".join(SUPPORTED_ARCHS),
        " or ".join(ARCH_SUFFIXES),
    )

def allowed_configs_text():
    """The allowed quant config names as one phrase for error messages."""
    return ", ".join(sorted(QUANT_CONFIG_FILES.keys()))

def arch_base(arch):
    """Strips the a/f suffix: "9.0a" -> "9.0". The arch must be valid."""
    if arch and arch[-1] in ARCH_SUFFIXES:
        return arch[:-1]
    return arch

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
    for arch in archs:
        if arch_base(arch) not in SUPPORTED_ARCHS:
            return None, "marlin-bazel: unknown arch %s in %s; allowed: %s" % (
                _quoted(arch),
                what,
                allowed_archs_text(),
            )
    return list(archs), None

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

def family_archs(family, archs):
    """The archs (valid, in the given order) that a kernel-file family is compiled for.

    Args:
      family: "sm75" (7.5), "sm80" (archs >= 8.0), "sm89" (8.9 and 12.x) or "" (any family: every arch).
      archs: validated arch list.

    Returns:
      (archs, None) or (None, error) for an unknown family.
    """
    if family == "":
        return list(archs), None
    if family == "sm80":
        return [a for a in archs if _arch_number(a) >= 80], None
    if family == "sm89":
        return [a for a in archs if _arch_number(a) == 89 or _arch_number(a) // 10 == 12], None
    if family == "sm75":
        return [a for a in archs if _arch_number(a) == 75], None
    return None, "marlin-bazel: unknown arch_family %s; allowed: %s or \"\" (any)" % (
        _quoted(family),
        ", ".join(FAMILIES),
    )

def _arch_code(arch):
    """Returns the arch as nvcc writes it: "9.0a" -> "90a", "12.1" -> "121". The arch must be valid."""
    suffix = arch[-1] if arch[-1] in ARCH_SUFFIXES else ""
    return "%d%s" % (_arch_number(arch), suffix)

def sm_names(archs):
    """["8.0", "9.0a"] -> ["sm_80", "sm_90a"]. The archs must be valid."""
    return ["sm_" + _arch_code(arch) for arch in archs]

def gencode_flags(archs):
    """The -gencode flags for a list of archs.

    Args:
      archs: validated arch list.

    Returns:
      ["-gencode", "arch=compute_XY,code=sm_XY", ...], one pair per arch ("9.0a" -> compute_90a/sm_90a).
    """
    flags = []
    for arch in archs:
        code = _arch_code(arch)
        flags.extend(["-gencode", "arch=compute_%s,code=sm_%s" % (code, code)])
    return flags

def validate_quant_configs(quant_configs):
    """Checks a quant config list such as ["awq_int4", "gptq_int4"].

    Args:
      quant_configs: list of quant config names.

    Returns:
      (quant_configs, None) or (None, error).
    """
    error = _check_list(quant_configs, "quant_configs", allowed_configs_text())
    if error:
        return None, error
    for name in quant_configs:
        if name not in QUANT_CONFIG_FILES:
            return None, "marlin-bazel: unknown quant config %s in quant_configs; allowed: %s" % (
                _quoted(name),
                allowed_configs_text(),
            )
    return list(quant_configs), None

def plan_kernel_files(archs, quant_configs):
    """The files the generator writes for these archs and quant configs.

    Args:
      archs: arch list (validated here).
      quant_configs: quant config names (validated here).

    Returns:
      (plan, None) or (None, error). plan is a dict: one key per family in FAMILIES with the sorted kernel
      file basenames of that family (possibly empty), and "selector" with SELECTOR_FILE.
    """
    archs, error = validate_archs(archs)
    if error:
        return None, error
    quant_configs, error = validate_quant_configs(quant_configs)
    if error:
        return None, error
    families = {}
    for arch in archs:
        for family in ARCH_FAMILIES[arch_base(arch)]:
            families[family] = True
    plan = {}
    for family in FAMILIES:
        names = {}
        if family in families:
            for config in quant_configs:
                for name in QUANT_CONFIG_FILES[config].get(family, []):
                    names[name] = True
        plan[family] = sorted(names.keys())
    for family in families:
        if family not in FAMILIES:
            return None, "marlin-bazel: the catalog names family %s, which the rules do not know; known: %s" % (
                _quoted(family),
                ", ".join(FAMILIES),
            )
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
