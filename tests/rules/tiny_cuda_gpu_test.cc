// Runs the tiny kernel on a GPU (tag `gpu`: not part of a plain `bazel test`).
#include <cstdio>

#include "tiny_kernel.h"

int main() {
  constexpr int kN = 1000;
  int values[kN];
  for (int i = 0; i < kN; ++i) values[i] = 1;
  int e = tiny::gpu_add_scaled_index(values, kN);
  if (e != 0) {
    std::printf("FAIL: CUDA error %d\n", e);
    return 1;
  }
  for (int i = 0; i < kN; ++i) {
    if (values[i] != 1 + kTinyScale * i) {
      std::printf("FAIL: values[%d] = %d, want %d\n", i, values[i], 1 + kTinyScale * i);
      return 1;
    }
  }
  std::printf("PASS: the kernel ran on the GPU\n");
  return 0;
}
