// The tile scheduler: which block takes which K range of which output tile, and where split tiles meet.
// Plain C++ (host and device) so that the launcher, its unit tests and the kernel share one definition.
//
// Contract.
// - Tiles are numbered with the M chunks of one column of N tiles next to each other (tile = n_tile * m_chunks +
//   m_chunk): blocks that run at the same time share the weights of a column through L2.
// - Data-parallel part: tiles [0, dp_tiles), a multiple of the grid or (when the last wave nearly fills the grid)
//   all tiles; block b takes tiles b, b + grid, ... whole.
// - Stream-K part: the K steps of tiles [dp_tiles, tiles), flattened tile by tile, in contiguous shares of
//   sk_share steps; block b takes share b. A share may cover the tail of one tile, whole tiles and the head of
//   another: at most two pieces of split tiles per block, its first (piece 0) and its last (piece 1).
// - A split tile's pieces come from consecutive blocks. Each writes its fp32 partial sums into its own workspace
//   slot (2 * block + piece) and counts its K steps on the tile's counter, indexed by the first contributing
//   block. The block that completes the count adds the slots in block order, whatever order the blocks arrived
//   in: the result does not depend on timing (bitwise deterministic).
#pragma once

#if defined(__CUDACC__)
#define MARLIN_HD __host__ __device__ __forceinline__
#else
#define MARLIN_HD inline
#endif

namespace marlin {

// The launcher's split of one GEMM (GemmParams carries it to the kernel).
struct WorkSplit {
  int m_chunks, n_tiles, k_iters;
  int dp_tiles;  // tiles done whole, data-parallel: a multiple of grid, or all of them
  int sk_share;  // K steps per block over the remaining tiles; 0 when there are none
  int grid;      // blocks
};

// One block's run over consecutive K steps [k_begin, k_end) of one tile.
struct WorkUnit {
  int tile, k_begin, k_end;
  int piece;  // a split tile's piece: 0 (the block's first), 1 (its last); -1 for a whole tile
};

MARLIN_HD int tile_m_chunk(const WorkSplit& s, int tile) { return tile % s.m_chunks; }
MARLIN_HD int tile_n_tile(const WorkSplit& s, int tile) { return tile / s.m_chunks; }

// Iterates one block's work units in order: its data-parallel tiles, then its stream-K share.
struct TileScheduler {
  WorkSplit s;
  int block;
  int next_dp;  // next data-parallel tile
  int it, end;  // flattened K steps of the stream-K share still to do
  int sk_begin;

  MARLIN_HD TileScheduler(const WorkSplit& split, int b) : s(split), block(b), next_dp(b) {
    const int sk_base = s.dp_tiles * s.k_iters;
    const int total = s.m_chunks * s.n_tiles * s.k_iters;
    sk_begin = sk_base + b * s.sk_share;
    it = sk_begin < total ? sk_begin : total;
    const int e = sk_begin + s.sk_share;
    end = e < total ? e : total;
  }

  MARLIN_HD bool next(WorkUnit& u) {
    if (next_dp < s.dp_tiles) {
      u = {next_dp, 0, s.k_iters, -1};
      next_dp += s.grid;
      return true;
    }
    if (it >= end) return false;
    u.tile = it / s.k_iters;
    u.k_begin = it % s.k_iters;
    const int left = end - it;
    u.k_end = s.k_iters < u.k_begin + left ? s.k_iters : u.k_begin + left;
    const bool whole = u.k_begin == 0 && u.k_end == s.k_iters;
    u.piece = whole ? -1 : (it == sk_begin ? 0 : 1);
    it += u.k_end - u.k_begin;
    return true;
  }
};

// The blocks whose shares cover a stream-K tile: first..last, in the order their pieces are added.
struct SplitTile {
  int first, last;
  int first_piece;  // the first block's piece: 1 when its share began in an earlier tile, else 0
};

MARLIN_HD SplitTile split_tile(const WorkSplit& s, int tile) {
  const int sk_base = s.dp_tiles * s.k_iters;
  const int begin = tile * s.k_iters - sk_base;
  const int first = begin / s.sk_share;
  return {first, (begin + s.k_iters - 1) / s.sk_share, first * s.sk_share < begin ? 1 : 0};
}

// Workspace slot of a block's piece (2 per block) and the arrival counter of a split tile (1 per block).
MARLIN_HD int partial_slot(int block, int piece) { return 2 * block + piece; }
MARLIN_HD int tile_counter(const WorkSplit& s, int tile) { return split_tile(s, tile).first; }

}  // namespace marlin
