// A tiny CUDA library for the rule tests: one kernel and host functions that need no GPU.
#pragma once

#include "tiny_scale.h"

namespace tiny {

// a + b computed on the host, in the translation unit that nvcc compiled.
int host_add(int a, int b);

// Name of cudaSuccess from the statically linked CUDA runtime ("cudaSuccess"); needs no GPU.
const char* runtime_success_name();

// Adds kTinyScale * i to each of n ints on the GPU (the GPU test); returns the CUDA error code.
int gpu_add_scaled_index(int* host_values, int n);

}  // namespace tiny
