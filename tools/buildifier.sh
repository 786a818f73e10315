#!/usr/bin/env bash
# Runs buildifier 8.2.1 on every Starlark file of the repository (BUILD, .bzl, WORKSPACE, MODULE.bazel).
#
#   tools/buildifier.sh          check: formatting and every lint warning; exits 1 on any finding
#   tools/buildifier.sh --fix    reformat and apply buildifier's automatic lint fixes
#
# buildifier comes from the npm registry's tarball of @bazel/buildifier 8.2.1 (it carries the binaries), checked
# against a pinned sha256, and is kept in ${XDG_CACHE_HOME:-~/.cache}/marlin-bazel/. Neither node nor npm is
# needed. MARLIN_BUILDIFIER=/path/to/buildifier uses that binary instead.
set -euo pipefail

readonly VERSION=8.2.1
readonly URL="https://registry.npmjs.org/@bazel/buildifier/-/buildifier-${VERSION}.tgz"
readonly SHA256=b96ea9b13003036c801f52bee6f9b0314738f8432e5cb9d814c89f59292604ee

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

die() {
  echo "buildifier.sh: $*" >&2
  exit 2
}

# The linux binary name in the npm package for this machine.
platform_binary() {
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) echo buildifier-linux_amd64 ;;
    Linux-aarch64 | Linux-arm64) echo buildifier-linux_arm64 ;;
    Darwin-x86_64) echo buildifier-darwin_amd64 ;;
    Darwin-arm64) echo buildifier-darwin_arm64 ;;
    *) die "no buildifier ${VERSION} binary for $(uname -s)-$(uname -m); set MARLIN_BUILDIFIER" ;;
  esac
}

fetch_buildifier() {
  local cache binary
  cache="${XDG_CACHE_HOME:-${HOME}/.cache}/marlin-bazel/buildifier-${VERSION}"
  binary="${cache}/$(platform_binary)"
  if [[ ! -x "${binary}" ]]; then
    mkdir -p "${cache}"
    python3 - "${URL}" "${SHA256}" "${cache}" "$(platform_binary)" <<'PY' || die "could not fetch ${URL}"
import hashlib, io, os, sys, tarfile, urllib.request

url, sha256, cache, member = sys.argv[1:]
data = urllib.request.urlopen(url, timeout=120).read()
got = hashlib.sha256(data).hexdigest()
if got != sha256:
    sys.exit(f"{url}: sha256 {got}, expected {sha256}")
with tarfile.open(fileobj=io.BytesIO(data)) as tar:
    blob = tar.extractfile(f"package/{member}").read()
tmp = os.path.join(cache, member + ".tmp")
with open(tmp, "wb") as f:
    f.write(blob)
os.chmod(tmp, 0o755)
os.replace(tmp, os.path.join(cache, member))
PY
  fi
  echo "${binary}"
}

buildifier="${MARLIN_BUILDIFIER:-}"
[[ -n "${buildifier}" ]] || buildifier="$(fetch_buildifier)"

cd "${root}"
# Tracked and new (not ignored) files that still exist.
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.bzl' '*.bazel' 'WORKSPACE' '*/WORKSPACE' \
  'WORKSPACE.bzlmod' | sort -u | while read -r f; do [[ -f "${f}" ]] && echo "${f}"; done)
[[ ${#files[@]} -gt 0 ]] || die "no Starlark files found (is ${root} a git checkout?)"

case "${1:-}" in
  "") exec "${buildifier}" --lint=warn --mode=check "${files[@]}" ;;
  --fix) exec "${buildifier}" --lint=fix --mode=fix "${files[@]}" ;;
  *) die "unknown argument '$1'; allowed: none (check) or --fix" ;;
esac
