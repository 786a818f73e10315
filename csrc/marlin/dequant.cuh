// Fast 4-bit dequantization: a lop3 drops each nibble pair into the mantissa of a 16-bit float with a fixed
// exponent ("magic" number), and one subtraction removes the magic and the zero point together. Exact for
// every q and zero in 0..15, so the only rounding is the later multiplication by the scale.
#pragma once

#include <cstdint>

#include "marlin/scalar_type.cuh"
#include "marlin/types.cuh"

namespace marlin {

// (a & b) | c in one instruction.
__device__ __forceinline__ uint32_t and_or(uint32_t a, uint32_t b, uint32_t c) {
  uint32_t r;
  asm volatile("lop3.b32 %0, %1, %2, %3, 0xEA;\n" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}

template <ScalarTypeId T>
struct Dequant4;

// fp16: 0x6400 is 1024.0 with a unit-spaced mantissa. The low nibble of a byte gives 1024 + q; the high nibble,
// masked in place, gives 1024 + 16q, which a fused multiply by 1/16 brings back to 64 + q.
template <>
struct Dequant4<ScalarTypeId::kFloat16> {
  struct Offset {
    half2 lo;      // 1024 + zero
    half2 neg_hi;  // -(64 + zero)
  };
  static __device__ __forceinline__ Offset from_zero(half z) {
    const half2 z2 = __half2half2(z);
    return {__hadd2(z2, __half2half2(__ushort_as_half(0x6400))),
            __hneg2(__hadd2(z2, __half2half2(__ushort_as_half(0x5400))))};
  }
  // The fixed zero of GPTQ-INT4: 8 (1032 = 0x6408, -72 = 0xD480).
  static __device__ __forceinline__ Offset bias8() {
    return {__half2half2(__ushort_as_half(0x6408)), __half2half2(__ushort_as_half(0xD480))};
  }
  // q holds eight values in nibble order (0,4,1,5,2,6,3,7); out gets the pairs (v0,v1), (v2,v3) minus o0 and
  // (v4,v5), (v6,v7) minus o1.
  static __device__ __forceinline__ void run(uint32_t q, const Offset& o0, const Offset& o1, half2 (&out)[4]) {
    constexpr uint32_t kLo = 0x000f000f, kHi = 0x00f000f0, kMagic = 0x64006400;
    const half2 inv16 = __half2half2(__ushort_as_half(0x2C00));
    const uint32_t q8 = q >> 8;
    out[0] = __hsub2(as_pair<half2>(and_or(q, kLo, kMagic)), o0.lo);
    out[1] = __hfma2(as_pair<half2>(and_or(q, kHi, kMagic)), inv16, o0.neg_hi);
    out[2] = __hsub2(as_pair<half2>(and_or(q8, kLo, kMagic)), o1.lo);
    out[3] = __hfma2(as_pair<half2>(and_or(q8, kHi, kMagic)), inv16, o1.neg_hi);
  }
};

// bf16 has only 7 mantissa bits, so every nibble is shifted down first: 0x4300 is 128.0, giving 128 + q.
template <>
struct Dequant4<ScalarTypeId::kBFloat16> {
  struct Offset {
    nv_bfloat162 lo;  // 128 + zero
  };
  static __device__ __forceinline__ Offset from_zero(nv_bfloat16 z) {
    return {__hadd2(__bfloat162bfloat162(z), __bfloat162bfloat162(__ushort_as_bfloat16(0x4300)))};
  }
  static __device__ __forceinline__ Offset bias8() {  // 136 = 0x4308
    return {__bfloat162bfloat162(__ushort_as_bfloat16(0x4308))};
  }
  static __device__ __forceinline__ void run(uint32_t q, const Offset& o0, const Offset& o1,
                                             nv_bfloat162 (&out)[4]) {
    constexpr uint32_t kLo = 0x000f000f, kMagic = 0x43004300;
    out[0] = __hsub2(as_pair<nv_bfloat162>(and_or(q, kLo, kMagic)), o0.lo);
    out[1] = __hsub2(as_pair<nv_bfloat162>(and_or(q >> 4, kLo, kMagic)), o0.lo);
    out[2] = __hsub2(as_pair<nv_bfloat162>(and_or(q >> 8, kLo, kMagic)), o1.lo);
    out[3] = __hsub2(as_pair<nv_bfloat162>(and_or(q >> 12, kLo, kMagic)), o1.lo);
  }
};

// 8-bit GPTQ (kU8B128): one word holds B[ks], B[ks+1], B[ks+8], B[ks+9] of one column in bytes 0..3 and gives
// the pairs lo = (q0 - 128, q1 - 128) and hi = (q2 - 128, q3 - 128). Exact for every byte.
template <ScalarTypeId T>
struct Dequant8;

// fp16: a byte permute puts each byte under the high byte 0x64, giving 1024 + q; subtracting 1152 leaves q - 128.
template <>
struct Dequant8<ScalarTypeId::kFloat16> {
  static __device__ __forceinline__ void run(uint32_t q, half2& lo, half2& hi) {
    constexpr uint32_t kMagic = 0x64646464;
    const half2 bias = __half2half2(__ushort_as_half(0x6480));  // 1152
    lo = __hsub2(as_pair<half2>(__byte_perm(q, kMagic, 0x4140)), bias);
    hi = __hsub2(as_pair<half2>(__byte_perm(q, kMagic, 0x4342)), bias);
  }
};

// bf16 cannot hold 128 + q exactly for q >= 128, so each byte goes into the mantissa of the fp32 2^23
// (0x4B000000), and q - 128 (at most 8 significant bits, exact in bf16) is converted in pairs.
template <>
struct Dequant8<ScalarTypeId::kBFloat16> {
  static __device__ __forceinline__ float byte_minus_128(uint32_t q, uint32_t selector) {
    return __uint_as_float(__byte_perm(q, 0x4B000000, selector)) - 8388736.f;  // 2^23 + 128
  }
  static __device__ __forceinline__ void run(uint32_t q, nv_bfloat162& lo, nv_bfloat162& hi) {
    lo = __floats2bfloat162_rn(byte_minus_128(q, 0x7540), byte_minus_128(q, 0x7541));
    hi = __floats2bfloat162_rn(byte_minus_128(q, 0x7542), byte_minus_128(q, 0x7543));
  }
};

}  // namespace marlin
