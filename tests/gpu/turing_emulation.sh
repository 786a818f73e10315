#!/usr/bin/env bash
# Builds libmarlin_sm75emu.so: the sm75 family (Turing: 2-stage register pipeline, m16n8k8 mma) compiled for a
# newer GPU with -DMARLIN_EMULATE_SM75, so that the GPU suite checks the Turing code path on an H100/H200 (every
# instruction it uses exists there too). The launcher runs 2-stage kernels when no 4-stage one is built.
#
#   tests/gpu/turing_emulation.sh OUT_DIR [ARCH]     # ARCH: the GPU to run on, default 90
#   MARLIN_LIB=OUT_DIR/libmarlin_sm75emu.so PYTHONPATH=python python3 -m pytest tests/gpu -q -k 'not bf16'
#
# Needs nvcc (CUDA_PATH or /usr/local/cuda) and the generator's Python deps (jinja2). Not part of the Bazel
# build: a test tool only.
set -euo pipefail

out=${1:?usage: $0 OUT_DIR [ARCH]}
arch=${2:-90}
root=$(cd "$(dirname "$0")/../.." && pwd)
nvcc=${CUDA_PATH:-/usr/local/cuda}/bin/nvcc
cudart_dir=$(dirname "$(find "${CUDA_PATH:-/usr/local/cuda}/" -name libcudart_static.a -print -quit)")
mkdir -p "$out/gen" "$out/obj"
out=$(cd "$out" && pwd)

(cd "$root" && python3 -m generator 7.5 --shards 4 --out "$out/gen")

flags=(-std=c++17 -O3 --expt-relaxed-constexpr -Xcompiler -fPIC -DMARLIN_EMULATE_SM75
       -gencode "arch=compute_$arch,code=sm_$arch" -static-global-template-stub=false
       -I "$root/csrc" -I "$root/csrc/include" -I "$out/gen")
srcs=("$out"/gen/*.cu "$root/csrc/launcher/gemm.cu" "$root/csrc/repack/repack.cu")
printf '%s\n' "${srcs[@]}" |
  xargs -P "$(nproc)" -I{} sh -c '"$0" "$@" -c {} -o "'"$out"'/obj/$(basename {}).o"' "$nvcc" "${flags[@]}"
g++ -std=c++17 -O2 -fPIC -I "$root/csrc" -I "$root/csrc/include" -c "$root/csrc/launcher/heuristics.cc" \
  -o "$out/obj/heuristics.o"
g++ -shared -o "$out/libmarlin_sm75emu.so" "$out"/obj/*.o -L "$cudart_dir" -lcudart_static -ldl -lpthread -lrt
echo "$out/libmarlin_sm75emu.so"
