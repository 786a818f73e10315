// The copies of the load pipeline, shared by every main loop: one stage of A (swizzled rows), the packed weights,
// the group scales (and zero points) and the act-order group indices, from global into shared memory.
//
// Contract: StageLoader<Tr>(p, sm, row0, col0, k_begin, policy) sets up this thread's copies of the K steps from
// k_begin on; each load(stage) issues those of the next K step (strictly in K order) into stage buffer `stage`.
// sm_80 and newer: cp.async, which the caller commits and waits for. Turing (MARLIN_TURING): loads into
// registers, which store() then writes to shared memory, once the buffer is no longer read.
//
// Shared-memory layout of a stage (kernel_traits.cuh): A rows of kKStep values, 16-byte chunk c of row r at
// chunk c ^ (r & kASwizzle) (with 128-byte rows: the 128-byte swizzle of Hopper's wgmma operands); the block's
// weight tiles as repacked; kSRows scale rows of kTileN columns.
#pragma once

#include <cstdint>

#include "marlin/kernel_traits.cuh"
#include "marlin/launch_types.h"
#include "marlin/mma.cuh"

namespace marlin {

template <typename Tr>
struct StageLoader {
  using a_elem_t = typename Tr::a_elem_t;
  using scalar_t = typename Tr::scalar_t;
  static constexpr int threads = Tr::threads, kRows = Tr::kRows, kKStep = Tr::kKStep, kTileN = Tr::kTileN;
  static constexpr int kAChunks = Tr::kAChunks, kAChunkElems = Tr::kAChunkElems, kASwizzle = Tr::kASwizzle;
  static constexpr int kBRowBytes = Tr::kBRowBytes, kSBytes = Tr::kSBytes, kSStage = Tr::kSStage;
  static constexpr int kSRowChunks = Tr::kSRowChunks;
  // Each thread copies fixed 16-byte chunks of every stage.
  static constexpr int kAIters = (kRows * kAChunks + threads - 1) / threads;
  static constexpr int kBIters = Tr::kBStage / 16 / threads;
  static constexpr int kBRowsPerIter = threads / (kBRowBytes / 16);  // B rows one pass of all threads covers
  // A: pass j of this thread copies chunk a_c of row a_r + j * kARowsPerPass. The rows of all passes share their
  // swizzle, so one source pointer, one destination offset and a bit mask of rows inside M describe them all
  // (fewer live registers than an address per pass).
  static constexpr int kARowsPerPass = threads / kAChunks;
  static_assert(Tr::kBStage / 16 % threads == 0, "whole B chunks per thread");
  static_assert(threads % (kBRowBytes / 16) == 0, "B rows split evenly over threads");
  static_assert(kSStage * kSBytes / 16 <= threads, "one scale chunk per thread at most");
  static_assert(kKStep / 4 <= threads, "one group-index chunk per thread at most");
  static_assert(threads % kAChunks == 0 && kARowsPerPass % (kASwizzle + 1) == 0, "passes keep the swizzle");

  const GemmParams& p;
  const SharedStorage<Tr>& sm;
  const uint64_t policy;
  const int tid;
  int a_dst;
  size_t a_pass;
  const a_elem_t* a_next;
  uint32_t a_valid;
  size_t b_row_bytes, b_step;
  const uint8_t* b_next;
  int k_next;  // K step of the next stage to load
  int s_r, s_c;
  const uint8_t* s_next;
  const scalar_t* z_next;
#if MARLIN_TURING
  static_assert(Tr::stages == 2, "the Turing pipeline has two stages: one computed, one in registers");
  static constexpr int kSlots = kAIters + kBIters + 3;
  int4 st_val[kSlots];
  uint32_t st_dst[kSlots];
  bool st_write[kSlots];
#endif

  __device__ __forceinline__ StageLoader(const GemmParams& p_, const SharedStorage<Tr>& sm_, int row0, int col0,
                                         int k_begin, uint64_t policy_)
      : p(p_), sm(sm_), policy(policy_), tid(threadIdx.x) {
    const a_elem_t* const A = static_cast<const a_elem_t*>(p.a);
    const int a_r = tid / kAChunks, a_c = tid % kAChunks;
    a_dst = a_r * kKStep + ((a_c ^ (a_r & kASwizzle)) * kAChunkElems);
    a_pass = static_cast<size_t>(kARowsPerPass) * p.lda;
    a_next = A + static_cast<size_t>(row0 + a_r) * p.lda + k_begin * kKStep + a_c * kAChunkElems;
    a_valid = 0;
#pragma unroll
    for (int j = 0; j < kAIters; ++j) {
      const int r = a_r + j * kARowsPerPass;
      if (r < kRows && row0 + r < p.m) a_valid |= 1u << j;
    }
    b_row_bytes = static_cast<size_t>(p.n) * 2 * Tr::kBits;  // 16 rows of weights
    b_step = static_cast<size_t>(Tr::thread_k_blocks) * b_row_bytes;
    b_next = static_cast<const uint8_t*>(p.b) + k_begin * b_step + col0 / 64 * Tr::kTileBytes +
             (tid / (kBRowBytes / 16)) * b_row_bytes + (tid % (kBRowBytes / 16)) * 16;
    k_next = k_begin;
    // This thread's 16-byte chunk of the stage's scale (and zero-point) rows: chunk s_c of row s_r, advanced by
    // whole rows as the stages pass group boundaries (no per-stage 64-bit row arithmetic).
    s_r = tid / kSRowChunks;
    s_c = tid % kSRowChunks;
    const size_t s_first = (static_cast<size_t>(k_begin * kKStep / Tr::kGroupDiv + s_r) * p.n + col0) * kSBytes;
    s_next = static_cast<const uint8_t*>(p.scales) + s_first + s_c * 16;
    z_next = static_cast<const scalar_t*>(p.zeros) + s_first / kSBytes + s_c * 8;
#if MARLIN_TURING
#pragma unroll
    for (int i = 0; i < kSlots; ++i) st_write[i] = false;
#endif
  }

  // One 16-byte copy of a stage, numbered by its place in load (`slot`, a compile-time constant once unrolled).
  // sm_80+: a cp.async (zero-filled when !valid). Turing: a load into registers, which store() writes to shared
  // memory after the current stage's computation.
  __device__ __forceinline__ void copy16([[maybe_unused]] int slot, void* dst, const void* src, bool write,
                                         bool valid, bool hint) {
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
  }

  __device__ __forceinline__ void load(int stage) {
    a_elem_t* dA = sm.a + stage * Tr::kAStage;
#pragma unroll
    for (int j = 0; j < kAIters; ++j) {
      const bool write = j * threads + threads <= kRows * kAChunks || tid + j * threads < kRows * kAChunks;
      const bool valid = (a_valid >> j) & 1;
      copy16(j, dA + a_dst + j * kARowsPerPass * kKStep, valid ? a_next + j * a_pass : p.a, write, valid, false);
    }
    a_next += kKStep;
    uint8_t* dB = sm.b + stage * Tr::kBStage + tid * 16;
#pragma unroll
    for (int j = 0; j < kBIters; ++j)
      copy16(kAIters + j, dB + j * threads * 16, b_next + static_cast<size_t>(j * kBRowsPerIter) * b_row_bytes, true,
             true, true);
    b_next += b_step;
    constexpr int kSSlot = kAIters + kBIters;
    if constexpr (Tr::kGrouped) {
      const bool write = tid < kSStage * kSBytes / 16;
      copy16(kSSlot, sm.s + (stage * kSStage + s_r * kTileN) * kSBytes + s_c * 16, s_next, write, true, false);
      if constexpr (Tr::kHasZp) copy16(kSSlot + 1, sm.z + stage * kSStage + tid * 8, z_next, write, true, false);
      // The next stage starts kKStep / kGroupSize rows further, or one row every kGroupSize / kKStep stages.
      constexpr int kGroupSize = Tr::kGroupSize;
      constexpr int kRowsPerStage = kGroupSize >= kKStep ? 1 : kKStep / kGroupSize;
      constexpr int kStagesPerRow = kGroupSize >= kKStep ? kGroupSize / kKStep : 1;
      if ((k_next + 1) % kStagesPerRow == 0) {
        s_next += static_cast<size_t>(kRowsPerStage) * p.n * kSBytes;
        if constexpr (Tr::kHasZp) z_next += static_cast<size_t>(kRowsPerStage) * p.n;
      }
    }
    if constexpr (Tr::kActOrder) {
      copy16(kSSlot + 2, sm.g + stage * kKStep + tid * 4, p.g_idx + k_next * kKStep + tid * 4, tid < kKStep / 4,
             true, false);
    }
    ++k_next;
  }

#if MARLIN_TURING
  __device__ __forceinline__ void store() {
#pragma unroll
    for (int i = 0; i < kSlots; ++i)
      if (st_write[i]) store_shared16(st_dst[i], st_val[i]);
  }
#endif
};

}  // namespace marlin
