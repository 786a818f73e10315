#!/usr/bin/env bash
# The machine's own CUDA toolkit, on request (--repo_env=MARLIN_CUDA=local; the default is the pinned wheels):
#   1. in an output base of its own, the tests that compile, link and inspect CUDA code pass
#      (TARGETS, default: tiny_cuda_test, library_test, hermetic_actions_test);
#   2. every nvcc action runs the local nvcc (aquery: its absolute bin folder first on PATH) and none reads the
#      wheels' toolkit.
#   bash tests/toolkit/local_cuda.sh [TARGET...]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
checkout="$(cd "${here}/../.." && pwd)"
# shellcheck source=tests/hermetic/lib.sh
source "${checkout}/tests/hermetic/lib.sh"
# shellcheck source=tests/toolkit/lib.sh
source "${here}/lib.sh"

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${TOOLKIT_DEFAULT_TARGETS[@]}")

work="$(mktemp -d)"
base="${work}/output_base"
trap 'hermetic_shutdown "${checkout}" "${base}"; hermetic_remove "${work}"' EXIT
flags=(--repo_env=MARLIN_CUDA=local)

t0="$(hermetic_seconds)"
toolkit_tests "${checkout}" "${base}" "${work}/test.log" "${targets[@]}"
hermetic_log "tests with the local toolkit passed in $(($(hermetic_seconds) - t0)) s"

aquery="${work}/aquery.txt"
toolkit_nvcc_actions "${checkout}" "${base}" "${aquery}"
count="$(grep -c 'Mnemonic: NvccCompile' "${aquery}")"
if grep -n 'marlin_cuda_wheels' "${aquery}"; then
  echo "FAIL: an nvcc action reads the wheels' toolkit although MARLIN_CUDA=local"
  exit 1
fi
# nvcc runs from the local toolkit: the first folder on every action's PATH is its absolute bin folder.
on_local="$(grep -cE 'Environment: .*PATH=/[^:,]*/bin:' "${aquery}" || true)"
[[ "${on_local}" -eq "${count}" ]] || {
  echo "FAIL: ${on_local} of ${count} nvcc actions have an absolute toolkit bin folder first on PATH"
  exit 1
}
bins="$(grep -oE 'PATH=/[^:,]*/bin' "${aquery}" | sort -u | cut -d= -f2 | tr '\n' ' ')"
hermetic_log "PASS: ${count} nvcc actions on the local toolkit (${bins% })"
