#!/usr/bin/env bash
# Builds one kernel family as a shared library for the GPU at hand, without Bazel (the GPU machine has none), so
# that the GPU suite checks families whose own archs are not at hand (we test on an H100/H200):
#   sm80  the sm80 family (every 16-bit- and INT8-activation config) -> libmarlin_sm80.so
#   sm75  the Turing family (2-stage register pipeline, m16n8k8 mma) with -DMARLIN_EMULATE_SM75, which selects
#         that code path on a newer GPU (every instruction it uses exists there too) -> libmarlin_sm75.so
#   sm89  the FP8-activation family (e4m3 m16n8k32 mma, native from sm_89 on; sm_90 runs it too)
#         -> libmarlin_sm89.so
#   sm90  what --config=sm90 (9.0a) builds: the sm90 family (wgmma) and the sm80 family, all for sm_90a
#         -> libmarlin_sm90.so
# The launcher takes the kernels the library holds (2-stage ones when no 4-stage one is built).
#
#   tests/gpu/build_family.sh sm75|sm80|sm89|sm90 OUT_DIR [ARCH]   # ARCH: the GPU to run on, default 90 (sm90: 90a)
#   MARLIN_CONFIGS=gptq_int4,awq_int4 tests/gpu/build_family.sh sm80 OUT_DIR   # only these quant configs
#   MARLIN_LIB=OUT_DIR/libmarlin_sm89.so PYTHONPATH=python python3 -m pytest tests/gpu -q -k Fp8Act
#
# OUT_DIR/gen is generated unless it exists (the generator needs jinja2; generate elsewhere and copy it when the
# GPU machine has none). Needs nvcc (CUDA_PATH, else on PATH, else /usr/local/cuda). A test tool, not part of
# the Bazel build.
set -euo pipefail

family=${1:?usage: $0 sm75|sm80|sm89|sm90 OUT_DIR [ARCH]}
out=${2:?usage: $0 sm75|sm80|sm89|sm90 OUT_DIR [ARCH]}
arch=${3:-90}
case "$family" in
  sm75) gen_args=(7.5) defines=(-DMARLIN_EMULATE_SM75) ;;
  sm80) gen_args=(8.0) defines=() ;;
  sm89) gen_args=(8.9 --configs awq_int4_fp8_act,gptq_int4_fp8_act,mxfp4_fp8_act) defines=() ;;
  sm90) gen_args=(9.0a) defines=() arch=90a ;;
  *) echo "unknown family '$family'; allowed: sm75, sm80, sm89, sm90" >&2; exit 2 ;;
esac
if [ -n "${MARLIN_CONFIGS:-}" ]; then
  [ "$family" = sm89 ] && { echo "MARLIN_CONFIGS is for sm75, sm80 and sm90" >&2; exit 2; }
  gen_args+=(--configs "$MARLIN_CONFIGS")
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
nvcc=${CUDA_PATH:+$CUDA_PATH/bin/nvcc}
nvcc=${nvcc:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
cudart_dir=$(dirname "$(find "$(dirname "$(dirname "$nvcc")")/" -name libcudart_static.a -print -quit)")
mkdir -p "$out/obj"
out=$(cd "$out" && pwd)

[ -d "$out/gen" ] || (cd "$root" && python3 -m generator "${gen_args[@]}" --shards 4 --out "$out/gen")

flags=(-std=c++17 -O3 --expt-relaxed-constexpr -Xcompiler -fPIC "${defines[@]}" --compress-mode=size
       -gencode "arch=compute_$arch,code=sm_$arch" -static-global-template-stub=false
       -I "$root/csrc" -I "$root/csrc/include" -I "$out/gen")
printf '%s\n' "$out"/gen/*.cu "$root/csrc/launcher/gemm.cu" "$root/csrc/repack/repack.cu" \
  "$root/csrc/repack/index_checks.cu" |
  xargs -P "$(nproc)" -I{} sh -c '"$0" "$@" -c {} -o "'"$out"'/obj/$(basename {}).o"' "$nvcc" "${flags[@]}"
g++ -std=c++17 -O2 -fPIC -I "$root/csrc" -I "$root/csrc/include" -c "$root/csrc/launcher/heuristics.cc" \
  -o "$out/obj/heuristics.o"
g++ -shared -o "$out/libmarlin_$family.so" "$out"/obj/*.o -L "$cudart_dir" -lcudart_static -ldl -lpthread -lrt
echo "$out/libmarlin_$family.so"
