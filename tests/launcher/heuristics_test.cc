// Unit tests of the launcher's host-side logic: argument validation, kernel choice and the stream-K split.
// No GPU needed: the pointers are fake aligned addresses that are never dereferenced.
#include "launcher/heuristics.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "marlin/tile_config.h"
#include "marlin/tile_scheduler.h"

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::printf("FAIL: %s\n", what.c_str());
    ++failures;
  }
}

void expect_error(const marlin_gemm_args& args, const std::string& needle) {
  const std::string msg = marlin::validate_gemm_args(args);
  expect(msg.find(needle) != std::string::npos, "expected an error containing '" + needle + "', got '" + msg + "'");
}

void* fake(uintptr_t addr) { return reinterpret_cast<void*>(addr); }

marlin_gemm_args good_args() {
  marlin_gemm_args a{};
  a.a = fake(0x10000);
  a.b_q = fake(0x20000);
  a.scales = fake(0x30000);
  a.zeros = nullptr;
  a.c = fake(0x40000);
  a.workspace = fake(0x50000);
  a.workspace_bytes = marlin::workspace_bytes_for(132);
  a.m = 16;
  a.n = 4096;
  a.k = 4096;
  a.group_size = 128;
  a.a_type = MARLIN_TYPE_FLOAT16;
  a.b_type = MARLIN_TYPE_U4B8;
  a.c_type = MARLIN_TYPE_FLOAT16;
  a.s_type = MARLIN_TYPE_FLOAT16;
  return a;
}

const marlin::DeviceLimits kH100{132, 227 * 1024, 90};
const marlin::DeviceLimits kT4{40, 64 * 1024, 75};

// Every kernel of the mma.sync families (a library built for "8.0,9.0": no sm90 family).
bool all_built(const marlin::KernelKey& k) { return !k.wgmma; }
// Every kernel, the sm90 family's included (a library built for "8.0,9.0a").
bool with_sm90(const marlin::KernelKey&) { return true; }

int ceil_div(int steps, int blocks) { return (steps + blocks - 1) / blocks; }

void test_validation() {
  expect(marlin::validate_gemm_args(good_args()).empty(), "good arguments are accepted");
  auto a = good_args();
  a.m = 0;
  expect_error(a, "m must be >= 1, got 0");
  a = good_args();
  a.k = 4000;
  expect_error(a, "k must be a multiple of 64, got 4000");
  a = good_args();
  a.n = 4100;
  expect_error(a, "n must be a multiple of 64, got 4100");
  a = good_args();
  a.k = 192;
  a.n = 192;
  a.group_size = 64;
  expect_error(a, "k or n must be a multiple of 128");
  a = good_args();
  a.group_size = 96;
  expect_error(a, "group_size must be -1 (channelwise), 32, 64 or 128 for b_type u4b8, got 96");
  a = good_args();
  a.k = 4096 + 64;
  a.group_size = 128;
  expect_error(a, "group_size 128 must divide k=4160");
  a = good_args();
  a.a = fake(0x10008);
  expect_error(a, "a must be a non-null, 16-byte aligned");
  a = good_args();
  a.b_q = nullptr;
  expect_error(a, "b_q must be a non-null");
  a = good_args();
  a.b_type = MARLIN_TYPE_U4;
  expect_error(a, "zeros must be a non-null");
  a = good_args();
  a.zeros = fake(0x60000);
  expect_error(a, "zeros must be NULL for b_type");
  a = good_args();
  a.b_type = MARLIN_TYPE_S8;
  expect_error(a, "b_type 2 is not supported");
  a = good_args();
  a.b_type = MARLIN_TYPE_U8B128;
  expect(marlin::validate_gemm_args(a).empty(), "GPTQ-INT8 is accepted");
  a.zeros = fake(0x60000);
  expect_error(a, "zeros must be NULL for b_type 6");
  a = good_args();
  a.c_type = MARLIN_TYPE_BFLOAT16;
  expect_error(a, "c_type 1 must equal a_type 0");
  a = good_args();
  a.a_type = MARLIN_TYPE_U4;
  expect_error(a, "a_type 4 is not supported; allowed: MARLIN_TYPE_FLOAT16, MARLIN_TYPE_BFLOAT16, "
                  "MARLIN_TYPE_FE4M3FN (FP8 activations), MARLIN_TYPE_S8 (INT8 activations)");
  a = good_args();
  a.lda = 4100;
  expect_error(a, "lda must be >= k and a multiple of 8");
  a = good_args();
  a.ldc = 100;
  expect_error(a, "ldc must be >= n and even");
  a = good_args();
  a.sm_count = -1;
  expect_error(a, "sm_count must be >= 0");
}

marlin_gemm_args nvfp4_args() {
  auto a = good_args();
  a.b_type = MARLIN_TYPE_FE2M1F;
  a.s_type = MARLIN_TYPE_FE4M3FN;
  a.group_size = 16;
  return a;
}

marlin_gemm_args act_order_args() {
  auto a = good_args();
  a.perm = static_cast<const int32_t*>(fake(0x70000));
  a.g_idx_sorted = static_cast<const int32_t*>(fake(0x80000));
  a.a_perm = fake(0x90000);
  return a;
}

void test_validation_float_formats() {
  auto a = nvfp4_args();
  expect(marlin::validate_gemm_args(a).empty(), "NVFP4 is accepted: " + marlin::validate_gemm_args(a));
  a.global_scale = static_cast<const float*>(fake(0xA0000));
  expect(marlin::validate_gemm_args(a).empty(), "NVFP4 takes a global scale");
  a.group_size = 32;
  expect_error(a, "group_size must be 16 (NVFP4) for b_type fe2m1f, got 32");
  a = nvfp4_args();
  a.s_type = MARLIN_TYPE_FLOAT16;
  expect_error(a, "s_type 0 is not allowed for b_type MARLIN_TYPE_FE2M1F; allowed: MARLIN_TYPE_FE4M3FN (NVFP4) or "
                  "MARLIN_TYPE_FE8M0FNU (MXFP4)");
  a = nvfp4_args();
  a.s_type = MARLIN_TYPE_FE8M0FNU;
  a.group_size = 32;
  expect_error(a, "MXFP4 (b_type MARLIN_TYPE_FE2M1F with s_type MARLIN_TYPE_FE8M0FNU) needs a_type "
                  "MARLIN_TYPE_BFLOAT16, got 0");
  a.a_type = a.c_type = MARLIN_TYPE_BFLOAT16;
  expect(marlin::validate_gemm_args(a).empty(), "MXFP4 with bf16 is accepted");
  a.group_size = 16;
  expect_error(a, "group_size must be 32 (MXFP4) for b_type fe2m1f, got 16");
  a.group_size = 32;
  a.global_scale = static_cast<const float*>(fake(0xA0000));
  expect_error(a, "global_scale is for NVFP4 only");

  a = good_args();
  a.b_type = MARLIN_TYPE_FE4M3FN;
  expect(marlin::validate_gemm_args(a).empty(), "FP8 weights with group 128 are accepted");
  a.group_size = 64;
  expect_error(a, "group_size must be -1 (channelwise) or 128 for b_type fe4m3fn, got 64");
  a.group_size = -1;
  a.s_type = MARLIN_TYPE_FE4M3FN;
  expect_error(a, "s_type 3 must equal c_type 0");

  a = good_args();
  a.bias = fake(0x60001);
  expect_error(a, "bias must be a 2-byte aligned device pointer");
  a.bias = fake(0x60002);
  expect(marlin::validate_gemm_args(a).empty(), "an aligned bias is accepted");
}

void test_validation_act_order() {
  auto a = act_order_args();
  expect(marlin::validate_gemm_args(a).empty(), "act-order is accepted: " + marlin::validate_gemm_args(a));
  a.b_type = MARLIN_TYPE_U4;
  a.zeros = fake(0x60000);
  expect_error(a, "perm (act-order) is for b_type MARLIN_TYPE_U4B8 or MARLIN_TYPE_U8B128 only, got b_type 4");
  a = act_order_args();
  a.group_size = -1;
  expect_error(a, "act-order (perm) needs group_size 32, 64 or 128, got -1");
  a = act_order_args();
  a.g_idx_sorted = nullptr;
  expect_error(a, "g_idx_sorted must be a non-null, 16-byte aligned device pointer when is_k_full is 0");
  a.is_k_full = 1;
  expect(marlin::validate_gemm_args(a).empty(), "a whole layer needs no g_idx_sorted");
  a.a_perm = nullptr;
  expect_error(a, "a_perm must be a non-null, 16-byte aligned device pointer");
  a = act_order_args();
  a.a_perm = const_cast<void*>(a.a);
  expect_error(a, "a_perm must not be a");
  a = good_args();
  a.a_perm = fake(0x90000);
  expect_error(a, "g_idx_sorted and a_perm are for act-order only and must be NULL when perm is NULL");
  // A K shard need not hold whole groups.
  a = act_order_args();
  a.k = 4096 + 64;
  expect(marlin::validate_gemm_args(a).empty(), "a K shard of any multiple of 64 rows");
  a.is_k_full = 1;
  expect_error(a, "group_size 128 must divide k=4160");
}

void test_plan_formats() {
  marlin::LaunchPlan plan{};
  std::string err;
  auto a = nvfp4_args();
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK, "plan NVFP4: " + err);
  expect(plan.key.s_type == marlin::ScalarTypeId::kFE4M3fn && plan.key.group_blocks == 1, "NVFP4 key");
  // One-byte scales: a stage of (128, 128, 256) holds 8 scale rows of 128 bytes.
  const marlin::TileShape nv{plan.key.threads, 1, 8, 8, plan.key.m_block_size_8, 4, 1, false, 4, 1, 2};
  expect(plan.smem_bytes == marlin::smem_bytes(nv) && marlin::s_stage_bytes(nv) == 8 * 128, "NVFP4 smem");

  a = act_order_args();
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK, "plan act-order shard: " + err);
  expect(plan.key.group_blocks == 0, "a K shard looks groups up per row (group_blocks 0)");
  const marlin::TileShape ao{plan.key.threads, 1, 8, 8, plan.key.m_block_size_8, 4, 0, false, 4, 2, 2};
  expect(plan.smem_bytes == marlin::smem_bytes(ao) && marlin::g_stage_bytes(ao) == 128 * 4, "act-order smem");
  a.is_k_full = 1;
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK, "plan act-order full: " + err);
  expect(plan.key.group_blocks == 8, "a whole layer uses the plain group-128 kernel on the permuted A");
  // The largest act-order tile still fits.
  const marlin::TileShape big{256, 4, 16, 4, false, 4, 0, false, 8, 2, 2};
  expect(marlin::smem_bytes(big) <= 227 * 1024, "8-bit act-order (64,256,256) x 4 M blocks fits");
}

void test_plan_stages() {
  marlin::LaunchPlan plan{};
  std::string err;
  auto a = good_args();
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK && plan.key.stages == 4,
         "sm_90 runs the 4-stage kernels");
  auto only_2 = [](const marlin::KernelKey& k) { return k.stages == 2; };
  expect(marlin::plan_gemm(a, kH100, only_2, &plan, &err) == MARLIN_OK && plan.key.stages == 2,
         "sm_90 falls back to 2-stage kernels when only they are built");
  expect(marlin::plan_gemm(a, kT4, all_built, &plan, &err) == MARLIN_OK && plan.key.stages == 2,
         "Turing runs only the 2-stage kernels");
  const marlin::TileShape t{plan.key.threads, plan.key.thread_m_blocks, plan.key.thread_n_blocks,
                            plan.key.thread_k_blocks, plan.key.m_block_size_8, 2, 8, false, 4, 2, 2};
  expect(plan.smem_bytes == marlin::smem_bytes(t) && plan.smem_bytes <= 64 * 1024, "2-stage shared memory");
  auto only_4 = [](const marlin::KernelKey& k) { return k.stages == 4; };
  expect(marlin::plan_gemm(a, kT4, only_4, &plan, &err) == MARLIN_ERR_NOT_BUILT, "Turing never takes 4 stages");
  a.a_type = a.c_type = a.s_type = MARLIN_TYPE_BFLOAT16;
  auto sm75_family = [](const marlin::KernelKey& k) {
    return k.stages == 2 && k.a_type == marlin::ScalarTypeId::kFloat16;
  };
  expect(marlin::plan_gemm(a, kT4, sm75_family, &plan, &err) == MARLIN_ERR_NOT_BUILT &&
             err.find("compute capability 7.5 has no bf16 kernels") != std::string::npos,
         "bf16 on Turing: " + err);
  a.a_type = MARLIN_TYPE_S8;
  auto sm75_int8 = [](const marlin::KernelKey& k) {
    return k.stages == 2 && k.c_type == marlin::ScalarTypeId::kFloat16;
  };
  expect(marlin::plan_gemm(a, kT4, sm75_int8, &plan, &err) == MARLIN_ERR_NOT_BUILT &&
             err.find("a=s8 b=u4b8 c=bfloat16") != std::string::npos &&
             err.find("compute capability 7.5 has no bf16 kernels") != std::string::npos,
         "INT8 activations with bf16 output on Turing: " + err);
  a.c_type = a.s_type = MARLIN_TYPE_FLOAT16;
  expect(marlin::plan_gemm(a, kT4, sm75_int8, &plan, &err) == MARLIN_OK && plan.key.stages == 2,
         "INT8 activations with f16 output on Turing: " + err);
  // 8-bit weights with 64 rows: (64, 256, 256) needs more than Turing's 64 KiB, a smaller tile is taken.
  a = good_args();
  a.b_type = MARLIN_TYPE_U8B128;
  a.m = 64;
  expect(marlin::plan_gemm(a, kT4, all_built, &plan, &err) == MARLIN_OK && plan.smem_bytes <= 64 * 1024,
         "8-bit weights fit Turing's shared memory: " + err);
}

void test_forced_config() {
  marlin::LaunchPlan plan{};
  std::string err;
  auto a = good_args();
  a.m = 1;
  a.force_thread_k = 64;
  a.force_thread_n = 128;
  expect(marlin::validate_gemm_args(a).empty(), "a forced config is accepted");
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK && plan.key.thread_k_blocks == 4 &&
             plan.key.thread_n_blocks == 8 && plan.key.threads == 128,
         "m=1 forced to (64, 128, 128): " + err);
  a.force_thread_k = 96;
  expect_error(a, "force_thread_k, force_thread_n = (96, 128) is not a thread config");
  a.force_thread_k = 0;
  expect_error(a, "force_thread_k, force_thread_n = (0, 128) is not a thread config");
  a = good_args();
  a.force_blocks_per_sm = 3;
  expect_error(a, "force_blocks_per_sm must be 0 (the launcher's choice), 1 or 2, got 3");
  // A forced config that does not tile N is an error, not a silent fallback.
  a = good_args();
  a.n = 192;
  a.force_thread_k = 128;
  a.force_thread_n = 128;
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_ERR_INVALID_ARGUMENT &&
             err.find("the forced thread config (128, 128) does not tile or fit") != std::string::npos,
         "forced config that does not tile: " + err);
  a = good_args();
  a.m = 1;
  a.force_thread_k = 64;
  a.force_thread_n = 256;
  auto no_wide = [](const marlin::KernelKey& k) { return !(k.thread_m_blocks <= 1 && k.thread_n_blocks == 16); };
  expect(marlin::plan_gemm(a, kH100, no_wide, &plan, &err) == MARLIN_ERR_NOT_BUILT &&
             err.find("(64, 256) only above") != std::string::npos,
         "forced config not built for small batches: " + err);
}

// What every kind of 8-bit activations shares: GPTQ-INT4 weights with `out` output are accepted, with per-row
// scales too; A's rows are 16-byte aligned at one byte per value; the plan takes 16-row M blocks even for m <= 8
// and stages A as bytes, with the activation and output types in the kernel key. Returns `a` with a_scales set.
marlin_gemm_args expect_8bit_activation_basics(marlin_scalar_type act, marlin_scalar_type out,
                                               const std::string& what) {
  auto a = good_args();
  a.a_type = act;
  a.c_type = a.s_type = out;
  expect(marlin::validate_gemm_args(a).empty(), what + " with GPTQ-INT4: " + marlin::validate_gemm_args(a));
  a.a_scales = static_cast<const float*>(fake(0xB0000));
  expect(marlin::validate_gemm_args(a).empty(), what + " with per-row scales");
  a.lda = 4104;
  expect_error(a, "lda must be >= k and a multiple of 16 (16-byte rows), got 4104");
  a.lda = 0;

  auto p = good_args();
  p.m = 1;
  p.a_type = act;
  p.c_type = p.s_type = out;
  marlin::LaunchPlan plan{};
  std::string err;
  expect(marlin::plan_gemm(p, kH100, all_built, &plan, &err) == MARLIN_OK, "plan " + what + ": " + err);
  expect(!plan.key.m_block_size_8 && plan.key.thread_m_blocks == 1, what + ": 16-row block at m=1");
  expect(plan.key.a_type == static_cast<marlin::ScalarTypeId>(act) &&
             plan.key.c_type == static_cast<marlin::ScalarTypeId>(out),
         what + ": key types");
  const marlin::TileShape shape{plan.key.threads, 1, 8, 8, false, 4, 8, false, 4, 2, 1};
  expect(plan.smem_bytes == marlin::smem_bytes(shape) && marlin::a_stage_bytes(shape) == 16 * 128,
         what + ": one byte per activation in shared memory");
  return a;
}

void test_fp8_activations() {
  auto a = expect_8bit_activation_basics(MARLIN_TYPE_FE4M3FN, MARLIN_TYPE_BFLOAT16, "FP8 activations");
  a.b_type = MARLIN_TYPE_U8B128;
  expect_error(a, "FP8 activations take b_type MARLIN_TYPE_U4, MARLIN_TYPE_U4B8 or MARLIN_TYPE_FE2M1F (MXFP4), "
                  "got b_type 6");
  a.b_type = MARLIN_TYPE_U4B8;
  a.c_type = MARLIN_TYPE_FE4M3FN;
  expect_error(a, "c_type 3 is not allowed with FP8 activations");
  a.c_type = MARLIN_TYPE_BFLOAT16;
  a.s_type = MARLIN_TYPE_FLOAT16;
  expect_error(a, "s_type 0 must equal c_type 1 with FP8 activations");
  a.s_type = MARLIN_TYPE_BFLOAT16;
  a.b_type = MARLIN_TYPE_FE2M1F;
  a.group_size = 32;
  expect_error(a, "FP4 weights with FP8 activations are MXFP4 only");
  a.s_type = MARLIN_TYPE_FE8M0FNU;
  expect(marlin::validate_gemm_args(a).empty(), "MXFP4 with FP8 activations: " + marlin::validate_gemm_args(a));
  a = good_args();
  a.a_scales = static_cast<const float*>(fake(0xB0000));
  expect_error(a, "a_scales is for 8-bit activations (a_type MARLIN_TYPE_FE4M3FN or MARLIN_TYPE_S8) only");
}

void test_int8_activations() {
  auto a = expect_8bit_activation_basics(MARLIN_TYPE_S8, MARLIN_TYPE_FLOAT16, "INT8 activations");
  a.b_type = MARLIN_TYPE_U8B128;
  expect_error(a, "INT8 activations take b_type MARLIN_TYPE_U4, MARLIN_TYPE_U4B8, got b_type 6");
  a.b_type = MARLIN_TYPE_FE2M1F;
  a.s_type = MARLIN_TYPE_FE8M0FNU;
  a.c_type = MARLIN_TYPE_BFLOAT16;
  a.group_size = 32;
  expect_error(a, "INT8 activations take b_type MARLIN_TYPE_U4, MARLIN_TYPE_U4B8, got b_type 7");
  a.b_type = MARLIN_TYPE_U4B8;
  a.c_type = MARLIN_TYPE_S8;
  expect_error(a, "c_type 2 is not allowed with INT8 activations");
  a.c_type = MARLIN_TYPE_BFLOAT16;
  a.s_type = MARLIN_TYPE_FLOAT16;
  expect_error(a, "s_type 0 must equal c_type 1 with INT8 activations");
  a.s_type = MARLIN_TYPE_BFLOAT16;
  expect(marlin::validate_gemm_args(a).empty(), "bf16 output: " + marlin::validate_gemm_args(a));
  a.perm = static_cast<const int32_t*>(fake(0xC0000));
  expect_error(a, "act-order (perm) is not available with INT8 activations");
}

void test_plan_small_batch_uses_stream_k() {
  auto a = good_args();
  a.m = 1;
  marlin::LaunchPlan plan{};
  std::string err;
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK, "plan m=1: " + err);
  expect(plan.key.m_block_size_8 && plan.key.thread_m_blocks == 1, "m=1 uses the 8-row block");
  expect(plan.key.threads == 256 && plan.key.thread_k_blocks == 8 && plan.key.thread_n_blocks == 8,
         "m=1 prefers thread config (128, 128, 256)");
  expect(plan.key.group_blocks == 8, "group 128 is group_blocks 8");
  // 4096 / 128 = 32 tiles < 132 SMs: no whole tiles, the K steps are spread over all of them.
  const marlin::WorkSplit& s = plan.split;
  expect(s.n_tiles == 32 && s.k_iters == 32 && s.m_chunks == 1, "tile counts");
  expect(s.dp_tiles == 0 && s.sk_share == (32 * 32 + 131) / 132, "even stream-K share");
  expect(s.grid <= 132 && s.grid * s.sk_share >= 32 * 32, "grid covers every iteration");
  marlin::split_work(1000, &plan);
  expect(plan.split.sk_share == marlin::kMinShare && plan.split.grid == 1024 / marlin::kMinShare,
         "more blocks than steps: shares of twice the pipeline depth, no empty block");
}

void test_split_aligned_to_tiles() {
  marlin::LaunchPlan plan{};
  plan.key.thread_m_blocks = 8;  // the sm90 family's 128-token tile: 8192 x 8192 at M = 256
  plan.split.m_chunks = 2;
  plan.split.n_tiles = 32;
  plan.split.k_iters = 128;
  marlin::split_work(132, &plan);
  expect(plan.split.dp_tiles == 0 && plan.split.sk_share == 64 && plan.split.grid == 128,
         "64 tiles of 128 steps for 132 blocks: two pieces of 64 steps per tile, not shares of 63");
  plan.split.k_iters = 100;  // 6400 steps: shares of 49, or two pieces of 50 per tile
  marlin::split_work(132, &plan);
  expect(plan.split.sk_share == 50 && plan.split.grid == 128, "shares of 49 become 50: 2% more");
  plan.split.k_iters = 99;  // shares of 48: 2 per tile would not divide 99
  marlin::split_work(132, &plan);
  expect(plan.split.sk_share == 48 && plan.split.grid == 132, "no even split of 99 steps: shares of 48 stay");
}

void test_plan_large_batch_whole_tiles() {
  auto a = good_args();
  a.m = 1000;
  marlin::LaunchPlan plan{};
  std::string err;
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK, "plan m=1000: " + err);
  expect(!plan.key.m_block_size_8 && plan.key.thread_m_blocks == 4, "m=1000 uses 4 M blocks");
  expect(plan.key.threads == 128 && plan.key.thread_n_blocks == 8 && plan.key.thread_k_blocks == 4,
         "four M blocks prefer (64, 128, 128)");
  expect(plan.split.m_chunks == 16, "1000 rows in chunks of 64");
  // 16 x 32 = 512 tiles of 64 K steps over 132 blocks: 3 rounds of whole tiles (396), the other 116 tiles in
  // stream-K shares of 116 * 64 / 132 -> 57 steps.
  expect(plan.split.dp_tiles == 396 && plan.split.sk_share == 57 && plan.split.grid == 132,
         "whole tiles first, stream-K for the rest");
  marlin::split_work(264, &plan);
  expect(plan.split.dp_tiles == 512 && plan.split.sk_share == 0 && plan.split.grid == 264,
         "two blocks per SM: the 248 tiles after one round fill 94% of a second one, so they are taken whole");
  marlin::split_work(300, &plan);
  expect(plan.split.dp_tiles == 300 && plan.split.sk_share == ceil_div(212 * 64, 300) && plan.split.grid == 300,
         "212 tiles left for 300 blocks: stream-K shares");
  marlin::split_work(132 * 4, &plan);
  expect(plan.split.dp_tiles == 512 && plan.split.sk_share == 0 && plan.split.grid == 512,
         "fewer tiles than blocks, but at least 15/16 of them: one round of whole tiles, one block per tile");
  marlin::split_work(256, &plan);
  expect(plan.split.dp_tiles == 512 && plan.split.sk_share == 0 && plan.split.grid == 256,
         "tiles a multiple of the blocks: no stream-K part");
  a.m = 32;  // two M blocks take (64, 128, 128) first too
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK, "plan m=32: " + err);
  expect(plan.key.thread_m_blocks == 2 && plan.key.thread_n_blocks == 8 && plan.key.threads == 128,
         "m=32 prefers (64, 128, 128)");
  auto no_128_threads = [](const marlin::KernelKey& k) { return k.threads != 128; };
  expect(marlin::plan_gemm(a, kH100, no_128_threads, &plan, &err) == MARLIN_OK && plan.key.thread_n_blocks == 16,
         "then (64, 256, 256)");
  // Two or three M blocks on a problem whose 256-wide tiles give every SM 16 K steps or more: (64, 256, 256).
  a.n = 28672;
  a.k = 8192;  // 112 tiles x 128 steps = 14336 >= 16 x 132
  for (int64_t m : {17, 32, 48}) {
    a.m = m;
    expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK, "plan: " + err);
    expect(plan.key.thread_n_blocks == 16 && plan.key.threads == 256, "m=" + std::to_string(m) +
                                                                          " on 8192 x 28672 takes (64, 256, 256)");
  }
  a.m = 64;  // four M blocks keep (64, 128, 128)
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK && plan.key.thread_n_blocks == 8,
         "m=64 keeps (64, 128, 128)");
  a.m = 32;
  a.n = 4096;
  a.k = 4096;  // 16 tiles x 64 steps = 1024 < 16 x 132
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK && plan.key.thread_n_blocks == 8,
         "a small problem keeps (64, 128, 128)");
  a.n = 4224;  // 33 x 128: not a multiple of 256
  a.k = 28672;
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK && plan.key.thread_n_blocks == 8,
         "n not a multiple of 256 keeps (64, 128, 128)");

}

// The sm90 family (wgmma; code for sm_90a) takes over where it measured faster, on 9.0 devices only.
void test_plan_sm90_family() {
  auto a = good_args();
  marlin::LaunchPlan plan{};
  std::string err;
  auto plan_of = [&](const marlin::DeviceLimits& limits, bool (*built)(const marlin::KernelKey&)) {
    err.clear();
    const bool ok = marlin::plan_gemm(a, limits, built, &plan, &err) == MARLIN_OK;
    expect(ok, "plan: " + err);
    return ok;
  };
  auto is_sm90 = [&] {
    return plan.key.wgmma && plan.key.thread_n_blocks == 16 && plan.key.thread_k_blocks == 4 &&
           plan.key.threads == 256 && plan.key.stages == 4;
  };
  a.n = 28672;
  a.k = 8192;
  a.m = 64;
  expect(plan_of(kH100, with_sm90) && is_sm90(), "4-bit weights, four M blocks: the sm90 family");
  expect(plan_of(kH100, all_built) && !plan.key.wgmma && plan.key.thread_n_blocks == 8,
         "without the sm90 family: (64, 128, 128) as before");
  const marlin::DeviceLimits l40{132, 99 * 1024, 89};  // (an 8.9 device)
  expect(plan_of(l40, with_sm90) && !plan.key.wgmma, "not on a device other than 9.0");
  // Above 64 tokens the 128-token tile (8 M blocks), one block per multiprocessor's two workspace slots.
  for (const int64_t m : {65, 128, 200, 512}) {
    a.m = m;
    const std::string what = "m=" + std::to_string(m);
    expect(plan_of(kH100, with_sm90) && is_sm90() && plan.key.thread_m_blocks == 8 &&
               plan.split.m_chunks == (m + 127) / 128,
           what + ": the sm90 family's 128-token tile");
    expect(plan_of(kH100, all_built) && plan.key.thread_m_blocks == 4, what + ": without it, 64-token chunks");
    expect(plan_of(l40, with_sm90) && !plan.key.wgmma && plan.key.thread_m_blocks == 4,
           what + ": not on a device other than 9.0");
  }
  a.m = 200;
  expect(plan_of(kH100, with_sm90) && marlin::max_blocks_per_sm(plan.key) == 1,
         "the 128-token tile's pieces take two workspace slots: one block per multiprocessor");
  a.m = 64;
  expect(plan_of(kH100, with_sm90) && marlin::max_blocks_per_sm(plan.key) == marlin::kMaxBlocksPerSm,
         "64-token tiles: a slot each");
  auto no_tile128 = [](const marlin::KernelKey& k) { return k.thread_m_blocks != 8; };
  a.m = 128;
  expect(plan_of(kH100, no_tile128) && is_sm90() && plan.key.thread_m_blocks == 4 && plan.split.m_chunks == 2,
         "without the 128-token tile built: two 64-token chunks of the sm90 family");
  a.m = 64;
  expect(plan_of(kH100, with_sm90) && plan.key.thread_m_blocks == 4, "64 tokens: one 64-token chunk");
  a.m = 48;
  expect(plan_of(kH100, with_sm90) && is_sm90() && plan.key.thread_m_blocks == 3,
         "4-bit weights, three M blocks: the sm90 family");
  a.m = 32;
  expect(plan_of(kH100, with_sm90) && !plan.key.wgmma, "4-bit weights, two M blocks: the sm80 family");
  a.b_type = MARLIN_TYPE_U8B128;
  expect(plan_of(kH100, with_sm90) && is_sm90(), "8-bit weights, two M blocks: the sm90 family");
  a.m = 16;
  expect(plan_of(kH100, with_sm90) && !plan.key.wgmma, "one M block: the sm80 family");
  a.b_type = MARLIN_TYPE_U4B8;
  a.n = 4096;
  a.k = 4096;
  a.m = 64;  // 16 tiles x 64 K steps = 1024 < 16 x 132, one M chunk
  expect(plan_of(kH100, with_sm90) && !plan.key.wgmma, "a small problem keeps the sm80 family");
  a.m = 128;  // two M chunks
  expect(plan_of(kH100, with_sm90) && is_sm90(), "a small problem with two M chunks: the sm90 family");
  a.n = 4224;
  expect(plan_of(kH100, with_sm90) && !plan.key.wgmma, "n not a multiple of 256 keeps the sm80 family");
  a.n = 4096;
  a.m = 32;
  a.force_thread_k = 64;
  a.force_thread_n = 256;
  expect(plan_of(kH100, with_sm90) && is_sm90(), "(64, 256) forced: the sm90 family wherever it runs");
  a.m = 128;
  expect(plan_of(kH100, with_sm90) && is_sm90() && plan.key.thread_m_blocks == 8,
         "(64, 256) forced at m=128: the 128-token tile, even where it would not go first");
  a.force_thread_n = 128;
  expect(plan_of(kH100, with_sm90) && !plan.key.wgmma && plan.key.thread_n_blocks == 8 &&
             plan.key.thread_m_blocks == 4,
         "(64, 128) forced: the sm80 family");
  a.force_thread_k = a.force_thread_n = 0;
  a.a_type = MARLIN_TYPE_FE4M3FN;  // 8-bit activations: never
  a.c_type = MARLIN_TYPE_BFLOAT16;
  a.s_type = MARLIN_TYPE_BFLOAT16;
  expect(plan_of(kH100, with_sm90) && !plan.key.wgmma, "8-bit activations keep their family");
}

void test_split_min_share() {
  auto a = good_args();
  a.m = 64;  // 4096 x 4096: 32 N tiles x 64 K steps = 2048 steps
  marlin::LaunchPlan plan{};
  std::string err;
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK, "plan: " + err);
  marlin::split_work(264, &plan);
  expect(plan.split.sk_share == 16 && plan.split.grid == 128, "multi-M-block shares of at least 16 K steps");
  a.m = 16;  // one M block: 1024 steps would give shares of 4, shorter than twice the pipeline depth
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK, "plan: " + err);
  marlin::split_work(264, &plan);
  expect(plan.split.sk_share == 8 && plan.split.grid == 128, "one-M-block shares of at least 8 K steps");
  a.n = 14336;  // 112 tiles x 32 steps over 264 blocks: shares of 14, every block used
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK, "plan: " + err);
  marlin::split_work(264, &plan);
  expect(plan.split.sk_share == 14 && plan.split.grid == 256, "larger problems spread over every block");
  a.m = 64;
  a.n = 128;
  a.k = 128;  // 1 tile x 2 K steps: one block, not zero
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK, "plan: " + err);
  marlin::split_work(264, &plan);
  expect(plan.split.grid == 1 && plan.split.sk_share == plan.split.k_iters, "a tiny problem gets one block");
}

// Runs every block of a split through the tile scheduler, as the kernel does, and checks the contract of
// tile_scheduler.h: every K step of every tile is done exactly once; a split tile's pieces come from the blocks
// split_tile names, each block's in its own slot, one of them being the piece split_tile names first; counters of
// different split tiles differ and stay below the grid.
void check_schedule(const marlin::WorkSplit& s, const std::string& what) {
  const int tiles = s.m_chunks * s.n_tiles;
  std::vector<int> done(static_cast<size_t>(tiles) * s.k_iters, 0);
  std::vector<std::vector<std::pair<int, int>>> pieces(tiles);  // (block, piece)
  std::vector<int> slot_use(2 * static_cast<size_t>(s.grid), 0);
  for (int b = 0; b < s.grid; ++b) {
    marlin::TileScheduler sched(s, b);
    marlin::WorkUnit u;
    int units = 0;
    while (sched.next(u)) {
      expect(u.tile >= 0 && u.tile < tiles && 0 <= u.k_begin && u.k_begin < u.k_end && u.k_end <= s.k_iters,
             what + ": unit inside the problem");
      for (int k = u.k_begin; k < u.k_end; ++k) ++done[static_cast<size_t>(u.tile) * s.k_iters + k];
      expect((u.piece < 0) == (u.k_begin == 0 && u.k_end == s.k_iters), what + ": whole tiles have no piece");
      if (u.piece >= 0) {
        pieces[u.tile].push_back({b, u.piece});
        ++slot_use[marlin::partial_slot(b, u.piece)];
      }
      if (++units > tiles + 2) break;
    }
  }
  bool once = true;
  for (int d : done) once = once && d == 1;
  expect(once, what + ": every K step of every tile exactly once");
  bool slots_unique = true;
  for (int n : slot_use) slots_unique = slots_unique && n <= 1;
  expect(slots_unique, what + ": one piece per slot");
  std::vector<int> counter_owner(static_cast<size_t>(s.grid), -1);
  for (int t = 0; t < tiles; ++t) {
    if (pieces[t].empty()) continue;
    const marlin::SplitTile st = marlin::split_tile(s, t);
    bool match = static_cast<int>(pieces[t].size()) == st.last - st.first + 1;
    for (size_t i = 0; match && i < pieces[t].size(); ++i) {
      const int b = st.first + static_cast<int>(i);
      match = pieces[t][i].first == b && pieces[t][i].second == (i == 0 ? st.first_piece : 0);
    }
    expect(match, what + ": tile " + std::to_string(t) + "'s pieces are the ones split_tile names");
    const int c = marlin::tile_counter(s, t);
    expect(c >= 0 && c < s.grid && counter_owner[c] == -1, what + ": a counter of its own below the grid");
    if (c >= 0 && c < s.grid) counter_owner[c] = t;
  }
}

void test_schedule_contract() {
  const int64_t ms[] = {1, 16, 64, 200, 1000};
  const int64_t ns[] = {256, 4096, 28672};
  const int64_t ks[] = {256, 4096, 8192};
  const int blocks[] = {1, 7, 132, 264};
  for (int64_t m : ms)
    for (int64_t n : ns)
      for (int64_t k : ks)
        for (int b : blocks) {
          auto a = good_args();
          a.m = m;
          a.n = n;
          a.k = k;
          marlin::LaunchPlan plan{};
          std::string err;
          if (marlin::plan_gemm(a, kH100, all_built, &plan, &err) != MARLIN_OK) {
            expect(false, "plan: " + err);
            continue;
          }
          marlin::split_work(b, &plan);
          check_schedule(plan.split, "m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" +
                                         std::to_string(k) + " blocks=" + std::to_string(b));
        }
}

void test_plan_thread_m_blocks() {
  const int64_t ms[] = {7, 8, 9, 16, 17, 33, 48, 49, 64, 200};
  const int expected[] = {1, 1, 1, 1, 2, 3, 3, 4, 4, 4};
  for (int i = 0; i < 10; ++i) {
    auto a = good_args();
    a.m = ms[i];
    marlin::LaunchPlan plan{};
    std::string err;
    marlin::plan_gemm(a, kH100, all_built, &plan, &err);
    expect(plan.key.thread_m_blocks == expected[i], "thread_m_blocks for m=" + std::to_string(ms[i]));
    expect(plan.key.m_block_size_8 == (ms[i] <= 8), "8-row block only for m <= 8, m=" + std::to_string(ms[i]));
  }
}

void test_plan_falls_back_when_config_not_built() {
  auto a = good_args();
  marlin::LaunchPlan plan{};
  std::string err;
  auto no_256 = [](const marlin::KernelKey& k) { return k.threads != 256; };
  expect(marlin::plan_gemm(a, kH100, no_256, &plan, &err) == MARLIN_OK, "fallback plan: " + err);
  expect(plan.key.threads == 128 && plan.key.thread_k_blocks == 4, "falls back to (64, 128, 128)");
  auto none = [](const marlin::KernelKey&) { return false; };
  expect(marlin::plan_gemm(a, kH100, none, &plan, &err) == MARLIN_ERR_NOT_BUILT, "nothing built");
  expect(err.find("is built into this library") != std::string::npos, "not-built message: " + err);
}

void test_plan_n_tiles_choice() {
  auto a = good_args();
  a.m = 1;
  a.n = 192;  // not a multiple of 128: only (128, 64, 128) fits
  marlin::LaunchPlan plan{};
  std::string err;
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK, "n=192: " + err);
  expect(plan.key.thread_n_blocks == 4 && plan.key.thread_k_blocks == 8, "n=192 takes (128, 64, 128)");
}

void test_workspace() {
  auto a = good_args();
  a.workspace_bytes = marlin::workspace_bytes_for(132) - 1;
  marlin::LaunchPlan plan{};
  std::string err;
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_ERR_INVALID_ARGUMENT, "small workspace");
  expect(err.find("workspace_bytes") != std::string::npos, "workspace message: " + err);
  expect(marlin::workspace_bytes_for(1) == 2 * marlin::kMaxBlocksPerSm * (64 * 256 * 4) + 16,
         "two slots per block plus padded counters");
  expect(marlin::partials_bytes_for(132) == 2 * 132 * marlin::kMaxBlocksPerSm * (64 * 256 * 4),
         "the counters start after every block's two slots");
  expect(marlin::workspace_bytes_for(132) - marlin::partials_bytes_for(132) >=
             132 * marlin::kMaxBlocksPerSm * sizeof(int),
         "a counter for every block after the slots");
}

void test_plan_int8_weights() {
  auto a = good_args();
  a.b_type = MARLIN_TYPE_U8B128;
  a.m = 64;
  marlin::LaunchPlan plan{};
  std::string err;
  expect(marlin::plan_gemm(a, kH100, all_built, &plan, &err) == MARLIN_OK, "plan int8: " + err);
  expect(plan.key.b_type == marlin::ScalarTypeId::kU8B128, "int8 key");
  // 8-bit weights double the B stages: 64 x 128 bytes for the (64, 128, 128) tile, on top of 4 stages of A.
  const marlin::TileShape shape{128, 4, 8, 4, false, 4, 8, false, 8, 2, 2};
  expect(plan.smem_bytes == marlin::smem_bytes(shape), "int8 shared memory uses 8-bit stages");
  expect(marlin::b_stage_bytes(shape) == 64 * 128, "8-bit B stage bytes");
}

void test_blocks_per_sm() {
  auto a = good_args();
  marlin::LaunchPlan plan{};
  std::string err;
  auto blocks = [&](int64_t m, marlin_scalar_type b_type, int occupancy, int forced) {
    a.m = m;
    a.b_type = b_type;
    a.s_type = MARLIN_TYPE_FLOAT16;
    if (marlin::plan_gemm(a, kH100, all_built, &plan, &err) != MARLIN_OK) return -1;
    return marlin::blocks_per_sm(plan.key, occupancy, forced);
  };
  for (const int64_t m : {1, 8, 16}) {
    const std::string what = "m=" + std::to_string(m);
    expect(blocks(m, MARLIN_TYPE_U8B128, 2, 0) == 1, what + ": 8-bit weights, one M block: one block per SM");
    expect(blocks(m, MARLIN_TYPE_FE4M3FN, 2, 0) == 1, what + ": FP8 weights too");
    expect(blocks(m, MARLIN_TYPE_U4B8, 2, 0) == 2, what + ": 4-bit weights: two");
    expect(blocks(m, MARLIN_TYPE_U8B128, 2, 2) == 2, what + ": the tuning override still gets two");
  }
  expect(blocks(32, MARLIN_TYPE_U8B128, 2, 0) == 2, "8-bit weights, two M blocks: two");
  expect(blocks(1, MARLIN_TYPE_U4B8, 1, 0) == 1, "no more than fit");
  expect(blocks(1, MARLIN_TYPE_U4B8, 0, 0) == 1, "at least one");
  expect(blocks(1, MARLIN_TYPE_U4B8, 2, 1) == 1, "the override's one");
  expect(blocks(1, MARLIN_TYPE_U4B8, 4, 4) == marlin::kMaxBlocksPerSm, "no more than the workspace holds");
}

void test_plan_text() {
  auto a = good_args();
  marlin::LaunchPlan plan{};
  std::string err;
  auto text_of = [&](const marlin::DeviceLimits& limits, bool (*built)(const marlin::KernelKey&)) {
    if (marlin::plan_gemm(a, limits, built, &plan, &err) != MARLIN_OK) return "plan failed: " + err;
    return marlin::plan_text(plan, 2);
  };
  a.m = 1;
  std::string t = text_of(kH100, all_built);
  expect(t.rfind("family=sm80 a=float16 b=u4b8 c=float16 s=float16 threads=256 thread_m_blocks=1 "
                 "thread_n_blocks=8 thread_k_blocks=8 m_block_size_8=1 stages=4 group_blocks=8 smem_bytes=",
                 0) == 0,
         "sm80 plan text: " + t);
  expect(t.find(" blocks_per_sm=2 grid=" + std::to_string(plan.split.grid) + " m_chunks=1 n_tiles=32 k_iters=32 "
                "dp_tiles=0 sk_share=" + std::to_string(plan.split.sk_share)) != std::string::npos,
         "sm80 plan text, the split: " + t);
  a.m = 200;
  a.n = 28672;
  a.k = 8192;
  t = text_of(kH100, with_sm90);
  expect(t.rfind("family=sm90 ", 0) == 0 && t.find(" thread_m_blocks=8 ") != std::string::npos &&
             t.find(" m_chunks=2 ") != std::string::npos,
         "sm90 plan text: " + t);
  a.m = 16;
  a.n = a.k = 4096;
  t = text_of(kT4, all_built);
  expect(t.rfind("family=sm75 ", 0) == 0 && t.find(" stages=2 ") != std::string::npos, "sm75 plan text: " + t);
  a.a_type = MARLIN_TYPE_FE4M3FN;
  const marlin::DeviceLimits l40{132, 99 * 1024, 89};  // (an 8.9 device)
  t = text_of(l40, all_built);
  expect(t.rfind("family=sm89 a=fe4m3fn ", 0) == 0, "sm89 plan text: " + t);
}

void test_smem_budget() {
  // The largest instantiations must fit the 227 KiB of an sm_80/sm_90 block.
  const marlin::TileShape big{256, 4, 8, 8, false, 4, 2, true, 4, 2, 2};
  expect(marlin::smem_bytes(big) <= 227 * 1024, "(128,128,256) x 4 M blocks fits");
  const marlin::TileShape wide{256, 4, 16, 4, false, 4, 2, true, 4, 2, 2};
  expect(marlin::smem_bytes(wide) <= 227 * 1024, "(64,256,256) x 4 M blocks fits");
  // A stage of A for 64 rows x 128 K values is 16 KiB.
  expect(marlin::a_stage_bytes(big) == 64 * 128 * 2, "A stage bytes");
  expect(marlin::b_stage_bytes(big) == 128 * 128 / 2, "B stage bytes");
}

}  // namespace

int main() {
  test_validation();
  test_validation_float_formats();
  test_validation_act_order();
  test_plan_formats();
  test_plan_stages();
  test_forced_config();
  test_split_min_share();
  test_schedule_contract();
  test_fp8_activations();
  test_int8_activations();
  test_plan_small_batch_uses_stream_k();
  test_plan_large_batch_whole_tiles();
  test_split_aligned_to_tiles();
  test_plan_sm90_family();
  test_plan_thread_m_blocks();
  test_plan_falls_back_when_config_not_built();
  test_plan_n_tiles_choice();
  test_plan_int8_weights();
  test_workspace();
  test_blocks_per_sm();
  test_plan_text();
  test_smem_budget();
  if (failures == 0) std::printf("all heuristics tests passed\n");
  return failures == 0 ? 0 : 1;
}
