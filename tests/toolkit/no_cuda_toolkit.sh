#!/usr/bin/env bash
# A machine without a CUDA toolkit, modelled with --repo_env=MARLIN_CUDA=none (the toolkit repository then
# writes the same BUILD file as when it finds no toolkit):
#   1. the README's test command passes, and the tests that need CUDA are reported as SKIPPED;
#   2. `bazel build //csrc:marlin` fails, and the error names the constraint that says how to point at a
#      toolkit (@marlin_cuda//:NO_CUDA_TOOLKIT_FOUND.set_--repo_env=CUDA_PATH).
# Run from anywhere; uses the checkout's bazelw and output base. The next Bazel command without the flag
# finds the toolkit again.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
log="$(mktemp)"
trap 'rm -f "${log}"' EXIT
flags=(--repo_env=MARLIN_CUDA=none --color=no --curses=no)
status=0

fail() {
  echo "FAIL: $*"
  status=1
}

./bazelw test //tests/... "${flags[@]}" --test_summary=short >"${log}" 2>&1 || {
  cat "${log}"
  fail "bazel test //tests/... without a toolkit exited non-zero"
}
grep -E '^//[^ ]+ +(\(cached\) )?(PASSED|SKIPPED|FAILED)' "${log}"
for needs_cuda in //tests/library:library_test //tests/rules:tiny_cuda_test //tests/rules:hermetic_actions_test; do
  grep -qE "^${needs_cuda} +SKIPPED" "${log}" || fail "${needs_cuda} needs CUDA but was not reported as SKIPPED"
done
for no_cuda in //tests/generator:test_plan //tests/rules:bad_library_arch_test; do
  grep -qE "^${no_cuda} +(\(cached\) )?PASSED" "${log}" || fail "${no_cuda} needs no CUDA but did not pass"
done

if ./bazelw build //csrc:marlin "${flags[@]}" >"${log}" 2>&1; then
  fail "bazel build //csrc:marlin succeeded without a toolkit"
fi
grep -F 'NO_CUDA_TOOLKIT_FOUND.set_--repo_env=CUDA_PATH' "${log}" ||
  fail "the error of bazel build //csrc:marlin does not say how to point at a toolkit: $(cat "${log}")"
exit "${status}"
