"""Bazel 4's built-in sh_binary, where current rules_shell has it."""

sh_binary = native.sh_binary
