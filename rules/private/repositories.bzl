"""Repositories that the marlin rules need, and the Python toolchain."""

load(":cuda_toolkit.bzl", "marlin_local_cuda")
load(":cuda_wheels.bzl", "marlin_cuda_wheels")
load(":python.bzl", "marlin_py_deps")

# buildifier: disable=unnamed-macro
def marlin_deps():
    """Declares the repositories that the rules need; call it in the WORKSPACE.

    `@marlin_py_deps`: the generator's Python packages (jinja2, markupsafe, bazel-runfiles, hash-pinned in
    `rules/requirements_lock.txt`), installed with pip for a Python 3.9+ of this machine.
    `@marlin_cuda`: the CUDA toolkit the build uses (nvcc, headers, static runtime) and the host compiler.
    `@marlin_cuda_wheels`: the hermetic toolkit (NVIDIA's hash-pinned PyPI wheels of
    `rules/cuda_wheels_lock.txt`), the default; fetched only when `@marlin_cuda` uses it.
    A repository of the same name that the WORKSPACE declared before is kept.

    Settings, passed with `--repo_env=NAME=VALUE` (for example in `.bazelrc`):

    | name | effect |
    | --- | --- |
    | `CUDA_PATH` | CUDA toolkit of `MARLIN_CUDA=local` (otherwise the toolkit of `nvcc` on `PATH`, then `/usr/local/cuda`); set with `MARLIN_CUDA` unset, it selects `local` |
    | `CUDAHOSTCXX` | host compiler for `nvcc -ccbin` (default: `g++` on `PATH`); a name on `PATH` or a path |
    | `MARLIN_CUDA` | `hermetic` (default: `@marlin_cuda_wheels`), `local` (the toolkit of this machine) or `none` (build without CUDA) |
    | `MARLIN_PYTHON` | Python interpreter for the generator (default: `python3` on `PATH`) |
    | `MARLIN_WHEELHOUSE` | folder of wheels: install the pinned Python packages (and the CUDA wheels) from it only (no index) |

    Without a CUDA toolkit (`MARLIN_CUDA=none`, or `local` and none found), the toolkit's targets, and every target that
    needs them, are incompatible: `bazel test //...` skips them, and building one by name fails with Bazel's
    "incompatible" error naming `@marlin_cuda//:NO_CUDA_TOOLKIT_FOUND.set_--repo_env=CUDA_PATH`.

    ```
    load("@marlin_bazel//rules:repositories.bzl", "marlin_deps", "marlin_register_toolchains")

    marlin_deps()

    marlin_register_toolchains()
    ```
    """
    existing = native.existing_rules()
    if "marlin_py_deps" not in existing:
        marlin_py_deps(name = "marlin_py_deps")
    if "marlin_cuda" not in existing:
        marlin_local_cuda(name = "marlin_cuda")
    if "marlin_cuda_wheels" not in existing:
        marlin_cuda_wheels(name = "marlin_cuda_wheels")

# buildifier: disable=unnamed-macro
def marlin_register_toolchains():
    """Registers the Python toolchain of `@marlin_py_deps`; call it in the WORKSPACE after `marlin_deps()`.

    The toolchain runs `py_binary` tools (the kernel generator) inside actions with the interpreter that
    `marlin_deps()` found. Bazel 4's own Python toolchain starts them with `python`, which Debian 12 does
    not have.
    """
    native.register_toolchains("@marlin_py_deps//:py_toolchain")
