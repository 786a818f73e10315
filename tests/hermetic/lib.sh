# shellcheck shell=bash
# Helpers of the tests/hermetic/*.sh scripts (sourced, not run).
#
# Each script builds in output bases of its own under a temporary folder (never the checkout's usual one) and
# with --symlink_prefix=/ (no bazel-* links in the checkout), and shuts its Bazel servers down at the end.

# The checkout this script belongs to (also when it runs as a `bazel test` from the runfiles tree).
hermetic_checkout() {
  local script
  script="$(readlink -f "${BASH_SOURCE[1]}")"
  (cd "$(dirname "${script}")/../.." && pwd)
}

hermetic_log() {
  echo "[$(basename "${BASH_SOURCE[1]}" .sh)] $*" >&2
}

# Copies the checkout's files (tracked and untracked, without what git ignores, such as bazel-*) to $2.
hermetic_copy_tree() {
  local from="$1" to="$2"
  mkdir -p "${to}"
  if git -C "${from}" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # --ignore-failed-read: a tracked file deleted in the work tree is still listed.
    git -C "${from}" ls-files -z -co --exclude-standard |
      tar -C "${from}" --null --ignore-failed-read -T - -cf - 2>/dev/null |
      tar -C "${to}" -xf -
  else
    tar -C "${from}" --exclude='./bazel-*' --exclude='./examples/*/bazel-*' --exclude=.git -cf - . |
      tar -C "${to}" -xf -
  fi
}

# hermetic_bazel CHECKOUT OUTPUT_BASE COMMAND ARGS...: bazelw of CHECKOUT in CHECKOUT, with that output base
# ("": the checkout's usual one).
hermetic_bazel() {
  local checkout="$1" output_base="$2"
  shift 2
  local command_word="$1"
  shift
  local startup=() extra=()
  if [[ -n "${output_base}" ]]; then
    startup=(--output_base="${output_base}")
  fi
  case "${command_word}" in
    build | test | run)
      extra=(--symlink_prefix=/ --color=no --curses=no)
      ;;
  esac
  (cd "${checkout}" && ./bazelw ${startup[@]+"${startup[@]}"} "${command_word}" ${extra[@]+"${extra[@]}"} "$@")
}

# Shuts down the Bazel server of an output base of our own (never the checkout's usual one: "").
hermetic_shutdown() {
  local checkout="$1" output_base="$2"
  if [[ -n "${output_base}" && -d "${output_base}" && -d "${checkout}" ]]; then
    (cd "${checkout}" && ./bazelw --output_base="${output_base}" shutdown) >/dev/null 2>&1 || true
  fi
}

# Removes a folder that holds Bazel output bases (their files are read-only).
hermetic_remove() {
  local dir="$1"
  [[ -n "${dir}" && -d "${dir}" ]] || return 0
  chmod -R u+w "${dir}" 2>/dev/null || true
  rm -rf "${dir}"
}

hermetic_seconds() {
  date +%s
}
