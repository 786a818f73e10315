"""Bazel 4's built-in cc_test, where current rules_cc has it."""

cc_test = native.cc_test
