// Conversion of GPTQ and AWQ checkpoints into the kernel's layouts (docs/DESIGN.md, "Weight, scale and
// zero-point layouts"). Each thread produces one output word by gathering its values; this runs once per model
// load, so clarity wins over speed here.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "marlin/marlin.h"

namespace marlin {
namespace {

// Nibble that holds value j of a Marlin word, and the nibble that holds AWQ column c of its word.
__constant__ int kMarlinNibble[8] = {0, 4, 1, 5, 2, 6, 3, 7};
__constant__ int kAwqNibbleOfColumn[8] = {0, 4, 1, 5, 2, 6, 3, 7};

__device__ __forceinline__ uint32_t gptq_value(const int32_t* in, int64_t n, int64_t row, int64_t col) {
  return (static_cast<uint32_t>(in[(row / 8) * n + col]) >> (4 * (row % 8))) & 0xF;
}

__device__ __forceinline__ uint32_t awq_value(const int32_t* in, int64_t n, int64_t row, int64_t col) {
  return (static_cast<uint32_t>(in[row * (n / 8) + col / 8]) >> (4 * kAwqNibbleOfColumn[col % 8])) & 0xF;
}

// 8-bit GPTQ, int32 [K/4, N] (byte i of word (r, n) is row 4r+i) -> int32 [K/16, 4N]: word j of lane 4g + t in
// tile (kb, nc) holds rows ks, ks+1, ks+8, ks+9 (ks = 16kb + 2t) of column 64nc + 8j + g in bytes 0..3.
__global__ void repack_gptq8_kernel(const int32_t* __restrict__ in, int32_t* __restrict__ out, int64_t k,
                                    int64_t n) {
  const int64_t words = (k / 16) * 4 * n;
  for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < words;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t kb = o / (4 * n);
    const int64_t rem = o % (4 * n);
    const int64_t nc = rem / 256;  // 256 words per 16 x 64 tile
    const int lane = static_cast<int>(rem % 256) / 8;
    const int j = static_cast<int>(rem % 8);
    const int64_t ks = kb * 16 + 2 * (lane % 4);
    const int64_t col = nc * 64 + 8 * j + lane / 4;
    const int64_t rows[4] = {ks, ks + 1, ks + 8, ks + 9};
    uint32_t word = 0;
    for (int b = 0; b < 4; ++b) {
      const uint32_t v = (static_cast<uint32_t>(in[(rows[b] / 4) * n + col]) >> (8 * (rows[b] % 4))) & 0xFF;
      word |= v << (8 * b);
    }
    out[o] = static_cast<int32_t>(word);
  }
}

template <bool kAwq>
__global__ void repack_kernel(const int32_t* __restrict__ in, int32_t* __restrict__ out, int64_t k, int64_t n) {
  const int64_t words = (k / 16) * 2 * n;
  for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < words;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t kb = o / (2 * n);
    const int64_t rem = o % (2 * n);
    const int64_t nc = rem / 128;   // 128 words per 16 x 64 tile
    const int lane = static_cast<int>(rem % 128) / 4;
    const int i = static_cast<int>(rem % 4);
    const int g = lane / 4, t = lane % 4;
    const int64_t ks = kb * 16 + 2 * t;
    const int64_t n0 = nc * 64 + 16 * i + g;
    const int64_t rows[4] = {ks, ks + 1, ks + 8, ks + 9};
    uint32_t word = 0;
    for (int j = 0; j < 8; ++j) {
      const int64_t row = rows[j % 4], col = n0 + 8 * (j / 4);
      const uint32_t v = kAwq ? awq_value(in, n, row, col) : gptq_value(in, n, row, col);
      word |= v << (4 * kMarlinNibble[j]);
    }
    out[o] = static_cast<int32_t>(word);
  }
}

// Stored index 8g + j of every 64-column block holds column 8j + g.
__device__ __forceinline__ int64_t permuted_source_column(int64_t col) {
  const int64_t base = col / 64 * 64;
  const int p = static_cast<int>(col % 64);
  return base + 8 * (p % 8) + p / 8;
}

__global__ void permute_kernel(const uint16_t* __restrict__ in, uint16_t* __restrict__ out, int64_t groups,
                               int64_t n) {
  for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < groups * n;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = o / n;
    out[o] = in[row * n + permuted_source_column(o % n)];
  }
}

template <typename T>
__global__ void awq_zeros_kernel(const int32_t* __restrict__ in, T* __restrict__ out, int64_t groups, int64_t n) {
  for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < groups * n;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = o / n;
    out[o] = static_cast<T>(static_cast<float>(awq_value(in, n, row, permuted_source_column(o % n))));
  }
}

marlin_status fail(marlin_status code, const std::string& msg, char* err, size_t err_len) {
  if (err != nullptr && err_len > 0) std::snprintf(err, err_len, "%s", msg.c_str());
  return code;
}

marlin_status check_launch(const char* what, char* err, size_t err_len) {
  const cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) return MARLIN_OK;
  return fail(MARLIN_ERR_CUDA, std::string(what) + ": " + cudaGetErrorString(e), err, err_len);
}

int grid_for(int64_t items) {
  const int64_t blocks = (items + 255) / 256;
  return static_cast<int>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

marlin_status repack(bool awq, const int32_t* in, int32_t* out, int64_t k, int64_t n, int num_bits, void* stream,
                     char* err, size_t err_len) {
  if (in == nullptr || out == nullptr) return fail(MARLIN_ERR_INVALID_ARGUMENT, "in and out must not be NULL", err, err_len);
  if (num_bits != 4 && !(num_bits == 8 && !awq))
    return fail(MARLIN_ERR_INVALID_ARGUMENT,
                std::string("num_bits must be ") + (awq ? "4 for AWQ" : "4 or 8 for GPTQ") + ", got " +
                    std::to_string(num_bits),
                err, err_len);
  if (k <= 0 || k % 16 != 0)
    return fail(MARLIN_ERR_INVALID_ARGUMENT, "k must be a positive multiple of 16, got " + std::to_string(k), err,
                err_len);
  if (n <= 0 || n % 64 != 0)
    return fail(MARLIN_ERR_INVALID_ARGUMENT, "n must be a positive multiple of 64, got " + std::to_string(n), err,
                err_len);
  const auto s = static_cast<cudaStream_t>(stream);
  const int grid = grid_for((k / 16) * num_bits / 2 * n);
  if (num_bits == 8) {
    repack_gptq8_kernel<<<grid, 256, 0, s>>>(in, out, k, n);
  } else if (awq) {
    repack_kernel<true><<<grid, 256, 0, s>>>(in, out, k, n);
  } else {
    repack_kernel<false><<<grid, 256, 0, s>>>(in, out, k, n);
  }
  return check_launch("repack kernel launch", err, err_len);
}

marlin_status check_groups(const void* in, const void* out, int64_t groups, int64_t n, char* err, size_t err_len) {
  if (in == nullptr || out == nullptr) return fail(MARLIN_ERR_INVALID_ARGUMENT, "in and out must not be NULL", err, err_len);
  if (groups <= 0) return fail(MARLIN_ERR_INVALID_ARGUMENT, "groups must be >= 1, got " + std::to_string(groups), err, err_len);
  if (n <= 0 || n % 64 != 0)
    return fail(MARLIN_ERR_INVALID_ARGUMENT, "n must be a positive multiple of 64, got " + std::to_string(n), err,
                err_len);
  return MARLIN_OK;
}

}  // namespace
}  // namespace marlin

extern "C" marlin_status marlin_repack_gptq(const int32_t* in, int32_t* out, int64_t k, int64_t n, int num_bits,
                                            void* stream, char* err, size_t err_len) {
  return marlin::repack(false, in, out, k, n, num_bits, stream, err, err_len);
}

extern "C" marlin_status marlin_repack_awq(const int32_t* in, int32_t* out, int64_t k, int64_t n, int num_bits,
                                           void* stream, char* err, size_t err_len) {
  return marlin::repack(true, in, out, k, n, num_bits, stream, err, err_len);
}

extern "C" marlin_status marlin_permute_scales(const void* in, void* out, int64_t groups, int64_t n, int elem_bytes,
                                               void* stream, char* err, size_t err_len) {
  using namespace marlin;
  const marlin_status st = check_groups(in, out, groups, n, err, err_len);
  if (st != MARLIN_OK) return st;
  if (elem_bytes != 2)
    return fail(MARLIN_ERR_INVALID_ARGUMENT, "elem_bytes must be 2 (f16 or bf16 scales), got " + std::to_string(elem_bytes),
                err, err_len);
  permute_kernel<<<grid_for(groups * n), 256, 0, static_cast<cudaStream_t>(stream)>>>(
      static_cast<const uint16_t*>(in), static_cast<uint16_t*>(out), groups, n);
  return check_launch("permute_scales kernel launch", err, err_len);
}

extern "C" marlin_status marlin_awq_zeros(const int32_t* in, void* out, int64_t groups, int64_t n,
                                          marlin_scalar_type s_type, void* stream, char* err, size_t err_len) {
  using namespace marlin;
  const marlin_status st = check_groups(in, out, groups, n, err, err_len);
  if (st != MARLIN_OK) return st;
  const auto s = static_cast<cudaStream_t>(stream);
  const int grid = grid_for(groups * n);
  if (s_type == MARLIN_TYPE_FLOAT16) {
    awq_zeros_kernel<half><<<grid, 256, 0, s>>>(in, static_cast<half*>(out), groups, n);
  } else if (s_type == MARLIN_TYPE_BFLOAT16) {
    awq_zeros_kernel<nv_bfloat16><<<grid, 256, 0, s>>>(in, static_cast<nv_bfloat16*>(out), groups, n);
  } else {
    return fail(MARLIN_ERR_INVALID_ARGUMENT,
                "s_type must be MARLIN_TYPE_FLOAT16 or MARLIN_TYPE_BFLOAT16, got " + std::to_string(s_type), err,
                err_len);
  }
  return check_launch("awq_zeros kernel launch", err, err_len);
}
