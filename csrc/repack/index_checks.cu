// Checks of the index arrays a caller hands over: a repack's row permutation and act-order's group indices. The
// kernels index memory by these values, so a wrong one must be refused before any kernel reads with it. Each
// check runs on the device, then waits for its stream: they belong to model loading, not to the GEMM's path.
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "marlin/api_error.cuh"
#include "repack/index_checks.h"

namespace marlin {
namespace {

// The first failing row of each check (atomicMin over row indices; kNone when none failed).
enum Finding { kPermOutOfRange, kPermRepeated, kGroupOutOfRange, kGroupNotFull, kFindings };
constexpr unsigned long long kNone = ~0ull;

// first: [kFindings]; seen: [(k + 31) / 32] bits, bit v set once some row named source row v.
__global__ void index_check_kernel(const int32_t* __restrict__ perm, const int32_t* __restrict__ g_idx, int64_t k,
                                   int64_t num_groups, int64_t group_size, bool is_k_full,
                                   unsigned long long* first, uint32_t* seen) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < k;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const auto row = static_cast<unsigned long long>(i);
    if (perm != nullptr) {
      const int32_t v = perm[i];
      if (v < 0 || v >= k) {
        atomicMin(&first[kPermOutOfRange], row);
      } else {
        const uint32_t bit = 1u << (v % 32);
        if (atomicOr(&seen[v / 32], bit) & bit) atomicMin(&first[kPermRepeated], row);
      }
    }
    if (g_idx != nullptr) {
      const int32_t g = g_idx[i];
      if (g < 0 || g >= num_groups) atomicMin(&first[kGroupOutOfRange], row);
      else if (is_k_full && g != i / group_size) atomicMin(&first[kGroupNotFull], row);
    }
  }
}

std::string cuda_error(const char* what, cudaError_t e) { return std::string(what) + ": " + cudaGetErrorString(e); }

int32_t value_at(const int32_t* a, unsigned long long i, cudaStream_t s) {
  int32_t v = 0;
  if (cudaMemcpyAsync(&v, a + i, sizeof v, cudaMemcpyDeviceToHost, s) != cudaSuccess ||
      cudaStreamSynchronize(s) != cudaSuccess)
    return INT32_MIN;
  return v;
}

}  // namespace

marlin_status check_indices(const IndexCheck& c, cudaStream_t stream, std::string* error) {
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &capture) == cudaSuccess && capture != cudaStreamCaptureStatusNone) {
    *error =
        "perm is checked on the device with a synchronization, which a stream being captured into a CUDA graph "
        "cannot do; call this before the capture (it belongs to model loading)";
    return MARLIN_ERR_INVALID_ARGUMENT;
  }
  unsigned long long first[kFindings];
  const size_t seen_bytes = sizeof(uint32_t) * static_cast<size_t>((c.k + 31) / 32);
  void* scratch = nullptr;
  cudaError_t e = cudaMallocAsync(&scratch, sizeof first + seen_bytes, stream);
  if (e != cudaSuccess) {
    *error = cuda_error("allocating the index check's scratch", e);
    return MARLIN_ERR_CUDA;
  }
  auto* d_first = static_cast<unsigned long long*>(scratch);
  auto* d_seen = reinterpret_cast<uint32_t*>(d_first + kFindings);
  e = cudaMemsetAsync(d_first, 0xFF, sizeof first, stream);
  if (e == cudaSuccess) e = cudaMemsetAsync(d_seen, 0, seen_bytes, stream);
  if (e == cudaSuccess) {
    const int64_t blocks = (c.k + 255) / 256;
    index_check_kernel<<<static_cast<int>(blocks < 4096 ? blocks : 4096), 256, 0, stream>>>(
        c.perm, c.g_idx, c.k, c.num_groups, c.group_size, c.is_k_full, d_first, d_seen);
    e = cudaGetLastError();
  }
  if (e == cudaSuccess) e = cudaMemcpyAsync(first, d_first, sizeof first, cudaMemcpyDeviceToHost, stream);
  if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
  cudaFreeAsync(scratch, stream);
  if (e != cudaSuccess) {
    *error = cuda_error("the index check", e);
    return MARLIN_ERR_CUDA;
  }
  const std::string permutation = "perm must be a permutation of 0.." + std::to_string(c.k - 1);
  const auto at = [&](const char* name, unsigned long long i, const int32_t* a) {
    return std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(value_at(a, i, stream));
  };
  if (first[kPermOutOfRange] != kNone) {
    *error = at("perm", first[kPermOutOfRange], c.perm) + " is out of range: " + permutation;
  } else if (first[kPermRepeated] != kNone) {
    *error = at("perm", first[kPermRepeated], c.perm) + " repeats another entry's row: " + permutation +
             " (each row exactly once)";
  } else if (first[kGroupOutOfRange] != kNone) {
    *error = at("g_idx_sorted", first[kGroupOutOfRange], c.g_idx) + " is not a group in [0, num_groups=" +
             std::to_string(c.num_groups) + ")";
  } else if (first[kGroupNotFull] != kNone) {
    const unsigned long long i = first[kGroupNotFull];
    *error = "is_k_full is set, but " + at("g_idx_sorted", i, c.g_idx) + ", not " + std::to_string(i) +
             " / group_size = " + std::to_string(static_cast<int64_t>(i) / c.group_size) +
             " (groups of exactly group_size consecutive rows); pass 0 for a K shard";
  } else {
    return MARLIN_OK;
  }
  return MARLIN_ERR_INVALID_ARGUMENT;
}

}  // namespace marlin

extern "C" marlin_status marlin_check_act_order(const int32_t* perm, const int32_t* g_idx_sorted, int64_t k,
                                                int64_t num_groups, int64_t group_size, int is_k_full, void* stream,
                                                char* err, size_t err_len) {
  std::string error;
  marlin_status status = MARLIN_ERR_INVALID_ARGUMENT;
  if (perm == nullptr || (g_idx_sorted == nullptr && !is_k_full)) {
    error = "perm must not be NULL, nor g_idx_sorted unless is_k_full";
  } else if (reinterpret_cast<uintptr_t>(perm) % 4 != 0 || reinterpret_cast<uintptr_t>(g_idx_sorted) % 4 != 0) {
    error = "perm and g_idx_sorted must be 4-byte aligned device pointers";
  } else if (k <= 0 || k > INT32_MAX) {
    error = "k must be in [1, 2^31 - 1], got " + std::to_string(k);
  } else if (num_groups <= 0) {
    error = "num_groups must be >= 1, got " + std::to_string(num_groups);
  } else if (group_size <= 0) {
    error = "group_size must be >= 1, got " + std::to_string(group_size);
  } else if (is_k_full && k % group_size != 0) {
    error = "is_k_full is set, so k must be a multiple of group_size; got k = " + std::to_string(k) +
            ", group_size = " + std::to_string(group_size);
  } else {
    status = marlin::check_indices({perm, g_idx_sorted, k, num_groups, group_size, is_k_full != 0},
                                   static_cast<cudaStream_t>(stream), &error);
  }
  return status == MARLIN_OK ? status : marlin::fail(status, error, err, err_len);
}
