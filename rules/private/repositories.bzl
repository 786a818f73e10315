"""Repositories that the marlin rules need, and the Python toolchain."""

load(":cuda_toolkit.bzl", "local_cuda")
load(":python.bzl", "marlin_py_deps")

# buildifier: disable=unnamed-macro
def marlin_deps():
    """Declares @marlin_py_deps (the generator's Python packages) and @local_cuda (the CUDA toolkit).

    A repository of the same name that the WORKSPACE declared before is kept.
    """
    existing = native.existing_rules()
    if "marlin_py_deps" not in existing:
        marlin_py_deps(name = "marlin_py_deps")
    if "local_cuda" not in existing:
        local_cuda(name = "local_cuda")

# buildifier: disable=unnamed-macro
def marlin_register_toolchains():
    """Registers the Python toolchain of @marlin_py_deps (the interpreter that marlin_deps() found).

    Bazel 4's own Python toolchain starts tools with `python`, which Debian 12 does not have; this one runs
    them with the interpreter that installed the generator's packages.
    """
    native.register_toolchains("@marlin_py_deps//:py_toolchain")
