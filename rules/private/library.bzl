"""marlin_library: generated kernels + launcher + repack, as one C++ library."""

load("@rules_cc//cc/common:cc_common.bzl", "cc_common")
load("@rules_cc//cc/common:cc_info.bzl", "CcInfo")
load(":cuda.bzl", "cuda_library")
load(":kernels.bzl", "marlin_kernels")
load(":plan.bzl", "FAMILIES")

def _cc_group_impl(ctx):
    return [
        # `bazel build` of the library builds every kernel object, not just an empty archive.
        DefaultInfo(files = depset(transitive = [dep[DefaultInfo].files for dep in ctx.attr.deps])),
        cc_common.merge_cc_infos(cc_infos = [dep[CcInfo] for dep in ctx.attr.deps]),
    ]

_cc_group = rule(
    implementation = _cc_group_impl,
    attrs = {"deps": attr.label_list(providers = [CcInfo])},
    doc = "Several C++ libraries as one: their CcInfo merged, their files as its default outputs.",
)

def marlin_library(name, quant_configs, archs = None, shards = 1, visibility = None, **kwargs):
    """A Marlin GEMM library with the kernels of the given quant configs, compiled for the given archs.

    One C++ library (`CcInfo`) for `cc_binary`, `cc_test` or `cc_library` deps: include `"marlin/marlin.h"`
    and call the C API (`marlin_gemm`, `marlin_repack_gptq`, ..., `marlin_built_kernel_count`). Binaries
    link the static CUDA runtime. `bazel build` of the library builds every kernel object.

    It is made of NAME_kernels (`marlin_kernels`), NAME_<family> (one `cuda_library` per kernel-file family,
    compiled for that family's archs only: sm80 for archs >= 8.0, sm89 for 8.9 and 12.x, sm75 for 7.5, sm90
    (wgmma) for 9.0a),
    NAME_launcher (`csrc/launcher/gemm.cu` compiled against this library's `kernel_selector.h`) and the
    repack kernels (`//csrc:repack`, or NAME_repack compiled for `archs` when they are given).

    ```
    marlin_library(
        name = "my_marlin",
        quant_configs = ["gptq_int4"],
        archs = ["8.0", "9.0a"],
    )
    ```

    Args:
      name: Name of the library target.
      quant_configs: Quant configs whose kernels are built in, e.g. `["awq_int4", "gptq_int4"]`
        (docs/FORMATS.md lists them), or `["all"]`: every implemented config that the archs allow.
      archs: CUDA archs such as `["8.0", "8.9"]`; `None` (or `[]`): the `//rules:archs` build setting
        (`--config=sm89`, `--@marlin_bazel//rules:archs=8.0,9.0a`).
      shards: Split each generated kernel file into this many files (1 to 16) so that more nvcc actions run
        in parallel and the longest one is shorter (see `marlin_kernels`); 1: one file per family and type
        combination.
      visibility: Visibility of NAME; the targets it is made of are private to the package.
      **kwargs: Common attributes for every target (`tags`, `testonly`, ...).
    """
    archs = archs or []
    kernels = name + "_kernels"
    marlin_kernels(
        name = kernels,
        archs = archs,
        quant_configs = quant_configs,
        shards = shards,
        visibility = ["//visibility:private"],
        **kwargs
    )
    kernel_headers = Label("//csrc:kernel_headers")
    family_libs = []
    for family in FAMILIES:
        native.filegroup(
            name = "%s_%s_srcs" % (name, family),
            srcs = [":" + kernels],
            output_group = family,
            visibility = ["//visibility:private"],
            **kwargs
        )
        cuda_library(
            name = "%s_%s" % (name, family),
            srcs = [":%s_%s_srcs" % (name, family)],
            archs = archs,
            arch_family = family,
            deps = [kernel_headers],
            visibility = ["//visibility:private"],
            **kwargs
        )
        family_libs.append(":%s_%s" % (name, family))
    native.filegroup(
        name = name + "_selector",
        srcs = [":" + kernels],
        output_group = "selector",
        visibility = ["//visibility:private"],
        **kwargs
    )
    cuda_library(
        name = name + "_launcher",
        srcs = [Label("//csrc:launcher/gemm.cu")],
        hdrs = [":%s_selector" % name],
        # kernel_selector.h sits in NAME_kernels/ of this package.
        includes = [kernels],
        archs = archs,
        deps = [
            kernel_headers,
            Label("//csrc:heuristics"),
        ],
        alwayslink = True,
        visibility = ["//visibility:private"],
        **kwargs
    )
    if archs:
        # The shared //csrc:repack is compiled for the //rules:archs setting; with archs of its own, the
        # library compiles the repack kernels for those archs too.
        repack = ":%s_repack" % name
        cuda_library(
            name = name + "_repack",
            srcs = [Label("//csrc:repack_srcs")],
            archs = archs,
            deps = [kernel_headers],
            alwayslink = True,
            visibility = ["//visibility:private"],
            **kwargs
        )
    else:
        repack = Label("//csrc:repack")
    _cc_group(
        name = name,
        deps = [":%s_launcher" % name] + family_libs + [repack],
        visibility = visibility,
        **kwargs
    )
