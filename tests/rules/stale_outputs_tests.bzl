"""Dropping an arch or a quant config leaves nothing stale.

For two libraries that differ by one arch or one quant config, the generator declares, nvcc compiles and the
binary links exactly the kernel files of the smaller one, and nothing compiles for a dropped arch
(stale_outputs_test in analysis_tests.bzl). Analysis only: nothing here is compiled.
"""

load("@rules_cc//cc:cc_binary.bzl", "cc_binary")
load("//rules:defs.bzl", "marlin_library")
load(":analysis_tests.bzl", "stale_outputs_archs_flag_test", "stale_outputs_test")

# The libraries: name -> (archs, quant configs). Each gets a cc_binary stale_NAME_bin that links it.
# "flag" has no archs: the test sets --//rules:archs.
_LIBRARIES = {
    "arch_full": (["8.0", "8.9", "10.0a"], ["gptq_int4"]),
    "arch_reduced": (["8.0", "10.0a"], ["gptq_int4"]),
    "config_full": (["8.0"], ["awq_int4", "gptq_int4", "gptq_int8"]),
    "config_reduced": (["8.0"], ["awq_int4", "gptq_int8"]),
    "family_full": (["7.5", "8.0"], ["awq_int4"]),
    "family_reduced": (["7.5"], ["awq_int4"]),
    "flag": (None, ["gptq_int8"]),
    "fp4_full": (["8.0"], ["nvfp4", "mxfp4"]),
    "fp4_reduced": (["8.0"], ["mxfp4"]),
    "fp8_act_full": (["8.0", "8.9"], ["gptq_int4", "gptq_int4_fp8_act"]),
    "fp8_act_reduced": (["8.0", "8.9"], ["gptq_int4"]),
}

# The tests: (test, the pair of libraries compared (stale_PAIR_full_bin, stale_PAIR_reduced_bin), what the
# reduced one has, what only the full one has). Kernel files are named without extension.
_CASES = [
    # gptq_int4 dropped: its two kernel files go, those of awq_int4 and gptq_int8 stay.
    ("stale_config_test", "config", {
        "archs": ["8.0"],
        "kernels": ["sm80_kernel_bfloat16_u4_bfloat16", "sm80_kernel_bfloat16_u8b128_bfloat16", "sm80_kernel_float16_u4_float16", "sm80_kernel_float16_u8b128_float16"],
        "quant_configs": ["awq_int4", "gptq_int8"],
    }, {
        "dropped_kernels": ["sm80_kernel_bfloat16_u4b8_bfloat16", "sm80_kernel_float16_u4b8_float16"],
        "dropped_quant_configs": ["gptq_int4"],
    }),
    # 8.9 dropped: the same kernel files, no action compiles for sm_89.
    ("stale_arch_test", "arch", {
        "archs": ["8.0", "10.0a"],
        "kernels": ["sm80_kernel_bfloat16_u4b8_bfloat16", "sm80_kernel_float16_u4b8_float16"],
        "quant_configs": ["gptq_int4"],
    }, {
        "dropped_archs": ["8.9"],
    }),
    # 8.0 dropped from 7.5,8.0: the sm80 family goes with it, so both sm80 files go; the sm75 file stays,
    # compiled for sm_75 only (in both), and launcher and repack are compiled for sm_75 only.
    ("stale_arch_family_test", "family", {
        "archs": ["7.5"],
        "kernels": ["sm75_kernel_float16_u4_float16"],
        "quant_configs": ["awq_int4"],
    }, {
        "dropped_archs": ["8.0"],
        "dropped_kernels": ["sm80_kernel_bfloat16_u4_bfloat16", "sm80_kernel_float16_u4_float16"],
    }),
    # nvfp4 dropped from nvfp4,mxfp4: its own f16 file goes; the bf16 e2m1 file, which both write, stays.
    ("stale_shared_file_test", "fp4", {
        "archs": ["8.0"],
        "kernels": ["sm80_kernel_bfloat16_fe2m1f_bfloat16"],
        "quant_configs": ["mxfp4"],
    }, {
        "dropped_kernels": ["sm80_kernel_float16_fe2m1f_float16"],
        "dropped_quant_configs": ["nvfp4"],
    }),
    # gptq_int4_fp8_act dropped from 8.0,8.9: its two sm89 files go (compiled for sm_89 only); the sm80 files of
    # gptq_int4 stay, and 8.9 still compiles the sm80 files, the launcher and the repack kernels.
    ("stale_fp8_act_test", "fp8_act", {
        "archs": ["8.0", "8.9"],
        "kernels": ["sm80_kernel_bfloat16_u4b8_bfloat16", "sm80_kernel_float16_u4b8_float16"],
        "quant_configs": ["gptq_int4"],
    }, {
        "dropped_kernels": ["sm89_kernel_fe4m3fn_u4b8_bfloat16", "sm89_kernel_fe4m3fn_u4b8_float16"],
        "dropped_quant_configs": ["gptq_int4_fp8_act"],
    }),
]

def stale_outputs_test_suite(name):
    """Declares the compared libraries and binaries, each stale-outputs test, and a test_suite `name` of them.

    Args:
      name: the test_suite's name.
    """
    for library, (archs, configs) in _LIBRARIES.items():
        marlin_library(name = "stale_%s_lib" % library, archs = archs, quant_configs = configs, tags = ["manual"])
        cc_binary(name = "stale_%s_bin" % library, tags = ["manual"], deps = [":stale_%s_lib" % library])

    tests = []
    for test, pair, kept, dropped in _CASES:
        stale_outputs_test(
            name = test,
            size = "small",
            full = ":stale_%s_full_bin" % pair,
            reduced = ":stale_%s_reduced_bin" % pair,
            **dict(kept, **dropped)
        )
        tests.append(":" + test)

    # One target, two values of --//rules:archs (8.0,8.9 and 8.0): what `--config=...` changes between builds.
    stale_outputs_archs_flag_test(
        name = "stale_archs_flag_test",
        size = "small",
        archs = ["8.0"],
        dropped_archs = ["8.9"],
        full = ":stale_flag_bin",
        kernels = ["sm80_kernel_bfloat16_u8b128_bfloat16", "sm80_kernel_float16_u8b128_float16"],
        quant_configs = ["gptq_int8"],
        reduced = ":stale_flag_bin",
    )
    tests.append(":stale_archs_flag_test")
    native.test_suite(name = name, tests = tests)
