"""Bazel 4's built-in cc_common, where current rules_cc has it."""

load("//cc/private:builtins.bzl", "BUILTIN_CC_COMMON")

cc_common = BUILTIN_CC_COMMON
