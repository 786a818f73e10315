#!/bin/sh
echo "coverage is not available with the offline Bazel 4 stand-ins (third_party/bazel4)" >&2
exit 0
