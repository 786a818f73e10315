// The main loop of the sm90 family: the sm80 family's load pipeline and dequantization (stage_loader.cuh,
// weight_fragments.cuh) feeding Hopper's warpgroup mma (wgmma.cuh) instead of mma.sync.
//
// Contract: as MainloopSm80<Tr>::run (mainloop_sm80.cuh), except for where the sums are: operands are swapped, so
// acc holds, per warp, its 64 weight columns as wgmma rows and the chunk's kRows tokens as wgmma columns.
// Reinterpreted as float[4][kRows / 2], acc[i] is the accumulator of word i's wgmma: element 4c + 2h + e is token
// 8c + 2t + e, column 16i + 8h + g of the warp's 64 (repacked column order). With the word split (Tr::kWordSplit:
// 2, 4 and 8 M blocks) a thread holds two words, float[2][kRows / 2]: acc[i] is word 2 wk + i's, over the whole
// stage K, so the two warpgroups' sums need no reduction. The epilogue reads it so (Tr::kWgmma). On return every
// cp.async and wgmma has completed and the block has passed a barrier.
//
// Why this shape (docs/DESIGN.md): one warpgroup per K slice of the stage (kWarpsN == 4), so each warpgroup's
// four warps cover the block's 256 columns, one 64-column weight tile each; per 16-deep K step a warp
// dequantizes its lane's four words into four A fragments and issues four m64nNk16 (N = kRows tokens) reading
// the step's activations straight from the swizzled A stage. The wgmma run asynchronously while the warp
// dequantizes the next step (whose weights it read a step ahead), also across a stage's barrier; the instruction
// count per weight word is one wgmma where mma.sync needs 2 * thread_m_blocks, and the fragments of the
// activations are never loaded into registers. With 128 tokens (N = 128) four words would take 256 accumulators
// per thread, so each warpgroup takes two words of every 16-deep step instead of half the steps: every weight is
// still dequantized once per block. The 32- and 64-token kernels split the words so too (6% faster at M = 64 on
// an H100, docs/PERFORMANCE.md): no K-slice sum at the end, and fewer registers; 48 tokens keep the K split.
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

  // The words whose wgmma a warp issues: all four, or (the word split) its warpgroup's two, 2 wk and 2 wk + 1.
  static constexpr int kWordsHeld = Tr::kWordSplit ? 2 : 4;

  // This thread's accumulators of the wgmma of its i-th word.
  static __device__ __forceinline__ float (&word_acc(typename Tr::Accum& acc, int i))[kRows / 2] {
    static_assert(sizeof(typename Tr::Accum) == kWordsHeld * kRows / 2 * sizeof(float), "accumulator size");
    return reinterpret_cast<float(&)[kWordsHeld][kRows / 2]>(acc)[i];
  }

  // The stage's 16-row block of a warp's sub-th step: every block (the word split), or its warpgroup's half.
  static __device__ __forceinline__ int kb_of(const ThreadLayout<Tr>& th, int sub) {
    return Tr::kWordSplit ? sub : th.wk * kSubK + sub;
  }

  static __device__ __forceinline__ void fence_acc(typename Tr::Accum& acc) {
#pragma unroll
    for (int i = 0; i < kWordsHeld; ++i)
#pragma unroll
      for (int k = 0; k < kRows / 2; ++k) wgmma_fence_operand(word_acc(acc, i)[k]);
  }

  // wgmma groups a warpgroup leaves in flight across a stage's barrier (the last one of the stage before), so that
  // the tensor cores keep working while the block synchronizes and the next stage's first step is dequantized.
  // The buffer reloaded after the barrier is then the one of two stages back, not one: kLoadsAhead stages are in
  // flight ahead of the one computed.
  static constexpr int kLag = 1;
  static constexpr int kLoadsAhead = stages - 1 - kLag;
  static_assert(kLoadsAhead >= 1, "at least one stage loading while one is computed");
  static_assert(kSubK % 2 == 0, "fragment sets alternate by step, also across stages");
  // Whether the weight fragments are read a step ahead. Not with act-order, whose kernels spill already (ptxas
  // -v) and whose scales come through L1 during the dequantization anyway.
  static constexpr bool kReadAhead = !Tr::kActOrder;

  static __device__ __forceinline__ void run(const GemmParams& p, const SharedStorage<Tr>& sm, int row0, int col0,
                                             int k_begin, int k_end, uint64_t policy, typename Tr::Accum& acc) {
    if constexpr (Tr::kWordSplit) {  // wk is the same for a whole warpgroup: no divergence
      if (ThreadLayout<Tr>().wk == 0) {
        run_words<0>(p, sm, row0, col0, k_begin, k_end, policy, acc);
      } else {
        run_words<2>(p, sm, row0, col0, k_begin, k_end, policy, acc);
      }
    } else {
      run_words<0>(p, sm, row0, col0, k_begin, k_end, policy, acc);
    }
  }

  // The main loop of a warp whose words start at kFirst (of four; kWordsHeld of them).
  template <int kFirst>
  static __device__ __forceinline__ void run_words(const GemmParams& p, const SharedStorage<Tr>& sm, int row0,
                                                   int col0, int k_begin, int k_end, uint64_t policy,
                                                   typename Tr::Accum& acc) {
    using Frag = typename WeightDequant<Tr>::Frag;
    const ThreadLayout<Tr> th;
    StageLoader<Tr> loader(p, sm, row0, col0, k_begin, policy);
    const WeightDequant<Tr> wd(p, sm, col0, th.wn, th.lane);
    auto fetch = [&](Frag& f, int stage, int sub) { wd.template fetch<kFirst, kWordsHeld>(f, stage, kb_of(th, sub)); };

#pragma unroll
    for (int s = 0; s < kLoadsAhead; ++s) {
      if (k_begin + s < k_end) loader.load(s);
      cp_async_commit();
    }
    fence_acc(acc);
    // Two sets of A fragments: a step's dequantization writes one while the previous step's wgmma (possibly the
    // previous stage's last) may still read the other.
    uint32_t a[2][kWordsHeld][4];
    // Unrolled over the stages so that every shared-memory offset is a compile-time constant.
    for (int kk = k_begin; kk < k_end; kk += stages) {
#pragma unroll
      for (int s = 0; s < stages; ++s) {
        if (kk + s < k_end) {
          cp_async_wait<kLoadsAhead - 1>();  // stage s has landed
          fence_proxy_async_shared();  // for wgmma's reads of it
          // Every warpgroup waits for all but its latest wgmma group after each step, so after this barrier every
          // wgmma of two stages back has completed, and that buffer is reloaded next.
          __syncthreads();
          if (kk + s + kLoadsAhead < k_end) loader.load((s + kLoadsAhead) % stages);
          cp_async_commit();
          // A step's weight fragments are read from shared memory during the step before (the stage's first right
          // after its barrier), so that their latency is off the way to the next wgmma: the wgmma asm keeps the
          // compiler from hoisting these reads itself.
          Frag f[2];
          fetch(f[0], s, 0);
#pragma unroll
          for (int sub = 0; sub < kSubK; ++sub) {
            if constexpr (kReadAhead) {
              if (sub + 1 < kSubK) fetch(f[(sub + 1) % 2], s, sub + 1);
            } else if (sub > 0) {
              fetch(f[sub % 2], s, sub);
            }
            uint32_t(&frag)[kWordsHeld][4] = a[sub % 2];
            wd.template dequant<kFirst, kWordsHeld>(f[sub % 2], [&](int i, const dq_pair_t (&w)[4]) {
              frag[i - kFirst][0] = as_u32(w[0]);
              frag[i - kFirst][1] = as_u32(w[2]);
              frag[i - kFirst][2] = as_u32(w[1]);
              frag[i - kFirst][3] = as_u32(w[3]);
            });
            const uint64_t desc = wgmma_desc_k_major_sw128(sm.a + s * Tr::kAStage + kb_of(th, sub) * 16);
            wgmma_fence();
#pragma unroll
            for (int i = 0; i < kWordsHeld; ++i)
              wgmma_m64k16_rs<kRows, Tr::a_type>(word_acc(acc, i), frag[i], desc);
            wgmma_commit();
            wgmma_wait<kLag>();  // the other set of fragments is free again
          }
        }
      }
    }
    wgmma_wait<0>();
    fence_acc(acc);
    cp_async_wait<0>();
    __syncthreads();
  }
};

}  // namespace marlin
