#!/usr/bin/env bash
# nvcc wall time of one kernel family, outside Bazel, with J parallel compile jobs and the kernel files split into
# S shards: how the build's wall time moves with cores and shards (docs/PERFORMANCE.md, "Build").
#
#   python3 -m generator 9.0 --shards S --out GEN_DIR        # the sm80 family (717 instantiations), S shards
#   bench/nvcc_scaling.sh GEN_DIR J [ARCH]                   # ARCH: default 90
#
# Prints the CPU model, the nvcc version and "shards=... jobs=J files=N wall=T s". Needs nvcc on PATH.
set -euo pipefail

gen=${1:?usage: $0 GEN_DIR JOBS [ARCH]}
jobs=${2:?usage: $0 GEN_DIR JOBS [ARCH]}
arch=${3:-90}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

lscpu | grep -E "Model name|^CPU\(s\)" || true
nvcc --version | tail -1
flags=(-std=c++17 -O3 --expt-relaxed-constexpr --compress-mode=size -gencode "arch=compute_$arch,code=sm_$arch"
       -static-global-template-stub=false -I "$root/csrc" -I "$root/csrc/include" -I "$gen")
files=$(ls "$gen"/*.cu | wc -l)
shards=$(ls "$gen"/*.cu | grep -o 'part1of[0-9]*' | head -1 | sed 's/part1of//')
t0=$(date +%s.%N)
ls "$gen"/*.cu | xargs -P "$jobs" -I{} sh -c '"$0" "$@" -c {} -o "'"$out"'/$(basename {}).o"' nvcc "${flags[@]}"
t1=$(date +%s.%N)
echo "shards=${shards:-1} jobs=$jobs files=$files wall=$(python3 -c "print(round($t1 - $t0, 1))") s"
