// Links a Marlin library (//tests/library:test_marlin: gptq_int4 and awq_int4_int8_act for 8.0, compiled by
// nvcc) and checks, without a GPU, what its C API decides before touching the device: the instantiation count
// and argument validation.
#include <cstdio>
#include <cstring>
#include <string>

#include "marlin/marlin.h"

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::printf("FAIL: %s\n", what.c_str());
    ++failures;
  }
}

}  // namespace

int main() {
  // gptq_int4: 2 activation types x 5 group sizes (act-order included) x 15 (thread config, M blocks) = 150;
  // awq_int4_int8_act (no 8-row block: x 12): 2 output types x 4 group sizes x 12 = 96.
  expect(marlin_built_kernel_count() == 150 + 96, "246 instantiations built, got " +
                                                      std::to_string(marlin_built_kernel_count()));

  char err[256] = {};
  expect(marlin_gemm(nullptr, err, sizeof(err)) == MARLIN_ERR_INVALID_ARGUMENT, "NULL args rejected");
  expect(std::strstr(err, "args must not be NULL") != nullptr, std::string("NULL args message: ") + err);

  marlin_gemm_args a{};
  a.m = 1;
  a.n = 4096;
  a.k = 4000;
  a.group_size = 128;
  a.a_type = MARLIN_TYPE_FLOAT16;
  a.b_type = MARLIN_TYPE_U4B8;
  a.c_type = MARLIN_TYPE_FLOAT16;
  a.s_type = MARLIN_TYPE_FLOAT16;
  expect(marlin_gemm(&a, err, sizeof(err)) == MARLIN_ERR_INVALID_ARGUMENT, "bad k rejected");
  expect(std::strstr(err, "k must be a multiple of 64, got 4000") != nullptr, std::string("k message: ") + err);

  // A short error buffer gets a truncated, terminated message instead of an overflow.
  char tiny[8];
  std::memset(tiny, 'x', sizeof(tiny));
  marlin_gemm(&a, tiny, sizeof(tiny));
  expect(tiny[7] == '\0' && std::strlen(tiny) == 7, "message truncated to the buffer");

  expect(marlin_repack_gptq(nullptr, nullptr, nullptr, 64, 64, 4, nullptr, err, sizeof(err)) ==
             MARLIN_ERR_INVALID_ARGUMENT,
         "repack NULL rejected");
  int dummy[4];
  expect(marlin_repack_awq(dummy, nullptr, dummy, 64, 64, 8, nullptr, err, sizeof(err)) ==
             MARLIN_ERR_INVALID_ARGUMENT,
         "repack 8 bits rejected");
  expect(std::strstr(err, "num_bits must be 4 for AWQ, got 8") != nullptr, std::string("num_bits message: ") + err);
  const size_t blocks = 2 * 132;  // two blocks per SM
  expect(marlin_workspace_bytes(132) == 2 * blocks * 64 * 256 * 4 + (blocks * 4 + 15) / 16 * 16,
         "workspace for 132 SMs: two 64 KiB slots and a counter per block, two blocks per SM");

  if (failures == 0) std::printf("all library tests passed\n");
  return failures == 0 ? 0 : 1;
}
