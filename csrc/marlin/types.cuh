// 16-bit float types the kernel computes with, selected by ScalarTypeId.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "marlin/scalar_type.cuh"

namespace marlin {

template <ScalarTypeId T>
struct HalfType;

template <>
struct HalfType<ScalarTypeId::kFloat16> {
  using scalar = half;
  using pair = half2;
  static __device__ __forceinline__ pair from_float2(float2 v) { return __float22half2_rn(v); }
  static __device__ __forceinline__ pair splat(scalar v) { return __half2half2(v); }
  static __device__ __forceinline__ float to_float(scalar v) { return __half2float(v); }
};

template <>
struct HalfType<ScalarTypeId::kBFloat16> {
  using scalar = nv_bfloat16;
  using pair = nv_bfloat162;
  static __device__ __forceinline__ pair from_float2(float2 v) { return __float22bfloat162_rn(v); }
  static __device__ __forceinline__ pair splat(scalar v) { return __bfloat162bfloat162(v); }
  static __device__ __forceinline__ float to_float(scalar v) { return __bfloat162float(v); }
};

// Reinterprets between a 16-bit pair and the 32-bit register an mma operand takes.
template <typename Pair>
__device__ __forceinline__ uint32_t as_u32(Pair v) {
  return *reinterpret_cast<uint32_t*>(&v);
}
template <typename Pair>
__device__ __forceinline__ Pair as_pair(uint32_t v) {
  return *reinterpret_cast<Pair*>(&v);
}

}  // namespace marlin
