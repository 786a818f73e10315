"""Bazel 4's built-in cc_library, where current rules_cc has it."""

cc_library = native.cc_library
