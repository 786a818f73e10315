// Everything one kernel instantiation fixes at compile time, derived once from its template arguments and shared
// by the main loop (mainloop_sm80.cuh) and the epilogue (epilogue.cuh): types, tile and warp layout, pipeline
// shape and the shared-memory layout.
#pragma once

#include <cstdint>
#include <type_traits>

#include "marlin/dequant.cuh"
#include "marlin/tile_config.h"
#include "marlin/types.cuh"

namespace marlin {

// The blocks per multiprocessor that register allocation must leave room for: two 256-thread blocks for one M
// block (at most 128 registers). Uncapped, INT8 kernels took 141 and so ran one block per multiprocessor (ncu,
// docs/PERFORMANCE.md), and 16-bit ones 132 once their fragments were read a step ahead.
constexpr int min_blocks_per_sm(int thread_m_blocks) { return thread_m_blocks == 1 ? 2 : 1; }

// Whether a kernel reads its mma fragments from shared memory one step ahead of its math (the main loop says
// how). On an H200 (docs/PERFORMANCE.md) that is faster with up to three M blocks. With four it pays only where
// the extra registers fit: GPTQ-INT4 (u4b8) with 16-bit activations gained 2-7% on the large shapes once the A
// copies kept one address instead of one per pass; FP4 ran up to 18% slower with it, and zero points, 8-bit
// weights and act-order K shards spill with it (ptxas -v). 8-bit activations spill with it: FP8 ones ran 16%
// slower, and INT8 ones, which once gained from it with group scales, now run 28-40% faster at M = 64 and 128
// without it (docs/PERFORMANCE.md, "Tiles first").
constexpr bool reg_prefetch(bool a8, bool gptq_int4, int thread_m_blocks) {
  return thread_m_blocks <= 3 || (!a8 && gptq_int4);
}

// wgmma_: the sm90 family's kernel (mainloop_sm90.cuh), else mma.sync (mainloop_sm80.cuh).
template <ScalarTypeId a_type_, ScalarTypeId b_type_, ScalarTypeId c_type_, ScalarTypeId s_type_, int threads_,
          int thread_m_blocks_, int thread_n_blocks_, int thread_k_blocks_, bool m_block_size_8_, int stages_,
          int group_blocks_, bool wgmma_ = false>
struct KernelTraits {
  static constexpr ScalarTypeId a_type = a_type_, b_type = b_type_, c_type = c_type_, s_type = s_type_;
  static constexpr int threads = threads_, thread_m_blocks = thread_m_blocks_, thread_n_blocks = thread_n_blocks_;
  static constexpr int thread_k_blocks = thread_k_blocks_, stages = stages_, group_blocks = group_blocks_;
  static constexpr bool m_block_size_8 = m_block_size_8_;

  static constexpr bool kFp4 = b_type == ScalarTypeId::kFE2M1f;
  static constexpr bool kFp8 = b_type == ScalarTypeId::kFE4M3fn;
  static constexpr bool kFp8Act = a_type == ScalarTypeId::kFE4M3fn;  // e4m3 activations: the sm89 family
  static constexpr bool kInt8Act = a_type == ScalarTypeId::kS8;
  static constexpr bool kA8 = kFp8Act || kInt8Act;  // 8-bit activations, with per-row scales

  // Outputs, 16-bit scales, zero points and bias are of c_type (= a_type for 16-bit activations). Weights are
  // dequantized in the activation type, in f16 for e4m3 activations (every INT4 (q - z) and every e2m1 value is
  // exact in f16 and in e4m3, into which it is then converted), or straight to s8 bytes for s8 activations.
  using Half = HalfType<c_type>;
  using scalar_t = typename Half::scalar;
  using pair_t = typename Half::pair;
  static constexpr ScalarTypeId kDqType = kA8 ? ScalarTypeId::kFloat16 : a_type;
  using dq_pair_t = typename HalfType<kDqType>::pair;
  using Dq = std::conditional_t<kInt8Act, Int4ToS8, Dequant4<kDqType>>;
  using a_elem_t = std::conditional_t<kA8, uint8_t, scalar_t>;
  static constexpr int kABytes = kA8 ? 1 : 2;

  static constexpr bool kHasZp = b_type == ScalarTypeId::kU4;
  static constexpr int kBits = b_type == ScalarTypeId::kU8B128 || kFp8 ? 8 : 4;
  static constexpr int kSBytes = s_type == c_type ? 2 : 1;
  static constexpr bool kNvfp4 = kFp4 && s_type == ScalarTypeId::kFE4M3fn;  // has a global fp32 scale
  static constexpr int kTileBytes = 16 * 64 * kBits / 8;  // one 16 x 64 weight tile
  static constexpr TileShape kShape{threads, thread_m_blocks, thread_n_blocks, thread_k_blocks, m_block_size_8,
                                    stages,  group_blocks,    kHasZp,          kBits,           kSBytes,
                                    kABytes};

  // Warps: kWarpsN columns of 64 outputs times kWarpsK slices of the stage's K.
  static constexpr int kWarpsN = warps_n(kShape);
  static constexpr int kWarpsK = warps_k(kShape);
  // The sm90 family's kernels with an even number of M blocks (2, 4 and the 128-token tile's 8): their two
  // warpgroups split the four words of each warp's weights (words 2 wk and 2 wk + 1) instead of the stage's K,
  // so each weight is dequantized once per block while a thread holds 2 words x kRows / 2 accumulators, and no
  // K slices are summed at the end (mainloop_sm90.cuh). Three M blocks keep the K split (their Accum, 3 x 32
  // floats, holds no whole number of words' 2 x 24).
  static constexpr bool kWordSplit = wgmma_ && thread_m_blocks % 2 == 0;
  // 16-deep K slices per warp per stage: a K-split warp's share, or all of them.
  static constexpr int kSubK = kWordSplit ? thread_k_blocks : thread_k_blocks / kWarpsK;

  static constexpr int kRows = a_rows(kShape);  // rows of one M chunk
  static constexpr int kKStep = 16 * thread_k_blocks;
  static constexpr int kTileN = 16 * thread_n_blocks;
  static constexpr int kAChunks = kKStep * kABytes / 16;  // 16-byte chunks per A row in one stage
  static constexpr int kAChunkElems = 16 / kABytes;
  static constexpr int kASwizzle = kAChunks < 8 ? kAChunks - 1 : 7;  // chunk c of row r is at c ^ (r & kASwizzle)
  static constexpr int kAStage = a_stage_bytes(kShape) / kABytes;  // elements
  static constexpr int kBStage = b_stage_bytes(kShape);
  static constexpr int kBRowBytes = thread_n_blocks / 4 * kTileBytes;  // a 16-deep row of the block's weight tiles
  static constexpr bool kGrouped = group_blocks > 0;
  static constexpr bool kRegPrefetch =
      reg_prefetch(kA8, b_type == ScalarTypeId::kU4B8 && group_blocks != 0, thread_m_blocks);
  static constexpr bool kActOrder = group_blocks == 0;
  static constexpr int kGroupSize = 16 * group_blocks;
  static constexpr int kGroupDiv = kGrouped ? kGroupSize : 1;  // a divisor also where there are no groups
  static constexpr int kSRows = scale_rows(kShape);
  static constexpr int kSStage = kSRows * kTileN;  // scales (and zero points) per stage
  static constexpr int kSRowChunks = kTileN * kSBytes / 16;  // 16-byte chunks per scale row

  // acc[mb][j][e]: normally the m16n8 tile (mb, j), element e at row mb*16 + g + 8(e/2), column 8j + 2t + e%2;
  // with m_block_size_8 (operands swapped) tiles j < 4 hold row 2t + e%2, column 16j + g + 8(e/2).
  static constexpr int kAccTiles = m_block_size_8 ? 4 : 8;
  // The sm90 family (code for sm_90a) runs wgmma (mainloop_sm90.cuh), with the accumulator layout given there.
  static constexpr bool kWgmma = wgmma_;
  static_assert(!kWgmma || (!kA8 && !m_block_size_8 && kWarpsN == 4 && kKStep * kABytes == 128),
                "wgmma: 16-bit activations, 16-row M blocks, one warpgroup per K slice of all the block's columns "
                "(256 columns), A stage rows of 128 bytes (64 values: the 128-byte swizzle)");
  static_assert(!kWordSplit || kWarpsK == 2, "the word split: two warpgroups, two words each");
  // A thread's accumulators: thread_m_blocks x 8 x 4 floats, or (word split) its two words' 2 x 64.
  static constexpr int kAccBlocks = kWordSplit ? thread_m_blocks / 2 : thread_m_blocks;
  using Accum = float[kAccBlocks][8][4];

  static_assert(kWarpsN * kWarpsK * 32 == threads && (kWordSplit || kSubK * kWarpsK == thread_k_blocks),
                "bad thread config");
  static_assert((kWarpsK & (kWarpsK - 1)) == 0, "K-split warps reduce pairwise");
  static_assert(!kA8 || kSubK == 2, "8-bit activations: one k32 mma step per warp and stage");
};

// Where a thread sits, for the main loop and the epilogue alike: its warp's column of 64 outputs (wn) and slice of
// the stage's K (wk), and its row or column (g) and pair (t) inside an mma fragment.
template <typename Tr>
struct ThreadLayout {
  int tid, lane, wn, wk, g, t;
  __device__ __forceinline__ ThreadLayout()
      : tid(threadIdx.x),
        lane(tid % 32),
        wn(tid / 32 % Tr::kWarpsN),
        wk(tid / 32 / Tr::kWarpsN),
        g(lane / 4),
        t(lane % 4) {}
};

// Where a block's shared memory holds what: [A stages][B, S, Z, G stages], the B region reused for the K-slice
// reduction once a unit's main loop has drained.
template <typename Tr>
struct SharedStorage {
  typename Tr::a_elem_t* a;
  uint8_t* b;
  uint8_t* s;  // Tr::kSBytes per scale
  typename Tr::scalar_t* z;
  int* g;
  float4* red;

  __device__ __forceinline__ explicit SharedStorage(int4* base) {
    a = reinterpret_cast<typename Tr::a_elem_t*>(base);
    b = reinterpret_cast<uint8_t*>(a + Tr::stages * Tr::kAStage);
    s = b + Tr::stages * Tr::kBStage;
    z = reinterpret_cast<typename Tr::scalar_t*>(s + Tr::stages * Tr::kSStage * Tr::kSBytes);
    g = reinterpret_cast<int*>(z + (Tr::kHasZp ? Tr::stages * Tr::kSStage : 0));
    red = reinterpret_cast<float4*>(b);
  }
};

}  // namespace marlin
