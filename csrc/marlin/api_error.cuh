// How the C API's functions (csrc/include/marlin/marlin.h) return an error: the status, and the message copied
// into the caller's buffer (cut to err_len - 1 characters and terminated; none copied without a buffer).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdio>
#include <string>

#include "marlin/marlin.h"

namespace marlin {

inline marlin_status fail(marlin_status code, const std::string& msg, char* err, size_t err_len) {
  if (err != nullptr && err_len > 0) std::snprintf(err, err_len, "%s", msg.c_str());
  return code;
}

// A failed CUDA call: MARLIN_ERR_CUDA, with what was called and CUDA's own message.
inline marlin_status cuda_fail(const char* what, cudaError_t e, char* err, size_t err_len) {
  return fail(MARLIN_ERR_CUDA, std::string(what) + ": " + cudaGetErrorString(e), err, err_len);
}

}  // namespace marlin
