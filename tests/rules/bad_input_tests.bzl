"""Bad attributes and flag values fail at analysis, with one message that names the bad value and the allowed ones.

bad_input_test_suite declares, for each case, a `manual` target with the bad value (a plain build of
//tests/... would fail on it) and an analysis-failure test of its message (analysis_tests.bzl). The cases
are tables, one line each, rather than a pair of targets each in BUILD.bazel.
"""

load("//rules:defs.bzl", "cuda_library", "marlin_kernels", "marlin_library")

# buildifier: disable=bzl-visibility
load("//rules/private:plan.bzl", "allowed_archs_text", "allowed_configs_text")
load(
    ":analysis_tests.bzl",
    "analysis_failure_test",
    "archs_flag_8_0a_failure_test",
    "archs_flag_duplicate_failure_test",
    "archs_flag_empty_failure_test",
    "archs_flag_sm_80_failure_test",
    "compress_mode_flag_failure_test",
)

# The rules' own allowed-values texts (plan.bzl), which the messages end with.
_ALLOWED_ARCHS = "allowed: " + allowed_archs_text()
_ALLOWED_CONFIGS = "allowed: " + allowed_configs_text()

# Attribute cases: (target, rule or macro, its attributes, what its analysis error must contain). The test is
# target + "_test".
_KERNELS = {"archs": ["8.0"], "quant_configs": ["gptq_int4"]}
_ATTRIBUTE_CASES = [
    ("bad_kernels_shards_0", marlin_kernels, dict(_KERNELS, shards = 0), ["marlin-bazel: bad shards 0; allowed: an integer from 1 to 16"]),
    ("bad_kernels_shards_17", marlin_kernels, dict(_KERNELS, shards = 17), ["marlin-bazel: bad shards 17; allowed: an integer from 1 to 16"]),
    ("bad_kernels_arch_7_0", marlin_kernels, dict(_KERNELS, archs = ["7.0"]), ['unknown arch "7.0" in archs', _ALLOWED_ARCHS]),
    ("bad_kernels_arch_sm_80", marlin_kernels, dict(_KERNELS, archs = ["8.0", "sm_80"]), ['unknown arch "sm_80" in archs', _ALLOWED_ARCHS]),
    ("bad_kernels_arch_empty_string", marlin_kernels, dict(_KERNELS, archs = [""]), ['unknown arch "" in archs', _ALLOWED_ARCHS]),
    ("bad_kernels_arch_duplicate", marlin_kernels, dict(_KERNELS, archs = ["8.0", "9.0a", "8.0"]), ['archs lists "8.0" twice', _ALLOWED_ARCHS]),
    ("bad_kernels_config_unknown", marlin_kernels, dict(_KERNELS, quant_configs = ["gptq_int4", "int3"]), ['unknown quant config "int3" in quant_configs', _ALLOWED_CONFIGS, "gptq_int4"]),
    # Not "allowed: ...": the message says "quant_configs is empty; list at least one of: ...".
    ("bad_kernels_config_empty", marlin_kernels, dict(_KERNELS, quant_configs = []), ["quant_configs is empty", allowed_configs_text()]),
    ("bad_kernels_config_duplicate", marlin_kernels, dict(_KERNELS, quant_configs = ["awq_int4", "awq_int4"]), ['quant_configs lists "awq_int4" twice', _ALLOWED_CONFIGS]),
    # "all" stands alone.
    ("bad_kernels_config_all_with_others", marlin_kernels, dict(_KERNELS, quant_configs = ["all", "awq_int4"]), ['bad quant_configs ["all","awq_int4"]: "all" must be the only entry']),
    # Implemented, but FP8 activations have kernels for 8.9 and 12.x only.
    ("bad_kernels_config_fp8_act_without_sm89", marlin_kernels, dict(archs = ["8.0", "9.0a"], quant_configs = ["gptq_int4", "gptq_int4_fp8_act"]), ['quant config "gptq_int4_fp8_act" has no kernels for archs 8.0, 9.0a; archs that allow it: 8.9, 12.0, 12.1']),
    # cuda_library: its own archs attribute, and files and folders it cannot use.
    ("bad_cuda_arch", cuda_library, {"srcs": ["tiny_kernel.cu"], "archs": ["8.0", "7.0"]}, ['unknown arch "7.0" in archs', _ALLOWED_ARCHS]),
    ("bad_cuda_duplicate_arch", cuda_library, {"srcs": ["tiny_kernel.cu"], "archs": ["9.0a", "9.0a"]}, ['archs lists "9.0a" twice', _ALLOWED_ARCHS]),
    ("bad_cuda_src", cuda_library, {"srcs": ["tiny_cuda_test.cc"], "archs": ["8.0"]}, ["tests/rules/tiny_cuda_test.cc in srcs of //tests/rules:bad_cuda_src is neither a .cu file nor a header", ".cuh, .h"]),
    ("bad_cuda_include", cuda_library, {"srcs": ["tiny_kernel.cu"], "archs": ["8.0"], "includes": ["../generator"]}, ['includes entry "../generator" of //tests/rules:bad_cuda_include must be a folder inside its package']),
    # marlin_library (the macro): the error of its marlin_kernels reaches the library target.
    ("bad_library_arch", marlin_library, dict(_KERNELS, archs = ["sm_80"]), ['unknown arch "sm_80" in archs', _ALLOWED_ARCHS]),
    ("bad_library_config", marlin_library, dict(_KERNELS, quant_configs = ["gptq"]), ['unknown quant config "gptq" in quant_configs', _ALLOWED_CONFIGS]),
]

# Flag cases: (test, test rule (it sets the flag), target without `archs`, what the error must contain).
# "8.0a" fails at analysis in the generator's rule and in the nvcc rule alike (sm_80 has no arch-specific target:
# nvcc would be handed compute_80a).
_FLAG_CASES = [
    ("bad_archs_flag_sm_80_test", archs_flag_sm_80_failure_test, "flag_archs_kernels", ['unknown arch "sm_80" in --//rules:archs', _ALLOWED_ARCHS]),
    ("bad_archs_flag_8_0a_kernels_test", archs_flag_8_0a_failure_test, "flag_archs_kernels", ['arch "8.0a" in --//rules:archs: 8.0 has no suffix "a" (it takes none)', _ALLOWED_ARCHS]),
    ("bad_archs_flag_8_0a_cuda_test", archs_flag_8_0a_failure_test, "flag_archs_cuda", ['arch "8.0a" in --//rules:archs: 8.0 has no suffix "a" (it takes none)', _ALLOWED_ARCHS]),
    ("bad_archs_flag_empty_test", archs_flag_empty_failure_test, "flag_archs_kernels", ["--//rules:archs is empty", allowed_archs_text()]),
    ("bad_archs_flag_duplicate_test", archs_flag_duplicate_failure_test, "flag_archs_kernels", ['--//rules:archs lists "8.9" twice', _ALLOWED_ARCHS]),
    ("bad_compress_mode_flag_test", compress_mode_flag_failure_test, "tiny_cuda", ["bad --//rules:compress_mode 'small'; allowed: size, balance, speed, default, none"]),
]

def bad_input_test_suite(name):
    """Declares every bad-input case and a test_suite `name` of their tests.

    Args:
      name: the test_suite's name.
    """
    tests = []
    for target, kind, attrs, expected in _ATTRIBUTE_CASES:
        kind(name = target, tags = ["manual"], **attrs)
        analysis_failure_test(
            name = target + "_test",
            size = "small",
            expected = expected,
            target_under_test = ":" + target,
        )
        tests.append(":%s_test" % target)

    # Targets that take their archs from --//rules:archs (the flag tests set it).
    marlin_kernels(name = "flag_archs_kernels", quant_configs = ["gptq_int4"], tags = ["manual"])
    cuda_library(name = "flag_archs_cuda", srcs = ["tiny_kernel.cu"], hdrs = ["tiny_kernel.h"], tags = ["manual"])
    for test, test_rule, target, expected in _FLAG_CASES:
        test_rule(
            name = test,
            size = "small",
            expected = expected,
            target_under_test = ":" + target,
        )
        tests.append(":" + test)
    native.test_suite(name = name, tests = tests)
