// What the launcher and the generated kernel_selector.h need to know about the kernel template, without its
// body: including this instantiates nothing, so the launcher's translation unit stays small.
#pragma once

#include "marlin/launch_types.h"

namespace marlin {

template <ScalarTypeId a_type, ScalarTypeId b_type, ScalarTypeId c_type, ScalarTypeId s_type, int threads,
          int thread_m_blocks, int thread_n_blocks, int thread_k_blocks, bool m_block_size_8, int stages,
          int group_blocks, bool is_zp_float>
__global__ void marlin_gemm_kernel(const GemmParams params);

// The sm90 family's kernel (wgmma; code for sm_90a only): same arguments, KernelKey::wgmma set.
template <ScalarTypeId a_type, ScalarTypeId b_type, ScalarTypeId c_type, ScalarTypeId s_type, int threads,
          int thread_m_blocks, int thread_n_blocks, int thread_k_blocks, bool m_block_size_8, int stages,
          int group_blocks, bool is_zp_float>
__global__ void marlin_gemm_kernel_sm90(const GemmParams params);

using KernelFn = void (*)(const GemmParams);

}  // namespace marlin
