// Conversion of GPTQ and AWQ checkpoints into the kernel's layouts (docs/DESIGN.md, "Weight, scale and
// zero-point layouts"). Each thread produces one output word by gathering its values; this runs once per model
// load, so clarity wins over speed here.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "marlin/api_error.cuh"
#include "marlin/marlin.h"
#include "repack/index_checks.h"

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

__device__ __forceinline__ uint32_t gptq8_value(const int32_t* in, int64_t n, int64_t row, int64_t col) {
  return (static_cast<uint32_t>(in[(row / 4) * n + col]) >> (8 * (row % 4))) & 0xFF;
}

// Writes the Marlin layout (docs/DESIGN.md), one output word per thread: in tile (kb, nc), lane 4g + t owns
// kBits words; with 4-bit values word w holds rows ks, ks+1, ks+8, ks+9 (ks = 16kb + 2t) of columns
// 64nc + 16w + g and that + 8, in the nibble order kMarlinNibble; with 8-bit values word w holds the same rows of
// column 64nc + 8w + g in bytes 0..3. `value(row, col)` reads one value of the source checkpoint; with `perm`
// (act-order, or the 8-bit-activation row order), output row i takes source row perm[i].
template <int kBits, typename Value>
__global__ void repack_kernel(int32_t* __restrict__ out, const int32_t* __restrict__ perm, int64_t k, int64_t n,
                              Value value) {
  constexpr int kTileWords = 32 * kBits;  // 16 x 64 values
  const int64_t row_words = n / 64 * kTileWords;
  for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < k / 16 * row_words;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t kb = o / row_words;
    const int64_t nc = o % row_words / kTileWords;
    const int lane = static_cast<int>(o % kTileWords) / kBits;
    const int w = static_cast<int>(o % kBits);
    const int64_t ks = kb * 16 + 2 * (lane % 4);
    int64_t rows[4] = {ks, ks + 1, ks + 8, ks + 9};
    if (perm != nullptr)
      for (int64_t& r : rows) r = perm[r];
    uint32_t word = 0;
    if constexpr (kBits == 4) {
      const int64_t n0 = nc * 64 + 16 * w + lane / 4;
      for (int j = 0; j < 8; ++j) word |= value(rows[j % 4], n0 + 8 * (j / 4)) << (4 * kMarlinNibble[j]);
    } else {
      const int64_t col = nc * 64 + 8 * w + lane / 4;
      for (int b = 0; b < 4; ++b) word |= value(rows[b], col) << (8 * b);
    }
    out[o] = static_cast<int32_t>(word);
  }
}

// Sources: GPTQ packs along K (4-bit [K/8, N], 8-bit [K/4, N]); AWQ packs 4-bit values along N ([K, N/8]).
struct Gptq4 {
  const int32_t* in;
  int64_t n;
  __device__ uint32_t operator()(int64_t row, int64_t col) const { return gptq_value(in, n, row, col); }
};
struct Gptq8 {
  const int32_t* in;
  int64_t n;
  __device__ uint32_t operator()(int64_t row, int64_t col) const { return gptq8_value(in, n, row, col); }
};
struct Awq4 {
  const int32_t* in;
  int64_t n;
  __device__ uint32_t operator()(int64_t row, int64_t col) const { return awq_value(in, n, row, col); }
};

// Stored index 8g + j of every 64-column block holds column 8j + g.
__device__ __forceinline__ int64_t permuted_source_column(int64_t col) {
  const int64_t base = col / 64 * 64;
  const int p = static_cast<int>(col % 64);
  return base + 8 * (p % 8) + p / 8;
}

template <typename T>
__global__ void permute_kernel(const T* __restrict__ in, T* __restrict__ out, int64_t groups, int64_t n) {
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

marlin_status check_launch(const char* what, char* err, size_t err_len) {
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? MARLIN_OK : cuda_fail(what, e, err, err_len);
}

int grid_for(int64_t items) {
  const int64_t blocks = (items + 255) / 256;
  return static_cast<int>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

marlin_status repack(bool awq, const int32_t* in, const int32_t* perm, int32_t* out, int64_t k, int64_t n,
                     int num_bits, void* stream, char* err, size_t err_len) {
  if (in == nullptr || out == nullptr)
    return fail(MARLIN_ERR_INVALID_ARGUMENT, "in and out must not be NULL", err, err_len);
  if (perm != nullptr && reinterpret_cast<uintptr_t>(perm) % 4 != 0)
    return fail(MARLIN_ERR_INVALID_ARGUMENT, "perm must be a 4-byte aligned device pointer", err, err_len);
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
  if (perm != nullptr) {  // the kernel gathers source rows by it: refuse a bad one before it reads
    std::string error;
    const marlin_status st = check_indices({perm, nullptr, k, 0, 0, false}, s, &error);
    if (st != MARLIN_OK) return fail(st, error, err, err_len);
  }
  const int grid = grid_for((k / 16) * num_bits / 2 * n);
  if (num_bits == 8) {
    repack_kernel<8><<<grid, 256, 0, s>>>(out, perm, k, n, Gptq8{in, n});
  } else if (awq) {
    repack_kernel<4><<<grid, 256, 0, s>>>(out, perm, k, n, Awq4{in, n});
  } else {
    repack_kernel<4><<<grid, 256, 0, s>>>(out, perm, k, n, Gptq4{in, n});
  }
  return check_launch("repack kernel launch", err, err_len);
}

marlin_status check_groups(const void* in, const void* out, int64_t groups, int64_t n, char* err, size_t err_len) {
  if (in == nullptr || out == nullptr)
    return fail(MARLIN_ERR_INVALID_ARGUMENT, "in and out must not be NULL", err, err_len);
  if (groups <= 0)
    return fail(MARLIN_ERR_INVALID_ARGUMENT, "groups must be >= 1, got " + std::to_string(groups), err, err_len);
  if (n <= 0 || n % 64 != 0)
    return fail(MARLIN_ERR_INVALID_ARGUMENT, "n must be a positive multiple of 64, got " + std::to_string(n), err,
                err_len);
  return MARLIN_OK;
}

}  // namespace
}  // namespace marlin

extern "C" marlin_status marlin_repack_gptq(const int32_t* in, const int32_t* perm, int32_t* out, int64_t k,
                                            int64_t n, int num_bits, void* stream, char* err, size_t err_len) {
  return marlin::repack(false, in, perm, out, k, n, num_bits, stream, err, err_len);
}

extern "C" marlin_status marlin_repack_awq(const int32_t* in, const int32_t* perm, int32_t* out, int64_t k,
                                           int64_t n, int num_bits, void* stream, char* err, size_t err_len) {
  return marlin::repack(true, in, perm, out, k, n, num_bits, stream, err, err_len);
}

extern "C" marlin_status marlin_permute_scales(const void* in, void* out, int64_t groups, int64_t n, int elem_bytes,
                                               void* stream, char* err, size_t err_len) {
  using namespace marlin;
  const marlin_status st = check_groups(in, out, groups, n, err, err_len);
  if (st != MARLIN_OK) return st;
  const auto s = static_cast<cudaStream_t>(stream);
  if (elem_bytes == 2) {
    permute_kernel<<<grid_for(groups * n), 256, 0, s>>>(static_cast<const uint16_t*>(in), static_cast<uint16_t*>(out),
                                                       groups, n);
  } else if (elem_bytes == 1) {
    permute_kernel<<<grid_for(groups * n), 256, 0, s>>>(static_cast<const uint8_t*>(in), static_cast<uint8_t*>(out),
                                                       groups, n);
  } else {
    return fail(MARLIN_ERR_INVALID_ARGUMENT,
                "elem_bytes must be 2 (f16 or bf16 scales) or 1 (e4m3 or e8m0 scales), got " +
                    std::to_string(elem_bytes),
                err, err_len);
  }
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
