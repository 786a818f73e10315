"""Public API of marlin-bazel.

    load("@marlin_bazel//rules:defs.bzl", "cuda_library", "marlin_kernels", "marlin_library")

marlin_deps() and marlin_register_toolchains() (for the WORKSPACE) are here too and in repositories.bzl.
"""

load("//rules/private:cuda.bzl", _cuda_library = "cuda_library")
load("//rules/private:kernels.bzl", _marlin_kernels = "marlin_kernels")
load("//rules/private:library.bzl", _marlin_library = "marlin_library")
load(
    "//rules/private:repositories.bzl",
    _marlin_deps = "marlin_deps",
    _marlin_register_toolchains = "marlin_register_toolchains",
)

cuda_library = _cuda_library
marlin_kernels = _marlin_kernels
marlin_library = _marlin_library
marlin_deps = _marlin_deps
marlin_register_toolchains = _marlin_register_toolchains
