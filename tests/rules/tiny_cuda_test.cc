// Links the nvcc-compiled tiny library into a C++ test; runs on a machine without a GPU.
#include <cstdio>
#include <cstring>

#include "tiny_kernel.h"

int main() {
  int failures = 0;
  if (tiny::host_add(2, 3) != 5) {
    std::printf("FAIL: tiny::host_add(2, 3) = %d, want 5\n", tiny::host_add(2, 3));
    ++failures;
  }
  const char* name = tiny::runtime_success_name();
  if (name == nullptr || std::strcmp(name, "cudaSuccess") != 0) {
    std::printf("FAIL: cudaGetErrorName(cudaSuccess) = %s, want cudaSuccess\n", name ? name : "(null)");
    ++failures;
  }
  if (failures == 0) std::printf("PASS: nvcc objects linked into a cc_test with the static CUDA runtime\n");
  return failures == 0 ? 0 : 1;
}
