#!/usr/bin/env bash
# Shows that a team can share build results through an HTTP remote cache: builds a target with
# --remote_cache pointing at a local nginx (WebDAV PUT, as a team's cache server would be set up) in output
# base A, deletes A, builds again in a new output base B, and checks that every nvcc compile (and the
# generator run) of the second build came from the cache, not from a local process.
#
#   bash tests/hermetic/remote_cache.sh [TARGET]        (default: //csrc:marlin)
#
# Installs nginx with apt-get when it is missing (as root, or with sudo). nginx listens on 127.0.0.1 only,
# on a free port, with its configuration, cache folder and logs in a temporary folder that is removed at the
# end, like both output bases. Environment: KEEP=1 keeps that folder; BAZEL_FLAGS adds flags to both builds.
set -euo pipefail

# shellcheck source=tests/hermetic/lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

root="$(hermetic_checkout)"
target="${1:-//csrc:marlin}"
read -r -a bazel_flags <<<"${BAZEL_FLAGS:-}"

install_nginx() {
  command -v nginx >/dev/null 2>&1 && return 0
  PATH="${PATH}:/usr/sbin:/sbin"
  command -v nginx >/dev/null 2>&1 && return 0
  local sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || {
      hermetic_log "FAIL: nginx is not installed and this user cannot install it (apt-get install nginx)"
      exit 1
    }
    sudo=(sudo)
  fi
  hermetic_log "installing nginx with apt-get"
  # Debian 12's nginx package has the WebDAV module that PUT needs.
  if ! ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >&2; then
    ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >&2
  fi
  command -v nginx >/dev/null 2>&1 || {
    hermetic_log "FAIL: apt-get installed nginx, but there is no nginx on PATH"
    exit 1
  }
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits until something answers on 127.0.0.1:$1 (at most 10 s).
wait_for_port() {
  local port="$1" _
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

install_nginx

work="$(mktemp -d "${TMPDIR:-/tmp}/marlin-remote-cache.XXXXXX")"
chmod 755 "${work}"
nginx_dir="${work}/nginx"
cache_dir="${work}/cache"
base_a="${work}/base_a"
base_b="${work}/base_b"
mkdir -p "${nginx_dir}/tmp" "${cache_dir}"
nginx_pid=""

cleanup() {
  hermetic_shutdown "${root}" "${base_a}"
  hermetic_shutdown "${root}" "${base_b}"
  if [[ -n "${nginx_pid}" ]]; then
    kill "${nginx_pid}" 2>/dev/null || true
    wait "${nginx_pid}" 2>/dev/null || true
  fi
  if [[ "${KEEP:-0}" == 1 ]]; then
    hermetic_log "kept ${work}"
  else
    hermetic_remove "${work}"
  fi
}
trap cleanup EXIT

port="$(free_port)"
user_line=""
if [[ "$(id -u)" -eq 0 ]]; then
  # nginx started by root runs its workers as an unprivileged user, who could not write the cache folder.
  user_line="user $(id -un) $(id -gn);"
fi
cat >"${nginx_dir}/nginx.conf" <<EOF
# Bazel's HTTP remote cache protocol: GET and PUT of ac/<hash> and cas/<hash> under the base URL.
${user_line}
worker_processes 1;
pid ${nginx_dir}/nginx.pid;
error_log ${nginx_dir}/error.log warn;
events {
  worker_connections 64;
}
http {
  access_log ${nginx_dir}/access.log;
  client_body_temp_path ${nginx_dir}/tmp/body;
  proxy_temp_path ${nginx_dir}/tmp/proxy;
  fastcgi_temp_path ${nginx_dir}/tmp/fastcgi;
  uwsgi_temp_path ${nginx_dir}/tmp/uwsgi;
  scgi_temp_path ${nginx_dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${cache_dir};
    location / {
      dav_methods PUT;
      create_full_put_path on;
      client_max_body_size 0;
    }
  }
}
EOF
nginx -p "${nginx_dir}" -c "${nginx_dir}/nginx.conf" -e "${nginx_dir}/error.log" -g 'daemon off;' &
nginx_pid=$!
if ! wait_for_port "${port}"; then
  cat "${nginx_dir}/error.log" >&2 || true
  hermetic_log "FAIL: nginx did not start on 127.0.0.1:${port}"
  exit 1
fi
hermetic_log "nginx (pid ${nginx_pid}) serves ${cache_dir} on 127.0.0.1:${port}"

cache_flags=(--remote_cache="http://127.0.0.1:${port}" --remote_upload_local_results)

build() {
  local base="$1" log="$2" t0
  shift 2
  t0=$(hermetic_seconds)
  if ! hermetic_bazel "${root}" "${base}" build "${cache_flags[@]}" ${bazel_flags[@]+"${bazel_flags[@]}"} "$@" \
    "${target}" >"${log}" 2>&1; then
    tail -40 "${log}" >&2
    hermetic_log "FAIL: the build in ${base} failed (log above)"
    exit 1
  fi
  hermetic_log "$(basename "${base}"): $(grep -E '^INFO: [0-9]+ processes' "${log}" | tail -1) ($(($(hermetic_seconds) - t0)) s)"
}

build "${base_a}" "${work}/build_a.log"
hermetic_shutdown "${root}" "${base_a}"
hermetic_remove "${base_a}"
entries=$(find "${cache_dir}" -type f | wc -l)
size=$(du -sh "${cache_dir}" | cut -f1)
hermetic_log "output base A deleted; the cache holds ${entries} entries (${size})"

build "${base_b}" "${work}/build_b.log" --execution_log_json_file="${work}/exec_b.json"

# Every spawn of the second build that compiles CUDA or runs the generator must be a remote cache hit.
python3 - "${work}/exec_b.json" "$(grep -E '^INFO: [0-9]+ processes' "${work}/build_b.log" | tail -1)" <<'EOF'
import json
import sys

path, summary = sys.argv[1], sys.argv[2]
text = open(path, encoding="utf-8").read()
decoder = json.JSONDecoder()
spawns, at = [], 0
while True:
    while at < len(text) and text[at].isspace():
        at += 1
    if at >= len(text):
        break
    spawn, at = decoder.raw_decode(text, at)
    spawns.append(spawn)
watched = ("NvccCompile", "MarlinGenerate")
hits = {m: 0 for m in watched}
missed = []
for spawn in spawns:
    mnemonic = spawn.get("mnemonic", "")
    if mnemonic not in watched:
        continue
    if spawn.get("remoteCacheHit", False):
        hits[mnemonic] += 1
    else:
        missed.append(f"{mnemonic}: {spawn.get('progressMessage', '')} (runner {spawn.get('runner', '?')})")
print(f"[remote_cache] second build: {summary.removeprefix('INFO: ')}")
print(f"[remote_cache] remote cache hits: {hits['NvccCompile']} nvcc compiles, {hits['MarlinGenerate']} generator runs")
for line in missed:
    print(f"[remote_cache] FAIL: not from the cache: {line}")
if not hits["NvccCompile"]:
    print("[remote_cache] FAIL: the second build ran no nvcc compile at all (nothing checked)")
sys.exit(1 if missed or not hits["NvccCompile"] else 0)
EOF
hermetic_log "PASS: every nvcc compile of the second build came from the remote cache"
