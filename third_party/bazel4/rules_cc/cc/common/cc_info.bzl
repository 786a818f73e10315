"""Bazel 4's built-in CcInfo, where current rules_cc has it."""

load("//cc/private:builtins.bzl", "BUILTIN_CC_INFO")

CcInfo = BUILTIN_CC_INFO
