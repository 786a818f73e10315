"""Gives Bazel 4's built-in ProtoInfo a name that defs.bzl can load without shadowing the global."""

BUILTIN_PROTO_INFO = ProtoInfo  # buildifier: disable=native-proto-info
