"""cuda_library: compiles .cu files with nvcc and links the objects through Bazel's C++ rules."""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")
load("@rules_cc//cc/common:cc_common.bzl", "cc_common")
load("@rules_cc//cc/common:cc_info.bzl", "CcInfo")
load(":archs.bzl", "MarlinArchsInfo")
load(":compress.bzl", "COMPRESS_MODES", "MarlinCompressInfo")
load(":plan.bzl", "check_archs_cuda", "family_archs", "gencode_flags", "resolve_archs", "sm_names", "version_tuple")

_COMPILED_EXTENSIONS = ["cu"]
_HEADER_EXTENSIONS = [".cuh", ".h", ".hh", ".hpp", ".hxx", ".inc", ".inl"]

# nvcc understands -static-global-template-stub from CUDA 12.8 on; CUDA >= 12.8 needs it set to false because
# the generated selector references template kernels of other translation units.
_TEMPLATE_STUB_FLAG_SINCE = (12, 8)

# nvcc has --compress-mode from CUDA 12.8 on; older toolkits compress with their fixed default.
_COMPRESS_MODE_SINCE = (12, 8)

def _unique(items):
    seen = {}
    for item in items:
        seen[item] = True
    return seen.keys()

def _join(*parts):
    return "/".join([p for p in parts if p])

def _include_dirs(ctx, includes):
    """`includes` entries (relative to the package) as exec paths, in the source and in the output trees."""
    dirs = []
    for include in includes:
        if include.startswith("/") or include.startswith("../") or include == "..":
            fail("marlin-bazel: includes entry %s of %s must be a folder inside its package" % (
                json.encode(include),
                ctx.label,
            ))
        path = _join(ctx.label.workspace_root, ctx.label.package, include if include != "." else "")
        path = path or "."
        dirs.append(path)
        dirs.append(_join(ctx.bin_dir.path, path if path != "." else ""))
    return dirs

def _object_stem(ctx, src):
    """A path for src's object that is unique within this target: _objs/NAME/<path of src without extension>."""
    path = src.short_path
    if path.startswith("../"):
        path = path[3:]
    return "_objs/%s/%s" % (ctx.label.name, path[:-(len(src.extension) + 1)])

# Runs nvcc ("$@") so that its output does not depend on where or how often it runs:
# - `--keep --keep-dir DIR` gives nvcc's intermediate files fixed names in a folder of the action's own
#   (in $TMPDIR they are named after nvcc's process id, and the host object records the name), and the
#   folder is emptied afterwards, so nothing but the object is kept or cached;
# - TMPDIR is set here because Bazel replaces the TMPDIR of an action's environment with its own (/tmp,
#   shared by all actions) when it runs the action locally or in a sandbox.
_NVCC_WRAPPER = """
dir="$1"
shift
mkdir -p "$dir"
TMPDIR="$PWD/$dir"
export TMPDIR
status=0
"$@" --keep --keep-dir "$dir" || status=$?
find "$dir" -mindepth 1 -delete
exit "$status"
"""

def _nvcc_compile(ctx, toolkit, nvcc, src, archs, compress_mode, compilation_context, private_headers):
    stem = _object_stem(ctx, src)
    obj = ctx.actions.declare_file(stem + ".o")

    # nvcc's intermediate files: a folder of this action's own (empty when the action ends).
    tmp = ctx.actions.declare_directory(stem + ".nvcc_tmp")

    args = ctx.actions.args()
    args.add_all(["-x", "cu", "-c", src.path, "-o", obj.path])
    if toolkit["CUDA_HOST_COMPILER"]:
        args.add("-ccbin", toolkit["CUDA_HOST_COMPILER"])
    args.add_all(["-Xcompiler", "-fPIC", "-O3", "-std=c++17", "--expt-relaxed-constexpr"])
    if version_tuple(toolkit["CUDA_VERSION"]) >= _TEMPLATE_STUB_FLAG_SINCE:
        args.add("-static-global-template-stub=false")
    if version_tuple(toolkit["CUDA_VERSION"]) >= _COMPRESS_MODE_SINCE:
        args.add("--compress-mode=" + compress_mode)

    # nvcc hands the front end the absolute path of the source, which goes into the names of anonymous
    # namespaces (and so into the object); the relative path given here replaces it.
    args.add("-Xcudafe", "--orig_src_path_name=" + src.path)
    args.add_all(gencode_flags(archs))
    args.add_all(compilation_context.defines, format_each = "-D%s")
    args.add_all(ctx.attr.local_defines, format_each = "-D%s")

    # Like the C++ rules, the roots of the source and output trees and the quote include paths are searched;
    # nvcc has no -iquote, so they become -I.
    root = ctx.label.workspace_root or "."
    include_dirs = [root, _join(ctx.bin_dir.path, ctx.label.workspace_root)]
    include_dirs += compilation_context.quote_includes.to_list() + compilation_context.includes.to_list()
    args.add_all(_unique(include_dirs), before_each = "-I")
    args.add_all(_unique(compilation_context.system_includes.to_list()), before_each = "-isystem")
    args.add_all(ctx.attr.copts)

    cuda_bin = nvcc.rpartition("/")[0]
    ctx.actions.run_shell(
        command = _NVCC_WRAPPER,
        arguments = [tmp.path, nvcc, args],
        # nvcc and the toolkit's headers (with the hermetic toolkit: every file of it that a compile reads) are
        # inputs, so their content is part of the action's key (a patched nvcc at the same path gives other
        # keys, and a remote cache no stale objects).
        inputs = depset(
            [src] + private_headers + ctx.files._compiler_files,
            transitive = [compilation_context.headers],
        ),
        outputs = [obj, tmp],
        # Only this PATH (nvcc and the host compiler find their tools on it), whatever the user's shell has, and
        # nvcc's full version (13.0.88), which keys the action on the toolkit's release (its headers included).
        env = {
            "MARLIN_NVCC_VERSION": toolkit["CUDA_FULL_VERSION"],
            "PATH": cuda_bin + ":/usr/local/bin:/usr/bin:/bin",
        },
        mnemonic = "NvccCompile",
        progress_message = "Compiling CUDA %s for %s" % (src.short_path, ", ".join(sm_names(archs))),
    )
    return obj

def _nvcc_path(ctx, nvcc):
    """nvcc as the action runs it.

    That is the toolkit's absolute path (local toolkit), or, for a toolkit inside its repository (hermetic: a
    path relative to it), that file's path in the execution root.
    """
    if nvcc.startswith("/"):
        return nvcc
    for f in ctx.files._compiler_files:
        if f.short_path.endswith("/" + nvcc):
            return f.path
    fail("marlin-bazel: the CUDA toolkit's nvcc %s is not among its compiler files" % nvcc)

def _cuda_library_impl(ctx):
    toolkit = ctx.attr._toolkit[platform_common.TemplateVariableInfo].variables
    nvcc = _nvcc_path(ctx, toolkit["NVCC"])

    archs, error = resolve_archs(ctx.attr.archs, ctx.attr._archs[MarlinArchsInfo].archs)
    if error:
        fail(error)
    archs, error = family_archs(ctx.attr.arch_family, archs)
    if error:
        fail(error)
    error = check_archs_cuda(archs, toolkit["CUDA_VERSION"])
    if error:
        fail(error)
    compress_mode = ctx.attr._compress_mode[MarlinCompressInfo].mode
    if compress_mode not in COMPRESS_MODES:
        fail("marlin-bazel: bad --//rules:compress_mode '%s'; allowed: %s" % (compress_mode, ", ".join(COMPRESS_MODES)))

    own_compilation_context = cc_common.create_compilation_context(
        headers = depset(ctx.files.hdrs),
        includes = depset(_include_dirs(ctx, ctx.attr.includes)),
        defines = depset(ctx.attr.defines),
    )
    dep_cc_infos = [dep[CcInfo] for dep in ctx.attr.deps]
    compile_cc_info = cc_common.merge_cc_infos(
        direct_cc_infos = [CcInfo(compilation_context = own_compilation_context)],
        cc_infos = dep_cc_infos,
    )

    for src in ctx.files.srcs:
        if src.extension not in _COMPILED_EXTENSIONS and ("." + src.extension) not in _HEADER_EXTENSIONS:
            fail("marlin-bazel: %s in srcs of %s is neither a .cu file nor a header (%s)" % (
                src.short_path,
                ctx.label,
                ", ".join(_HEADER_EXTENSIONS),
            ))
    private_headers = [f for f in ctx.files.srcs if ("." + f.extension) in _HEADER_EXTENSIONS]
    objects = []
    if archs:
        for src in ctx.files.srcs:
            if src.extension in _COMPILED_EXTENSIONS:
                objects.append(_nvcc_compile(
                    ctx,
                    toolkit,
                    nvcc,
                    src,
                    archs,
                    compress_mode,
                    compile_cc_info.compilation_context,
                    private_headers,
                ))

    cc_toolchain = find_cpp_toolchain(ctx)
    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    compilation_outputs = cc_common.create_compilation_outputs(
        objects = depset(objects),
        pic_objects = depset(objects),
    )
    linking_context, _ = cc_common.create_linking_context_from_compilation_outputs(
        actions = ctx.actions,
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        compilation_outputs = compilation_outputs,
        user_link_flags = ctx.attr.linkopts,
        alwayslink = ctx.attr.alwayslink,
        name = ctx.label.name,
        disallow_dynamic_library = True,
    )

    cc_info = cc_common.merge_cc_infos(
        direct_cc_infos = [CcInfo(
            compilation_context = own_compilation_context,
            linking_context = linking_context,
        )],
        cc_infos = dep_cc_infos + [ctx.attr._cudart[CcInfo]],
    )
    return [
        DefaultInfo(files = depset(objects)),
        cc_info,
        OutputGroupInfo(objects = depset(objects)),
    ]

cuda_library = rule(
    implementation = _cuda_library_impl,
    attrs = {
        "alwayslink": attr.bool(
            default = False,
            doc = "Link every object into binaries even if nothing references it (as in `cc_library`).",
        ),
        "arch_family": attr.string(
            default = "",
            values = ["", "sm75", "sm80", "sm89", "sm90"],
            doc = "Internal (used by `marlin_library`): compile only for the archs of this kernel-file " +
                  "family; `\"\"` compiles for every arch.",
        ),
        "archs": attr.string_list(
            doc = "CUDA archs to compile for, e.g. `[\"8.0\", \"9.0a\"]`; empty: the `//rules:archs` " +
                  "build setting. Each arch adds `-gencode arch=compute_XY,code=sm_XY`.",
        ),
        "copts": attr.string_list(doc = "Extra nvcc flags, e.g. `[\"-lineinfo\"]`."),
        "defines": attr.string_list(doc = "Preprocessor defines (`NAME` or `NAME=VALUE`), also for dependents."),
        "deps": attr.label_list(
            providers = [CcInfo],
            doc = "`cc_library` or `cuda_library` targets: their headers, include paths and defines reach " +
                  "nvcc, and they are linked into binaries.",
        ),
        "hdrs": attr.label_list(
            allow_files = _HEADER_EXTENSIONS,
            doc = "Public headers (`.cuh`, `.h`, `.hh`, `.hpp`, `.hxx`, `.inc`, `.inl`).",
        ),
        "includes": attr.string_list(
            doc = "Include folders relative to the package (`\".\"`: the package), also for dependents.",
        ),
        "linkopts": attr.string_list(doc = "Linker flags for binaries that link this library."),
        "local_defines": attr.string_list(doc = "Preprocessor defines for this target's sources only."),
        "srcs": attr.label_list(
            # Any file here (checked in the implementation): a label whose files are all filtered out, such
            # as an empty kernel-family output group, must not be an error.
            allow_files = True,
            doc = "`.cu` files to compile (one nvcc action each), and private headers.",
        ),
        "_archs": attr.label(default = Label("//rules:archs"), providers = [MarlinArchsInfo]),
        "_compress_mode": attr.label(default = Label("//rules:compress_mode"), providers = [MarlinCompressInfo]),
        "_cc_toolchain": attr.label(default = Label("@bazel_tools//tools/cpp:current_cc_toolchain")),
        "_cudart": attr.label(default = Label("@marlin_cuda//:cudart_static"), providers = [CcInfo]),
        "_compiler_files": attr.label(default = Label("@marlin_cuda//:compiler_files"), allow_files = True),
        "_toolkit": attr.label(default = Label("//rules:cuda_toolkit")),
    },
    fragments = ["cpp"],
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    doc = """Compiles CUDA sources with nvcc, one action per source, and provides `CcInfo` like `cc_library`.

Each `.cu` file of `srcs` is compiled with `-gencode arch=compute_XY,code=sm_XY` for every arch of `archs`
(or of the `//rules:archs` build setting) that `arch_family` admits; when none does, nothing is compiled.
The flags are `-x cu -c -Xcompiler -fPIC -O3 -std=c++17 --expt-relaxed-constexpr` (and, from CUDA 12.8 on,
`-static-global-template-stub=false` and `--compress-mode=` the `//rules:compress_mode` build setting, `size`
by default), then `copts`. Headers and include paths of `deps` are inputs and
flags of the nvcc actions. Binaries that link the library also link the static CUDA runtime.

Objects do not depend on where the checkout or the output base is: each nvcc action keeps its intermediate
files in a folder of its own under fixed names (`--keep --keep-dir`, emptied at the end), the source's
relative path replaces the absolute one in the names of anonymous namespaces, and the action's environment
is only a fixed `PATH` (the toolkit's `bin` folder and the system folders) and `MARLIN_NVCC_VERSION` (nvcc's
full version, e.g. 13.0.88), with the host compiler as an absolute `-ccbin`. So the same sources give
byte-identical objects in any checkout, and the actions' cache keys do not depend on the user's shell. nvcc and
the toolkit's headers are inputs of every compile (with `--repo_env=MARLIN_CUDA=hermetic`, every toolkit file
a compile reads, and nvcc runs by its path in the execution root) and nvcc's full version is in the
environment, so another toolkit release (or a patched nvcc at the same path) gives other cache keys.

Output group `objects`: the object files (also the default outputs).

```
cuda_library(
    name = "my_kernels",
    srcs = ["my_kernels.cu"],
    hdrs = ["my_kernels.h"],
    archs = ["8.0", "9.0a"],
    deps = [":my_headers"],
)
```""",
)
