#!/usr/bin/env bash
# One GPU-machine call of a kernel change: correctness first, then the figures; every log and JSON is packed
# into $OUT/results.tgz.
# Libraries are built beforehand on the build machine (tests/gpu/build_family.sh, no Bazel there) into
# .device/<name>/libmarlin_<family>.so and carried along:
#
#   tests/gpu/build_family.sh sm80 .device/sm80        # every 16-bit- and INT8-activation config
#   tests/gpu/build_family.sh sm89 .device/sm89        # FP8 activations (optional)
#   tests/gpu/build_family.sh sm75 .device/sm75        # the Turing path, emulated (optional)
#   tests/gpu/build_family.sh sm90 .device/sm90        # sm90 (wgmma) + sm80 families for sm_90a (optional;
#                                                      # without .device/sm80, the sm80 steps take this one)
#   MARLIN_COMMIT=abc1234 STEPS="suite anchor" bash bench/h200_session.sh   # on the GPU machine
#
# STEPS (default "suite anchor"), run in the order given:
#   suite       the GPU suite against sm80
#   sanitizers  memcheck and racecheck of a few split-tile, 8-bit and 4-M-block cases
#   families    the FP8-activation tests against sm89, the f16 tests against the emulated sm75 family
#   anchor      bench/gemm.py on the anchor's matrix (u4b8, u4, u8b128 at group 128, u4b8 and u8b128
#               channelwise; f16), JSON as anchor_<dtype>_g<group>.json
#   anchor_bf16 the same in bf16
#   formats     FP8, NVFP4, act-order, MXFP4, INT8-activation tables (no-regression check); FP8 activations
#               against sm89
#   tune        bench/tune.py: every thread config and blocks-per-SM cap, u4b8 g128 f16, M 16..256
#   tune8       bench/tune.py for 8-bit weights with one M block: u8b128 g128 f16, M 1..16
#   tune_variant bench/tune.py of u4b8 g128 f16 at M 1..64 (u8b128: M 1, 16) on the six shapes against
#               .device/variant/libmarlin_sm80.so
#               and .device/sm80only/libmarlin_sm80.so (an sm80-family experiment and its base, both built with
#               tests/gpu/build_family.sh sm80 for the same configs)
#   variant     bench/gemm.py for u4b8 g128 f16 at M 32..256 against .device/variant/libmarlin_sm80.so
#   sm90        against .device/sm90/libmarlin_sm90.so: sm90_suite, sm90_sanitizers, sm90_anchor
#   sm90_suite  the GPU suite against the sm90 library (its sm80-family kernels too, compiled for sm_90a)
#   sm90_sanitizers  memcheck and racecheck of wgmma kernels (forced (64, 256))
#   sm90_anchor the anchor matrix in f16 against the sm90 library (anchor_sm90_f16_*.json)
#   sm90_targets the Hopper issue's M = 512 (sm90_anchor has its M 64..256): u4b8, u4, u8b128 g128 f16 on its
#               four shapes
#   sm90_launcher bench/tune.py of u4b8, u4, u8b128 (g128 f16) at M 1..512 against the sm90 library and against
#               .device/sm80only/libmarlin_sm80.so (the sm80 family alone: tests/gpu/build_family.sh sm80 with
#               MARLIN_CONFIGS=gptq_int4,awq_int4,gptq_int8), for bench/family_check.py
#   sm90_small  bench/tune.py of u4b8, u8b128, u4 (g128 f16) at M 32, 48, 64, 96 on 4096x4096, 8192x8192,
#               14336x4096 and 8192x28672 against the sm90 library: its forced (64, 256) runs the sm90 family, the
#               other configs the sm80 family, where sm90_first (few tiles, or 4-bit weights at two M blocks) keeps
#               the sm80 family: the data to measure that rule again since the word split at 32 and 64 tokens
#   ncu_misses  Nsight Compute (--clock-control none) of u4b8 g128 f16 on 4096x4096 at M = 32 and 64, and of u8b128
#               g128 f16 on 8192x28672 at M = 1 and 16, against the sm90 library: the kinds of cell that trail vLLM
#   ncu_tile128 Nsight Compute (--clock-control none, --set full) of the sm90 family's 128-token tile: u4b8 g128
#               f16 on 8192x28672 at M = 256 and 512, details and the SASS source page of M = 256 (stall samples);
#               NCU_LIB names another library than the sm90 one
#   sm90_compare a sm90 library change against .device/base/libmarlin_sm90.so (the library before it), both in
#               this call: u4b8, u4, u8b128 g128 f16 on the Hopper issue's four shapes, M 64..512
#   compare     bench/gemm.py of each library of COMPARE ("NAME=PATH NAME=PATH ...", in that order, the base first),
#               all in this call: u4b8, u4, u8b128 g128 f16 on the Hopper issue's four shapes, M 64..512
#               (COMPARE_ARGS replaces those arguments)
#   compare_suites  the whole GPU suite against each library of COMPARE but the first (the experiments)
#   ncu_split   Nsight Compute (--clock-control none; speed of light, warp states, scheduler, memory) of the cells
#               that trail most for their shape's size: u4b8 g128 f16 on 8192x8192 at M = 256 and 512 (64 and
#               128 tiles of 128 x 256 for 132 SMs: every tile split) and on 14336x4096 at M = 64 (16 tiles, split
#               8 ways), for each library of COMPARE
#
# SANITIZE_LIB names another library than the sm90 one for sm90_sanitizers.
# DEADLINE (seconds, default 570): every step's timeout is cut to what is left of it, so that a call under the
# device tool's 600 s limit ends with its results packed rather than killed.
set -uo pipefail
# The device tool brings back at most 8 files: everything goes to $RES, packed into $OUT/results.tgz after each
# step (so a call cut short still returns what was done).
OUT=${OUT:-/tmp/out}
RES=$(mktemp -d)
mkdir -p "$OUT"
# MARLIN_REQUIRE_GPU=1: the GPU tests fail rather than skip where torch, CUDA or the library is missing;
# MARLIN_COMMIT names the commit in the recorded results (the machine's copy of the tree has no .git).
export PYTHONPATH=python PYTHONUNBUFFERED=1 MARLIN_REQUIRE_GPU=1 MARLIN_COMMIT=${MARLIN_COMMIT:-unknown}
steps=" ${STEPS:-suite anchor} "
deadline=${DEADLINE:-570}
# left MAX: MAX seconds, or what is left before the deadline if that is less (at least 1).
left() {
  local rest=$((deadline - SECONDS))
  ((rest < 1)) && rest=1
  echo $((rest < $1 ? rest : $1))
}
lib() { echo ".device/$1/libmarlin_$2.so"; }
stamp() {
  tar czf "$OUT/results.tgz" -C "$RES" . 2>/dev/null
  echo "== $(date -u +%H:%M:%S) $*"
}

nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
python3 -c "import pytest" 2>/dev/null || echo "pytest missing"
sm80=$(lib sm80 sm80)
# Without an sm80-family library, the steps that take one run the --config=sm90 library, which holds that family
# too (for sm_90a) and is what a Hopper build ships.
[ -f "$sm80" ] || sm80=$(lib sm90 sm90)

bench() {  # NAME LIB ARGS...: bench/gemm.py, JSON, markdown and log
  local name=$1 path=$2
  shift 2
  stamp "bench $name"
  MARLIN_LIB=$path timeout "$(left 240)" python3 bench/gemm.py --json "$RES/$name.json" --out "$RES/$name.md" "$@" \
    > "$RES/$name.log" 2>&1
  tail -3 "$RES/$name.log"
}

suite() {
  stamp suite
  MARLIN_LIB=$sm80 MARLIN_RESULTS=$RES/gpu_results.md timeout "$(left 330)" \
    python3 -m pytest tests/gpu -q -x -p no:cacheprovider 2>&1 | tail -25 | tee "$RES/suite.log"
}

sanitizers() {
  for tool in memcheck racecheck; do
    stamp "$tool"
    MARLIN_LIB=$sm80 timeout "$(left 150)" compute-sanitizer --tool $tool --print-limit 5 \
      python3 -m pytest tests/gpu/test_gemm.py -q -x -p no:cacheprovider \
      -k "test_gemm_u4_f16_384x320 or test_gemm_u8b128_bf16_256x256 or test_gemm_nvfp4_f16_384x320 or \
test_workspace_reused or test_gemm_int8_act_u4b8_f16_256x256" 2>&1 | tail -4 | tee -a "$RES/sanitizers.log"
  done
}

families() {
  if [ -f "$(lib sm89 sm89)" ]; then
    stamp sm89
    MARLIN_LIB=$(lib sm89 sm89) timeout "$(left 150)" python3 -m pytest tests/gpu/test_gemm.py -q -p no:cacheprovider \
      -k "Fp8Act or fp8_activation or a8" 2>&1 | tail -5 | tee "$RES/sm89.log"
  fi
  if [ -f "$(lib sm75 sm75)" ]; then
    stamp sm75
    MARLIN_LIB=$(lib sm75 sm75) timeout "$(left 200)" python3 -m pytest tests/gpu/test_gemm.py -q -p no:cacheprovider -k \
      "((GemmTest or GemmFp8Test or GemmFp4Test or GemmActOrderTest or GemmBiasTest or GemmInt8ActTest) and f16 \
and not bf16) or int8_act_a_scales or deterministic" 2>&1 | tail -5 | tee "$RES/sm75.log"
  fi
}

anchor() {  # DTYPE
  bench "anchor_$1_g128" "$sm80" --dtype "$1" --b-types u4b8,u4,u8b128 --group-size 128
  bench "anchor_$1_gch" "$sm80" --dtype "$1" --b-types u4b8,u8b128 --group-size -1
}

formats() {
  bench formats_f16 "$sm80" --b-types fe4m3fn,nvfp4,u4b8-act --m 1,16,64,256
  bench formats_bf16_mxfp4 "$sm80" --dtype bf16 --b-types mxfp4 --m 1,16,64,256
  bench formats_int8act "$sm80" --act int8 --b-types u4b8,u4 --m 1,16,64,256
  if [ -f "$(lib sm89 sm89)" ]; then
    bench formats_fp8act "$(lib sm89 sm89)" --act fp8 --dtype bf16 --b-types u4b8,u4,mxfp4 --m 1,16,64,256
  fi
}

tune() {  # NAME LIB MAX_SECONDS ARGS...
  local name=$1 path=$2 max=$3
  shift 3
  stamp "tune $name"
  MARLIN_LIB=$path timeout "$(left "$max")" python3 bench/tune.py --target-ms 10 "$@" \
    --json "$RES/tune_$name.json" --out "$RES/tune_$name.md" > "$RES/tune_$name.log" 2>&1
  tail -2 "$RES/tune_$name.log"
}

variant() {
  bench variant "$(lib variant sm80)" --b-types u4b8 --group-size 128 --m 32,64,128,256
  bench variant_base "$sm80" --b-types u4b8 --group-size 128 --m 32,64,128,256
}

sm90lib=$(lib sm90 sm90)

sm90_suite() {
  stamp sm90_suite
  MARLIN_LIB=$sm90lib MARLIN_RESULTS=$RES/gpu_results_sm90.md timeout "$(left 330)" \
    python3 -m pytest tests/gpu -q -p no:cacheprovider 2>&1 | tail -25 | tee "$RES/suite_sm90.log"
}

sm90_sanitizers() {
  for tool in memcheck racecheck; do
    stamp "sm90 $tool"
    MARLIN_LIB=${SANITIZE_LIB:-$sm90lib} timeout "$(left 150)" compute-sanitizer --tool $tool --print-limit 5 \
      python3 -m pytest tests/gpu/test_gemm.py -q -x -p no:cacheprovider \
      -k "test_wide_n_u4b8_g128_f16 or test_wide_n_u4_channelwise_bf16 or test_wide_n_act_order_f16 or \
test_wide_n_u8b128_channelwise_f16" 2>&1 |
      tail -4 | tee -a "$RES/sanitizers_sm90.log"
  done
}

sm90_anchor() {
  bench anchor_sm90_f16_g128 "$sm90lib" --b-types u4b8,u4,u8b128 --group-size 128
  bench anchor_sm90_f16_gch "$sm90lib" --b-types u4b8,u8b128 --group-size -1
}

sm90_targets() {
  bench sm90_targets_f16_g128 "$sm90lib" --b-types u4b8,u4,u8b128 --group-size 128 --m 512 \
    --shapes 8192x8192,8192x28672,28672x8192,14336x4096
}

sm90_launcher() {  # the launcher against each family's best forced variant (bench/family_check.py)
  local args=(--m 1,16,32,48,64,80,96,112,128,192,256,384,512
    --shapes 8192x8192,8192x28672,28672x8192,14336x4096,4096x4096)
  for b in u4b8 u4 u8b128; do
    tune "sm90_$b" "$sm90lib" 90 --b-type $b "${args[@]}"
    tune "sm80only_$b" "$(lib sm80only sm80)" 90 --b-type $b "${args[@]}"
  done
}

sm90_small() {  # the forced families at 32..96 tokens, where sm90_first keeps the sm80 family (few tiles, 2 M blocks)
  local args=(--m 32,48,64,96 --shapes 4096x4096,8192x8192,14336x4096,8192x28672)
  for b in u4b8 u8b128 u4; do
    tune "sm90_small_$b" "$sm90lib" 60 --b-type $b "${args[@]}"
  done
}

ncu_misses() {  # Nsight Compute sections of the kinds of cell that still trail vLLM's anchor
  local sections=(--section SpeedOfLight --section WarpStateStats --section MemoryWorkloadAnalysis
    --section Occupancy --section SchedulerStats --section LaunchStats)
  stamp "ncu 4096x4096"
  MARLIN_LIB=$sm90lib timeout "$(left 120)" ncu --clock-control none -k regex:marlin_gemm_kernel "${sections[@]}" \
    python3 bench/ncu_cases.py --shape 4096x4096 --m 32,64 --cases f16-group128 > "$RES/ncu_4096x4096_u4b8.txt" 2>&1
  stamp "ncu u8b128"
  MARLIN_LIB=$sm90lib timeout "$(left 120)" ncu --clock-control none -k regex:marlin_gemm_kernel "${sections[@]}" \
    python3 bench/ncu_cases.py --b-type u8b128 --m 1,16 --cases f16-group128 > "$RES/ncu_8192x28672_u8b128.txt" 2>&1
  tail -3 "$RES/ncu_8192x28672_u8b128.txt"
}

ncu_tile128() {  # where the 128-token tile's time goes (docs/PERFORMANCE.md, the Hopper issue's M >= 256)
  stamp "ncu tile128"
  MARLIN_LIB=${NCU_LIB:-$sm90lib} timeout "$(left 150)" ncu --clock-control none --set full --import-source no \
    -k regex:marlin_gemm_kernel_sm90 -o "$RES/ncu_tile128" \
    python3 bench/ncu_cases.py --m 256,512 --cases f16-group128 > "$RES/ncu_tile128.log" 2>&1
  timeout "$(left 60)" ncu -i "$RES/ncu_tile128.ncu-rep" --page details > "$RES/ncu_tile128_details.txt" 2>&1
  timeout "$(left 60)" ncu -i "$RES/ncu_tile128.ncu-rep" --page source --csv --print-source sass --launch-count 1 \
    > "$RES/ncu_tile128_sass.csv" 2>&1
  tail -3 "$RES/ncu_tile128.log"
}

# The Hopper issue's cells: what an A/B of an sm90-family change times.
hopper_cells=(--b-types u4b8,u4,u8b128 --group-size 128 --m 64,128,256,512
  --shapes 8192x8192,8192x28672,28672x8192,14336x4096)

sm90_compare() {
  bench sm90_compare_base "$(lib base sm90)" "${hopper_cells[@]}"
  bench sm90_compare_new "$sm90lib" "${hopper_cells[@]}"
}

compare() {  # several builds of one change side by side
  local args=("${hopper_cells[@]}")
  [ -n "${COMPARE_ARGS:-}" ] && read -r -a args <<< "$COMPARE_ARGS"
  local entry
  for entry in ${COMPARE:?COMPARE=\"NAME=PATH ...\" names the libraries}; do
    bench "compare_${entry%%=*}" "${entry#*=}" "${args[@]}"
  done
}

compare_suites() {  # the GPU suite of each experiment of COMPARE
  local entry name rest=${COMPARE:?COMPARE=\"NAME=PATH ...\" names the libraries}
  [[ $rest == *" "* ]] || return 0  # the base alone
  for entry in ${rest#* }; do
    name=${entry%%=*}
    stamp "suite $name"
    MARLIN_LIB=${entry#*=} MARLIN_RESULTS=$RES/gpu_results_$name.md timeout "$(left 120)" \
      python3 -m pytest tests/gpu -q -p no:cacheprovider 2>&1 | tail -8 | tee "$RES/suite_$name.log"
  done
}

ncu_split() {  # where the time of the cells with few tiles per SM goes, per library of COMPARE
  local sections=(--section SpeedOfLight --section WarpStateStats --section SchedulerStats
    --section MemoryWorkloadAnalysis --section LaunchStats)
  local entry name shape
  for entry in ${COMPARE:?COMPARE=\"NAME=PATH ...\" names the libraries}; do
    name=${entry%%=*}
    stamp "ncu split $name"
    for shape in 8192x8192:256,512 14336x4096:64; do
      MARLIN_LIB=${entry#*=} timeout "$(left 90)" ncu --clock-control none -k regex:marlin_gemm_kernel "${sections[@]}" \
        python3 bench/ncu_cases.py --shape "${shape%:*}" --m "${shape#*:}" --cases f16-group128 \
        > "$RES/ncu_split_${name}_${shape%:*}.txt" 2>&1
    done
  done
}

for step in $steps; do
  case $step in
    suite | sanitizers | families | formats | variant | sm90_suite | sm90_sanitizers | sm90_anchor | \
      sm90_targets | sm90_compare | sm90_launcher | sm90_small | ncu_misses | ncu_tile128 | compare | compare_suites | \
      ncu_split)
      $step
      ;;
    sm90) sm90_suite; sm90_sanitizers; sm90_anchor ;;
    tune) tune u4b8_f16 "$sm80" 200 --m 16,32,64,128,256 ;;
    tune8) tune u8b128_f16 "$sm80" 200 --b-type u8b128 --m 1,2,4,8,16 ;;
    tune_variant)
      tune variant_u4b8 "$(lib variant sm80)" 120 --m 1,16,32,48,64
      tune variant_base_u4b8 "$(lib sm80only sm80)" 120 --m 1,16,32,48,64
      tune variant_u8b128 "$(lib variant sm80)" 90 --b-type u8b128 --m 1,16
      tune variant_base_u8b128 "$(lib sm80only sm80)" 90 --b-type u8b128 --m 1,16
      ;;
    anchor) anchor f16 ;;
    anchor_bf16) anchor bf16 ;;
    *) echo "unknown step $step" ;;
  esac
done
stamp done
