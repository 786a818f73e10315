#!/usr/bin/env bash
# The hermetic CUDA toolkit (NVIDIA's pinned PyPI wheels), which the build takes by default, on a machine whose
# own toolkit is hidden:
#   1. in a private mount namespace (unshare -m, needs root), every folder of the local toolkit is covered by an
#      empty tmpfs and every nvcc on PATH by /dev/null, so nothing of it can be read or run;
#   2. there, in an output base of its own and with no toolkit setting (MARLIN_CUDA and CUDA_PATH unset), the
#      tests that compile, link and inspect CUDA code pass (TARGETS, default: tiny_cuda_test, library_test,
#      hermetic_actions_test);
#   3. no nvcc action names a path outside the execution root besides the shell and the host compiler (aquery:
#      nvcc, its folder on PATH and every input are inside it): the default is the wheels' toolkit.
#   bash tests/toolkit/hermetic_cuda.sh [TARGET...]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
checkout="$(cd "${here}/../.." && pwd)"
# shellcheck source=tests/hermetic/lib.sh
source "${checkout}/tests/hermetic/lib.sh"
# shellcheck source=tests/toolkit/lib.sh
source "${here}/lib.sh"

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${TOOLKIT_DEFAULT_TARGETS[@]}")

if [[ "${MARLIN_HERMETIC_INSIDE:-0}" != 1 ]]; then
  [[ "$(id -u)" -eq 0 ]] || {
    echo "FAIL: hiding the local CUDA toolkit needs root (unshare -m and mount)"
    exit 1
  }
  command -v unshare >/dev/null || {
    echo "FAIL: no unshare (util-linux) to hide the local CUDA toolkit"
    exit 1
  }
  exec unshare -m env MARLIN_HERMETIC_INSIDE=1 bash "${BASH_SOURCE[0]}" "$@"
fi

# Inside the namespace: hide every toolkit this machine has.
mount --make-rprivate / 2>/dev/null || true
hidden=()
roots=(/usr/local/cuda "${CUDA_PATH:-}")
while read -r nvcc; do
  roots+=("$(dirname "$(dirname "$(readlink -f "${nvcc}")")")")
  mount --bind /dev/null "${nvcc}"
  hidden+=("${nvcc}")
done < <(type -ap nvcc || true)
for root in "${roots[@]}"; do
  # Only toolkit roots (a wrapper script such as /usr/local/bin/nvcc has none above it).
  [[ -n "${root}" && -x "${root}/bin/nvcc" && -f "${root}/include/cuda_runtime.h" ]] || continue
  real="$(readlink -f "${root}")"
  [[ " ${hidden[*]} " != *" ${real} "* ]] || continue
  mount -t tmpfs none "${real}"
  hidden+=("${real}")
done
hermetic_log "hidden: ${hidden[*]:-nothing (no local toolkit)}"
if [[ -e /usr/local/cuda/bin/nvcc ]] || (command -v nvcc >/dev/null && nvcc --version >/dev/null 2>&1); then
  echo "FAIL: a local nvcc is still usable after hiding"
  exit 1
fi

work="$(mktemp -d)"
base="${work}/output_base"
trap 'hermetic_shutdown "${checkout}" "${base}"; hermetic_remove "${work}"' EXIT
# The default, as a user who sets nothing gets it.
unset MARLIN_CUDA CUDA_PATH
flags=()

t0="$(hermetic_seconds)"
toolkit_tests "${checkout}" "${base}" "${work}/test.log" "${targets[@]}"
hermetic_log "tests with the hermetic toolkit passed in $(($(hermetic_seconds) - t0)) s"

# Every nvcc action: nvcc and the folder on PATH are inside the execution root, and so is every input.
aquery="${work}/aquery.txt"
toolkit_nvcc_actions "${checkout}" "${base}" "${aquery}"
count="$(grep -c 'Mnemonic: NvccCompile' "${aquery}")"
if grep -nE 'cuda[^ ]*/bin/nvcc' "${aquery}" | grep -vE 'external/marlin_cuda_wheels/cuda/bin/nvcc'; then
  echo "FAIL: an nvcc action runs an nvcc that is not the hermetic one"
  exit 1
fi
if grep -nE '(Inputs|Environment): .*(^|[ \[,=:])/[^ ]*cuda' "${aquery}"; then
  echo "FAIL: an nvcc action has an input or environment entry in an absolute CUDA folder"
  exit 1
fi
hermetic_log "PASS: ${count} nvcc actions, all on the hermetic toolkit inside the execution root"
