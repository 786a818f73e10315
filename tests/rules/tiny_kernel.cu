#include "tiny_kernel.h"

#include <cuda_runtime.h>

namespace tiny {
namespace {

__global__ void add_scaled_index(int* values, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) values[i] += kTinyScale * i;
}

}  // namespace

int host_add(int a, int b) { return a + b; }

const char* runtime_success_name() { return cudaGetErrorName(cudaSuccess); }

int gpu_add_scaled_index(int* host_values, int n) {
  int* device_values = nullptr;
  cudaError_t e = cudaMalloc(&device_values, n * sizeof(int));
  if (e != cudaSuccess) return e;
  e = cudaMemcpy(device_values, host_values, n * sizeof(int), cudaMemcpyHostToDevice);
  if (e == cudaSuccess) {
    add_scaled_index<<<(n + 127) / 128, 128>>>(device_values, n);
    e = cudaGetLastError();
  }
  if (e == cudaSuccess) e = cudaMemcpy(host_values, device_values, n * sizeof(int), cudaMemcpyDeviceToHost);
  cudaFree(device_values);
  return e;
}

}  // namespace tiny
