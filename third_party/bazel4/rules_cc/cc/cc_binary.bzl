"""Bazel 4's built-in cc_binary, where current rules_cc has it."""

cc_binary = native.cc_binary
