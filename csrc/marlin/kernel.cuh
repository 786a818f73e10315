// The Marlin-style mixed-precision GEMM kernel template: C[m, n] = A[m, k] @ dequant(B[k, n]).
//
// One kernel, three parts, each in its own header with its contract:
// - tile_scheduler.h: which block takes which K range of which output tile (whole tiles first, stream-K shares
//   for the rest), and which blocks' pieces make up a split tile;
// - mainloop_sm80.cuh (mma.sync) or, for the sm90 family, mainloop_sm90.cuh (wgmma): the load pipeline
//   (stage_loader.cuh), dequantization (weight_fragments.cuh) and tensor-core mma of one such work unit;
// - epilogue.cuh: the sum of the block's K-slice warps, scales and bias, and the output, directly or through the
//   deterministic cross-block reduction of split tiles.
// kernel_traits.cuh derives the compile-time layout all three share from the template arguments.
#pragma once

#include <cstdint>
#include <type_traits>

#include "marlin/epilogue.cuh"
#include "marlin/kernel_decl.cuh"
#include "marlin/kernel_traits.cuh"
#include "marlin/mainloop_sm80.cuh"
#include "marlin/mainloop_sm90.cuh"
#include "marlin/mma.cuh"
#include "marlin/tile_scheduler.h"
#include "marlin/wgmma.cuh"

namespace marlin {

// The body of both kernels: checks of the template arguments, then the loop over the block's work units.
template <typename Tr, bool is_zp_float>
__device__ __forceinline__ void run_gemm(const GemmParams& p) {
  constexpr ScalarTypeId a_type = Tr::a_type, b_type = Tr::b_type, c_type = Tr::c_type, s_type = Tr::s_type;
  constexpr bool kFp4 = Tr::kFp4, kFp8 = Tr::kFp8, kFp8Act = Tr::kFp8Act, kA8 = Tr::kA8;
  constexpr bool m_block_size_8 = Tr::m_block_size_8;
  constexpr int thread_m_blocks = Tr::thread_m_blocks, group_blocks = Tr::group_blocks;
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

  int4* smem;
  if constexpr (Tr::kWgmma) {  // wgmma reads A stages with the 128-byte swizzle: 1024-byte aligned tiles
    extern __shared__ __align__(1024) int4 smem_1024[];
    smem = smem_1024;
  } else {
    extern __shared__ int4 smem_16[];
    smem = smem_16;
  }
  const SharedStorage<Tr> sm(smem);
  const float global_scale = Tr::kNvfp4 && p.global_scale != nullptr ? *p.global_scale : 1.f;
  const uint64_t policy = weight_policy(p.split.m_chunks == 1);

  TileScheduler sched(p.split, blockIdx.x);
  WorkUnit u;
  while (sched.next(u)) {
    const int row0 = tile_m_chunk(p.split, u.tile) * Tr::kRows;
    const int col0 = tile_n_tile(p.split, u.tile) * Tr::kTileN;
    typename Tr::Accum acc;
#pragma unroll
    for (int mb = 0; mb < Tr::kAccBlocks; ++mb)
#pragma unroll
      for (int j = 0; j < 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[mb][j][e] = 0.f;
    using Mainloop = std::conditional_t<Tr::kWgmma, MainloopSm90<Tr>, MainloopSm80<Tr>>;
    Mainloop::run(p, sm, row0, col0, u.k_begin, u.k_end, policy, acc);
    Epilogue<Tr>::run(p, sm, u, row0, col0, global_scale, acc);
  }
}

// The sm75, sm80 and sm89 families: mma.sync.
template <ScalarTypeId a_type, ScalarTypeId b_type, ScalarTypeId c_type, ScalarTypeId s_type, int threads,
          int thread_m_blocks, int thread_n_blocks, int thread_k_blocks, bool m_block_size_8, int stages,
          int group_blocks, bool is_zp_float>
__global__ void __launch_bounds__(threads, min_blocks_per_sm(thread_m_blocks))
    marlin_gemm_kernel(const GemmParams p) {
  run_gemm<KernelTraits<a_type, b_type, c_type, s_type, threads, thread_m_blocks, thread_n_blocks, thread_k_blocks,
                        m_block_size_8, stages, group_blocks>,
           is_zp_float>(p);
}

// The sm90 family: wgmma, compiled for sm_90a only (its files are; elsewhere the body is a trap).
template <ScalarTypeId a_type, ScalarTypeId b_type, ScalarTypeId c_type, ScalarTypeId s_type, int threads,
          int thread_m_blocks, int thread_n_blocks, int thread_k_blocks, bool m_block_size_8, int stages,
          int group_blocks, bool is_zp_float>
__global__ void __launch_bounds__(threads, min_blocks_per_sm(thread_m_blocks))
    marlin_gemm_kernel_sm90(const GemmParams p) {
#if MARLIN_WGMMA
  run_gemm<KernelTraits<a_type, b_type, c_type, s_type, threads, thread_m_blocks, thread_n_blocks, thread_k_blocks,
                        m_block_size_8, stages, group_blocks, true>,
           is_zp_float>(p);
#elif defined(__CUDA_ARCH__)
  __trap();
#endif
}

}  // namespace marlin
