"""Bazel 4's built-in C++ symbols under other names, so that the files that export them do not shadow the globals."""

BUILTIN_CC_COMMON = cc_common  # buildifier: disable=native-cc-common
BUILTIN_CC_INFO = CcInfo  # buildifier: disable=native-cc-info
