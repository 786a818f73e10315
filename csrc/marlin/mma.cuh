// Tensor-core mma, ldmatrix, global->shared copy wrappers. sm_80 and newer use m16n8k16 mma and cp.async;
// Turing (sm_75) has neither, so there an m16n8k16 is two m16n8k8 and the pipeline stages go through registers.
#pragma once

#include <cstdint>

#include "marlin/scalar_type.cuh"

// 1 when compiling device code for Turing. MARLIN_EMULATE_SM75 forces the Turing instructions on a newer GPU, so
// that the GPU suite can check that code path where no Turing GPU is at hand (every instruction it uses exists on
// later archs).
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ < 800 || defined(MARLIN_EMULATE_SM75))
#define MARLIN_TURING 1
#else
#define MARLIN_TURING 0
#endif

namespace marlin {

// D += A * B for one m16n8k16 tile with fp32 accumulation; A row-major, B column-major fragments.
template <ScalarTypeId T>
__device__ __forceinline__ void mma_m16n8k16(const uint32_t (&a)[4], const uint32_t (&b)[2], float (&c)[4]) {
  static_assert(T == ScalarTypeId::kFloat16 || T == ScalarTypeId::kBFloat16, "16-bit mma only");
#if MARLIN_TURING
  static_assert(T == ScalarTypeId::kFloat16, "Turing has no bf16 mma");
  // k 0..7 of the tile from a0, a1, b0, then k 8..15 from a2, a3, b1.
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(b[0]));
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[2]), "r"(a[3]), "r"(b[1]));
#else
  if constexpr (T == ScalarTypeId::kFloat16) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
#endif
}

// D = A * B + C for one m16n8k32 tile of e4m3 values with fp32 accumulation (sm_89 and newer; the sm89 family).
// A fragment: a0 = row g, k 4t..4t+3; a1 = row g+8; a2, a3 = the same at k + 16. B: b0 = k 4t..4t+3 of column
// g, b1 = k 16+4t.. (one byte per value, lowest k in the lowest byte).
__device__ __forceinline__ void mma_m16n8k32_e4m3(const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4],
                                                  float (&d)[4]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
        "f"(c[3]));
#else
  __trap();  // the sm89 family is compiled for 8.9 and 12.x only
#endif
}

// acc += (A * B) * scale for one m16n8k32 e4m3 tile: columns 2t and 2t + 1 of the fragment take s0 and s1. One
// asm block, so that each tile's product lives only between its mma and its fma (no temporaries held across
// tiles: the unrolled loops would otherwise keep 4 per tile live and spill).
__device__ __forceinline__ void mma_m16n8k32_e4m3_scaled(const uint32_t (&a)[4], const uint32_t (&b)[2], float s0,
                                                         float s1, float (&acc)[4]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  asm volatile(
      "{\n.reg .f32 t0, t1, t2, t3;\n"
      "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {t0,t1,t2,t3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%10,%10,%10};\n"
      "fma.rn.f32 %0, t0, %11, %0;\nfma.rn.f32 %1, t1, %12, %1;\n"
      "fma.rn.f32 %2, t2, %11, %2;\nfma.rn.f32 %3, t3, %12, %3;\n}\n"
      : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(0.f), "f"(s0), "f"(s1));
#else
  __trap();
#endif
}

// s8 m16n8k32 tiles with s32 accumulation (INT8 activations). Fragments as for e4m3 above. Turing has no
// m16n8k32 integer mma: there the tile is four m8n8k16, k 0..15 from a0/a1 and b0, k 16..31 from a2/a3 and b1.
#if MARLIN_TURING
#define MARLIN_MMA_S8(D, A, B, C)                                                                               \
  "mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {" D "0," D "1}, {" A "0}, {" B "0}, {" C "0," C "1};\n"     \
  "mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {" D "0," D "1}, {" A "2}, {" B "1}, {" D "0," D "1};\n"     \
  "mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {" D "2," D "3}, {" A "1}, {" B "0}, {" C "2," C "3};\n"     \
  "mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {" D "2," D "3}, {" A "3}, {" B "1}, {" D "2," D "3};\n"
#else
#define MARLIN_MMA_S8(D, A, B, C)                                                                               \
  "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {" D "0," D "1," D "2," D "3}, {" A "0," A "1," A "2," A   \
  "3}, {" B "0," B "1}, {" C "0," C "1," C "2," C "3};\n"
#endif

// acc += A * B in int32, where acc holds int32 bit patterns in float registers (the kernel's accumulators are
// float; channelwise INT8 runs keep exact int32 sums there and convert them once, after the main loop).
__device__ __forceinline__ void mma_m16n8k32_s8(const uint32_t (&a)[4], const uint32_t (&b)[2], float (&acc)[4]) {
  asm volatile(
      "{\n.reg .s32 d<4>, a<4>, b<2>;\n"
      "mov.b32 d0, %0;\nmov.b32 d1, %1;\nmov.b32 d2, %2;\nmov.b32 d3, %3;\n"
      "mov.b32 a0, %4;\nmov.b32 a1, %5;\nmov.b32 a2, %6;\nmov.b32 a3, %7;\nmov.b32 b0, %8;\nmov.b32 b1, %9;\n"
      MARLIN_MMA_S8("d", "a", "b", "d")
      "mov.b32 %0, d0;\nmov.b32 %1, d1;\nmov.b32 %2, d2;\nmov.b32 %3, d3;\n}\n"
      : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// acc += float(A * B) * scale for one s8 tile (groups of 32 rows or more: one scale per k32 step): columns 2t and
// 2t + 1 take s0 and s1. One asm block, for the same reason as mma_m16n8k32_e4m3_scaled. A step's sums are below
// 32 * 128 * 15 < 2^22 in magnitude, so the mma, started from the bits of 1.5 * 2^23 (0x4B400000) instead of 0,
// leaves 1.5 * 2^23 + sum as an fp32 (the sum lands in the mantissa), and one subtraction converts it exactly: a
// full-rate instruction instead of an int -> float conversion at a quarter of the rate (ncu: the conversions made
// the grouped kernels issue-bound, docs/PERFORMANCE.md).
__device__ __forceinline__ void mma_m16n8k32_s8_scaled(const uint32_t (&a)[4], const uint32_t (&b)[2], float s0,
                                                       float s1, float (&acc)[4]) {
  asm volatile(
      "{\n.reg .s32 d<4>, m<4>, a<4>, b<2>;\n.reg .f32 f<4>;\n"
      "mov.b32 m0, 0x4B400000;\nmov.b32 m1, 0x4B400000;\nmov.b32 m2, 0x4B400000;\nmov.b32 m3, 0x4B400000;\n"
      "mov.b32 a0, %4;\nmov.b32 a1, %5;\nmov.b32 a2, %6;\nmov.b32 a3, %7;\nmov.b32 b0, %8;\nmov.b32 b1, %9;\n"
      MARLIN_MMA_S8("d", "a", "b", "m")
      "mov.b32 f0, d0;\nmov.b32 f1, d1;\nmov.b32 f2, d2;\nmov.b32 f3, d3;\n"
      "sub.f32 f0, f0, 0f4B400000;\nsub.f32 f1, f1, 0f4B400000;\n"
      "sub.f32 f2, f2, 0f4B400000;\nsub.f32 f3, f3, 0f4B400000;\n"
      "fma.rn.f32 %0, f0, %10, %0;\nfma.rn.f32 %1, f1, %11, %1;\n"
      "fma.rn.f32 %2, f2, %10, %2;\nfma.rn.f32 %3, f3, %11, %3;\n}\n"
      : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(s0), "f"(s1));
}
#undef MARLIN_MMA_S8

// Two f16 values (exact in e4m3: small integers, e2m1 values) -> two e4m3 bytes, the low half in the low byte.
__device__ __forceinline__ uint32_t to_e4m3x2(uint32_t f16x2) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  uint16_t r;
  asm volatile("cvt.rn.satfinite.e4m3x2.f16x2 %0, %1;\n" : "=h"(r) : "r"(f16x2));
  return r;
#else
  __trap();
  return 0;
#endif
}

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// Four 8x8 b16 matrices; lanes 8i..8i+7 give the row addresses of matrix i.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

// Two 8x8 b16 matrices; lanes 0..15 give the row addresses.
__device__ __forceinline__ void ldmatrix_x2(uint32_t& r0, uint32_t& r1, const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r0), "=r"(r1)
               : "r"(smem_addr(p)));
}

// 16-byte global->shared copy that bypasses L1; when !valid the destination is zero-filled instead.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid = true) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(src_bytes));
}

// The L2 policy of the weight copies. Weights read by one M chunk only are marked to be evicted first (they are
// not read again in this launch); with several M chunks, whose blocks read each weight tile in turn, they get
// the normal policy, so that the later chunks find them in L2.
__device__ __forceinline__ uint64_t weight_policy(bool read_once) {
  uint64_t policy = 0;
#if !MARLIN_TURING
  if (read_once) {
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(policy));
  } else {
    asm volatile("createpolicy.fractional.L2::evict_normal.b64 %0, 1.0;\n" : "=l"(policy));
  }
#endif
  return policy;
}

// Turing's stage copies: a 16-byte load that bypasses L1, and the shared-memory store that later lands it.
__device__ __forceinline__ int4 load_global_cg(const void* src) {
  int4 v;
  asm volatile("ld.global.cg.v4.u32 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(src));
  return v;
}
__device__ __forceinline__ void store_shared16(uint32_t dst, const int4& v) {
  asm volatile("st.shared.v4.u32 [%0], {%1,%2,%3,%4};\n" ::"r"(dst), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w));
}

// As cp_async16, with an L2 cache policy from weight_policy().
__device__ __forceinline__ void cp_async16_hint(void* dst, const void* src, uint64_t policy) {
  asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src),
               "l"(policy));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

// Waits until at most n committed groups are still in flight.
template <int n>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(n));
}

}  // namespace marlin
