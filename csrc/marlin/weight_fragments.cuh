// A warp's weights as the tensor cores take them, shared by every main loop: the lane's packed words of a 16 x 64
// weight tile read from a pipeline stage, with the scales, zero points and act-order group indices they need,
// and their dequantization into pairs of 16-bit values (scaled by their groups).
//
// Contract: for 16-row block kb of a stage and the warp's 64 columns wn * 64.. of the block's tile,
// WeightDequant<Tr>::fetch reads the lane's fragment from shared memory and dequant(f, use) calls use(i, w) for
// i = 0..3 (or the words asked for) with w[4] the pairs (k 2t, 2t+1) and (k 2t+8, 2t+9) of columns 16i + g
// (w[0], w[1]) and 16i + 8 + g (w[2], w[3]) of the warp's 64 in repacked column order: the mma.sync B fragments
// of n8 tiles 2i and 2i + 1, and together the A fragment {w[0], w[2], w[1], w[3]} of a 16 x 16 block of the
// transposed weights (the operand order of wgmma and of the 8-row blocks). Group scales and zero points are
// applied, channelwise ones only where they are zero points.
#pragma once

#include <cstdint>

#include "marlin/dequant.cuh"
#include "marlin/kernel_traits.cuh"
#include "marlin/launch_types.h"
#include "marlin/types.cuh"

namespace marlin {

template <typename Tr>
struct WeightDequant {
  using scalar_t = typename Tr::scalar_t;
  using pair_t = typename Tr::pair_t;
  using dq_pair_t = typename Tr::dq_pair_t;
  using Dq = typename Tr::Dq;
  using Traits = typename Tr::Half;
  static constexpr ScalarTypeId a_type = Tr::a_type, b_type = Tr::b_type;
  static constexpr int kBits = Tr::kBits, kSBytes = Tr::kSBytes, kTileBytes = Tr::kTileBytes;

  // The lane's part of one 16-row block of the warp's weight tile (16-bit activations).
  struct Frag {
    int4 bq[kBits / 4];  // the lane's words: 4 (4-bit) or 8 (8-bit)
    int4 sv;  // grouped: the raw scales of columns 8j + g
    int4 zv;  // grouped INT4 with zero points: the raw zero points of columns 8j + g
    int2 gi[2];  // act-order: the group indices of rows (2t, 2t+1) and (2t+8, 2t+9)
  };

  const GemmParams& p;
  const SharedStorage<Tr>& sm;
  const int col0, wn, lane, g, t;
  typename Dq::Offset cw_off[8];  // channelwise zero points, which do not change along K

  __device__ __forceinline__ WeightDequant(const GemmParams& p_, const SharedStorage<Tr>& sm_, int col0_, int wn_,
                                           int lane_)
      : p(p_), sm(sm_), col0(col0_), wn(wn_), lane(lane_), g(lane_ / 4), t(lane_ % 4) {
    if constexpr (Tr::kHasZp && !Tr::kGrouped) {
      const int4 zv = *reinterpret_cast<const int4*>(static_cast<const scalar_t*>(p.zeros) + col0 + wn * 64 + g * 8);
      const scalar_t* z = reinterpret_cast<const scalar_t*>(&zv);
#pragma unroll
      for (int j = 0; j < 8; ++j) cw_off[j] = Dq::from_zero(dq_zero(z[j]));
    }
  }

  // A zero point (c_type) as Dq::from_zero takes it.
  static __device__ __forceinline__ auto dq_zero(scalar_t z) {
    if constexpr (Tr::kInt8Act) {
      return Traits::to_float(z);
    } else if constexpr (Tr::kFp8Act) {
      return __float2half(Traits::to_float(z));
    } else {
      return z;
    }
  }

  // The zero-point offset of column 8j + g (INT4 weights): GPTQ's fixed 8, the run's channelwise zero points, or
  // the stage's grouped ones, from `zraw`: this thread's eight as loaded from shared memory.
  __device__ __forceinline__ typename Dq::Offset offset(const int4& zraw, int j) const {
    if constexpr (b_type == ScalarTypeId::kU4B8) {
      return Dq::bias8();
    } else if constexpr (Tr::kGrouped) {
      return Dq::from_zero(dq_zero(reinterpret_cast<const scalar_t*>(&zraw)[j]));
    } else {
      return cw_off[j];
    }
  }

  // Where a stage's scales (and zero points) for 16-row block kb and this warp's 64 columns start: one row per
  // stage for groups of a stage or more, else the row of kb's group.
  __device__ __forceinline__ int scale_base(int stage, int kb) const {
    return stage * Tr::kSStage + (Tr::kGroupSize >= Tr::kKStep ? 0 : kb * 16 / Tr::kGroupDiv) * Tr::kTileN + wn * 64;
  }

  // Reads what words kFirstWord .. kFirstWord + kWords - 1 need (all four, or the half that a warpgroup of the
  // sm90 family's word split takes: then only their half of the words, scales and zero points, in the same places
  // of f, so that fragments read a step ahead take fewer registers).
  template <int kFirstWord = 0, int kWords = 4>
  __device__ __forceinline__ void fetch(Frag& f, int stage, int kb) const {
    static_assert((kFirstWord == 0 && kWords == 4) || (kWords == 2 && kFirstWord % 2 == 0), "all words, or a half");
    constexpr bool kHalf = kWords == 2;
    constexpr int kH = kFirstWord / 2;  // which half
    const uint8_t* cB = sm.b + stage * Tr::kBStage + (kb * Tr::kWarpsN + wn) * kTileBytes + lane * 4 * kBits;
    if constexpr (!kHalf) {
#pragma unroll
      for (int v = 0; v < kBits / 4; ++v) f.bq[v] = *reinterpret_cast<const int4*>(cB + v * 16);
    } else if constexpr (kBits == 8) {  // word i is 32-bit words 2i and 2i + 1
      f.bq[kH] = *reinterpret_cast<const int4*>(cB + kH * 16);
    } else {
      reinterpret_cast<uint2*>(f.bq)[kH] = *reinterpret_cast<const uint2*>(cB + kH * 8);
    }
    f.sv = f.zv = make_int4(0, 0, 0, 0);
    if constexpr (Tr::kGrouped) {
      // Word i takes the scales (and zero points) of columns 8j + g, j = 2i and 2i + 1.
      const int idx = scale_base(stage, kb) + g * 8;
      if constexpr (kSBytes == 2) {
        if constexpr (kHalf) {
          reinterpret_cast<uint2*>(&f.sv)[kH] = *reinterpret_cast<const uint2*>(sm.s + (idx + 4 * kH) * 2);
        } else {
          f.sv = *reinterpret_cast<const int4*>(sm.s + idx * 2);
        }
      } else if constexpr (kHalf) {
        reinterpret_cast<uint32_t*>(&f.sv)[kH] = *reinterpret_cast<const uint32_t*>(sm.s + idx + 4 * kH);
      } else {
        const int2 v = *reinterpret_cast<const int2*>(sm.s + idx);
        f.sv = make_int4(v.x, v.y, 0, 0);
      }
      if constexpr (Tr::kHasZp) {
        if constexpr (kHalf) {
          reinterpret_cast<uint2*>(&f.zv)[kH] = *reinterpret_cast<const uint2*>(sm.z + idx + 4 * kH);
        } else {
          f.zv = *reinterpret_cast<const int4*>(sm.z + idx);
        }
      }
    }
    if constexpr (Tr::kActOrder) {
#pragma unroll
      for (int h = 0; h < 2; ++h)
        f.gi[h] = *reinterpret_cast<const int2*>(sm.g + stage * Tr::kKStep + kb * 16 + 2 * t + 8 * h);
    }
  }

  // Words kFirstWord .. kFirstWord + kWords - 1 only (the word split's warpgroups take two each); the
  // scales and zero points of the other words' columns are then never converted.
  template <int kFirstWord = 0, int kWords = 4, typename Use>
  __device__ __forceinline__ void dequant(const Frag& f, Use&& use) const {
    static_assert(kFirstWord >= 0 && kWords >= 1 && kFirstWord + kWords <= 4, "words 0..3");
    const int4& zv = f.zv;
    // Per n8 column tile j: the zero-point offset and (grouped) the scale of column 8j + g.
    scalar_t sc[8];
    if constexpr (Tr::kGrouped) ScaleCvt<Tr::s_type, a_type>::run(f.sv, sc);
    typename Dq::Offset off[8];  // INT4 weights
    if constexpr (Tr::kHasZp && Tr::kGrouped) {  // two columns' zero points at a time
#pragma unroll
      for (int j = 0; j < 8; j += 2)
        Dq::from_zero_pair(reinterpret_cast<const pair_t*>(&zv)[j / 2], off[j], off[j + 1]);
    } else {
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        if constexpr (kBits == 4 && !Tr::kFp4) off[j] = offset(zv, j);
      }
    }
    // Act-order: rows 2t, 2t+1, 2t+8, 2t+9 of this 16-row slice may each belong to another group; their scale
    // rows (this thread's eight columns each) come through L1.
    pair_t rs[2][8];  // [rows (2t, 2t+1) or (2t+8, 2t+9)][column tile]
    if constexpr (Tr::kActOrder) {
      const int4* const S = static_cast<const int4*>(p.scales);
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int2 gi = f.gi[h];
        const size_t col = col0 + wn * 64 + g * 8;
        const int4 s0 = __ldg(S + (static_cast<size_t>(gi.x) * p.n + col) / 8);
        const int4 s1 = __ldg(S + (static_cast<size_t>(gi.y) * p.n + col) / 8);
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          rs[h][j].x = reinterpret_cast<const scalar_t*>(&s0)[j];
          rs[h][j].y = reinterpret_cast<const scalar_t*>(&s1)[j];
        }
      }
    }
    const uint32_t* q = reinterpret_cast<const uint32_t*>(f.bq);
#pragma unroll
    for (int i = kFirstWord; i < kFirstWord + kWords; ++i) {
      dq_pair_t w[4];
      if constexpr (Tr::kFp4) {
        DequantFp4<a_type>::run(q[i], w);
      } else if constexpr (Tr::kFp8) {
        DequantFp8<a_type>::run(q[2 * i], w[0], w[1]);
        DequantFp8<a_type>::run(q[2 * i + 1], w[2], w[3]);
      } else if constexpr (kBits == 4) {
        Dq::run(q[i], off[2 * i], off[2 * i + 1], w);
      } else {
        Dequant8<a_type>::run(q[2 * i], w[0], w[1]);
        Dequant8<a_type>::run(q[2 * i + 1], w[2], w[3]);
      }
      if constexpr (Tr::kActOrder) {
        w[0] = __hmul2(w[0], rs[0][2 * i]);
        w[1] = __hmul2(w[1], rs[1][2 * i]);
        w[2] = __hmul2(w[2], rs[0][2 * i + 1]);
        w[3] = __hmul2(w[3], rs[1][2 * i + 1]);
      } else if constexpr (Tr::kGrouped) {
        const pair_t s0 = Traits::splat(sc[2 * i]), s1 = Traits::splat(sc[2 * i + 1]);
        w[0] = __hmul2(w[0], s0);
        w[1] = __hmul2(w[1], s0);
        w[2] = __hmul2(w[2], s1);
        w[3] = __hmul2(w[3], s1);
      }
      use(i, w);
    }
  }
};

}  // namespace marlin
