// Hopper's warpgroup mma (wgmma) with the A operand in registers, as the sm90 family's main loop uses it
// (mainloop_sm90.cuh): the dequantized weights are A (64 weight columns x 16 K per instruction, 16 columns per
// warp of the warpgroup), the activations in shared memory are B (N tokens x 16 K, K-major, 128-byte swizzle).
// Only for code compiled for sm_90a, which alone has these instructions.
#pragma once

#include <cstdint>

#include "marlin/mma.cuh"
#include "marlin/scalar_type.cuh"

// 1 when compiling device code for sm_90a (wgmma exists only there).
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define MARLIN_WGMMA 1
#else
#define MARLIN_WGMMA 0
#endif

namespace marlin {

// The shared-memory matrix descriptor of a K-major operand tile with the 128-byte swizzle: rows of 64 16-bit
// values (128 bytes), 16-byte chunk c of row r stored at chunk c ^ (r % 8), groups of 8 rows 1024 bytes apart,
// the tile 1024-byte aligned. `start` is the first row's address at the wanted K offset (32 bytes per 16 K);
// the hardware applies the swizzle to the whole address, so a K offset inside the row needs no other change.
__device__ __forceinline__ uint64_t wgmma_desc_k_major_sw128(const void* start) {
  constexpr uint64_t kLeadingBytes = 16;  // unused by swizzled K-major layouts; 1 in units of 16 bytes
  constexpr uint64_t kStrideBytes = 1024;  // from one group of 8 rows to the next
  constexpr uint64_t kSwizzle128B = 1;
  return static_cast<uint64_t>((smem_addr(start) & 0x3FFFF) >> 4) | (kLeadingBytes >> 4) << 16 |
         (kStrideBytes >> 4) << 32 | kSwizzle128B << 62;
}

// Orders this thread's register writes (the A fragments, the accumulators) before the wgmma that reads them.
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
// Waits until at most n committed wgmma groups of this warpgroup are still in flight.
template <int n>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(n) : "memory");
}
// Makes this thread's generic-proxy writes to shared memory (cp.async included) visible to wgmma's reads.
__device__ __forceinline__ void fence_proxy_async_shared() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}
// Keeps the compiler from moving reads or writes of v across the asynchronous wgmma that owns it.
__device__ __forceinline__ void wgmma_fence_operand(float& v) { asm volatile("" : "+f"(v)::"memory"); }

// One operand list per N (the instruction takes every accumulator register by name).
#define MARLIN_WGMMA_N16(TY)                                                                                         \
  asm volatile(                                                                                                      \
      "{\n.reg .pred p;\nsetp.ne.b32 p, %13, 0;\n"                                                                   \
      "wgmma.mma_async.sync.aligned.m64n16k16.f32." TY "." TY " {"                                                   \
      "%0,%1,%2,%3,%4,%5,%6,%7"                                                                                      \
      "}, {%8,%9,%10,%11}, %12, p, 1, 1, 0;\n}\n"                                                                    \
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])               \
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "n"(1))

#define MARLIN_WGMMA_N32(TY)                                                                                         \
  asm volatile(                                                                                                      \
      "{\n.reg .pred p;\nsetp.ne.b32 p, %21, 0;\n"                                                                   \
      "wgmma.mma_async.sync.aligned.m64n32k16.f32." TY "." TY " {"                                                   \
      "%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15"                                                        \
      "}, {%16,%17,%18,%19}, %20, p, 1, 1, 0;\n}\n"                                                                  \
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),              \
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])         \
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "n"(1))

#define MARLIN_WGMMA_N48(TY)                                                                                         \
  asm volatile(                                                                                                      \
      "{\n.reg .pred p;\nsetp.ne.b32 p, %29, 0;\n"                                                                   \
      "wgmma.mma_async.sync.aligned.m64n48k16.f32." TY "." TY " {"                                                   \
      "%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"                                                       \
      "%16,%17,%18,%19,%20,%21,%22,%23"                                                                              \
      "}, {%24,%25,%26,%27}, %28, p, 1, 1, 0;\n}\n"                                                                  \
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),              \
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),        \
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23])       \
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "n"(1))

#define MARLIN_WGMMA_N64(TY)                                                                                         \
  asm volatile(                                                                                                      \
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"                                                                   \
      "wgmma.mma_async.sync.aligned.m64n64k16.f32." TY "." TY " {"                                                   \
      "%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"                                                       \
      "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31"                                              \
      "}, {%32,%33,%34,%35}, %36, p, 1, 1, 0;\n}\n"                                                                  \
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),              \
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),        \
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),      \
        "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])       \
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "n"(1))

#define MARLIN_WGMMA_N128(TY)                                                                                        \
  asm volatile(                                                                                                      \
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"                                                                   \
      "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " {"                                                  \
      "%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"                                                       \
      "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,"                                             \
      "%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,"                                             \
      "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63"                                              \
      "}, {%64,%65,%66,%67}, %68, p, 1, 1, 0;\n}\n"                                                                  \
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),              \
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),        \
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),      \
        "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),      \
        "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),      \
        "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),      \
        "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),      \
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])       \
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "n"(1))

// d += A (64 x 16, this warp's 16 rows in registers: the m16n8k16 A fragment) * B (16 x N, from desc), fp32
// accumulation; d is this thread's N / 2 accumulators in wgmma order: for n8 chunk c, rows g and g + 8 of the
// warp's 16 at d[4c + 2h + e], column 8c + 2t + e (h = 0 for row g).
template <int N, ScalarTypeId T>
__device__ __forceinline__ void wgmma_m64k16_rs(float (&d)[N / 2], const uint32_t (&a)[4], uint64_t desc) {
  static_assert(T == ScalarTypeId::kFloat16 || T == ScalarTypeId::kBFloat16, "16-bit wgmma only");
  static_assert(N == 16 || N == 32 || N == 48 || N == 64 || N == 128, "N of 16, 32, 48, 64 or 128 tokens");
#if MARLIN_WGMMA
  constexpr bool f16 = T == ScalarTypeId::kFloat16;
  if constexpr (N == 16) {
    if constexpr (f16) MARLIN_WGMMA_N16("f16"); else MARLIN_WGMMA_N16("bf16");
  } else if constexpr (N == 32) {
    if constexpr (f16) MARLIN_WGMMA_N32("f16"); else MARLIN_WGMMA_N32("bf16");
  } else if constexpr (N == 48) {
    if constexpr (f16) MARLIN_WGMMA_N48("f16"); else MARLIN_WGMMA_N48("bf16");
  } else if constexpr (N == 64) {
    if constexpr (f16) MARLIN_WGMMA_N64("f16"); else MARLIN_WGMMA_N64("bf16");
  } else {
    if constexpr (f16) MARLIN_WGMMA_N128("f16"); else MARLIN_WGMMA_N128("bf16");
  }
#else
  __trap();  // the sm90 family is compiled for sm_90a only
#endif
}
#undef MARLIN_WGMMA_N16
#undef MARLIN_WGMMA_N32
#undef MARLIN_WGMMA_N48
#undef MARLIN_WGMMA_N64
#undef MARLIN_WGMMA_N128

}  // namespace marlin
