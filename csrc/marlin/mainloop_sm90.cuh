// The main loop of the sm90 family: the sm80 family's load pipeline and dequantization (stage_loader.cuh,
// weight_fragments.cuh) feeding Hopper's warpgroup mma (wgmma.cuh) instead of mma.sync.
//
// Contract: as MainloopSm80<Tr>::run (mainloop_sm80.cuh), except for where the sums are: operands are swapped, so
// acc holds, per warp, its 64 weight columns as wgmma rows and the chunk's kRows tokens as wgmma columns.
// Reinterpreted as float[4][kRows / 2], acc[i] is the accumulator of word i's wgmma: element 4c + 2h + e is token
// 8c + 2t + e, column 16i + 8h + g of the warp's 64 (repacked column order). The 128-token tile (Tr::kWordSplit)
// holds two words per thread, float[2][64]: acc[i] is word 2 wk + i's, over the whole stage K, so its two
// warpgroups' sums need no reduction. The epilogue reads it so (Tr::kWgmma). On return every cp.async and wgmma
// has completed and the block has passed a barrier.
//
// Why this shape (docs/DESIGN.md): one warpgroup per K slice of the stage (kWarpsN == 4), so each warpgroup's
// four warps cover the block's 256 columns, one 64-column weight tile each; per 16-deep K step a warp
// dequantizes its lane's four words into four A fragments and issues four m64nNk16 (N = kRows tokens) reading
// the step's activations straight from the swizzled A stage. The wgmma run asynchronously while the warp
// dequantizes the next step; the instruction count per weight word is one wgmma where mma.sync needs
// 2 * thread_m_blocks, and the fragments of the activations are never loaded into registers. With 128 tokens
// (N = 128) four words would take 256 accumulators per thread, so each warpgroup takes two words of every 16-deep
// step instead of half the steps: every weight is still dequantized once per block, now for 128 tokens.
#pragma once

#include <cstdint>

#include "marlin/kernel_traits.cuh"
#include "marlin/launch_types.h"
#include "marlin/mma.cuh"
#include "marlin/stage_loader.cuh"
#include "marlin/weight_fragments.cuh"
#include "marlin/wgmma.cuh"

namespace marlin {

template <typename Tr>
struct MainloopSm90 {
  using dq_pair_t = typename Tr::dq_pair_t;
  static constexpr int kRows = Tr::kRows, stages = Tr::stages, kSubK = Tr::kSubK;
  static_assert(Tr::kWgmma, "a configuration the wgmma main loop takes (kernel_traits.cuh)");

  // The words whose wgmma a warp issues: all four, or (the 128-token tile) its warpgroup's two, 2 wk and 2 wk + 1.
  static constexpr int kWordsHeld = Tr::kWordSplit ? 2 : 4;

  // This thread's accumulators of the wgmma of its i-th word.
  static __device__ __forceinline__ float (&word_acc(typename Tr::Accum& acc, int i))[kRows / 2] {
    static_assert(sizeof(typename Tr::Accum) == kWordsHeld * kRows / 2 * sizeof(float), "accumulator size");
    return reinterpret_cast<float(&)[kWordsHeld][kRows / 2]>(acc)[i];
  }

  // Dequantizes words kFirst .. kFirst + kWordsHeld - 1 of f into A fragments (frag[0] for word kFirst).
  template <int kFirst>
  static __device__ __forceinline__ void dequant_words(const WeightDequant<Tr>& wd,
                                                      const typename WeightDequant<Tr>::Frag& f,
                                                      uint32_t (&frag)[kWordsHeld][4]) {
    wd.template dequant<kFirst, kWordsHeld>(f, [&](int i, const dq_pair_t (&w)[4]) {
      frag[i - kFirst][0] = as_u32(w[0]);
      frag[i - kFirst][1] = as_u32(w[2]);
      frag[i - kFirst][2] = as_u32(w[1]);
      frag[i - kFirst][3] = as_u32(w[3]);
    });
  }

  static __device__ __forceinline__ void fence_acc(typename Tr::Accum& acc) {
#pragma unroll
    for (int i = 0; i < kWordsHeld; ++i)
#pragma unroll
      for (int k = 0; k < kRows / 2; ++k) wgmma_fence_operand(word_acc(acc, i)[k]);
  }

  static __device__ __forceinline__ void run(const GemmParams& p, const SharedStorage<Tr>& sm, int row0, int col0,
                                             int k_begin, int k_end, uint64_t policy, typename Tr::Accum& acc) {
    const ThreadLayout<Tr> th;
    StageLoader<Tr> loader(p, sm, row0, col0, k_begin, policy);
    const WeightDequant<Tr> wd(p, sm, col0, th.wn, th.lane);

#pragma unroll
    for (int s = 0; s < stages - 1; ++s) {
      if (k_begin + s < k_end) loader.load(s);
      cp_async_commit();
    }
    fence_acc(acc);
    // Unrolled over the stages so that every shared-memory offset is a compile-time constant.
    for (int kk = k_begin; kk < k_end; kk += stages) {
#pragma unroll
      for (int s = 0; s < stages; ++s) {
        if (kk + s < k_end) {
          cp_async_wait<stages - 2>();  // stage s has landed
          fence_proxy_async_shared();  // for wgmma's reads of it
          // After this barrier every warpgroup has finished the wgmma of the previous stage (waited for at its
          // end), whose buffer is reloaded next.
          __syncthreads();
          if (kk + s + stages - 1 < k_end) loader.load((s + stages - 1) % stages);
          cp_async_commit();
          // Two sets of A fragments: a step's dequantization writes one while the previous step's wgmma may
          // still read the other.
          uint32_t a[2][kWordsHeld][4];
#pragma unroll
          for (int sub = 0; sub < kSubK; ++sub) {
            const int kb = Tr::kWordSplit ? sub : th.wk * kSubK + sub;
            typename WeightDequant<Tr>::Frag f;
            wd.fetch(f, s, kb);
            uint32_t(&frag)[kWordsHeld][4] = a[sub % 2];
            if constexpr (Tr::kWordSplit) {  // wk is the same for a whole warpgroup: no divergence
              if (th.wk == 0) {
                dequant_words<0>(wd, f, frag);
              } else {
                dequant_words<2>(wd, f, frag);
              }
            } else {
              dequant_words<0>(wd, f, frag);
            }
            const uint64_t desc = wgmma_desc_k_major_sw128(sm.a + s * Tr::kAStage + kb * 16);
            wgmma_fence();
#pragma unroll
            for (int i = 0; i < kWordsHeld; ++i)
              wgmma_m64k16_rs<kRows, Tr::a_type>(word_acc(acc, i), frag[i], desc);
            wgmma_commit();
            if (sub + 1 < kSubK) wgmma_wait<1>();  // the other set of fragments is free again
          }
          wgmma_wait<0>();
        }
      }
    }
    fence_acc(acc);
    cp_async_wait<0>();
    __syncthreads();
  }
};

}  // namespace marlin
