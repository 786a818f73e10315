// Plain C++ types shared by the kernel, the generated selector and the host heuristics (compiled without nvcc).
#pragma once

#include "marlin/scalar_type.cuh"
#include "marlin/tile_scheduler.h"

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
  float* partials;      // split tiles' partial sums: two slots of kSlotFloats per block (tile_scheduler.h)
  int* tile_counters;   // one arrival counter per block, zero between launches
  int m, n, k, lda, ldc;
  WorkSplit split;      // tiles and K steps, and which block takes which (tile_scheduler.h)
};

// Floats per partial-sum slot: an output tile of up to 64 rows x 256 columns.
constexpr int kSlotFloats = 64 * 256;

// Slots one split tile's partial sums take: 1, or 2 for the sm90 family's 128-token tile. A kernel whose tiles
// take n runs at most kMaxBlocksPerSm / n blocks per multiprocessor, within the workspace's two slots per block.
constexpr int slot_units(int rows, int tile_n) { return (rows * tile_n + kSlotFloats - 1) / kSlotFloats; }

// Blocks per multiprocessor the launcher runs at most; the workspace has two slots and a counter for each.
constexpr int kMaxBlocksPerSm = 2;

// The runtime key the generated selector matches on.
struct KernelKey {
  ScalarTypeId a_type, b_type, c_type, s_type;
  int threads, thread_m_blocks, thread_n_blocks, thread_k_blocks;
  bool m_block_size_8;
  int stages, group_blocks;
  bool is_zp_float;
  bool wgmma;  // the sm90 family's kernel (marlin_gemm_kernel_sm90)
};

}  // namespace marlin
