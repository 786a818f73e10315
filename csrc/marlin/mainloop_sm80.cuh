// The main loop of the sm80 family (and, with MARLIN_TURING, of the sm75 family): the load pipeline that brings A,
// the packed weights, scales, zero points and act-order group indices into shared memory, the dequantization of
// the weights into mma B fragments, and the tensor-core mma.
//
// Contract: MainloopSm80<Tr>::run adds A[row0 : row0 + kRows, K steps k_begin..k_end) @ dequant(B) for the kTileN
// columns from col0 into acc, each warp its kWarpsN column and kWarpsK K slice (kernel_traits.cuh gives the
// fragment layout of acc). Group scales and zero points are applied here; channelwise scales, the NVFP4 global
// scale, per-row activation scales and the bias are left to the epilogue. On return every cp.async has landed and
// the block has passed a barrier, so shared memory may be reused. INT8 channelwise runs return their exact int32
// sums converted to fp32.
//
// Pipeline: a multi-stage cp.async pipeline (on Turing: two stages through registers) brings A (swizzled rows),
// the packed weights and the group scales into shared memory. Each warp dequantizes its 16 x 64 weight tiles (4-
// or 8-bit, integer or float) straight into mma B fragments and runs m16n8k16 tensor-core mma against
// ldmatrix-loaded A fragments (8-bit activations: the weights converted to e4m3 or s8, m16n8k32).
#pragma once

#include <cstdint>

#include "marlin/dequant.cuh"
#include "marlin/kernel_traits.cuh"
#include "marlin/launch_types.h"
#include "marlin/mma.cuh"
#include "marlin/types.cuh"

namespace marlin {

template <typename Tr>
struct MainloopSm80 {
  using scalar_t = typename Tr::scalar_t;
  using pair_t = typename Tr::pair_t;
  using dq_pair_t = typename Tr::dq_pair_t;
  using a_elem_t = typename Tr::a_elem_t;
  using Dq = typename Tr::Dq;
  using Traits = typename Tr::Half;

  static __device__ __forceinline__ void run(const GemmParams& p, const SharedStorage<Tr>& sm, int row0, int col0,
                                             int k_begin, int k_end, uint64_t policy, typename Tr::Accum& acc) {
    constexpr ScalarTypeId a_type = Tr::a_type, b_type = Tr::b_type, s_type = Tr::s_type;
    constexpr int threads = Tr::threads, thread_m_blocks = Tr::thread_m_blocks, stages = Tr::stages;
    constexpr int thread_k_blocks = Tr::thread_k_blocks, thread_n_blocks = Tr::thread_n_blocks;
    constexpr bool m_block_size_8 = Tr::m_block_size_8;
    constexpr bool kFp4 = Tr::kFp4, kFp8 = Tr::kFp8, kFp8Act = Tr::kFp8Act, kInt8Act = Tr::kInt8Act, kA8 = Tr::kA8;
    constexpr bool kHasZp = Tr::kHasZp, kGrouped = Tr::kGrouped, kActOrder = Tr::kActOrder;
    [[maybe_unused]] constexpr bool kRegPrefetch = Tr::kRegPrefetch;  // (the Turing pipeline has none)
    constexpr int kBits = Tr::kBits, kSBytes = Tr::kSBytes, kTileBytes = Tr::kTileBytes;
    constexpr int kWarpsN = Tr::kWarpsN, kWarpsK = Tr::kWarpsK, kSubK = Tr::kSubK;
    constexpr int kRows = Tr::kRows, kKStep = Tr::kKStep, kTileN = Tr::kTileN;
    constexpr int kAChunks = Tr::kAChunks, kAChunkElems = Tr::kAChunkElems, kASwizzle = Tr::kASwizzle;
    constexpr int kAStage = Tr::kAStage, kBStage = Tr::kBStage, kBRowBytes = Tr::kBRowBytes;
    constexpr int kGroupSize = Tr::kGroupSize, kGroupDiv = Tr::kGroupDiv;
    constexpr int kSStage = Tr::kSStage, kSRowChunks = Tr::kSRowChunks;
    static_assert(kWarpsK >= 1 && thread_n_blocks >= 4, "whole warps of 64 columns");

    const ThreadLayout<Tr> th;
    const int tid = th.tid, lane = th.lane, wn = th.wn, wk = th.wk, g = th.g, t = th.t;

    const a_elem_t* const A = static_cast<const a_elem_t*>(p.a);
    const uint8_t* const B = static_cast<const uint8_t*>(p.b);
    const uint8_t* const S = static_cast<const uint8_t*>(p.scales);
    const scalar_t* const Z = static_cast<const scalar_t*>(p.zeros);
    const size_t b_row_bytes = static_cast<size_t>(p.n) * 2 * kBits;  // 16 rows of weights
    a_elem_t* const sA = sm.a;
    uint8_t* const sB = sm.b;
    uint8_t* const sS = sm.s;
    scalar_t* const sZ = sm.z;
    int* const sG = sm.g;
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

    // Each thread copies fixed 16-byte chunks of every stage. Stages are loaded strictly in K order, so the
    // source addresses are set up once per run and then advance by one K step per loaded stage.
    constexpr int kAIters = (kRows * kAChunks + threads - 1) / threads;
    constexpr int kBIters = kBStage / 16 / threads;
    constexpr int kBRowsPerIter = threads / (kBRowBytes / 16);  // B rows one pass of all threads covers
    static_assert(kBStage / 16 % threads == 0, "whole B chunks per thread");
    static_assert(threads % (kBRowBytes / 16) == 0, "B rows split evenly over threads");
    static_assert(kSStage * kSBytes / 16 <= threads, "one scale chunk per thread at most");
    static_assert(kKStep / 4 <= threads, "one group-index chunk per thread at most");
    // A: pass j of this thread copies chunk a_c of row a_r + j * kARowsPerPass. The rows of all passes share their
    // swizzle, so one source pointer, one destination offset and a bit mask of rows inside M describe them all
    // (fewer live registers than an address per pass).
    constexpr int kARowsPerPass = threads / kAChunks;
    static_assert(threads % kAChunks == 0 && kARowsPerPass % (kASwizzle + 1) == 0, "passes keep the swizzle");
    const int a_r = tid / kAChunks, a_c = tid % kAChunks;
    const int a_dst = a_r * kKStep + ((a_c ^ (a_r & kASwizzle)) * kAChunkElems);
    const size_t a_pass = static_cast<size_t>(kARowsPerPass) * p.lda;
    const a_elem_t* a_next = A + static_cast<size_t>(row0 + a_r) * p.lda + k_begin * kKStep + a_c * kAChunkElems;
    uint32_t a_valid = 0;
#pragma unroll
    for (int j = 0; j < kAIters; ++j) {
      const int r = a_r + j * kARowsPerPass;
      if (r < kRows && row0 + r < p.m) a_valid |= 1u << j;
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
        const bool valid = (a_valid >> j) & 1;
        copy16(j, dA + a_dst + j * kARowsPerPass * kKStep, valid ? a_next + j * a_pass : A, write, valid, false);
      }
      a_next += kKStep;
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

  }
};

}  // namespace marlin
