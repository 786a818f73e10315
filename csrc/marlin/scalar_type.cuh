// Scalar type ids shared by the kernel template, the generated selector and the launcher.
#pragma once

namespace marlin {

// Numbered as marlin_scalar_type in the public C API.
enum class ScalarTypeId : int {
  kFloat16 = 0,
  kBFloat16 = 1,
  kS8 = 2,
  kFE4M3fn = 3,
  kU4 = 4,
  kU4B8 = 5,
  kU8B128 = 6,
  kFE2M1f = 7,
  kFE8M0fnu = 8,
};

}  // namespace marlin
