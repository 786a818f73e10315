// marlin_gemm: validates, plans and launches one GEMM through the generated kernel selector. Compiled once per
// marlin_library, next to that library's kernel_selector.h.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <map>
#include <string>
#include <utility>

#include "kernel_selector.h"
#include "launcher/heuristics.h"
#include "marlin/api_error.cuh"
#include "marlin/marlin.h"

namespace marlin {
namespace {

// Multiprocessor count, shared-memory limit and compute capability per device, queried once.
cudaError_t device_limits(int device, DeviceLimits* out) {
  static std::mutex mu;
  static std::map<int, DeviceLimits> cache;
  std::lock_guard<std::mutex> lock(mu);
  const auto it = cache.find(device);
  if (it != cache.end()) {
    *out = it->second;
    return cudaSuccess;
  }
  int sms = 0, smem = 0, major = 0, minor = 0;
  cudaError_t e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
  if (e != cudaSuccess) return e;
  *out = {sms, smem, major * 10 + minor};
  cache[device] = *out;
  return cudaSuccess;
}

// Act-order: out[r, j] = a[r, perm[j]], so that A's columns follow the repacked weight rows. 16-bit elements.
__global__ void permute_columns(const uint16_t* __restrict__ a, const int32_t* __restrict__ perm,
                                uint16_t* __restrict__ out, int m, int k, int lda) {
  const int64_t total = static_cast<int64_t>(m) * k;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / k;
    out[i] = a[r * lda + perm[i % k]];
  }
}

// Raises a kernel's dynamic shared-memory limit, once per device, and returns how many of its blocks fit on
// one multiprocessor (blocks_per_sm then caps it).
cudaError_t prepare_kernel(KernelFn fn, int device, int threads, int smem, int* occupancy) {
  static std::mutex mu;
  static std::map<std::pair<const void*, int>, int> done;
  std::lock_guard<std::mutex> lock(mu);
  const void* f = reinterpret_cast<const void*>(fn);
  const auto it = done.find({f, device});
  if (it != done.end()) {
    *occupancy = it->second;
    return cudaSuccess;
  }
  cudaError_t e = cudaFuncSetAttribute(f, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  if (e == cudaSuccess) e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(occupancy, f, threads, smem);
  if (e != cudaSuccess) return e;
  done[{f, device}] = *occupancy;
  return cudaSuccess;
}

// Everything marlin_gemm decides before it launches: validation, the device's limits, the kernel, the blocks per
// multiprocessor and the work split. Shared with marlin_gemm_plan, so that it reports what marlin_gemm runs.
struct Prepared {
  LaunchPlan plan;
  DeviceLimits limits;
  KernelFn fn;
  int blocks_per_sm;
};

marlin_status prepare_launch(const marlin_gemm_args* args, Prepared* out, char* err, size_t err_len) {
  if (args == nullptr) return fail(MARLIN_ERR_INVALID_ARGUMENT, "args must not be NULL", err, err_len);
  const std::string bad = validate_gemm_args(*args);
  if (!bad.empty()) return fail(MARLIN_ERR_INVALID_ARGUMENT, bad, err, err_len);

  int device = 0;
  cudaError_t e = cudaGetDevice(&device);
  if (e != cudaSuccess) return cuda_fail("cudaGetDevice", e, err, err_len);
  DeviceLimits& limits = out->limits;
  e = device_limits(device, &limits);
  if (e != cudaSuccess) return cuda_fail("cudaDeviceGetAttribute", e, err, err_len);
  if (args->sm_count > 0) limits.sm_count = std::min(limits.sm_count, args->sm_count);

  LaunchPlan& plan = out->plan;
  std::string msg;
  const marlin_status st = plan_gemm(
      *args, limits, [](const KernelKey& k) { return select_kernel(k) != nullptr; }, &plan, &msg);
  if (st != MARLIN_OK) return fail(st, msg, err, err_len);

  out->fn = select_kernel(plan.key);
  int occupancy = 1;
  e = prepare_kernel(out->fn, device, plan.key.threads, plan.smem_bytes, &occupancy);
  if (e == cudaErrorInvalidDeviceFunction || e == cudaErrorNoKernelImageForDevice) {
    cudaGetLastError();  // clear the sticky-free launch error
    const int cc = limits.compute_capability;
    const std::string gpu = "compute capability " + std::to_string(cc / 10) + "." + std::to_string(cc % 10);
    if (args->a_type == MARLIN_TYPE_FE4M3FN)
      return fail(MARLIN_ERR_NOT_BUILT,
                  "FP8 activations run on the archs with a native e4m3 mma (8.9, 12.0, 12.1; the sm89 family), and "
                  "this library holds none of their kernels for the current GPU (" + gpu + ")",
                  err, err_len);
    return fail(MARLIN_ERR_NOT_BUILT,
                "this library holds no kernel image for the current GPU (" + gpu + "); rebuild with that arch in archs",
                err, err_len);
  }
  if (e != cudaSuccess) return cuda_fail("cudaFuncSetAttribute", e, err, err_len);
  out->blocks_per_sm = blocks_per_sm(plan.key, occupancy, args->force_blocks_per_sm);
  split_work(limits.sm_count * out->blocks_per_sm, &plan);
  return MARLIN_OK;
}

}  // namespace
}  // namespace marlin

extern "C" marlin_status marlin_gemm(const marlin_gemm_args* args, char* err, size_t err_len) {
  using namespace marlin;
  Prepared prep{};
  const marlin_status st = prepare_launch(args, &prep, err, err_len);
  if (st != MARLIN_OK) return st;
  const LaunchPlan& plan = prep.plan;
  const DeviceLimits& limits = prep.limits;
  const KernelFn fn = prep.fn;
  cudaError_t e = cudaSuccess;

  GemmParams p{};
  p.a = args->a;
  p.lda = static_cast<int>(args->lda != 0 ? args->lda : args->k);
  if (args->perm != nullptr) {
    const int64_t total = args->m * args->k;
    const int blocks = static_cast<int>(std::min<int64_t>((total + 255) / 256, 4 * limits.sm_count));
    permute_columns<<<blocks, 256, 0, static_cast<cudaStream_t>(args->stream)>>>(
        static_cast<const uint16_t*>(args->a), args->perm, static_cast<uint16_t*>(args->a_perm),
        static_cast<int>(args->m), static_cast<int>(args->k), p.lda);
    e = cudaGetLastError();
    if (e != cudaSuccess) return cuda_fail("act-order column permutation launch", e, err, err_len);
    p.a = args->a_perm;
    p.lda = static_cast<int>(args->k);
  }
  p.b = args->b_q;
  p.scales = args->scales;
  p.zeros = args->zeros;
  p.g_idx = plan.key.group_blocks == 0 ? args->g_idx_sorted : nullptr;
  p.bias = args->bias;
  p.global_scale = args->global_scale;
  p.a_scales = args->a_scales;
  p.c = args->c;
  p.partials = static_cast<float*>(args->workspace);
  p.tile_counters = reinterpret_cast<int*>(static_cast<char*>(args->workspace) + partials_bytes_for(limits.sm_count));
  p.m = static_cast<int>(args->m);
  p.n = static_cast<int>(args->n);
  p.k = static_cast<int>(args->k);
  p.ldc = static_cast<int>(args->ldc != 0 ? args->ldc : args->n);
  p.split = plan.split;

  void* kernel_args[] = {&p};
  e = cudaLaunchKernel(reinterpret_cast<const void*>(fn), dim3(plan.split.grid), dim3(plan.key.threads), kernel_args,
                       plan.smem_bytes, static_cast<cudaStream_t>(args->stream));
  if (e != cudaSuccess) return cuda_fail("kernel launch", e, err, err_len);
  return MARLIN_OK;
}

extern "C" marlin_status marlin_gemm_plan(const marlin_gemm_args* args, char* plan, size_t plan_len, char* err,
                                          size_t err_len) {
  using namespace marlin;
  Prepared prep{};
  const marlin_status st = prepare_launch(args, &prep, err, err_len);
  if (st != MARLIN_OK) return st;
  if (plan != nullptr && plan_len > 0) {
    std::snprintf(plan, plan_len, "%s", plan_text(prep.plan, prep.blocks_per_sm).c_str());
  }
  return MARLIN_OK;
}

extern "C" size_t marlin_workspace_bytes(int sm_count) {
  if (sm_count <= 0) {
    int device = 0;
    marlin::DeviceLimits limits{};
    if (cudaGetDevice(&device) != cudaSuccess || marlin::device_limits(device, &limits) != cudaSuccess) return 0;
    sm_count = limits.sm_count;
  }
  return marlin::workspace_bytes_for(sm_count);
}

extern "C" int marlin_built_kernel_count(void) { return marlin::kBuiltInstantiations; }
