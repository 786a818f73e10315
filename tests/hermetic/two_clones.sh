#!/usr/bin/env bash
# Builds the same targets in two copies of this checkout at different paths (of different lengths), each with
# an output base of its own, and compares what they wrote byte for byte: the generated kernel files, the
# nvcc objects, the archives and the shared library. Any difference means that a path of the checkout or of
# the output base (or a time, a process id, ...) leaks into an output, and with it into the cache keys of the
# actions downstream.
#
#   bash tests/hermetic/two_clones.sh [--checkout-as-first] [TARGET...]
#
# Default targets: //csrc:libmarlin.so //tests/hermetic:hermetic_kernels. Takes two cold builds of them
# (minutes on 2 cores). --checkout-as-first uses this checkout itself, with its usual output base, as the
# first of the two (what .ci/run does after its `library` check has built the shared library): then only one
# copy is built from scratch. Environment: KEEP=1 keeps the temporary folder (copies, output bases, logs);
# BAZEL_FLAGS adds flags to both builds.
set -euo pipefail

# shellcheck source=tests/hermetic/lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

root="$(hermetic_checkout)"
checkout_as_first=0
if [[ "${1:-}" == --checkout-as-first ]]; then
  checkout_as_first=1
  shift
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(//csrc:libmarlin.so //tests/hermetic:hermetic_kernels)
fi
# Output folders (under bazel-bin) whose files are compared.
compared=(csrc tests/hermetic/hermetic_kernels)
read -r -a bazel_flags <<<"${BAZEL_FLAGS:-}"

work="$(mktemp -d "${TMPDIR:-/tmp}/marlin-two-clones.XXXXXX")"
clone_a="${work}/a/marlin"
clone_b="${work}/bb/a/much/longer/path/to/another/checkout/of/marlin"
base_a="${work}/base_a"
base_b="${work}/output_base_b"
if [[ "${checkout_as_first}" -eq 1 ]]; then
  clone_a="${root}"
  base_a=""
fi

cleanup() {
  hermetic_shutdown "${clone_a}" "${base_a}"
  hermetic_shutdown "${clone_b}" "${base_b}"
  if [[ "${KEEP:-0}" == 1 ]]; then
    hermetic_log "kept ${work}"
  else
    hermetic_remove "${work}"
  fi
}
trap cleanup EXIT

start=$(hermetic_seconds)
for clone in "${clone_a}" "${clone_b}"; do
  [[ "${clone}" == "${root}" ]] || hermetic_copy_tree "${root}" "${clone}"
done

build() {
  local clone="$1" base="$2" log="$3" t0
  t0=$(hermetic_seconds)
  hermetic_log "building ${targets[*]} in ${clone}"
  if ! hermetic_bazel "${clone}" "${base}" build ${bazel_flags[@]+"${bazel_flags[@]}"} "${targets[@]}" >"${log}" 2>&1; then
    tail -40 "${log}" >&2
    hermetic_log "FAIL: the build in ${clone} failed (log above)"
    exit 1
  fi
  hermetic_log "built in $(($(hermetic_seconds) - t0)) s: $(grep -E '^INFO: [0-9]+ processes' "${log}" | tail -1)"
}
build "${clone_a}" "${base_a}" "${work}/build_a.log"
build "${clone_b}" "${base_b}" "${work}/build_b.log"

bin_a="$(hermetic_bazel "${clone_a}" "${base_a}" info bazel-bin 2>/dev/null)"
bin_b="$(hermetic_bazel "${clone_b}" "${base_b}" info bazel-bin 2>/dev/null)"

# Regular files under the compared folders, relative to bazel-bin. Left out: runfiles trees and manifests
# (they hold absolute paths by design; nothing is built from them) and the empty nvcc temp folders.
list_outputs() {
  local bin="$1" dir
  for dir in "${compared[@]}"; do
    [[ -d "${bin}/${dir}" ]] || continue
    (cd "${bin}" && find "${dir}" -type f \
      -not -path '*.runfiles/*' -not -name '*.runfiles_manifest' -not -name 'MANIFEST' -not -path '*.nvcc_tmp/*')
  done | LC_ALL=C sort
}
list_outputs "${bin_a}" >"${work}/files_a.txt"
list_outputs "${bin_b}" >"${work}/files_b.txt"

failed=0
if [[ "${checkout_as_first}" -eq 1 ]]; then
  # The checkout's output base may also hold files of earlier builds: only the second (fresh) build's
  # files are compared, and each must be in the checkout's output base too.
  if ! LC_ALL=C comm -13 "${work}/files_a.txt" "${work}/files_b.txt" >"${work}/files.diff" || [[ -s "${work}/files.diff" ]]; then
    cat "${work}/files.diff" >&2
    hermetic_log "FAIL: the copy's build wrote files that the checkout's build did not"
    failed=1
  fi
elif ! diff -u "${work}/files_a.txt" "${work}/files_b.txt" >"${work}/files.diff"; then
  cat "${work}/files.diff" >&2
  hermetic_log "FAIL: the two builds wrote different sets of files"
  failed=1
fi

count=0
kinds=""
while IFS= read -r file; do
  [[ -f "${bin_a}/${file}" ]] || continue
  count=$((count + 1))
  if ! cmp -s "${bin_a}/${file}" "${bin_b}/${file}"; then
    hermetic_log "FAIL: ${file} differs: $(cmp "${bin_a}/${file}" "${bin_b}/${file}" 2>&1 | head -1)"
    failed=1
  fi
done <"${work}/files_b.txt"
for kind in .cu .h .o .a .so; do
  kinds+=" $(grep -c -- "${kind}\$" "${work}/files_b.txt" || true)x${kind}"
done

if [[ "${count}" -eq 0 ]]; then
  hermetic_log "FAIL: nothing to compare under ${compared[*]}"
  failed=1
fi
if [[ "${failed}" -ne 0 ]]; then
  KEEP=1
  exit 1
fi
hermetic_log "PASS: ${count} files (${kinds# }) byte-identical in two checkouts at different paths ($(($(hermetic_seconds) - start)) s in all)"
