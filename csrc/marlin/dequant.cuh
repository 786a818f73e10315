// Weight dequantization into mma B fragments. Integer weights: a lop3 drops each nibble pair into the mantissa of
// a 16-bit float with a fixed exponent ("magic" number), and one subtraction removes the magic and the zero point
// together. Float weights (FP8 e4m3, FP4 e2m1): the sign and the exponent/mantissa bits are moved into place
// inside a 16-bit float, whose larger exponent bias one exact multiplication by a power of two corrects. Every
// path is exact, so the only rounding is the later multiplication by the scale.
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
  // from_zero of both halves of z, with one addition per field for the two (each half then broadcast).
  static __device__ __forceinline__ void from_zero_pair(half2 z, Offset& o0, Offset& o1) {
    const half2 lo = __hadd2(z, __half2half2(__ushort_as_half(0x6400)));
    const half2 neg_hi = __hneg2(__hadd2(z, __half2half2(__ushort_as_half(0x5400))));
    o0 = {__low2half2(lo), __low2half2(neg_hi)};
    o1 = {__high2half2(lo), __high2half2(neg_hi)};
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
  static __device__ __forceinline__ void from_zero_pair(nv_bfloat162 z, Offset& o0, Offset& o1) {
    const nv_bfloat162 lo = __hadd2(z, __bfloat162bfloat162(__ushort_as_bfloat16(0x4300)));
    o0 = {__low2bfloat162(lo)};
    o1 = {__high2bfloat162(lo)};
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

// Float-format weights. Each converter takes the format's bits placed at the top of each 16-bit half (sign at
// bit 15) and returns both halves as 16-bit floats, exact (subnormals included) after the power-of-two rescale.
template <ScalarTypeId T>
struct FloatBits;

template <>
struct FloatBits<ScalarTypeId::kFloat16> {
  using pair = half2;
  // e4m3 (bias 7) from a byte at bits 15..8: exponent and mantissa land 1 bit lower; f16's bias is 15, so 2^8.
  static __device__ __forceinline__ half2 e4m3(uint32_t x) {
    const uint32_t r = and_or(x, 0x80008000u, (x >> 1) & 0x3F803F80u);
    return __hmul2(as_pair<half2>(r), __half2half2(__ushort_as_half(0x5C00)));  // 256
  }
  // e2m1 (bias 1) from a nibble at bits 15..12: exponent and mantissa land 3 bits lower; 2^14.
  static __device__ __forceinline__ half2 e2m1(uint32_t x) {
    const uint32_t r = and_or(x, 0x80008000u, (x >> 3) & 0x0E000E00u);
    return __hmul2(as_pair<half2>(r), __half2half2(__ushort_as_half(0x7400)));  // 16384
  }
};

template <>
struct FloatBits<ScalarTypeId::kBFloat16> {
  using pair = nv_bfloat162;
  // bf16 has fp32's 8-bit exponent (bias 127): e4m3 lands 4 bits lower and needs 2^120, e2m1 6 bits and 2^126.
  static __device__ __forceinline__ nv_bfloat162 e4m3(uint32_t x) {
    const uint32_t r = and_or(x, 0x80008000u, (x >> 4) & 0x07F007F0u);
    return __hmul2(as_pair<nv_bfloat162>(r), __bfloat162bfloat162(__ushort_as_bfloat16(0x7B80)));
  }
  static __device__ __forceinline__ nv_bfloat162 e2m1(uint32_t x) {
    const uint32_t r = and_or(x, 0x80008000u, (x >> 6) & 0x01C001C0u);
    return __hmul2(as_pair<nv_bfloat162>(r), __bfloat162bfloat162(__ushort_as_bfloat16(0x7E80)));
  }
};

// FP4 e2m1 weights, nibble order as Dequant4: the pairs (v0,v1), (v2,v3), (v4,v5), (v6,v7) sit in nibbles (0,4),
// (1,5), (2,6), (3,7), which shifts of 12, 8, 4 and 0 bring to the top of each half.
template <ScalarTypeId T>
struct DequantFp4 {
  static __device__ __forceinline__ void run(uint32_t q, typename FloatBits<T>::pair (&out)[4]) {
    out[0] = FloatBits<T>::e2m1(q << 12);
    out[1] = FloatBits<T>::e2m1(q << 8);
    out[2] = FloatBits<T>::e2m1(q << 4);
    out[3] = FloatBits<T>::e2m1(q);
  }
};

// FP8 e4m3 weights, byte order as Dequant8: lo = (byte 0, byte 1), hi = (byte 2, byte 3).
template <ScalarTypeId T>
struct DequantFp8 {
  using pair = typename FloatBits<T>::pair;
  static __device__ __forceinline__ void run(uint32_t q, pair& lo, pair& hi) {
    lo = FloatBits<T>::e4m3(__byte_perm(q, 0, 0x1404));
    hi = FloatBits<T>::e4m3(__byte_perm(q, 0, 0x3424));
  }
};

// INT4 weights for INT8 activations: the values minus their zero point as s8 bytes, exact (|q - z| <= 15). Per
// byte, q + (0x80 - z) lies in 0x71..0x8F, so the adds never carry between bytes, and flipping bit 7 leaves
// q - z in two's complement. Nibble order as Dequant4: lo = q & 0x0F0F0F0F holds bytes (v0, v4, v1, v5) and
// hi = (q >> 4) & 0x0F0F0F0F holds (v2, v6, v3, v7).
struct Int4ToS8 {
  using Offset = uint32_t;  // 0x80 - zero in every byte
  static __device__ __forceinline__ Offset from_zero(float z) {
    return static_cast<uint32_t>(0x80 - __float2int_rn(z)) * 0x01010101u;
  }
  static __device__ __forceinline__ Offset bias8() { return 0x78787878u; }
  // out[0] = (v0, v1, v2, v3) - z0 and out[1] = (v4, v5, v6, v7) - z1, lowest value in the lowest byte.
  static __device__ __forceinline__ void run(uint32_t q, Offset o0, Offset o1, uint32_t (&out)[2]) {
    const uint32_t lo = q & 0x0F0F0F0Fu, hi = (q >> 4) & 0x0F0F0F0Fu;
    out[0] = (__byte_perm(lo, hi, 0x6420) + o0) ^ 0x80808080u;
    out[1] = (__byte_perm(lo, hi, 0x7531) + o1) ^ 0x80808080u;
  }
};

// Scales as stored (16-bit, or one byte for NVFP4's e4m3 and MXFP4's e8m0) -> eight values of the 16-bit type T.
// `raw` holds a thread's eight consecutive stored scales: 16 bytes, or 8 bytes in its first two words.
template <ScalarTypeId S, ScalarTypeId T>
struct ScaleCvt {
  static_assert(S == T, "16-bit scales are of the activation type");
  static __device__ __forceinline__ void run(const int4& raw, typename HalfType<T>::scalar (&out)[8]) {
#pragma unroll
    for (int j = 0; j < 8; ++j) out[j] = reinterpret_cast<const typename HalfType<T>::scalar*>(&raw)[j];
  }
};

template <ScalarTypeId T>
struct ScaleCvt<ScalarTypeId::kFE4M3fn, T> {
  static __device__ __forceinline__ void run(const int4& raw, typename HalfType<T>::scalar (&out)[8]) {
    const uint32_t w[2] = {static_cast<uint32_t>(raw.x), static_cast<uint32_t>(raw.y)};
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const auto lo = FloatBits<T>::e4m3(__byte_perm(w[h], 0, 0x1404));
      const auto hi = FloatBits<T>::e4m3(__byte_perm(w[h], 0, 0x3424));
      out[4 * h] = lo.x;
      out[4 * h + 1] = lo.y;
      out[4 * h + 2] = hi.x;
      out[4 * h + 3] = hi.y;
    }
  }
};

// e8m0 is a bare exponent with bf16's bias: the byte becomes the bf16 exponent field. E = 0 (2^-127) gives 0.
template <>
struct ScaleCvt<ScalarTypeId::kFE8M0fnu, ScalarTypeId::kBFloat16> {
  static __device__ __forceinline__ void run(const int4& raw, nv_bfloat16 (&out)[8]) {
    const uint32_t w[2] = {static_cast<uint32_t>(raw.x), static_cast<uint32_t>(raw.y)};
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const nv_bfloat162 lo = as_pair<nv_bfloat162>(__byte_perm(w[h], 0, 0x4140) << 7);
      const nv_bfloat162 hi = as_pair<nv_bfloat162>(__byte_perm(w[h], 0, 0x4342) << 7);
      out[4 * h] = lo.x;
      out[4 * h + 1] = lo.y;
      out[4 * h + 2] = hi.x;
      out[4 * h + 3] = hi.y;
    }
  }
};

}  // namespace marlin
