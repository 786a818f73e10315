// The epilogue of a work unit: the sum of the block's K-slice warps, the per-column and per-row factors and the
// bias, and the output: C directly for a whole tile; for a piece of a split tile, fp32 partial sums in the block's
// workspace slot, which the last block to arrive adds up in block order (tile_scheduler.h says whose pieces these
// are) and converts into C.
//
// Contract: Epilogue<Tr>::run takes the unit's accumulators as MainloopSm80<Tr>::run left them (every warp
// holding its K slice's sums) and a block whose shared memory is free. It returns after a barrier, with shared
// memory free again and, for a split tile, the tile's counter back at zero once the tile is complete, so the
// workspace can be reused by the next launch without clearing.
#pragma once

#include <cstdint>

#include "marlin/kernel_traits.cuh"
#include "marlin/launch_types.h"
#include "marlin/tile_scheduler.h"

namespace marlin {

template <typename Tr>
struct Epilogue {
  using scalar_t = typename Tr::scalar_t;
  using pair_t = typename Tr::pair_t;
  using Half = typename Tr::Half;
  static constexpr int kRows = Tr::kRows, kTileN = Tr::kTileN, kWarpsN = Tr::kWarpsN, kWarpsK = Tr::kWarpsK;
  static constexpr int kAccTiles = Tr::kAccTiles, kAccBlocks = Tr::kAccBlocks;
  // A split tile's workspace slot: kSlotFloats, or whole multiples of it for a larger tile (the 128-token one
  // takes two; the launcher runs it with at most kMaxBlocksPerSm / 2 blocks per multiprocessor, so that the
  // workspace's two slots per block still suffice).
  static constexpr int kSlot = slot_units(kRows, kTileN) * kSlotFloats;
  static constexpr bool m8 = Tr::m_block_size_8;
  // Weight columns along the accumulator rows: the 8-row blocks' swapped mma.sync, and wgmma.
  static constexpr bool kSwapped = m8 || Tr::kWgmma;

  // Where element e (even; e + 1 is the next row, or unswapped the next column) of acc[mb][j] sits in the warp's
  // rows and 64 columns, and (swapped) which of the thread's own words made its column: of the lane's four, or,
  // with the word split, of its warpgroup's two (a compile-time index once unrolled, so that the channelwise
  // scales below stay in registers).
  struct Place {
    int r, c, word;
  };
  static __device__ __forceinline__ Place place(int mb, int j, int e, int g, int t, int wk) {
    if constexpr (Tr::kWgmma) {  // mainloop_sm90.cuh: word i's accumulators, element 4ch + e
      const int flat = mb * 32 + j * 4 + e, ch = flat % (kRows / 2) / 4;
      const int own = flat / (kRows / 2), i = own + (Tr::kWordSplit ? 2 * wk : 0);
      return {8 * ch + 2 * t, 16 * i + g + 8 * (e / 2), own};
    } else if constexpr (m8) {
      return {2 * t, 16 * j + g + 8 * (e / 2), j};
    } else {
      return {mb * 16 + g + 8 * (e / 2), 8 * j + 2 * t, 0};
    }
  }

  // Sums the K-slice warps of each column pairwise through shared memory; warps with wk == 0 keep the result.
  static __device__ __forceinline__ void reduce_k_slices(typename Tr::Accum& acc, float4* red, int wn, int wk,
                                                         int lane) {
    if constexpr (!Tr::kWordSplit) {  // (the word split's warpgroups hold other columns, each over all of K)
#pragma unroll
      for (int half = kWarpsK / 2; half > 0; half /= 2) {
        if (wk >= half && wk < 2 * half) {
          float4* dst = red + (((wk - half) * kWarpsN + wn) * kAccBlocks * 8) * 32 + lane;
#pragma unroll
          for (int mb = 0; mb < kAccBlocks; ++mb)
#pragma unroll
            for (int j = 0; j < kAccTiles; ++j)
              dst[(mb * 8 + j) * 32] = make_float4(acc[mb][j][0], acc[mb][j][1], acc[mb][j][2], acc[mb][j][3]);
        }
        __syncthreads();
        if (wk < half) {
          const float4* src = red + ((wk * kWarpsN + wn) * kAccBlocks * 8) * 32 + lane;
#pragma unroll
          for (int mb = 0; mb < kAccBlocks; ++mb)
#pragma unroll
            for (int j = 0; j < kAccTiles; ++j) {
              const float4 v = src[(mb * 8 + j) * 32];
              acc[mb][j][0] += v.x;
              acc[mb][j][1] += v.y;
              acc[mb][j][2] += v.z;
              acc[mb][j][3] += v.w;
            }
        }
        __syncthreads();
      }
    }
  }

  static __device__ __forceinline__ float* slot_ptr(const GemmParams& p, int block, int piece) {
    return p.partials + static_cast<size_t>(partial_slot(block, piece)) * kSlot;
  }

  // Adds the pieces of a completed split tile in block order and writes them to C, a float4 of 4 columns per
  // thread and position. The first block's piece may be its second slot; the others' are their first slots, 2 *
  // kSlot floats apart, so at kPositions positions the first piece and up to kBatch others are loaded together
  // from few addresses and immediate offsets: one L2 round trip per kPositions positions and kBatch pieces.
  // - The mma.sync tiles (at most 16 positions per thread) take one position and 4 pieces: a tile split 5 ways
  //   costs one round trip per position. More loads in flight made ptxas spill in their main loops, and staging
  //   the pieces in shared memory with cp.async made every kernel 2-6% slower (docs/PERFORMANCE.md, "Tiles first").
  // - The 128-token tile (32 positions per thread, and mostly 2 pieces as its shares are long) takes 4 positions
  //   and one piece at a time: with one position its reduction was a chain of L2 round trips, whose add was the
  //   hottest instruction of its ncu source counters (docs/PERFORMANCE.md, "A step in flight"); no spill either way.
  static constexpr bool kTile128 = Tr::kWgmma && Tr::thread_m_blocks == 8;
  static constexpr int kBatch = kTile128 ? 1 : 4;
  static constexpr int kPositions = kTile128 ? 4 : 1;
  static __device__ __forceinline__ void finish_split_tile(const GemmParams& p, int tile, int row0, int col0) {
    const SplitTile st = split_tile(p.split, tile);
    const int valid = min(kRows, p.m - row0) * kTileN / 4;
    const int others = st.last - st.first;
    const float4* const first = reinterpret_cast<const float4*>(slot_ptr(p, st.first, st.first_piece));
    const float4* const rest = reinterpret_cast<const float4*>(slot_ptr(p, st.first + 1, 0));
    constexpr int kStride = 2 * kSlot / 4;  // float4s from one block's first slot to the next block's
    scalar_t* const C = static_cast<scalar_t*>(p.c);
    for (int i0 = threadIdx.x; i0 < valid; i0 += Tr::threads * kPositions) {
      bool live[kPositions];  // position u (i0 + u * threads) is inside the tile's valid rows
      float4 v[kPositions];
#pragma unroll
      for (int u = 0; u < kPositions; ++u) {
        live[u] = i0 + u * Tr::threads < valid;
        if (live[u]) v[u] = __ldcg(first + i0 + u * Tr::threads);
      }
      for (int b0 = 0; b0 < others; b0 += kBatch) {
        float4 w[kPositions][kBatch];
#pragma unroll
        for (int u = 0; u < kPositions; ++u) {
          const float4* const src = rest + static_cast<size_t>(b0) * kStride + i0 + u * Tr::threads;
#pragma unroll
          for (int j = 0; j < kBatch; ++j)
            if (live[u] && b0 + j < others) w[u][j] = __ldcg(src + j * kStride);
        }
#pragma unroll
        for (int u = 0; u < kPositions; ++u)
#pragma unroll
          for (int j = 0; j < kBatch; ++j) {
            if (live[u] && b0 + j < others) {
              v[u].x += w[u][j].x;
              v[u].y += w[u][j].y;
              v[u].z += w[u][j].z;
              v[u].w += w[u][j].w;
            }
          }
      }
#pragma unroll
      for (int u = 0; u < kPositions; ++u) {
        if (!live[u]) continue;
        const int i = i0 + u * Tr::threads;
        const int r = i / (kTileN / 4), c = (i % (kTileN / 4)) * 4;
        pair_t* out = reinterpret_cast<pair_t*>(C + static_cast<size_t>(row0 + r) * p.ldc + col0 + c);
        out[0] = Half::from_float2(make_float2(v[u].x, v[u].y));
        out[1] = Half::from_float2(make_float2(v[u].z, v[u].w));
      }
    }
  }

  static __device__ __forceinline__ void run(const GemmParams& p, const SharedStorage<Tr>& sm, const WorkUnit& u,
                                             int row0, int col0, float global_scale, typename Tr::Accum& acc) {
    const ThreadLayout<Tr> th;
    const int tid = th.tid, lane = th.lane, wn = th.wn, wk = th.wk, g = th.g, t = th.t;
    reduce_k_slices(acc, sm.red, wn, wk, lane);

    const bool whole_tile = u.piece < 0;
    float* const slot = whole_tile ? nullptr : slot_ptr(p, blockIdx.x, u.piece);
    scalar_t* const C = static_cast<scalar_t*>(p.c);
    if (Tr::kWordSplit || wk == 0) {  // the warps that hold sums
      // Channelwise scales (stored column order): this thread's columns need the eight at 16t (and 16t + 8), or,
      // with swapped operands, the eight at 8g (two per word), of which the word split's warpgroup takes the four
      // of its words. One 16-byte (8-byte) load each.
      int4 cs[2] = {};
      if constexpr (Tr::group_blocks == -1) {
        const scalar_t* const s = static_cast<const scalar_t*>(p.scales) + col0 + wn * 64;
        const int4* s4 = reinterpret_cast<const int4*>(s);
        if constexpr (Tr::kWordSplit) {
          const int2 v = *reinterpret_cast<const int2*>(s + 8 * g + 4 * wk);
          cs[0] = make_int4(v.x, v.y, 0, 0);
        } else if constexpr (kSwapped) {
          cs[0] = s4[g];
        } else {
          cs[0] = s4[2 * t];
          cs[1] = s4[2 * t + 1];
        }
      }
      auto cw_scale = [&](const Place& at, int j, int e) {
        const scalar_t* s = reinterpret_cast<const scalar_t*>(cs);
        return Half::to_float(kSwapped ? s[2 * at.word + e / 2] : s[8 * (e % 2) + j]);
      };
#pragma unroll
      for (int mb = 0; mb < kAccBlocks; ++mb)
#pragma unroll
        for (int j = 0; j < kAccTiles; ++j)
#pragma unroll
          for (int e = 0; e < 4; e += 2) {
            // Elements e and e + 1: two columns of one row, or (swapped) one column of two rows.
            const Place at = place(mb, j, e, g, t, wk);
            const int r = at.r, c = at.c;
            float v0 = acc[mb][j][e], v1 = acc[mb][j][e + 1];
            const int r1 = kSwapped ? r + 1 : r;
            const int c1 = kSwapped ? c : c + 1;
            if constexpr (Tr::group_blocks == -1) {
              v0 *= cw_scale(at, j, e);
              v1 *= cw_scale(at, j, e + 1);
            }
            if constexpr (Tr::kNvfp4) {
              v0 *= global_scale;
              v1 *= global_scale;
            }
            if constexpr (Tr::kA8) {  // per-row activation scales
              if (p.a_scales != nullptr) {
                v0 *= row0 + r < p.m ? p.a_scales[row0 + r] : 0.f;
                v1 *= row0 + r1 < p.m ? p.a_scales[row0 + r1] : 0.f;
              }
            }
            if (p.bias != nullptr && u.k_begin == 0) {  // once per tile: by the unit that starts it
              const scalar_t* const bias = static_cast<const scalar_t*>(p.bias) + col0 + wn * 64;
              v0 += Half::to_float(bias[c]);
              v1 += Half::to_float(bias[c1]);
            }
            const size_t out = static_cast<size_t>(row0 + r) * p.ldc + col0 + wn * 64 + c;
            const int part = r * kTileN + wn * 64 + c;  // in the slot
            if constexpr (kSwapped) {
              if (whole_tile) {
                if (row0 + r < p.m) C[out] = Half::from_float2(make_float2(v0, v0)).x;
                if (row0 + r1 < p.m) C[out + p.ldc] = Half::from_float2(make_float2(v1, v1)).x;
              } else {
                if (row0 + r < p.m) __stcg(slot + part, v0);
                if (row0 + r1 < p.m) __stcg(slot + part + kTileN, v1);
              }
            } else if (r < kRows && row0 + r < p.m) {
              if (whole_tile) {
                *reinterpret_cast<pair_t*>(C + out) = Half::from_float2(make_float2(v0, v1));
              } else {
                __stcg(reinterpret_cast<float2*>(slot + part), make_float2(v0, v1));  // columns c and c + 1
              }
            }
          }
    }
    if (whole_tile) return;  // no barrier needed: the next unit's first shared-memory writes follow one

    // Publish this block's piece, then count the K steps it covered; the block that completes the count adds
    // every piece and resets the counter for the next launch.
    __shared__ int s_last;
    int* const counter = p.tile_counters + tile_counter(p.split, u.tile);
    __syncthreads();
    if (tid == 0) {
      __threadfence();  // after the barrier, cumulative over every thread's partial sums
      const int covered = u.k_end - u.k_begin;
      s_last = atomicAdd(counter, covered) + covered == p.split.k_iters;
      if (s_last) __threadfence();  // acquire the other blocks' pieces for the whole block (barrier below)
    }
    __syncthreads();
    if (s_last) {
      finish_split_tile(p, u.tile, row0, col0);
      if (tid == 0) *counter = 0;
    }
    __syncthreads();  // the next unit reuses shared memory and s_last
  }
};

}  // namespace marlin
