// Shared-memory budget of one kernel instantiation. Plain constexpr C++ so that both the kernel and the host
// heuristics (compiled without nvcc) use the same numbers.
#pragma once

namespace marlin {

struct TileShape {
  int threads;
  int thread_m_blocks;
  int thread_n_blocks;
  int thread_k_blocks;
  bool m_block_size_8;
  int stages;
  int group_blocks;  // -1 channelwise, 0 act-order (a group index per row), > 0 groups of 16 * group_blocks
  bool has_zp;
  int weight_bits;
  int scale_bytes;  // 2 (f16, bf16) or 1 (e4m3 for NVFP4, e8m0 for MXFP4)
  int a_bytes;  // bytes per activation: 2 (f16, bf16) or 1 (e4m3)
};

constexpr int a_rows(const TileShape& s) { return s.m_block_size_8 ? 8 : 16 * s.thread_m_blocks; }

// One pipeline stage of activations: a_rows x (16 * thread_k_blocks) values of a_bytes.
constexpr int a_stage_bytes(const TileShape& s) { return a_rows(s) * 16 * s.thread_k_blocks * s.a_bytes; }

// One stage of weights: thread_k_blocks x (thread_n_blocks / 4) tiles of 16 x 64 values.
constexpr int b_stage_bytes(const TileShape& s) {
  return s.thread_k_blocks * (s.thread_n_blocks / 4) * 16 * 64 * s.weight_bits / 8;
}

// Scale (and zero-point) rows one stage covers: all groups that start inside it, at least one.
constexpr int scale_rows(const TileShape& s) {
  return s.group_blocks <= 0 ? 0 : (s.group_blocks >= s.thread_k_blocks ? 1 : s.thread_k_blocks / s.group_blocks);
}
constexpr int s_stage_bytes(const TileShape& s) { return scale_rows(s) * 16 * s.thread_n_blocks * s.scale_bytes; }
constexpr int z_stage_bytes(const TileShape& s) { return s.has_zp ? s_stage_bytes(s) : 0; }
// Act-order: the int32 group index of every row of the stage (the scales themselves are read through L1).
constexpr int g_stage_bytes(const TileShape& s) { return s.group_blocks == 0 ? 16 * s.thread_k_blocks * 4 : 0; }

// Cross-warp reduction scratch: half of the k-split warps park their fp32 accumulators at a time. Eight M blocks
// are only the sm90 family's 128-token tile, whose warpgroups split the weights' words, not K: nothing to reduce.
// (Its 32- and 64-token kernels split the words too and need none either, but a TileShape does not tell them from
// the sm80 family's kernels of the same shape, which do.)
constexpr int warps_n(const TileShape& s) { return s.thread_n_blocks / 4; }
constexpr int warps_k(const TileShape& s) { return s.threads / 32 / warps_n(s); }
constexpr int reduce_bytes(const TileShape& s) {
  return s.thread_m_blocks > 4 ? 0 : (warps_k(s) / 2) * warps_n(s) * s.thread_m_blocks * 8 * 32 * 16;
}

constexpr int max_int(int a, int b) { return a > b ? a : b; }

// Layout: [A stages][B, S, Z, G stages | reduction scratch].
constexpr int smem_bytes(const TileShape& s) {
  return s.stages * a_stage_bytes(s) +
         max_int(s.stages * (b_stage_bytes(s) + s_stage_bytes(s) + z_stage_bytes(s) + g_stage_bytes(s)),
                 reduce_bytes(s));
}

}  // namespace marlin
