// The Marlin-style mixed-precision GEMM kernel template: C[m, n] = A[m, k] @ dequant(B[k, n]).
//
// Work split. The output is cut into tiles of (rows of one M chunk) x (16 * thread_n_blocks) columns; each tile
// needs k_iters steps of 16 * thread_k_blocks along K. The launcher gives every block a contiguous run of
// iters_per_block steps of the flattened (tile, k step) space ("stream-K"), so every SM gets the same work
// whatever the number of tiles, and a small-M problem with few tiles still keeps every SM busy. A block that
// covers a whole tile writes C directly; partial runs add fp32 partial sums into the tile's workspace slot, and
// the block that completes a tile converts the slot into C and zeroes it again for the next launch.
//
// Inside a block. A multi-stage cp.async pipeline (on Turing: two stages through registers) brings A (swizzled
// rows), the packed weights and the group scales into shared memory. Warps are arranged as warps_n columns of 64
// outputs times warps_k slices of K; each warp dequantizes its 16 x 64 weight tiles (4- or 8-bit, integer or
// float) straight into mma B fragments and runs m16n8k16 tensor-core mma against ldmatrix-loaded A fragments
// (8-bit activations: the weights converted to e4m3 or s8, m16n8k32). The K slices are summed through shared
// memory at the end of each run.
#pragma once

#include <cstdint>
#include <type_traits>

#include "marlin/dequant.cuh"
#include "marlin/kernel_decl.cuh"
#include "marlin/mma.cuh"
#include "marlin/tile_config.h"
#include "marlin/types.cuh"

namespace marlin {

// The blocks per multiprocessor that register allocation must leave room for: two 256-thread blocks for one M
// block (at most 128 registers). Uncapped, INT8 kernels took 141 and so ran one block per multiprocessor (ncu,
// docs/PERFORMANCE.md), and 16-bit ones 132 once their fragments were read a step ahead.
constexpr int min_blocks_per_sm(int thread_m_blocks) { return thread_m_blocks == 1 ? 2 : 1; }

// Whether a kernel reads its mma fragments from shared memory one step ahead of its math (the main loop says
// how). On an H200 (docs/PERFORMANCE.md) that was faster with up to three M blocks; with four, only INT8
// activations with group scales gained (25%), while the other kernels spilled the extra registers and ran slower
// (16-bit: up to 5%, FP8 activations: 16%).
constexpr bool reg_prefetch(bool int8_grouped, int thread_m_blocks) { return thread_m_blocks <= 3 || int8_grouped; }

template <ScalarTypeId a_type, ScalarTypeId b_type, ScalarTypeId c_type, ScalarTypeId s_type, int threads,
          int thread_m_blocks, int thread_n_blocks, int thread_k_blocks, bool m_block_size_8, int stages,
          int group_blocks, bool is_zp_float>
__global__ void __launch_bounds__(threads, min_blocks_per_sm(thread_m_blocks))
    marlin_gemm_kernel(const GemmParams p) {
  constexpr bool kFp4 = b_type == ScalarTypeId::kFE2M1f;
  constexpr bool kFp8 = b_type == ScalarTypeId::kFE4M3fn;
  constexpr bool kFp8Act = a_type == ScalarTypeId::kFE4M3fn;  // e4m3 activations: the sm89 family
  constexpr bool kInt8Act = a_type == ScalarTypeId::kS8;
  constexpr bool kA8 = kFp8Act || kInt8Act;  // 8-bit activations, with per-row scales
  static_assert(a_type == c_type ||
                    (kA8 && (c_type == ScalarTypeId::kFloat16 || c_type == ScalarTypeId::kBFloat16)),
                "16-bit activations and outputs of one type, or 8-bit activations with 16-bit outputs");
  static_assert(!kA8 || ((b_type == ScalarTypeId::kU4 || b_type == ScalarTypeId::kU4B8 || (kFp4 && kFp8Act)) &&
                         !m_block_size_8 && group_blocks != 0),
                "8-bit activations take INT4 (or, e4m3 ones, FP4) weights, 16-row M blocks and no act-order");
  static_assert(s_type == c_type || (kFp4 && (s_type == ScalarTypeId::kFE4M3fn || s_type == ScalarTypeId::kFE8M0fnu)),
                "scales of the output type, or e4m3 (NVFP4) / e8m0 (MXFP4) bytes for FP4 weights");
  static_assert(b_type == ScalarTypeId::kU4 || b_type == ScalarTypeId::kU4B8 || b_type == ScalarTypeId::kU8B128 ||
                    kFp8 || kFp4,
                "4-bit or 8-bit integer or float weights");
  static_assert(!is_zp_float, "float zero points are not implemented");
  static_assert(!m_block_size_8 || thread_m_blocks == 1, "8-row blocks have one M block");
  static_assert(group_blocks != 0 || b_type == ScalarTypeId::kU4B8 || b_type == ScalarTypeId::kU8B128,
                "act-order is for GPTQ weights");

  // Outputs, 16-bit scales, zero points and bias are of c_type (= a_type for 16-bit activations). Weights are
  // dequantized in the activation type, in f16 for e4m3 activations (every INT4 (q - z) and every e2m1 value is
  // exact in f16 and in e4m3, into which it is then converted), or straight to s8 bytes for s8 activations.
  using Traits = HalfType<c_type>;
  using scalar_t = typename Traits::scalar;
  using pair_t = typename Traits::pair;
  constexpr ScalarTypeId kDqType = kA8 ? ScalarTypeId::kFloat16 : a_type;
  using dq_pair_t = typename HalfType<kDqType>::pair;
  using Dq = std::conditional_t<kInt8Act, Int4ToS8, Dequant4<kDqType>>;
  using a_elem_t = std::conditional_t<kA8, uint8_t, scalar_t>;
  constexpr int kABytes = kA8 ? 1 : 2;
  // A zero point (c_type) as Dq::from_zero takes it.
  auto dq_zero = [](scalar_t z) {
    if constexpr (kInt8Act) {
      return Traits::to_float(z);
    } else if constexpr (kFp8Act) {
      return __float2half(Traits::to_float(z));
    } else {
      return z;
    }
  };

  constexpr bool kHasZp = b_type == ScalarTypeId::kU4;
  constexpr int kBits = b_type == ScalarTypeId::kU8B128 || kFp8 ? 8 : 4;
  constexpr int kSBytes = s_type == c_type ? 2 : 1;
  constexpr bool kNvfp4 = kFp4 && s_type == ScalarTypeId::kFE4M3fn;  // has a global fp32 scale
  constexpr int kTileBytes = 16 * 64 * kBits / 8;  // one 16 x 64 weight tile
  constexpr TileShape kShape{threads, thread_m_blocks, thread_n_blocks, thread_k_blocks, m_block_size_8,
                             stages,  group_blocks,    kHasZp,          kBits,           kSBytes,
                             kABytes};
  constexpr int kWarpsN = warps_n(kShape);
  constexpr int kWarpsK = warps_k(kShape);
  constexpr int kSubK = thread_k_blocks / kWarpsK;  // 16-deep K slices per warp per stage
  static_assert(kWarpsN * kWarpsK * 32 == threads && kSubK * kWarpsK == thread_k_blocks, "bad thread config");
  static_assert((kWarpsK & (kWarpsK - 1)) == 0, "K-split warps reduce pairwise");
  static_assert(!kA8 || kSubK == 2, "8-bit activations: one k32 mma step per warp and stage");

  constexpr int kRows = a_rows(kShape);  // rows of one M chunk
  constexpr int kKStep = 16 * thread_k_blocks;
  constexpr int kTileN = 16 * thread_n_blocks;
  constexpr int kAChunks = kKStep * kABytes / 16;  // 16-byte chunks per A row in one stage
  constexpr int kAChunkElems = 16 / kABytes;
  constexpr int kASwizzle = kAChunks < 8 ? kAChunks - 1 : 7;  // chunk c of row r is stored at c ^ (r & kASwizzle)
  constexpr int kAStage = a_stage_bytes(kShape) / kABytes;  // elements
  constexpr int kBStage = b_stage_bytes(kShape);
  constexpr int kBRowBytes = thread_n_blocks / 4 * kTileBytes;  // one 16-deep row of the block's weight tiles
  constexpr bool kGrouped = group_blocks > 0;
  constexpr bool kRegPrefetch = reg_prefetch(kInt8Act && kGrouped, thread_m_blocks);
  constexpr bool kActOrder = group_blocks == 0;
  constexpr int kGroupSize = 16 * group_blocks;
  constexpr int kGroupDiv = kGrouped ? kGroupSize : 1;  // a divisor also where there are no groups
  constexpr int kSRows = scale_rows(kShape);
  constexpr int kSStage = kSRows * kTileN;  // scales (and zero points) per stage
  constexpr int kSRowChunks = kTileN * kSBytes / 16;  // 16-byte chunks per scale row

  extern __shared__ int4 smem[];
  a_elem_t* const sA = reinterpret_cast<a_elem_t*>(smem);
  uint8_t* const sB = reinterpret_cast<uint8_t*>(sA + stages * kAStage);
  uint8_t* const sS = sB + stages * kBStage;  // kSBytes per scale
  scalar_t* const sZ = reinterpret_cast<scalar_t*>(sS + stages * kSStage * kSBytes);
  int* const sG = reinterpret_cast<int*>(sZ + (kHasZp ? stages * kSStage : 0));
  float4* const sRed = reinterpret_cast<float4*>(sB);  // reused once a run's main loop has drained
  __shared__ int s_last;

  const int tid = threadIdx.x;
  const int lane = tid % 32;
  const int warp = tid / 32;
  const int wn = warp % kWarpsN;
  const int wk = warp / kWarpsN;
  const int g = lane / 4;  // row (A, C) / column (B) inside an mma fragment
  const int t = lane % 4;

  const a_elem_t* const A = static_cast<const a_elem_t*>(p.a);
  const uint8_t* const B = static_cast<const uint8_t*>(p.b);
  const uint8_t* const S = static_cast<const uint8_t*>(p.scales);
  const scalar_t* const Z = static_cast<const scalar_t*>(p.zeros);
  scalar_t* const C = static_cast<scalar_t*>(p.c);
  const size_t b_row_bytes = static_cast<size_t>(p.n) * 2 * kBits;  // 16 rows of weights

  const float global_scale = kNvfp4 && p.global_scale != nullptr ? *p.global_scale : 1.f;
  const uint64_t policy = evict_first_policy();
  const int total = p.m_chunks * p.n_tiles * p.k_iters;
  int it = blockIdx.x * p.iters_per_block;
  const int end = min(it + p.iters_per_block, total);

  while (it < end) {
    const int tile = it / p.k_iters;
    const int k_begin = it % p.k_iters;
    const int k_end = min(p.k_iters, k_begin + (end - it));
    it += k_end - k_begin;
    const int row0 = (tile / p.n_tiles) * kRows;
    const int col0 = (tile % p.n_tiles) * kTileN;

    // Each thread copies fixed 16-byte chunks of every stage. Stages are loaded strictly in K order, so the
    // source addresses are set up once per run and then advance by one K step per loaded stage.
    constexpr int kAIters = (kRows * kAChunks + threads - 1) / threads;
    constexpr int kBIters = kBStage / 16 / threads;
    constexpr int kBRowsPerIter = threads / (kBRowBytes / 16);  // B rows one pass of all threads covers
    static_assert(kBStage / 16 % threads == 0, "whole B chunks per thread");
    static_assert(threads % (kBRowBytes / 16) == 0, "B rows split evenly over threads");
    static_assert(kSStage * kSBytes / 16 <= threads, "one scale chunk per thread at most");
    static_assert(kKStep / 4 <= threads, "one group-index chunk per thread at most");
    const a_elem_t* a_next[kAIters];
    int a_dst[kAIters];
    bool a_valid[kAIters];
#pragma unroll
    for (int j = 0; j < kAIters; ++j) {
      const int i = tid + j * threads;
      const int r = i / kAChunks, c = i % kAChunks;
      a_valid[j] = i < kRows * kAChunks && row0 + r < p.m;
      a_next[j] = A + (a_valid[j] ? static_cast<size_t>(row0 + r) * p.lda + k_begin * kKStep + c * kAChunkElems : 0);
      a_dst[j] = r * kKStep + ((c ^ (r & kASwizzle)) * kAChunkElems);
    }
    const size_t b_step = static_cast<size_t>(thread_k_blocks) * b_row_bytes;
    const uint8_t* b_next = B + k_begin * b_step + col0 / 64 * kTileBytes + (tid / (kBRowBytes / 16)) * b_row_bytes +
                            (tid % (kBRowBytes / 16)) * 16;
    int k_next = k_begin;  // K step of the next stage to load
    // This thread's 16-byte chunk of the stage's scale (and zero-point) rows: chunk s_c of row s_r, advanced by
    // whole rows as the stages pass group boundaries (no per-stage 64-bit row arithmetic).
    const int s_r = tid / kSRowChunks, s_c = tid % kSRowChunks;
    const size_t s_first = (static_cast<size_t>(k_begin * kKStep / kGroupDiv + s_r) * p.n + col0) * kSBytes;
    const uint8_t* s_next = S + s_first + s_c * 16;
    const scalar_t* z_next = Z + s_first / kSBytes + s_c * 8;

    // One 16-byte copy of a stage, numbered by its place in load_stage (`slot`, a compile-time constant once
    // unrolled). sm_80+: a cp.async (zero-filled when !valid). Turing: a load into registers, which store_stage
    // writes to shared memory after the current stage's computation.
#if MARLIN_TURING
    static_assert(stages == 2, "the Turing pipeline has two stages: one computed, one in registers");
    constexpr int kSlots = kAIters + kBIters + 3;
    int4 st_val[kSlots];
    uint32_t st_dst[kSlots];
    bool st_write[kSlots];
#pragma unroll
    for (int i = 0; i < kSlots; ++i) st_write[i] = false;
#endif
    auto copy16 = [&](int slot, void* dst, const void* src, bool write, bool valid, bool hint) {
#if MARLIN_TURING
      st_val[slot] = write && valid ? load_global_cg(src) : make_int4(0, 0, 0, 0);
      st_dst[slot] = smem_addr(dst);
      st_write[slot] = write;
#else
      if (write) {
        if (hint) {
          cp_async16_hint(dst, src, policy);
        } else {
          cp_async16(dst, src, valid);
        }
      }
#endif
    };

    auto load_stage = [&](int stage) {
      a_elem_t* dA = sA + stage * kAStage;
#pragma unroll
      for (int j = 0; j < kAIters; ++j) {
        const bool write = j * threads + threads <= kRows * kAChunks || tid + j * threads < kRows * kAChunks;
        copy16(j, dA + a_dst[j], a_next[j], write, a_valid[j], false);
        if (write && a_valid[j]) a_next[j] += kKStep;
      }
      uint8_t* dB = sB + stage * kBStage + tid * 16;
#pragma unroll
      for (int j = 0; j < kBIters; ++j)
        copy16(kAIters + j, dB + j * threads * 16, b_next + static_cast<size_t>(j * kBRowsPerIter) * b_row_bytes,
               true, true, true);
      b_next += b_step;
      constexpr int kSSlot = kAIters + kBIters;
      if constexpr (kGrouped) {
        const bool write = tid < kSStage * kSBytes / 16;
        copy16(kSSlot, sS + (stage * kSStage + s_r * kTileN) * kSBytes + s_c * 16, s_next, write, true, false);
        if constexpr (kHasZp) copy16(kSSlot + 1, sZ + stage * kSStage + tid * 8, z_next, write, true, false);
        // The next stage starts kKStep / kGroupSize rows further, or one row every kGroupSize / kKStep stages.
        constexpr int kRowsPerStage = kGroupSize >= kKStep ? 1 : kKStep / kGroupSize;
        constexpr int kStagesPerRow = kGroupSize >= kKStep ? kGroupSize / kKStep : 1;
        if ((k_next + 1) % kStagesPerRow == 0) {
          s_next += static_cast<size_t>(kRowsPerStage) * p.n * kSBytes;
          if constexpr (kHasZp) z_next += static_cast<size_t>(kRowsPerStage) * p.n;
        }
      }
      if constexpr (kActOrder) {
        copy16(kSSlot + 2, sG + stage * kKStep + tid * 4, p.g_idx + k_next * kKStep + tid * 4, tid < kKStep / 4,
               true, false);
      }
      ++k_next;
    };
#if MARLIN_TURING
    auto store_stage = [&]() {
#pragma unroll
      for (int i = 0; i < kSlots; ++i)
        if (st_write[i]) store_shared16(st_dst[i], st_val[i]);
    };
#endif

    // Channelwise zero points do not change along K: load this thread's eight once per run.
    typename Dq::Offset cw_off[8];
    if constexpr (kHasZp && !kGrouped) {
      const int4 zv = *reinterpret_cast<const int4*>(Z + col0 + wn * 64 + g * 8);
      const scalar_t* z = reinterpret_cast<const scalar_t*>(&zv);
#pragma unroll
      for (int j = 0; j < 8; ++j) cw_off[j] = Dq::from_zero(dq_zero(z[j]));
    }
    // The zero-point offset of column 8j + g (INT4 weights): GPTQ's fixed 8, the run's channelwise zero points, or
    // the stage's grouped ones, from `zraw`: this thread's eight as loaded from shared memory.
    auto offset_of = [&](const int4& zraw, int j) {
      if constexpr (b_type == ScalarTypeId::kU4B8) {
        return Dq::bias8();
      } else if constexpr (kGrouped) {
        return Dq::from_zero(dq_zero(reinterpret_cast<const scalar_t*>(&zraw)[j]));
      } else {
        return cw_off[j];
      }
    };
    // Where a stage's scales (and zero points) for 16-row block kb and this warp's 64 columns start: one row per
    // stage for groups of a stage or more, else the row of kb's group.
    auto scale_base = [&](int stage, int kb) {
      return stage * kSStage + (kGroupSize >= kKStep ? 0 : kb * 16 / kGroupDiv) * kTileN + wn * 64;
    };

    // acc[mb][j][e]: normally the m16n8 tile (mb, j), element e at row mb*16 + g + 8(e/2), column 8j + 2t + e%2;
    // with m_block_size_8 (operands swapped) tiles j < 4 hold row 2t + e%2, column 16j + g + 8(e/2).
    constexpr int kAccTiles = m_block_size_8 ? 4 : 8;
    float acc[thread_m_blocks][8][4];
#pragma unroll
    for (int mb = 0; mb < thread_m_blocks; ++mb)
#pragma unroll
      for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[mb][j][e] = 0.f;

    // 8-bit activations: the warp's 32 K rows of the stage are one m16n8k32 step. The 4-bit weights come in the
    // 8-bit-activation row order (docs/FORMATS.md), so that values v0..v3 of a word are rows 4t..4t+3 of their
    // 16-row block: converted to e4m3 or s8 they are the B fragment as it is. Group scales (groups of 32 rows or
    // more, so one per step) multiply each step's fp32 (s8: int32) result; channelwise ones the final sums, which
    // s8 runs keep as exact int32 until the main loop ends.
    struct FragA8 {
      uint32_t q[2][4];  // this lane's weight words of the warp's two 16-row blocks
      uint32_t a[thread_m_blocks][4];
      // Zero points of columns 8j + g (B fragments), and (grouped) scales of the accumulator columns 8j + 2t + e,
      // stored at 16t + 8e + j of the warp's 64: kept as loaded and converted when used (fewer live registers).
      int4 zraw;
      int4 sraw[2];
    };
    auto fetch_a8 = [&](FragA8& f, int stage) {
      if constexpr (kA8) {
        const uint8_t* cA = reinterpret_cast<const uint8_t*>(sA + stage * kAStage);
        const uint8_t* cB = sB + stage * kBStage;
        const int kb = wk * 2;  // first of the warp's two 16-row blocks
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int4 v = *reinterpret_cast<const int4*>(cB + ((kb + h) * kWarpsN + wn) * kTileBytes + lane * 16);
          f.q[h][0] = v.x;
          f.q[h][1] = v.y;
          f.q[h][2] = v.z;
          f.q[h][3] = v.w;
        }
#pragma unroll
        for (int mb = 0; mb < thread_m_blocks; ++mb) {
          const int r = mb * 16 + lane % 16, c = kb + lane / 16;
          ldmatrix_x4(f.a[mb], cA + r * kKStep + ((c ^ (r & kASwizzle)) * 16));
        }
        f.zraw = make_int4(0, 0, 0, 0);
        f.sraw[0] = f.sraw[1] = f.zraw;
        if constexpr (kGrouped) {
          const int base = scale_base(stage, kb);
#pragma unroll
          for (int e = 0; e < kSBytes; ++e)
            f.sraw[e] = *reinterpret_cast<const int4*>(sS + (base + 16 * t) * kSBytes + 16 * e);
          if constexpr (kHasZp) f.zraw = *reinterpret_cast<const int4*>(sZ + base + g * 8);
        }
      }
    };
    auto math_a8 = [&](const FragA8& f) {
      if constexpr (kA8) {
        const auto& q = f.q;
        const auto& a = f.a;
        const int4& zraw = f.zraw;
        const auto& sraw = f.sraw;
        // The scale of accumulator column 8j + 2t + e. e8m0: 2^(E - 127) is the fp32 with exponent field E (E = 0
        // gives 0).
        auto scale_of = [&](int e, int j) {
          if constexpr (kSBytes == 2) {
            return Traits::to_float(reinterpret_cast<const scalar_t*>(&sraw[e])[j]);
          } else {
            return __uint_as_float(static_cast<uint32_t>(reinterpret_cast<const uint8_t*>(&sraw[0])[8 * e + j]) << 23);
          }
        };
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          uint32_t b[2][2];  // [column tile 2i + c][16-row block h]
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            if constexpr (kInt8Act) {
              uint32_t s8[2];
              Dq::run(q[h][i], offset_of(zraw, 2 * i), offset_of(zraw, 2 * i + 1), s8);
              b[0][h] = s8[0];
              b[1][h] = s8[1];
            } else {
              dq_pair_t w[4];
              if constexpr (kFp4) {
                DequantFp4<ScalarTypeId::kFloat16>::run(q[h][i], w);
              } else {
                Dq::run(q[h][i], offset_of(zraw, 2 * i), offset_of(zraw, 2 * i + 1), w);
              }
              b[0][h] = to_e4m3x2(as_u32(w[0])) | (to_e4m3x2(as_u32(w[1])) << 16);
              b[1][h] = to_e4m3x2(as_u32(w[2])) | (to_e4m3x2(as_u32(w[3])) << 16);
            }
          }
#pragma unroll
          for (int c = 0; c < 2; ++c) {
            const int j = 2 * i + c;
#pragma unroll
            for (int mb = 0; mb < thread_m_blocks; ++mb) {
              if constexpr (kInt8Act && kGrouped) {
                mma_m16n8k32_s8_scaled(a[mb], b[c], scale_of(0, j), scale_of(1, j), acc[mb][j]);
              } else if constexpr (kInt8Act) {
                mma_m16n8k32_s8(a[mb], b[c], acc[mb][j]);
              } else if constexpr (kGrouped) {
                mma_m16n8k32_e4m3_scaled(a[mb], b[c], scale_of(0, j), scale_of(1, j), acc[mb][j]);
              } else {
                mma_m16n8k32_e4m3(a[mb], b[c], acc[mb][j], acc[mb][j]);
              }
            }
          }
        }
      }
    };

    // One warp step of the 16-bit path (a 16-deep K slice), as loaded from shared memory.
    struct Frag16 {
      int4 bq[kBits / 4];  // this lane's words of the warp's 16 x 64 weight tile: 4 (4-bit) or 8 (8-bit)
      uint32_t a[thread_m_blocks][4];
      int4 sv;  // grouped: the raw scales of columns 8j + g
      int4 zv;  // grouped INT4 with zero points: the raw zero points of columns 8j + g
      int2 gi[2];  // act-order: the group indices of rows (2t, 2t+1) and (2t+8, 2t+9)
    };
    auto fetch16 = [&](Frag16& f, int stage, int s) {
      const a_elem_t* cA = sA + stage * kAStage;
      const uint8_t* cB = sB + stage * kBStage;
      const int kb = wk * kSubK + s;
#pragma unroll
      for (int v = 0; v < kBits / 4; ++v)
        f.bq[v] = *reinterpret_cast<const int4*>(cB + (kb * kWarpsN + wn) * kTileBytes + lane * 4 * kBits + v * 16);
      if constexpr (m_block_size_8) {
        const int r = lane % 8, c = kb * 2 + (lane / 8) % 2;
        ldmatrix_x2(f.a[0][0], f.a[0][2], cA + r * kKStep + ((c ^ r) * 8));
        f.a[0][1] = f.a[0][3] = 0;
      } else {
#pragma unroll
        for (int mb = 0; mb < thread_m_blocks; ++mb) {
          const int r = mb * 16 + lane % 16, c = kb * 2 + lane / 16;
          ldmatrix_x4(f.a[mb], cA + r * kKStep + ((c ^ (r & 7)) * 8));
        }
      }
      f.sv = f.zv = make_int4(0, 0, 0, 0);
      if constexpr (kGrouped) {
        const int idx = scale_base(stage, kb) + g * 8;
        if constexpr (kSBytes == 2) {
          f.sv = *reinterpret_cast<const int4*>(sS + idx * 2);
        } else {
          const int2 v = *reinterpret_cast<const int2*>(sS + idx);
          f.sv = make_int4(v.x, v.y, 0, 0);
        }
        if constexpr (kHasZp) f.zv = *reinterpret_cast<const int4*>(sZ + idx);
      }
      if constexpr (kActOrder) {
#pragma unroll
        for (int h = 0; h < 2; ++h)
          f.gi[h] = *reinterpret_cast<const int2*>(sG + stage * kKStep + kb * 16 + 2 * t + 8 * h);
      }
    };
    auto math16 = [&](const Frag16& f) {
      if constexpr (!kA8) {
        const auto& a = f.a;
        const int4& zv = f.zv;
        // Per n8 column tile j: the zero-point offset and (grouped) the scale of column 8j + g.
        scalar_t sc[8];
        if constexpr (kGrouped) ScaleCvt<s_type, a_type>::run(f.sv, sc);
        typename Dq::Offset off[8];  // INT4 weights
        if constexpr (kHasZp && kGrouped) {  // two columns' zero points at a time
#pragma unroll
          for (int j = 0; j < 8; j += 2)
            Dq::from_zero_pair(reinterpret_cast<const pair_t*>(&zv)[j / 2], off[j], off[j + 1]);
        } else {
#pragma unroll
          for (int j = 0; j < 8; ++j) {
            if constexpr (kBits == 4 && !kFp4) off[j] = offset_of(zv, j);
          }
        }
        // Act-order: rows 2t, 2t+1, 2t+8, 2t+9 of this 16-row slice may each belong to another group; their
        // scale rows (this thread's eight columns each) come through L1.
        pair_t rs[2][8];  // [rows (2t, 2t+1) or (2t+8, 2t+9)][column tile]
        if constexpr (kActOrder) {
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const int2 gi = f.gi[h];
            const size_t col = col0 + wn * 64 + g * 8;
            const int4 s0 = __ldg(reinterpret_cast<const int4*>(S) + (static_cast<size_t>(gi.x) * p.n + col) / 8);
            const int4 s1 = __ldg(reinterpret_cast<const int4*>(S) + (static_cast<size_t>(gi.y) * p.n + col) / 8);
#pragma unroll
            for (int j = 0; j < 8; ++j) {
              rs[h][j].x = reinterpret_cast<const scalar_t*>(&s0)[j];
              rs[h][j].y = reinterpret_cast<const scalar_t*>(&s1)[j];
            }
          }
        }
        const uint32_t* q = reinterpret_cast<const uint32_t*>(f.bq);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          // Column tiles 2i and 2i + 1: (k 2t, 2t+1) and (k 2t+8, 2t+9) pairs of each.
          dq_pair_t w[4];
          if constexpr (kFp4) {
            DequantFp4<a_type>::run(q[i], w);
          } else if constexpr (kFp8) {
            DequantFp8<a_type>::run(q[2 * i], w[0], w[1]);
            DequantFp8<a_type>::run(q[2 * i + 1], w[2], w[3]);
          } else if constexpr (kBits == 4) {
            Dq::run(q[i], off[2 * i], off[2 * i + 1], w);
          } else {
            Dequant8<a_type>::run(q[2 * i], w[0], w[1]);
            Dequant8<a_type>::run(q[2 * i + 1], w[2], w[3]);
          }
          if constexpr (kActOrder) {
            w[0] = __hmul2(w[0], rs[0][2 * i]);
            w[1] = __hmul2(w[1], rs[1][2 * i]);
            w[2] = __hmul2(w[2], rs[0][2 * i + 1]);
            w[3] = __hmul2(w[3], rs[1][2 * i + 1]);
          } else if constexpr (kGrouped) {
            const pair_t s0 = Traits::splat(sc[2 * i]), s1 = Traits::splat(sc[2 * i + 1]);
            w[0] = __hmul2(w[0], s0);
            w[1] = __hmul2(w[1], s0);
            w[2] = __hmul2(w[2], s1);
            w[3] = __hmul2(w[3], s1);
          }
          const uint32_t b0[2] = {as_u32(w[0]), as_u32(w[1])};
          const uint32_t b1[2] = {as_u32(w[2]), as_u32(w[3])};
          if constexpr (m_block_size_8) {
            // Operands swapped: the 16 weight columns of word i are the mma's rows and the 8 activation rows
            // its columns, so one mma covers what two would with 8 of 16 A rows wasted.
            const uint32_t wa[4] = {b0[0], b1[0], b0[1], b1[1]};
            const uint32_t xb[2] = {a[0][0], a[0][2]};
            mma_m16n8k16<a_type>(wa, xb, acc[0][i]);
          } else {
#pragma unroll
            for (int mb = 0; mb < thread_m_blocks; ++mb) {
              mma_m16n8k16<a_type>(a[mb], b0, acc[mb][2 * i]);
              mma_m16n8k16<a_type>(a[mb], b1, acc[mb][2 * i + 1]);
            }
          }
        }
      }
    };

    using Frag = std::conditional_t<kA8, FragA8, Frag16>;
    // A stage's fragments read and used at once.
    auto compute_stage = [&](int stage) {
      Frag f;
      if constexpr (kA8) {
        fetch_a8(f, stage);
        math_a8(f);
      } else {
#pragma unroll
        for (int sub = 0; sub < kSubK; ++sub) {
          fetch16(f, stage, sub);
          math16(f);
        }
      }
    };
#if MARLIN_TURING
    // Pipeline: the next stage's loads are in flight in registers while the current stage is computed.
    if (k_begin < k_end) {
      load_stage(0);
      store_stage();
    }
    __syncthreads();
    for (int kk = k_begin; kk < k_end; kk += 2) {
#pragma unroll
      for (int s = 0; s < 2; ++s) {
        if (kk + s < k_end) {
          const bool more = kk + s + 1 < k_end;
          if (more) load_stage(s ^ 1);
          compute_stage(s);
          if (more) store_stage();  // into the buffer every warp finished reading before the last barrier
          __syncthreads();
        }
      }
    }
#else
    // Pipeline: stages - 1 loads in flight ahead of the stage being computed. With kRegPrefetch the warp's
    // fragments are also read from shared memory one step ahead of its math (a step: a 16-deep K slice; with
    // 8-bit activations the warp's whole 32-deep stage), so that their latency hides behind the previous step's
    // mma. Then every read of a stage is issued before the barrier after which its buffer is reloaded: the
    // buffer loaded in step i is the one of stage i - 1, whose last fragments were read before step i - 1's
    // barrier.
    static_assert(kSubK == 2 && stages % 2 == 0, "two steps per stage (16-bit), two fragment buffers (8-bit)");
#pragma unroll
    for (int s = 0; s < stages - 1; ++s) {
      if (k_begin + s < k_end) load_stage(s);
      cp_async_commit();
    }
    Frag frag[2];
    if constexpr (kRegPrefetch) {
      cp_async_wait<stages - 2>();
      __syncthreads();
      if (k_begin < k_end) {
        if constexpr (kA8) {
          fetch_a8(frag[0], 0);
        } else {
          fetch16(frag[0], 0, 0);
        }
      }
    }
    // Unrolled over the stages so that every shared-memory offset is a compile-time constant.
    for (int kk = k_begin; kk < k_end; kk += stages) {
#pragma unroll
      for (int s = 0; s < stages; ++s) {
        if (kk + s < k_end) {
          const bool reload = kk + s + stages - 1 < k_end;
          const int reload_stage = (s + stages - 1) % stages;
          if constexpr (kRegPrefetch) {
            const bool more = kk + s + 1 < k_end;
            const int next = (s + 1) % stages;
            if constexpr (!kA8) fetch16(frag[1], s, 1);
            if (reload) load_stage(reload_stage);
            cp_async_commit();
            cp_async_wait<stages - 2>();  // stage `next` has landed
            __syncthreads();
            if constexpr (kA8) {
              if (more) fetch_a8(frag[next % 2], next);
              math_a8(frag[s % 2]);
            } else {
              math16(frag[0]);
              if (more) fetch16(frag[0], next, 0);
              math16(frag[1]);
            }
          } else {
            cp_async_wait<stages - 2>();  // stage s has landed
            __syncthreads();
            if (reload) load_stage(reload_stage);
            cp_async_commit();
            compute_stage(s);
          }
        }
      }
    }
    cp_async_wait<0>();
    __syncthreads();
#endif
    if constexpr (kInt8Act && !kGrouped) {  // the exact int32 sums of this run, as fp32
#pragma unroll
      for (int mb = 0; mb < thread_m_blocks; ++mb)
#pragma unroll
        for (int j = 0; j < 8; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[mb][j][e] = static_cast<float>(__float_as_int(acc[mb][j][e]));
    }

    // Sum the K-slice warps of each column pairwise through shared memory; warps with wk == 0 keep the result.
#pragma unroll
    for (int half = kWarpsK / 2; half > 0; half /= 2) {
      if (wk >= half && wk < 2 * half) {
        float4* dst = sRed + (((wk - half) * kWarpsN + wn) * thread_m_blocks * 8) * 32 + lane;
#pragma unroll
        for (int mb = 0; mb < thread_m_blocks; ++mb)
#pragma unroll
          for (int j = 0; j < kAccTiles; ++j)
            dst[(mb * 8 + j) * 32] = make_float4(acc[mb][j][0], acc[mb][j][1], acc[mb][j][2], acc[mb][j][3]);
      }
      __syncthreads();
      if (wk < half) {
        const float4* src = sRed + ((wk * kWarpsN + wn) * thread_m_blocks * 8) * 32 + lane;
#pragma unroll
        for (int mb = 0; mb < thread_m_blocks; ++mb)
#pragma unroll
          for (int j = 0; j < kAccTiles; ++j) {
            const float4 v = src[(mb * 8 + j) * 32];
            acc[mb][j][0] += v.x;
            acc[mb][j][1] += v.y;
            acc[mb][j][2] += v.z;
            acc[mb][j][3] += v.w;
          }
      }
      __syncthreads();
    }

    const bool whole_tile = k_begin == 0 && k_end == p.k_iters;
    // A split tile's slot is that of the first block starting inside it: unique per tile and < gridDim.x.
    const int slot_id = tile * p.k_iters / p.iters_per_block + 1;
    float* const slot = p.partials + static_cast<size_t>(slot_id) * kSlotFloats;
    if (wk == 0) {
#pragma unroll
      for (int mb = 0; mb < thread_m_blocks; ++mb)
#pragma unroll
        for (int j = 0; j < kAccTiles; ++j)
#pragma unroll
          for (int e = 0; e < 4; e += 2) {
            // Elements e and e + 1: two columns of one row, or (swapped) one column of two rows.
            const int r = m_block_size_8 ? 2 * t : mb * 16 + g + 8 * (e / 2);
            const int c = m_block_size_8 ? 16 * j + g + 8 * (e / 2) : 8 * j + 2 * t;
            float v0 = acc[mb][j][e], v1 = acc[mb][j][e + 1];
            const int r1 = m_block_size_8 ? r + 1 : r;
            const int c1 = m_block_size_8 ? c : c + 1;
            if constexpr (group_blocks == -1) {  // channelwise scales multiply the fp32 sums (stored column order)
              const scalar_t* const S16 = reinterpret_cast<const scalar_t*>(S);
              v0 *= Traits::to_float(S16[col0 + wn * 64 + 8 * (c % 8) + c / 8]);
              v1 *= Traits::to_float(S16[col0 + wn * 64 + 8 * (c1 % 8) + c1 / 8]);
            }
            if constexpr (kNvfp4) {
              v0 *= global_scale;
              v1 *= global_scale;
            }
            if constexpr (kA8) {  // per-row activation scales
              if (p.a_scales != nullptr) {
                v0 *= row0 + r < p.m ? p.a_scales[row0 + r] : 0.f;
                v1 *= row0 + r1 < p.m ? p.a_scales[row0 + r1] : 0.f;
              }
            }
            if (p.bias != nullptr && k_begin == 0) {  // once per tile: by the run that starts it
              const scalar_t* const bias = static_cast<const scalar_t*>(p.bias) + col0 + wn * 64;
              v0 += Traits::to_float(bias[c]);
              v1 += Traits::to_float(bias[c1]);
            }
            const size_t out = static_cast<size_t>(row0 + r) * p.ldc + col0 + wn * 64 + c;
            if (whole_tile) {
              if constexpr (m_block_size_8) {
                if (row0 + r < p.m) C[out] = Traits::from_float2(make_float2(v0, v0)).x;
                if (row0 + r1 < p.m) C[out + p.ldc] = Traits::from_float2(make_float2(v1, v1)).x;
              } else if (r < kRows && row0 + r < p.m) {
                *reinterpret_cast<pair_t*>(C + out) = Traits::from_float2(make_float2(v0, v1));
              }
            } else {
              if constexpr (m_block_size_8) {
                if (row0 + r < p.m) atomicAdd(slot + r * kTileN + wn * 64 + c, v0);
                if (row0 + r1 < p.m) atomicAdd(slot + r1 * kTileN + wn * 64 + c1, v1);
              } else if (r < kRows && row0 + r < p.m) {
                atomic_add2(slot + r * kTileN + wn * 64 + c, v0, v1);  // columns c and c + 1
              }
            }
          }
    }

    if (!whole_tile) {
      // Publish this block's partial sums, then count the K steps it covered; the block that completes the
      // tile's count finishes it.
      __syncthreads();
      if (tid == 0) {
        __threadfence();  // after the barrier, cumulative over every thread's partial sums
        const int covered = k_end - k_begin;
        s_last = atomicAdd(p.tile_counters + slot_id, covered) + covered == p.k_iters;
        if (s_last) __threadfence();  // acquire the other blocks' sums for the whole block (barrier below)
      }
      __syncthreads();
      if (s_last) {
        const int rows = min(kRows, p.m - row0);
        float4* const slot4 = reinterpret_cast<float4*>(slot);
        for (int i = tid; i < rows * kTileN / 4; i += threads) {
          const int r = i / (kTileN / 4), c = (i % (kTileN / 4)) * 4;
          const float4 v = __ldcg(slot4 + i);
          __stcg(slot4 + i, make_float4(0.f, 0.f, 0.f, 0.f));
          pair_t* out = reinterpret_cast<pair_t*>(C + static_cast<size_t>(row0 + r) * p.ldc + col0 + c);
          out[0] = Traits::from_float2(make_float2(v.x, v.y));
          out[1] = Traits::from_float2(make_float2(v.z, v.w));
        }
        if (tid == 0) p.tile_counters[slot_id] = 0;
      }
      __syncthreads();  // the next run reuses shared memory
    }
  }
}

}  // namespace marlin
