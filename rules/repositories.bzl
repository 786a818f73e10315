"""WORKSPACE setup for marlin-bazel:

    load("@marlin_bazel//rules:repositories.bzl", "marlin_deps", "marlin_register_toolchains")
    marlin_deps()
    marlin_register_toolchains()
"""

load(
    "//rules/private:repositories.bzl",
    _marlin_deps = "marlin_deps",
    _marlin_register_toolchains = "marlin_register_toolchains",
)

marlin_deps = _marlin_deps
marlin_register_toolchains = _marlin_register_toolchains
