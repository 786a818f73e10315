// Links a Marlin library of this workspace's own (GPTQ-INT4 kernels for sm_80) and uses its C API without a
// GPU: prints the number of kernels built in, and checks that a call with a bad shape is rejected with a
// message that names the bad argument. Exits 0 when both are as expected.
#include <cstdio>
#include <cstring>

#include "marlin/marlin.h"

int main() {
  const int count = marlin_built_kernel_count();
  std::printf("built kernels: %d\n", count);

  // K must be a multiple of 64: the launcher refuses the call before it touches the device.
  marlin_gemm_args args{};
  args.m = 16;
  args.n = 4096;
  args.k = 4000;
  args.group_size = 128;
  args.a_type = MARLIN_TYPE_FLOAT16;
  args.b_type = MARLIN_TYPE_U4B8;
  args.c_type = MARLIN_TYPE_FLOAT16;
  args.s_type = MARLIN_TYPE_FLOAT16;
  char err[256] = {};
  const marlin_status status = marlin_gemm(&args, err, sizeof(err));
  std::printf("bad call: status %d, \"%s\"\n", static_cast<int>(status), err);

  const char* expected = "k must be a multiple of 64, got 4000";
  if (status != MARLIN_ERR_INVALID_ARGUMENT || std::strstr(err, expected) == nullptr) {
    std::printf("FAIL: want status %d and a message containing \"%s\"\n", static_cast<int>(MARLIN_ERR_INVALID_ARGUMENT),
                expected);
    return 1;
  }
  if (count <= 0) {
    std::printf("FAIL: the library holds no kernel\n");
    return 1;
  }
  std::printf("ok\n");
  return 0;
}
