"""Bazel 4's built-in sh_test, where current rules_shell has it."""

sh_test = native.sh_test
