"""Module extensions for bzlmod (Bazel 7 and newer): the repositories that `marlin_deps()` declares in a WORKSPACE.

In a downstream MODULE.bazel nothing is needed beyond `bazel_dep(name = "marlin_bazel", version = ...)`: this
module's own MODULE.bazel uses the `marlin` extension and registers the generator's Python toolchain. The
repository settings (`--repo_env=CUDA_PATH=...`, `MARLIN_CUDA`, `CUDAHOSTCXX`, `MARLIN_PYTHON`,
`MARLIN_WHEELHOUSE`) are the same as in a WORKSPACE; README.md lists them.

Written against the Bazel 8 documentation; CI runs Bazel 4.2.3, which has no bzlmod (README.md says which
versions are run and which are only written for).
"""

load("//rules/private:cuda_toolkit.bzl", "marlin_local_cuda")
load("//rules/private:cuda_wheels.bzl", "marlin_cuda_wheels")
load("//rules/private:python.bzl", "marlin_py_deps", "marlin_py_test_deps")

def _marlin_impl(_module_ctx):
    marlin_py_deps(name = "marlin_py_deps")
    marlin_local_cuda(name = "marlin_cuda")
    marlin_cuda_wheels(name = "marlin_cuda_wheels")

marlin = module_extension(
    implementation = _marlin_impl,
    doc = "`@marlin_py_deps` (the generator's Python packages and toolchain), `@marlin_cuda` (the toolkit) and " +
          "`@marlin_cuda_wheels` (the pinned toolkit that MARLIN_CUDA=hermetic, the default, uses).",
)

def _marlin_dev_impl(_module_ctx):
    marlin_py_test_deps(name = "marlin_py_test_deps")

marlin_dev = module_extension(
    implementation = _marlin_dev_impl,
    doc = "`@marlin_py_test_deps`: test-only Python packages of this repository's own tests.",
)
