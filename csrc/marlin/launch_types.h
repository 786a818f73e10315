// Plain C++ types shared by the kernel, the generated selector and the host heuristics (compiled without nvcc).
#pragma once

#include "marlin/scalar_type.cuh"

namespace marlin {

// Everything a kernel launch needs at run time; passed by value.
struct GemmParams {
  const void* a;        // [m, k] row-major, stride lda
  const void* b;        // Marlin-layout weights
  const void* scales;   // [groups, n] permuted
  const void* zeros;    // [groups, n] permuted, or nullptr
  const int* g_idx;     // act-order (group_blocks 0): [k] group of each row, 16-byte aligned; else nullptr
  const void* bias;     // [n] of the output type, or nullptr
  const float* global_scale;  // NVFP4: one fp32 multiplying C, or nullptr
  const float* a_scales;      // e4m3 activations: [m] fp32 row scales of A, or nullptr
  void* c;              // [m, n] row-major, stride ldc
  float* partials;      // stream-K partial sums: one slot of kSlotFloats per block
  int* tile_counters;   // one arrival counter per block
  int m, n, k, lda, ldc;
  int m_chunks;         // ceil(m / rows per chunk): 16 * thread_m_blocks, or 8 with m_block_size_8
  int n_tiles;          // n / (16 * thread_n_blocks)
  int k_iters;          // k / (16 * thread_k_blocks)
  int iters_per_block;  // stream-K share of each block over m_chunks * n_tiles * k_iters iterations
};

// Floats per stream-K partial-sum slot: the largest output tile, 64 rows x 256 columns.
constexpr int kSlotFloats = 64 * 256;

// Blocks per multiprocessor the launcher runs at most; the workspace has a slot for each.
constexpr int kMaxBlocksPerSm = 2;

// The runtime key the generated selector matches on.
struct KernelKey {
  ScalarTypeId a_type, b_type, c_type, s_type;
  int threads, thread_m_blocks, thread_n_blocks, thread_k_blocks;
  bool m_block_size_8;
  int stages, group_blocks;
  bool is_zp_float;
};

}  // namespace marlin
