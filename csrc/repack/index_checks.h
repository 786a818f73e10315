// Device-side checks of caller-supplied index arrays (index_checks.cu): a repack's row permutation, act-order's
// group indices. Synchronous: each waits for its stream, and refuses a stream that is being captured.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "marlin/marlin.h"

namespace marlin {

struct IndexCheck {
  const int32_t* perm;   // [k] must be a permutation of 0..k-1; NULL: not checked
  const int32_t* g_idx;  // [k] group of each row, in [0, num_groups); NULL: not checked
  int64_t k;
  int64_t num_groups;
  int64_t group_size;
  bool is_k_full;        // then g_idx[i] must be i / group_size
};

// MARLIN_OK, or MARLIN_ERR_INVALID_ARGUMENT with *error naming the first bad entry (its index and value), or
// MARLIN_ERR_CUDA.
marlin_status check_indices(const IndexCheck& check, cudaStream_t stream, std::string* error);

}  // namespace marlin
