// Tensor-core mma, ldmatrix and global->shared copy wrappers. sm_80 and newer use m16n8k16 mma and cp.async;
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

// An L2 policy that evicts the lines it marks first: for data read once per launch, such as the weights.
__device__ __forceinline__ uint64_t evict_first_policy() {
  uint64_t policy = 0;
#if !MARLIN_TURING
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(policy));
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

// As cp_async16, with an L2 cache policy from evict_first_policy().
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
