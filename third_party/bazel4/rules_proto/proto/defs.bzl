"""Bazel 4's built-in proto rules under the names that @bazel_tools loads from @rules_proto."""

load(":provider.bzl", "BUILTIN_PROTO_INFO")

proto_lang_toolchain = native.proto_lang_toolchain
proto_library = native.proto_library
ProtoInfo = BUILTIN_PROTO_INFO
