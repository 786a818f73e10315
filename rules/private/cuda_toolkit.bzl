"""@marlin_cuda: the CUDA toolkit, chosen with MARLIN_CUDA (a --repo_env): hermetic (default), local or none.

hermetic: the targets are aliases of @marlin_cuda_wheels (cuda_wheels.bzl: NVIDIA's pinned PyPI wheels).
local: $CUDA_PATH, then the toolkit of the nvcc on PATH, then /usr/local/cuda; an explicit CUDA_PATH with
MARLIN_CUDA unset also means local. Either way the repository has:
  :toolkit         nvcc, its version and the host compiler, for cuda_library (TemplateVariableInfo:
                   NVCC, CUDA_PATH, CUDA_VERSION (13.0), CUDA_FULL_VERSION (13.0.88), CUDA_HOST_COMPILER;
                   usable as `toolchains` of a genrule)
  :nvcc            the nvcc executable
  :compiler_files  what an nvcc compile reads, as action inputs (local: nvcc and the headers; hermetic: all)
  :headers         cc_library of the toolkit's include/ folder
  :cudart_static   cc_library of libcudart_static.a with -ldl -lpthread -lrt
Without a toolkit (MARLIN_CUDA=none, or local and none found) every one of them is incompatible with every
platform: targets that need CUDA are skipped by `bazel build //...` and `bazel test //...`, and one named on
the command line fails with Bazel's "incompatible" error, whose last line names the constraint
`@marlin_cuda//:NO_CUDA_TOOLKIT_FOUND.set_--repo_env=CUDA_PATH`. The repository rule also prints the
sentence of MISSING_TOOLKIT_MESSAGE when local finds none.
"""

# The targets every @marlin_cuda has, whatever MARLIN_CUDA says (real, aliases, or incompatible stand-ins).
_TOOLKIT_TARGETS = ["toolkit", "nvcc", "compiler_files", "headers", "cudart_static"]

MISSING_TOOLKIT_MESSAGE = (
    "marlin-bazel: MARLIN_CUDA=local found no CUDA toolkit (looked at $CUDA_PATH, nvcc on PATH, " +
    "/usr/local/cuda), so the targets that need CUDA are skipped; point at one with " +
    "--repo_env=CUDA_PATH=/path/to/cuda, or leave MARLIN_CUDA and CUDA_PATH unset for the pinned hermetic toolkit"
)

# The constraint that no platform has: it makes the toolkit's targets, and all that depend on them,
# incompatible. Its name is what Bazel shows when such a target is built by name.
MISSING_TOOLKIT_CONSTRAINT = "NO_CUDA_TOOLKIT_FOUND.set_--repo_env=CUDA_PATH"

# Rules used in the generated BUILD file -------------------------------------------------------------------

def _cuda_toolkit_impl(ctx):
    return [platform_common.TemplateVariableInfo({
        "CUDA_FULL_VERSION": ctx.attr.full_version,
        "CUDA_HOST_COMPILER": ctx.attr.host_compiler,
        "CUDA_PATH": ctx.attr.path,
        "CUDA_VERSION": ctx.attr.version,
        "NVCC": ctx.attr.nvcc,
    })]

cuda_toolkit = rule(
    implementation = _cuda_toolkit_impl,
    attrs = {
        "full_version": attr.string(mandatory = True, doc = "nvcc's full version, e.g. 13.0.88."),
        "host_compiler": attr.string(doc = "C++ compiler for nvcc -ccbin; empty: nvcc's default."),
        "nvcc": attr.string(mandatory = True, doc = "Absolute path of nvcc."),
        "path": attr.string(mandatory = True, doc = "Toolkit root."),
        "version": attr.string(mandatory = True, doc = "major.minor, e.g. 13.0."),
    },
    doc = "Describes a local CUDA toolkit (written by the marlin_local_cuda repository rule).",
)

def _cuda_toolkit_missing_impl(ctx):
    fail(ctx.attr.message)

cuda_toolkit_missing = rule(
    implementation = _cuda_toolkit_missing_impl,
    attrs = {"message": attr.string(mandatory = True)},
    doc = "Stands for a toolkit target when no toolkit was found: fails at analysis with `message`.",
)

# Repository rule ------------------------------------------------------------------------------------------

def _is_toolkit(rctx, root):
    return rctx.path(root + "/bin/nvcc").exists and rctx.path(root + "/include/cuda_runtime.h").exists

def _dirname(path):
    return path.rpartition("/")[0]

def _toolkit_of_nvcc(rctx, nvcc):
    """The toolkit root of an nvcc found on PATH (it may be a symlink or a wrapper script), or None."""
    real = str(rctx.path(nvcc).realpath)
    root = _dirname(_dirname(real))
    if _is_toolkit(rctx, root):
        return root

    # A wrapper script: nvcc's dry run prints the folder it really lives in as `_HERE_=` (or `TOP=`).
    result = rctx.execute([nvcc, "--dryrun", "--version"], timeout = 60)
    for line in (result.stdout + "\n" + result.stderr).splitlines():
        for key in ["_HERE_=", "TOP="]:
            at = line.find(key)
            if at < 0:
                continue
            value = line[at + len(key):].strip()
            candidate = _dirname(value) if key == "_HERE_=" else value
            if candidate and _is_toolkit(rctx, candidate):
                return candidate
    return None

def _find_toolkit(rctx):
    """Returns the toolkit root (a string), or None."""
    cuda_path = rctx.os.environ.get("CUDA_PATH", "")
    if cuda_path and _is_toolkit(rctx, cuda_path.rstrip("/")):
        return cuda_path.rstrip("/")
    nvcc = rctx.which("nvcc")
    if nvcc:
        root = _toolkit_of_nvcc(rctx, str(nvcc))
        if root:
            return root
    if _is_toolkit(rctx, "/usr/local/cuda"):
        return "/usr/local/cuda"
    return None

def nvcc_version(rctx, nvcc):
    """Reads nvcc's version from its "Cuda compilation tools, release 13.0, V13.0.88".

    Args:
      rctx: the repository context.
      nvcc: path of nvcc.

    Returns:
      (version, full version), e.g. ("13.0", "13.0.88").
    """
    result = rctx.execute([nvcc, "--version"], timeout = 60)
    _, found, rest = result.stdout.partition("release ")
    words = [w for w in rest.replace(",", " ").replace("\n", " ").split(" ") if w]
    full = words[1][1:] if len(words) > 1 and words[1].startswith("V") else ""
    if not found or not words or len(words[0].split(".")) != 2 or not full.startswith(words[0] + "."):
        fail("marlin-bazel: could not read the CUDA version from `%s --version`: %s" % (nvcc, (result.stdout + result.stderr).strip()))
    return words[0], full

def host_compiler(rctx):
    """The host compiler for nvcc -ccbin: $CUDAHOSTCXX, else g++, c++ or clang++ on PATH ("" if none).

    Args:
      rctx: the repository context.

    Returns:
      An absolute path, or "" (nvcc's default).
    """
    explicit = rctx.os.environ.get("CUDAHOSTCXX", "")
    if explicit:
        found = rctx.which(explicit) if "/" not in explicit else rctx.path(explicit)
        if not found or not rctx.path(str(found)).exists:
            fail("marlin-bazel: CUDAHOSTCXX=%s does not name a compiler" % explicit)
        return str(found)
    for name in ["g++", "c++", "clang++"]:
        found = rctx.which(name)
        if found:
            return str(found)
    return ""

def _static_cudart(rctx, root):
    for sub in ["lib64", "lib", "targets/x86_64-linux/lib", "targets/sbsa-linux/lib", "targets/aarch64-linux/lib"]:
        if rctx.path("%s/%s/libcudart_static.a" % (root, sub)).exists:
            return "%s/%s/libcudart_static.a" % (root, sub)
    return None

def _rules_bzl_label():
    """Label of this file as a BUILD file in another repository must write it.

    Main repository: `@//...`; else the label's own spelling (`@marlin_bazel//...` in a WORKSPACE,
    `@@<canonical name>//...` under bzlmod).
    """
    label = Label("//rules/private:cuda_toolkit.bzl")
    if not label.workspace_name:
        return "@//rules/private:cuda_toolkit.bzl"
    return str(label)

def _missing_build(reason):
    lines = [
        "# Generated by marlin-bazel's marlin_local_cuda rule: %s." % reason,
        'load("%s", "cuda_toolkit_missing")' % _rules_bzl_label(),
        "",
        'package(default_visibility = ["//visibility:public"])',
        "",
        'constraint_setting(name = "cuda_toolkit")',
        "",
        "constraint_value(\n    name = %s,\n    constraint_setting = \":cuda_toolkit\",\n)\n" % (
            json.encode(MISSING_TOOLKIT_CONSTRAINT)
        ),
    ]

    # The rule behind each target still fails with the message should a target ever be analyzed anyway.
    for name in _TOOLKIT_TARGETS:
        lines.append("cuda_toolkit_missing(\n    name = %s,\n    message = %s,\n    target_compatible_with = [%s],\n)\n" % (
            json.encode(name),
            json.encode(MISSING_TOOLKIT_MESSAGE),
            json.encode(":" + MISSING_TOOLKIT_CONSTRAINT),
        ))
    return "\n".join(lines)

_TOOLKIT_BUILD = """# Generated by marlin-bazel's {rule} rule. Do not edit.
# CUDA {full_version} at {where}.
load("@rules_cc//cc:cc_library.bzl", "cc_library")
load("{bzl}", "cuda_toolkit")

package(default_visibility = ["//visibility:public"])

cuda_toolkit(
    name = "toolkit",
    full_version = {full_version_json},
    host_compiler = {host_compiler},
    nvcc = {nvcc},
    path = {root_json},
    version = {version_json},
)

filegroup(
    name = "nvcc",
    srcs = ["{prefix}bin/nvcc"],
)

# What every nvcc compile reads from the toolkit, as inputs of the action: {compiler_files_what}.
filegroup(
    name = "compiler_files",
    srcs = {compiler_files},
)

cc_library(
    name = "headers",
    hdrs = glob(["{prefix}include/**"]),
    includes = ["{prefix}include"],
)

cc_library(
    name = "cudart_static",
    srcs = ["{prefix}lib/libcudart_static.a"],
    linkopts = [
        "-ldl",
        "-lpthread",
        "-lrt",
    ],
)
"""

def toolkit_build(rctx, rule, where, nvcc, root, prefix, hermetic):
    """The BUILD file of a toolkit repository (local or hermetic).

    Args:
      rctx: the repository context.
      rule: name of the repository rule, for the header comment.
      where: where the toolkit came from, for the header comment.
      nvcc: nvcc to run: an absolute path (local) or one relative to the repository (hermetic), which
        cuda_library resolves to the file's path in the execution root.
      root: the toolkit root, absolute (local) or relative to the repository (hermetic).
      prefix: the toolkit root's folder in the repository ("" or "cuda/").
      hermetic: whether the whole toolkit is in the repository (then every file a compile reads is an input).

    Returns:
      The text of BUILD.bazel.
    """
    version, full_version = nvcc_version(rctx, str(rctx.path(nvcc)) if hermetic else nvcc)
    if hermetic:
        compiler_files = 'glob(["%sbin/**", "%snvvm/**", "%sinclude/**"])' % (prefix, prefix, prefix)
        what = "the compiler drivers, cicc and libdevice, and the headers"
    else:
        compiler_files = '["%sbin/nvcc"] + glob(["%sinclude/**"])' % (prefix, prefix)
        what = "nvcc and the headers (the rest of the toolkit is read from its absolute path)"
    return _TOOLKIT_BUILD.format(
        bzl = _rules_bzl_label(),
        compiler_files = compiler_files,
        compiler_files_what = what,
        full_version = full_version,
        full_version_json = json.encode(full_version),
        host_compiler = json.encode(host_compiler(rctx)),
        nvcc = json.encode(nvcc),
        prefix = prefix,
        root_json = json.encode(root),
        rule = rule,
        version_json = json.encode(version),
        where = where,
    )

# The toolkit repository of MARLIN_CUDA=hermetic: its targets are those of the wheels repository.
_HERMETIC_ALIASES = """# Generated by marlin-bazel's marlin_local_cuda rule: MARLIN_CUDA=hermetic, the toolkit of {wheels}.
package(default_visibility = ["//visibility:public"])
""" + "".join([
    '\nalias(\n    name = "%s",\n    actual = "{wheels}//:%s",\n)\n' % (name, name)
    for name in _TOOLKIT_TARGETS
])

MARLIN_CUDA_MODES = {
    "hermetic": "the pinned CUDA wheels of rules/cuda_wheels_lock.txt, the default",
    "local": "the toolkit of this machine, the default when CUDA_PATH is set",
    "none": "build without CUDA: the targets that need it are skipped",
}

def toolkit_mode(environ):
    """MARLIN_CUDA, else local where CUDA_PATH is set, else hermetic (the caller checks the value)."""
    if environ.get("MARLIN_CUDA"):
        return environ["MARLIN_CUDA"]
    return "local" if environ.get("CUDA_PATH") else "hermetic"

def _marlin_local_cuda_impl(rctx):
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    mode = toolkit_mode(rctx.os.environ)
    if mode not in MARLIN_CUDA_MODES:
        fail("marlin-bazel: MARLIN_CUDA=%s is not a toolkit choice; allowed: %s" % (
            mode,
            ", ".join(["%s (%s)" % (m, MARLIN_CUDA_MODES[m]) for m in sorted(MARLIN_CUDA_MODES)]),
        ))
    if mode == "hermetic":
        rctx.file("BUILD.bazel", _HERMETIC_ALIASES.format(wheels = "@" + rctx.attr.wheels_repository))
        return
    root = _find_toolkit(rctx) if mode == "local" else None
    if not root:
        if mode == "local":
            print(MISSING_TOOLKIT_MESSAGE)  # buildifier: disable=print
        rctx.file("BUILD.bazel", _missing_build(
            "no CUDA toolkit was found on this machine" if mode == "local" else "MARLIN_CUDA=none",
        ))
        return
    cudart = _static_cudart(rctx, root)
    if not cudart:
        fail("marlin-bazel: the CUDA toolkit at %s has no libcudart_static.a" % root)
    real_root = str(rctx.path(root).realpath)
    nvcc = real_root + "/bin/nvcc"
    rctx.symlink(nvcc, "bin/nvcc")
    rctx.symlink(str(rctx.path(root + "/include").realpath), "include")
    rctx.symlink(cudart, "lib/libcudart_static.a")
    rctx.file("BUILD.bazel", toolkit_build(rctx, "marlin_local_cuda", real_root, nvcc, real_root, "", hermetic = False))

marlin_local_cuda = repository_rule(
    implementation = _marlin_local_cuda_impl,
    attrs = {
        "wheels_repository": attr.string(
            default = "marlin_cuda_wheels",
            doc = "Name of the marlin_cuda_wheels repository that MARLIN_CUDA=hermetic takes its targets from.",
        ),
    },
    environ = ["CUDA_PATH", "CUDAHOSTCXX", "MARLIN_CUDA", "PATH"],
    local = True,
    doc = "The CUDA toolkit: the pinned wheels (@marlin_cuda_wheels) by default; `MARLIN_CUDA=local` (or " +
          "an explicit CUDA_PATH) the machine's own ($CUDA_PATH, nvcc on PATH, /usr/local/cuda), " +
          "`MARLIN_CUDA=none` none.",
)
