#include "launcher/heuristics.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <sstream>
#include <vector>

#include "marlin/tile_config.h"

namespace marlin {
namespace {

struct ThreadConfig {
  int thread_k, thread_n, threads;
};

// Tried in order. Small batches (one M block) prefer the wide K step of (128, 128, 256). With two or more M
// blocks the 128-thread (64, 128, 128) tile goes first: on an H200 it beat (64, 256, 256), the seed's choice
// there, by 4-13% at M = 32 on 5 of 6 shapes and by up to 9% at M >= 64 on most
// (docs/tuning/h200_u4b8_f16_61f2bc3.md, from bench/tune.py). With two or three M blocks (64, 256, 256) goes
// first when its K steps give every multiprocessor a share of at least kMinMultiBlockShare (wide_n_first): there
// it was 2-13% faster once whole tiles went first and split tiles were reduced in order
// (docs/tuning/h200_u4b8_f16_tiles_first.md); on smaller problems it leaves multiprocessors idle.
constexpr ThreadConfig kSmallBatchConfigs[] = {{128, 128, 256}, {64, 128, 128}, {128, 64, 128}};
constexpr ThreadConfig kLargeBatchConfigs[] = {{64, 128, 128}, {64, 256, 256}, {128, 64, 128}};
constexpr ThreadConfig kWideNConfigs[] = {{64, 256, 256}, {64, 128, 128}, {128, 64, 128}};
// The one thread config the sm90 family (wgmma) is built with: the wide-N one.
constexpr ThreadConfig kSm90Config = kWideNConfigs[0];
bool is_sm90_config(const ThreadConfig& tc) {
  return tc.thread_k == kSm90Config.thread_k && tc.thread_n == kSm90Config.thread_n &&
         tc.threads == kSm90Config.threads;
}

// Every thread config of the catalog, for the tuning override.
constexpr ThreadConfig kAllConfigs[] = {{128, 128, 256}, {64, 256, 256}, {64, 128, 128}, {128, 64, 128}};

constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();

bool is_16bit_float(marlin_scalar_type t) { return t == MARLIN_TYPE_FLOAT16 || t == MARLIN_TYPE_BFLOAT16; }

bool aligned(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

bool is_8bit_weight(marlin_scalar_type t) { return t == MARLIN_TYPE_U8B128 || t == MARLIN_TYPE_FE4M3FN; }

// The group sizes a weight format (with its scale type) takes, as text for messages, and whether g is one.
const char* allowed_groups(const marlin_gemm_args& a) {
  if (a.b_type == MARLIN_TYPE_FE4M3FN) return "-1 (channelwise) or 128";
  if (a.b_type == MARLIN_TYPE_FE2M1F) return a.s_type == MARLIN_TYPE_FE4M3FN ? "16 (NVFP4)" : "32 (MXFP4)";
  return "-1 (channelwise), 32, 64 or 128";
}
bool group_allowed(const marlin_gemm_args& a) {
  const int64_t g = a.group_size;
  if (a.b_type == MARLIN_TYPE_FE4M3FN) return g == -1 || g == 128;
  if (a.b_type == MARLIN_TYPE_FE2M1F) return g == (a.s_type == MARLIN_TYPE_FE4M3FN ? 16 : 32);
  return g == -1 || g == 32 || g == 64 || g == 128;
}

// Scale type of a weight format: the activation type, or e4m3 (NVFP4) / e8m0 (MXFP4) bytes for FP4 weights.
std::string scale_type_error(const marlin_gemm_args& a) {
  std::ostringstream e;
  if (a.b_type == MARLIN_TYPE_FE2M1F) {
    if (a.s_type == MARLIN_TYPE_FE8M0FNU && a.c_type != MARLIN_TYPE_BFLOAT16) {
      e << "MXFP4 (b_type MARLIN_TYPE_FE2M1F with s_type MARLIN_TYPE_FE8M0FNU) needs a_type MARLIN_TYPE_BFLOAT16, "
        << "got " << a.a_type;
    } else if (a.s_type != MARLIN_TYPE_FE4M3FN && a.s_type != MARLIN_TYPE_FE8M0FNU) {
      e << "s_type " << a.s_type << " is not allowed for b_type MARLIN_TYPE_FE2M1F; allowed: MARLIN_TYPE_FE4M3FN "
        << "(NVFP4) or MARLIN_TYPE_FE8M0FNU (MXFP4)";
    }
  } else if (a.s_type != a.c_type) {
    e << "s_type " << a.s_type << " must equal c_type " << a.c_type;
  }
  return e.str();
}

// The thread config the tuning override names, or nullptr (none named, or not a config).
const ThreadConfig* forced_config(const marlin_gemm_args& a) {
  for (const ThreadConfig& tc : kAllConfigs)
    if (tc.thread_k == a.force_thread_k && tc.thread_n == a.force_thread_n) return &tc;
  return nullptr;
}

bool is_8bit_activation(marlin_scalar_type t) { return t == MARLIN_TYPE_FE4M3FN || t == MARLIN_TYPE_S8; }

int a_bytes(const marlin_gemm_args& a) { return is_8bit_activation(a.a_type) ? 1 : 2; }

bool wide_n_first(const marlin_gemm_args& a, int thread_m_blocks, int m_chunks, int sm_count) {
  if (thread_m_blocks < 2 || thread_m_blocks > 3 || a.n % 256 != 0) return false;  // (k % 64 == 0: validated)
  const int64_t steps = static_cast<int64_t>(m_chunks) * (a.n / 256) * (a.k / 64);
  return steps >= static_cast<int64_t>(kMinMultiBlockShare) * sm_count;
}

// The sm90 family (wgmma, code for sm_90a: 9.0 devices only) has (64, 256, 256) kernels for 16-bit activations
// with two or more M blocks.
bool sm90_runs(const marlin_gemm_args& a, int thread_m_blocks, bool m8, const DeviceLimits& limits) {
  return limits.compute_capability == 90 && !is_8bit_activation(a.a_type) && !m8 && thread_m_blocks >= 2;
}

// Where the launcher chooses, the sm90 family goes first where it measured faster than the sm80 family's best
// config (docs/PERFORMANCE.md, "The sm90 family"): 8-bit weights from two M blocks on, 4-bit ones from three
// (with two, 4-bit ones ran 5-21% slower on an H200; with three, M = 48, 5-11% faster on the four large shapes
// on an H100: docs/tuning/h100_20261207_sm90_*.md), and only on problems with several M chunks or whose
// 256-wide tiles give every multiprocessor kMinMultiBlockShare K steps (4096 x 4096 at M = 64 ran 8% slower).
bool sm90_first(const marlin_gemm_args& a, int thread_m_blocks, int m_chunks, const DeviceLimits& limits) {
  if (a.n % 256 != 0 || (!is_8bit_weight(a.b_type) && thread_m_blocks < 3)) return false;
  const int64_t steps = static_cast<int64_t>(a.n / 256) * (a.k / 64);
  return m_chunks >= 2 || steps >= static_cast<int64_t>(kMinMultiBlockShare) * limits.sm_count;
}

// 8-bit activations: INT4 weights with f16/bf16 outputs and scales of the output type, or (FP8 only) MXFP4 with
// bf16 output; per-row activation scales only with them.
std::string a8_activations_error(const marlin_gemm_args& a) {
  std::ostringstream e;
  const bool fp8 = a.a_type == MARLIN_TYPE_FE4M3FN;
  const char* name = fp8 ? "FP8 activations" : "INT8 activations";
  if (!is_8bit_activation(a.a_type)) {
    if (a.a_scales != nullptr) {
      e << "a_scales is for 8-bit activations (a_type MARLIN_TYPE_FE4M3FN or MARLIN_TYPE_S8) only; pass NULL";
    }
  } else if (a.b_type != MARLIN_TYPE_U4 && a.b_type != MARLIN_TYPE_U4B8 && !(fp8 && a.b_type == MARLIN_TYPE_FE2M1F)) {
    e << name << " take b_type MARLIN_TYPE_U4, MARLIN_TYPE_U4B8" << (fp8 ? " or MARLIN_TYPE_FE2M1F (MXFP4)" : "")
      << ", got b_type " << a.b_type;
  } else if (!is_16bit_float(a.c_type)) {
    e << "c_type " << a.c_type << " is not allowed with " << name << "; allowed: MARLIN_TYPE_FLOAT16, "
      << "MARLIN_TYPE_BFLOAT16";
  } else if (a.b_type == MARLIN_TYPE_FE2M1F &&
             (a.s_type != MARLIN_TYPE_FE8M0FNU || a.c_type != MARLIN_TYPE_BFLOAT16)) {
    e << "FP4 weights with FP8 activations are MXFP4 only: s_type MARLIN_TYPE_FE8M0FNU and c_type "
      << "MARLIN_TYPE_BFLOAT16, got s_type " << a.s_type << " and c_type " << a.c_type;
  } else if (a.b_type != MARLIN_TYPE_FE2M1F && a.s_type != a.c_type) {
    e << "s_type " << a.s_type << " must equal c_type " << a.c_type << " with " << name;
  } else if (a.perm != nullptr) {
    e << "act-order (perm) is not available with " << name;
  } else if (a.a_scales != nullptr && !aligned(a.a_scales, 4)) {
    e << "a_scales must be a 4-byte aligned device pointer of m fp32 values, or NULL";
  }
  return e.str();
}

std::string act_order_error(const marlin_gemm_args& a) {
  std::ostringstream e;
  if (a.perm == nullptr) {
    if (a.g_idx_sorted != nullptr || a.a_perm != nullptr)
      e << "g_idx_sorted and a_perm are for act-order only and must be NULL when perm is NULL";
  } else if (a.b_type != MARLIN_TYPE_U4B8 && a.b_type != MARLIN_TYPE_U8B128) {
    e << "perm (act-order) is for b_type MARLIN_TYPE_U4B8 or MARLIN_TYPE_U8B128 only, got b_type " << a.b_type;
  } else if (a.group_size == -1) {
    e << "act-order (perm) needs group_size 32, 64 or 128, got -1 (channelwise)";
  } else if (!aligned(a.perm, 4)) {
    e << "perm must be a 4-byte aligned device pointer";
  } else if (!a.is_k_full && (a.g_idx_sorted == nullptr || !aligned(a.g_idx_sorted, 16))) {
    e << "g_idx_sorted must be a non-null, 16-byte aligned device pointer when is_k_full is 0";
  } else if (a.a_perm == nullptr || !aligned(a.a_perm, 16)) {
    e << "a_perm must be a non-null, 16-byte aligned device pointer of m * k elements with act-order";
  } else if (a.a_perm == a.a) {
    e << "a_perm must not be a (the permutation is out of place)";
  }
  return e.str();
}

std::string key_text(const KernelKey& k) {
  std::ostringstream os;
  os << "a=" << type_name(k.a_type) << " b=" << type_name(k.b_type) << " c=" << type_name(k.c_type)
     << " s=" << type_name(k.s_type) << " threads=" << k.threads << " thread_m_blocks=" << k.thread_m_blocks
     << (k.m_block_size_8 ? " (8-row)" : "") << " thread_n_blocks=" << k.thread_n_blocks
     << " thread_k_blocks=" << k.thread_k_blocks << " group_blocks=" << k.group_blocks;
  return os.str();
}

}  // namespace

int max_blocks_per_sm(const KernelKey& key) {
  const int rows = key.m_block_size_8 ? 8 : 16 * key.thread_m_blocks;
  return kMaxBlocksPerSm / slot_units(rows, 16 * key.thread_n_blocks);
}

int blocks_per_sm(const KernelKey& key, int occupancy, int forced) {
  // 8-bit weights with one M block (M <= 16) are bound by reading the weights and do little math per byte: one
  // block per multiprocessor gives each block a stream-K share twice as long (half the split tiles, pipeline
  // fills and partial sums) and measured 1-10% faster at M = 1 and 16 on five of six shapes on an H200
  // (docs/tuning/h200_u8b128_f16.md) and up to 7% on an H100, where with this rule the launcher is within 1% of
  // the best forced variant at M 1..16 (docs/tuning/h100_20261207_u8b128_f16_m1_16.md). 4-bit ones, with twice
  // the math per byte, gain from the second block.
  const bool weight_bound =
      key.thread_m_blocks == 1 && is_8bit_weight(static_cast<marlin_scalar_type>(key.b_type));
  const int wanted = forced > 0 ? forced : weight_bound ? 1 : kMaxBlocksPerSm;
  return std::max(1, std::min({occupancy, wanted, max_blocks_per_sm(key)}));
}

void split_work(int blocks, LaunchPlan* plan) {
  WorkSplit& s = plan->split;
  blocks = std::max(1, blocks);
  const int tiles = s.m_chunks * s.n_tiles;
  // With two or more M blocks every split tile moves rows x columns fp32 partial sums through the workspace; a
  // share of fewer than kMinMultiBlockShare K steps costs more in that reduction than the extra blocks gain
  // (docs/tuning/h200_u4b8_f16_61f2bc3.md: 4096 x 4096 at M = 32..64 runs 7-15% faster on half the blocks).
  // Small batches have shares of at least kMinShare steps, twice the pipeline's depth: shorter ones never fill
  // the pipeline, and 4096 x 4096 at M = 16 ran 15% faster on half the blocks (docs/tuning/
  // h200_u4b8_f16_tiles_first.md); they are bound by reading the weights, and their partial sums are 8 or 16
  // rows.
  const int min_share = plan->key.thread_m_blocks >= 2 ? kMinMultiBlockShare : kMinShare;
  // Whole tiles while every block gets one; stream-K shares only for the tiles left over, so that at most those
  // are split.
  s.dp_tiles = tiles >= blocks ? tiles / blocks * blocks : 0;
  // A last wave of whole tiles that leaves at most 1/16 of the blocks idle beats splitting all of its tiles: 128
  // tiles of 128 x 256 on 132 SMs, each split in two with 128 KB of partial sums written and read back per piece,
  // ran 13-27% slower on an H100 (docs/PERFORMANCE.md). The leftover tiles are taken whole too.
  const int leftover = tiles - s.dp_tiles;
  if (leftover > 0 && leftover * kFullWaveDiv >= blocks * (kFullWaveDiv - 1)) {
    s.dp_tiles = tiles;
    s.sk_share = 0;
    s.grid = std::min(blocks, tiles);
    return;
  }
  const int sk_steps = (tiles - s.dp_tiles) * s.k_iters;
  if (sk_steps == 0) {
    s.sk_share = 0;
    s.grid = blocks;
    return;
  }
  s.sk_share = std::min(std::max((sk_steps + blocks - 1) / blocks, min_share), sk_steps);
  // Shares that split each tile into p equal pieces, where that costs at most 5% (1 / kEqualPiecesDiv) more steps
  // per block: every block then runs one unit (one pipeline fill, one piece of partial sums) instead of the tail of
  // one tile and the head of the next. 64 tiles of 128 K steps for 132 SMs: 128 blocks of 64 steps instead of 131
  // of 63; on an H100 the 21 of 60 sm90 cells whose plan this changed ran 1.06-1.18x faster (docs/PERFORMANCE.md).
  const int pieces = s.k_iters / s.sk_share;
  if (pieces >= 2 && s.k_iters % pieces == 0 &&
      s.k_iters / pieces * kEqualPiecesDiv <= s.sk_share * (kEqualPiecesDiv + 1))
    s.sk_share = s.k_iters / pieces;
  const int sk_blocks = (sk_steps + s.sk_share - 1) / s.sk_share;
  s.grid = s.dp_tiles > 0 ? blocks : sk_blocks;
}

const char* type_name(ScalarTypeId t) {
  switch (t) {
    case ScalarTypeId::kFloat16: return "float16";
    case ScalarTypeId::kBFloat16: return "bfloat16";
    case ScalarTypeId::kS8: return "s8";
    case ScalarTypeId::kFE4M3fn: return "fe4m3fn";
    case ScalarTypeId::kU4: return "u4";
    case ScalarTypeId::kU4B8: return "u4b8";
    case ScalarTypeId::kU8B128: return "u8b128";
    case ScalarTypeId::kFE2M1f: return "fe2m1f";
    case ScalarTypeId::kFE8M0fnu: return "fe8m0fnu";
  }
  return "unknown";
}

std::string plan_text(const LaunchPlan& plan, int blocks_per_sm) {
  const KernelKey& k = plan.key;
  const WorkSplit& s = plan.split;
  // The family whose kernel this is: the sm90 family's wgmma kernels, the 2-stage Turing ones, the FP8-activation
  // ones of sm89, else the sm80 family's.
  const char* family = k.wgmma                                 ? "sm90"
                       : k.stages == kTuringStages             ? "sm75"
                       : k.a_type == ScalarTypeId::kFE4M3fn    ? "sm89"
                                                               : "sm80";
  std::ostringstream os;
  os << "family=" << family << " a=" << type_name(k.a_type) << " b=" << type_name(k.b_type)
     << " c=" << type_name(k.c_type) << " s=" << type_name(k.s_type) << " threads=" << k.threads
     << " thread_m_blocks=" << k.thread_m_blocks << " thread_n_blocks=" << k.thread_n_blocks
     << " thread_k_blocks=" << k.thread_k_blocks << " m_block_size_8=" << (k.m_block_size_8 ? 1 : 0)
     << " stages=" << k.stages << " group_blocks=" << k.group_blocks << " smem_bytes=" << plan.smem_bytes
     << " blocks_per_sm=" << blocks_per_sm << " grid=" << s.grid << " m_chunks=" << s.m_chunks
     << " n_tiles=" << s.n_tiles << " k_iters=" << s.k_iters << " dp_tiles=" << s.dp_tiles
     << " sk_share=" << s.sk_share;
  return os.str();
}

size_t partials_bytes_for(int sm_count) {
  const size_t blocks = sm_count > 0 ? static_cast<size_t>(sm_count) * kMaxBlocksPerSm : 0;
  return 2 * blocks * kSlotFloats * sizeof(float);
}

size_t workspace_bytes_for(int sm_count) {
  const size_t blocks = sm_count > 0 ? static_cast<size_t>(sm_count) * kMaxBlocksPerSm : 0;
  return partials_bytes_for(sm_count) + ((blocks * sizeof(int) + 15) / 16) * 16;
}

std::string validate_gemm_args(const marlin_gemm_args& a) {
  std::ostringstream e;
  if (a.b_type != MARLIN_TYPE_U4 && a.b_type != MARLIN_TYPE_U4B8 && a.b_type != MARLIN_TYPE_U8B128 &&
      a.b_type != MARLIN_TYPE_FE4M3FN && a.b_type != MARLIN_TYPE_FE2M1F) {
    e << "b_type " << a.b_type << " is not supported by this library; allowed: MARLIN_TYPE_U4 (AWQ-INT4), "
      << "MARLIN_TYPE_U4B8 (GPTQ-INT4), MARLIN_TYPE_U8B128 (GPTQ-INT8), MARLIN_TYPE_FE4M3FN (FP8), "
      << "MARLIN_TYPE_FE2M1F (NVFP4, MXFP4)";
  } else if (!is_16bit_float(a.a_type) && !is_8bit_activation(a.a_type)) {
    e << "a_type " << a.a_type << " is not supported; allowed: MARLIN_TYPE_FLOAT16, MARLIN_TYPE_BFLOAT16, "
      << "MARLIN_TYPE_FE4M3FN (FP8 activations), MARLIN_TYPE_S8 (INT8 activations)";
  } else if (!a8_activations_error(a).empty()) {
    e << a8_activations_error(a);
  } else if (!is_8bit_activation(a.a_type) && a.c_type != a.a_type) {
    e << "c_type " << a.c_type << " must equal a_type " << a.a_type;
  } else if (!scale_type_error(a).empty()) {
    e << scale_type_error(a);
  } else if (a.m < 1) {
    e << "m must be >= 1, got " << a.m;
  } else if (a.n < 1 || a.k < 1) {
    e << "n and k must be >= 1, got n=" << a.n << " k=" << a.k;
  } else if (a.m > kIntMax || a.n > kIntMax || a.k > kIntMax) {
    e << "m, n and k must be < 2^31, got m=" << a.m << " n=" << a.n << " k=" << a.k;
  } else if (a.k % 64 != 0) {
    e << "k must be a multiple of 64, got " << a.k;
  } else if (a.n % 64 != 0) {
    e << "n must be a multiple of 64, got " << a.n;
  } else if (a.k % 128 != 0 && a.n % 128 != 0) {
    e << "k or n must be a multiple of 128 (no thread config tiles k=" << a.k << ", n=" << a.n << ")";
  } else if (!group_allowed(a)) {
    e << "group_size must be " << allowed_groups(a) << " for b_type " << type_name(static_cast<ScalarTypeId>(a.b_type))
      << ", got " << a.group_size;
  } else if (a.group_size > 0 && a.k % a.group_size != 0 && !(a.perm != nullptr && !a.is_k_full)) {
    e << "group_size " << a.group_size << " must divide k=" << a.k;
  } else if (a.lda != 0 && (a.lda < a.k || a.lda % (16 / a_bytes(a)) != 0 || a.lda > kIntMax)) {
    e << "lda must be >= k and a multiple of " << 16 / a_bytes(a) << " (16-byte rows), got " << a.lda;
  } else if (a.ldc != 0 && (a.ldc < a.n || a.ldc % 2 != 0 || a.ldc > kIntMax)) {
    e << "ldc must be >= n and even, got " << a.ldc;
  } else if (a.a == nullptr || !aligned(a.a, 16)) {
    e << "a must be a non-null, 16-byte aligned device pointer";
  } else if (a.b_q == nullptr || !aligned(a.b_q, 16)) {
    e << "b_q must be a non-null, 16-byte aligned device pointer";
  } else if (a.scales == nullptr || !aligned(a.scales, 16)) {
    e << "scales must be a non-null, 16-byte aligned device pointer";
  } else if (a.b_type == MARLIN_TYPE_U4 && (a.zeros == nullptr || !aligned(a.zeros, 16))) {
    e << "zeros must be a non-null, 16-byte aligned device pointer for b_type MARLIN_TYPE_U4 (AWQ)";
  } else if (a.b_type != MARLIN_TYPE_U4 && a.zeros != nullptr) {
    e << "zeros must be NULL for b_type " << a.b_type << " (only MARLIN_TYPE_U4 has zero points)";
  } else if (a.c == nullptr || !aligned(a.c, 4)) {
    e << "c must be a non-null, 4-byte aligned device pointer";
  } else if (a.workspace == nullptr || !aligned(a.workspace, 16)) {
    e << "workspace must be a non-null, 16-byte aligned device pointer";
  } else if (a.sm_count < 0) {
    e << "sm_count must be >= 0 (0 = all multiprocessors), got " << a.sm_count;
  } else if (a.bias != nullptr && !aligned(a.bias, 2)) {
    e << "bias must be a 2-byte aligned device pointer of n elements of c_type, or NULL";
  } else if (a.global_scale != nullptr && !(a.b_type == MARLIN_TYPE_FE2M1F && a.s_type == MARLIN_TYPE_FE4M3FN)) {
    e << "global_scale is for NVFP4 only (b_type MARLIN_TYPE_FE2M1F, s_type MARLIN_TYPE_FE4M3FN); pass NULL";
  } else if (a.global_scale != nullptr && !aligned(a.global_scale, 4)) {
    e << "global_scale must be a 4-byte aligned device pointer";
  } else if (!act_order_error(a).empty()) {
    e << act_order_error(a);
  } else if ((a.force_thread_k != 0 || a.force_thread_n != 0) && forced_config(a) == nullptr) {
    e << "force_thread_k, force_thread_n = (" << a.force_thread_k << ", " << a.force_thread_n
      << ") is not a thread config; allowed: (0, 0) for the launcher's choice, (128, 128), (64, 256), (64, 128), "
      << "(128, 64)";
  } else if (a.force_blocks_per_sm < 0 || a.force_blocks_per_sm > kMaxBlocksPerSm) {
    e << "force_blocks_per_sm must be 0 (the launcher's choice), 1 or " << kMaxBlocksPerSm << ", got "
      << a.force_blocks_per_sm;
  }
  return e.str();
}

marlin_status plan_gemm(const marlin_gemm_args& a, const DeviceLimits& limits,
                        const std::function<bool(const KernelKey&)>& is_built, LaunchPlan* plan, std::string* err) {
  const auto act = static_cast<ScalarTypeId>(a.a_type);
  const auto out = static_cast<ScalarTypeId>(a.c_type);
  const auto wt = static_cast<ScalarTypeId>(a.b_type);
  const bool m8 = a.m <= 8 && !is_8bit_activation(a.a_type);  // 8-bit activations have no 8-row block
  const int tmb16 = m8 ? 1 : static_cast<int>(a.m >= 64 ? 4 : (a.m + 15) / 16);
  // Act-order over a whole layer has groups of group_size consecutive rows once sorted, as plain groups do;
  // only a K shard needs the per-row group lookup of group_blocks 0.
  const bool per_row_groups = a.perm != nullptr && !a.is_k_full;
  const int group_blocks = per_row_groups ? 0 : a.group_size > 0 ? static_cast<int>(a.group_size / 16) : -1;
  const auto st = static_cast<ScalarTypeId>(a.s_type);

  const size_t needed = workspace_bytes_for(limits.sm_count);
  if (a.workspace_bytes < needed) {
    std::ostringstream e;
    e << "workspace_bytes " << a.workspace_bytes << " is too small: " << limits.sm_count
      << " multiprocessors need " << needed << " (marlin_workspace_bytes)";
    *err = e.str();
    return MARLIN_ERR_INVALID_ARGUMENT;
  }

  bool shape_fits = false;
  KernelKey missing{};
  const ThreadConfig* forced = forced_config(a);
  const bool sm90_config_ok = forced == nullptr || is_sm90_config(*forced);
  auto sm90_key_for = [&](int thread_m_blocks) {
    return KernelKey{act, wt, out, st, kSm90Config.threads, thread_m_blocks, kSm90Config.thread_n / 16,
                     kSm90Config.thread_k / 16, m8, kStages, group_blocks, false, true};
  };
  // Above 64 tokens, the sm90 family's 128-token tile where it runs, is built and goes first (or (64, 256) is
  // forced): each weight is read and dequantized once per 128 tokens instead of once per 64.
  const int m_chunks128 = static_cast<int>((a.m + 127) / 128);
  const bool tile128 = a.m > 64 && sm90_config_ok && sm90_runs(a, 8, m8, limits) && is_built(sm90_key_for(8)) &&
                       (forced != nullptr || sm90_first(a, 8, m_chunks128, limits));
  const int tmb = tile128 ? 8 : tmb16;
  const int rows = m8 ? 8 : 16 * tmb;
  const int m_chunks = static_cast<int>((a.m + rows - 1) / rows);
  // The sm90 family's kernel is tried before the sm80 family's (64, 256, 256) where it runs, is built and goes
  // first, or where that config is forced.
  const bool sm90_wanted = sm90_runs(a, tmb, m8, limits) && is_built(sm90_key_for(tmb)) &&
                           (forced != nullptr || sm90_first(a, tmb, m_chunks, limits));
  const auto& defaults = tmb <= 1 ? kSmallBatchConfigs
                         : (sm90_wanted || wide_n_first(a, tmb, m_chunks, limits.sm_count)) ? kWideNConfigs
                                                                                             : kLargeBatchConfigs;
  const std::vector<ThreadConfig> candidates =
      forced != nullptr ? std::vector<ThreadConfig>{*forced} : std::vector<ThreadConfig>(defaults, defaults + 3);
  const bool turing = limits.compute_capability < 80;
  // 4-stage kernels where cp.async exists, else (or when only they are built) the 2-stage ones.
  const int stage_options[] = {kStages, kTuringStages};
  for (int si = turing ? 1 : 0; si < 2; ++si) {
    const int stages = stage_options[si];
    for (int option = 0; option < 2 * static_cast<int>(candidates.size()); ++option) {
      const ThreadConfig& tc = candidates[option / 2];
      const bool wgmma = option % 2 == 0;  // each config: the sm90 family's kernel, then the others'
      if (wgmma && !(sm90_wanted && stages == kStages && is_sm90_config(tc))) continue;
      if (a.k % tc.thread_k != 0 || a.n % tc.thread_n != 0) continue;
      const KernelKey key{act, wt, out, st, tc.threads, tmb, tc.thread_n / 16, tc.thread_k / 16, m8,
                          stages, group_blocks, false, wgmma};
      const TileShape shape{key.threads, tmb, key.thread_n_blocks, key.thread_k_blocks, m8, stages, group_blocks,
                            wt == ScalarTypeId::kU4, is_8bit_weight(a.b_type) ? 8 : 4, st == out ? 2 : 1,
                            a_bytes(a)};
      if (smem_bytes(shape) > limits.max_smem_per_block) continue;
      if (!shape_fits && !wgmma) {  // (the sm80 family's kernel of the same shape is the one to name)
        missing = key;
        shape_fits = true;
      }
      if (!wgmma && !is_built(key)) continue;  // (the sm90 key's lookup is in sm90_wanted)

      plan->key = key;
      plan->smem_bytes = smem_bytes(shape);
      WorkSplit& split = plan->split;
      split.m_chunks = m_chunks;
      split.n_tiles = static_cast<int>(a.n / tc.thread_n);
      split.k_iters = static_cast<int>(a.k / tc.thread_k);
      const int64_t total = static_cast<int64_t>(split.m_chunks) * split.n_tiles * split.k_iters;
      if (total > kIntMax) {
        *err = "the problem is too large: m_chunks * n_tiles * k_iters must be < 2^31";
        return MARLIN_ERR_INVALID_ARGUMENT;
      }
      split_work(limits.sm_count, plan);
      return MARLIN_OK;
    }
  }

  std::ostringstream e;
  if (!shape_fits) {
    if (forced != nullptr) e << "the forced thread config (" << forced->thread_k << ", " << forced->thread_n << ") ";
    e << (forced != nullptr ? "does not tile or fit" : "no thread config fits") << " m=" << a.m << " n=" << a.n
      << " k=" << a.k << " in " << limits.max_smem_per_block << " bytes of shared memory";
    *err = e.str();
    return MARLIN_ERR_INVALID_ARGUMENT;
  }
  e << "no kernel for " << key_text(missing) << " is built into this library; add its quant config to "
    << "the marlin_library's quant_configs";
  if (turing && out == ScalarTypeId::kBFloat16) e << " (compute capability 7.5 has no bf16 kernels)";
  if (forced != nullptr) e << " (forced config: (128, 128) is built only for m <= 16, (64, 256) only above)";
  *err = e.str();
  return MARLIN_ERR_NOT_BUILT;
}

}  // namespace marlin
