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
#include "marlin/stage_loader.cuh"
#include "marlin/types.cuh"
#include "marlin/weight_fragments.cuh"

namespace marlin {

template <typename Tr>
struct MainloopSm80 {
  using scalar_t = typename Tr::scalar_t;
  using dq_pair_t = typename Tr::dq_pair_t;
  using a_elem_t = typename Tr::a_elem_t;
  using Dq = typename Tr::Dq;
  using Traits = typename Tr::Half;

  static __device__ __forceinline__ void run(const GemmParams& p, const SharedStorage<Tr>& sm, int row0, int col0,
                                             int k_begin, int k_end, uint64_t policy, typename Tr::Accum& acc) {
    constexpr ScalarTypeId a_type = Tr::a_type;
    constexpr int thread_m_blocks = Tr::thread_m_blocks, thread_n_blocks = Tr::thread_n_blocks;
    [[maybe_unused]] constexpr int stages = Tr::stages;  // (the Turing pipeline has two)
    constexpr bool m_block_size_8 = Tr::m_block_size_8;
    constexpr bool kFp4 = Tr::kFp4, kInt8Act = Tr::kInt8Act, kA8 = Tr::kA8;
    constexpr bool kHasZp = Tr::kHasZp, kGrouped = Tr::kGrouped;
    [[maybe_unused]] constexpr bool kRegPrefetch = Tr::kRegPrefetch;  // (the Turing pipeline has none)
    constexpr int kSBytes = Tr::kSBytes, kTileBytes = Tr::kTileBytes;
    constexpr int kWarpsN = Tr::kWarpsN, kWarpsK = Tr::kWarpsK, kSubK = Tr::kSubK;
    constexpr int kKStep = Tr::kKStep, kASwizzle = Tr::kASwizzle, kAStage = Tr::kAStage, kBStage = Tr::kBStage;
    static_assert(kWarpsK >= 1 && thread_n_blocks >= 4, "whole warps of 64 columns");

    const ThreadLayout<Tr> th;
    const int lane = th.lane, wn = th.wn, wk = th.wk, g = th.g, t = th.t;
    const a_elem_t* const sA = sm.a;
    StageLoader<Tr> loader(p, sm, row0, col0, k_begin, policy);
    const WeightDequant<Tr> wd(p, sm, col0, wn, lane);

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
        const uint8_t* cB = sm.b + stage * kBStage;
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
          const int base = wd.scale_base(stage, kb);
#pragma unroll
          for (int e = 0; e < kSBytes; ++e)
            f.sraw[e] = *reinterpret_cast<const int4*>(sm.s + (base + 16 * t) * kSBytes + 16 * e);
          if constexpr (kHasZp) f.zraw = *reinterpret_cast<const int4*>(sm.z + base + g * 8);
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
              Dq::run(q[h][i], wd.offset(zraw, 2 * i), wd.offset(zraw, 2 * i + 1), s8);
              b[0][h] = s8[0];
              b[1][h] = s8[1];
            } else {
              dq_pair_t w[4];
              if constexpr (kFp4) {
                DequantFp4<ScalarTypeId::kFloat16>::run(q[h][i], w);
              } else {
                Dq::run(q[h][i], wd.offset(zraw, 2 * i), wd.offset(zraw, 2 * i + 1), w);
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
      typename WeightDequant<Tr>::Frag w;
      uint32_t a[thread_m_blocks][4];
    };
    auto fetch16 = [&](Frag16& f, int stage, int s) {
      const a_elem_t* cA = sA + stage * kAStage;
      const int kb = wk * kSubK + s;
      wd.fetch(f.w, stage, kb);
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
    };
    auto math16 = [&](const Frag16& f) {
      if constexpr (!kA8) {
        const auto& a = f.a;
        wd.dequant(f.w, [&](int i, const dq_pair_t (&w)[4]) {
          // Column tiles 2i and 2i + 1: (k 2t, 2t+1) and (k 2t+8, 2t+9) pairs of each.
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
        });
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
      loader.load(0);
      loader.store();
    }
    __syncthreads();
    for (int kk = k_begin; kk < k_end; kk += 2) {
#pragma unroll
      for (int s = 0; s < 2; ++s) {
        if (kk + s < k_end) {
          const bool more = kk + s + 1 < k_end;
          if (more) loader.load(s ^ 1);
          compute_stage(s);
          if (more) loader.store();  // into the buffer every warp finished reading before the last barrier
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
      if (k_begin + s < k_end) loader.load(s);
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
            if (reload) loader.load(reload_stage);
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
            if (reload) loader.load(reload_stage);
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
