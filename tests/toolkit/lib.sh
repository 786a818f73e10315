# shellcheck shell=bash
# Helpers of the tests/toolkit/*.sh checks (sourced after tests/hermetic/lib.sh). The functions read the
# caller's array `flags` (extra Bazel flags, possibly empty).

# The tests that compile, link and inspect CUDA code: what a check runs when given no TARGET.
# shellcheck disable=SC2034  # used by the scripts that source this file
TOOLKIT_DEFAULT_TARGETS=(//tests/rules:tiny_cuda_test //tests/library:library_test //tests/rules:hermetic_actions_test)

# toolkit_tests CHECKOUT OUTPUT_BASE LOG TARGET...: bazel test TARGETS; fails unless each one ran and PASSED
# (where no toolkit is found they are SKIPPED, and bazel test still exits 0).
toolkit_tests() {
  local checkout="$1" base="$2" log="$3" target
  shift 3
  if ! hermetic_bazel "${checkout}" "${base}" test ${flags[@]+"${flags[@]}"} --test_output=errors \
    --test_summary=short "$@" >"${log}" 2>&1; then
    cat "${log}"
    echo "FAIL: bazel test $*"
    return 1
  fi
  for target in "$@"; do
    grep -qE "^${target} +(\(cached\) )?PASSED" "${log}" || {
      cat "${log}"
      echo "FAIL: ${target} did not run and pass (no CUDA toolkit found?)"
      return 1
    }
  done
}

# toolkit_nvcc_actions CHECKOUT OUTPUT_BASE OUT: the nvcc compiles of //tests/library:library_test (aquery,
# text) into OUT; fails when there are none.
toolkit_nvcc_actions() {
  local checkout="$1" base="$2" out="$3"
  hermetic_bazel "${checkout}" "${base}" aquery ${flags[@]+"${flags[@]}"} --output=text \
    "mnemonic(NvccCompile, deps(//tests/library:library_test))" >"${out}" 2>/dev/null
  grep -q 'Mnemonic: NvccCompile' "${out}" || {
    echo "FAIL: aquery found no NvccCompile action"
    return 1
  }
}
