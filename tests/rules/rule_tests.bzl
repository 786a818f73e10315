"""Analysis-time tests of the marlin rules, on bazel-skylib's unittest and analysistest.

planning_test checks the pure planning and validation functions of rules/private/plan.bzl (a skylib unit
test); files_test checks the files a target provides (an analysis test).
"""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts", "unittest")

# buildifier: disable=bzl-visibility
load("//rules/private:catalog.bzl", "IMPLEMENTED_QUANT_CONFIGS", "KNOWN_QUANT_CONFIGS")

# buildifier: disable=bzl-visibility
load("//rules/private:cuda_toolkit.bzl", "toolkit_mode")

# buildifier: disable=bzl-visibility
load("//rules/private:plan.bzl", "FAMILIES", "arch_families", "check_archs_cuda", "check_config_archs", "family_archs", "gencode_flags", "plan_file_names", "plan_kernel_files", "resolve_archs", "resolve_quant_configs", "shard_file_names", "validate_archs", "validate_quant_configs", "validate_shards")

ALLOWED_ARCHS = "allowed: 7.5, 8.0, 8.6, 8.7, 8.9, 9.0, 10.0, 12.0, 12.1 (with a suffix where nvcc has one: 9.0a, 10.0a, 10.0f, 12.0a, 12.0f, 12.1a, 12.1f; +PTX after any of them also embeds its PTX)"

# The configs with sm75/sm80 kernels (16-bit, then INT8 activations), then the FP8-activation ones (sm89 only).
SM80_CONFIGS = ["awq_int4", "gptq_int4", "gptq_int8", "fp8", "nvfp4", "mxfp4", "awq_int4_int8_act", "gptq_int4_int8_act"]
FP8_ACT_CONFIGS = ["awq_int4_fp8_act", "gptq_int4_fp8_act", "mxfp4_fp8_act"]
IMPLEMENTED_CONFIGS = SM80_CONFIGS + FP8_ACT_CONFIGS
AVAILABLE_CONFIGS = "awq_int4, gptq_int4, gptq_int8, fp8, nvfp4, mxfp4, awq_int4_int8_act, gptq_int4_int8_act, awq_int4_fp8_act, gptq_int4_fp8_act, mxfp4_fp8_act"
ALLOWED_CONFIGS = "allowed: " + AVAILABLE_CONFIGS

# Real builds: the sm80 files of every implemented config (INT4 AWQ and GPTQ, INT8 GPTQ, FP8, NVFP4, MXFP4, and
# INT4 with INT8 activations); nvfp4 and mxfp4 share the bf16 e2m1 file, mxfp4 has no f16 one.
SM80_FILES = [
    "sm80_kernel_bfloat16_fe2m1f_bfloat16.cu",
    "sm80_kernel_bfloat16_fe4m3fn_bfloat16.cu",
    "sm80_kernel_bfloat16_u4_bfloat16.cu",
    "sm80_kernel_bfloat16_u4b8_bfloat16.cu",
    "sm80_kernel_bfloat16_u8b128_bfloat16.cu",
    "sm80_kernel_float16_fe2m1f_float16.cu",
    "sm80_kernel_float16_fe4m3fn_float16.cu",
    "sm80_kernel_float16_u4_float16.cu",
    "sm80_kernel_float16_u4b8_float16.cu",
    "sm80_kernel_float16_u8b128_float16.cu",
    "sm80_kernel_s8_u4_bfloat16.cu",
    "sm80_kernel_s8_u4_float16.cu",
    "sm80_kernel_s8_u4b8_bfloat16.cu",
    "sm80_kernel_s8_u4b8_float16.cu",
]

# Real builds with 7.5: the sm75 files (Turing: two stages, no bf16), the f16 one of every implemented config
# that has an f16 variant; mxfp4 (bf16 only) has none, so nvfp4 alone writes the f16 e2m1 file.
SM75_FILES = [
    "sm75_kernel_float16_fe2m1f_float16.cu",
    "sm75_kernel_float16_fe4m3fn_float16.cu",
    "sm75_kernel_float16_u4_float16.cu",
    "sm75_kernel_float16_u4b8_float16.cu",
    "sm75_kernel_float16_u8b128_float16.cu",
    "sm75_kernel_s8_u4_float16.cu",
    "sm75_kernel_s8_u4b8_float16.cu",
]

# The implemented configs that 7.5 allows: the sm80 ones but mxfp4.
SM75_CONFIGS = [c for c in SM80_CONFIGS if c != "mxfp4"]

SM80_INT4_FILES = [
    "sm80_kernel_bfloat16_u4_bfloat16.cu",
    "sm80_kernel_bfloat16_u4b8_bfloat16.cu",
    "sm80_kernel_float16_u4_float16.cu",
    "sm80_kernel_float16_u4b8_float16.cu",
]

SM80_INT8_FILES = [
    "sm80_kernel_bfloat16_u8b128_bfloat16.cu",
    "sm80_kernel_float16_u8b128_float16.cu",
]

# The seed's whole matrix (all-known mode): every known config is implemented, so the same files.
ALL_SM80_FILES = SM80_FILES

# Real builds with 8.9 or 12.x: the sm89 files (FP8 activations) of the FP8-activation configs; every one of
# them is implemented, so these are also the all-known mode's sm89 files.
SM89_FILES = [
    "sm89_kernel_fe4m3fn_fe2m1f_bfloat16.cu",
    "sm89_kernel_fe4m3fn_u4_bfloat16.cu",
    "sm89_kernel_fe4m3fn_u4_float16.cu",
    "sm89_kernel_fe4m3fn_u4b8_bfloat16.cu",
    "sm89_kernel_fe4m3fn_u4b8_float16.cu",
]

ALL_SM89_FILES = SM89_FILES

ALL_SM75_FILES = SM75_FILES

# Every supported arch that has no native FP8 mma (none of 8.9, 12.0, 12.1).
NO_FP8_ARCHS = ["7.5", "8.0", "8.6", "8.7", "9.0a", "10.0f"]

FP8_ALLOWED = "archs that allow it: 8.9, 12.0, 12.1"

# The plan.bzl functions return (value, error) pairs; these check one against skylib's test environment.

def _expect_error(env, name, pair, substrings):
    """pair is a (value, error) result that must be an error containing every substring."""
    value, error = pair
    if error == None:
        unittest.fail(env, "%s: no error; got value %s" % (name, json.encode(value)))
        return
    missing = [s for s in substrings if s not in error]
    asserts.true(env, not missing, "%s: error %s lacks %s" % (name, json.encode(error), json.encode(missing)))

def _expect_value(env, name, pair, expected):
    value, error = pair
    if error != None:
        unittest.fail(env, "%s: unexpected error %s" % (name, json.encode(error)))
        return
    asserts.equals(env, expected, value, name)

def _expect_equal(env, name, got, want):
    asserts.equals(env, want, got, name)

# Planning and validation functions ------------------------------------------------------------------------

def _planning_test_impl(ctx):
    r = unittest.begin(ctx)

    # Bad archs.
    _expect_error(r, "arch 7.0 is rejected", validate_archs(["7.0"]), ['unknown arch "7.0" in archs', ALLOWED_ARCHS])
    _expect_error(r, "arch sm_80 is rejected", validate_archs(["8.0", "sm_80"]), ['unknown arch "sm_80"', ALLOWED_ARCHS])
    _expect_error(r, "empty arch string is rejected", validate_archs([""]), ['unknown arch ""', ALLOWED_ARCHS])
    _expect_error(r, "arch 9.0b is rejected", validate_archs(["9.0b"]), ['arch "9.0b" in archs: 9.0 has no suffix "b" (it takes a)', ALLOWED_ARCHS])
    _expect_error(r, "arch 8.0a is rejected (sm_80 has no arch-specific target)", validate_archs(["8.0a"]), ['arch "8.0a" in archs: 8.0 has no suffix "a" (it takes none)'])
    _expect_error(r, "arch 9.0f is rejected", validate_archs(["9.0f"]), ['9.0 has no suffix "f" (it takes a)'])
    _expect_error(r, "arch with a space is rejected", validate_archs([" 8.0"]), ['unknown arch " 8.0"', ALLOWED_ARCHS])
    _expect_error(r, "lower-case +ptx is rejected", validate_archs(["8.0+ptx"]), ['unknown arch "8.0+ptx"'])
    _expect_error(r, "+PTX alone is rejected", validate_archs(["+PTX"]), ['unknown arch "+PTX"'])
    _expect_error(r, "an arch with and without +PTX is a duplicate", validate_archs(["8.0", "8.0+PTX"]), ['archs lists arch 8.0 twice ("8.0" and "8.0+PTX")'])
    _expect_error(r, "arch 8 is rejected", validate_archs(["8"]), ['unknown arch "8"'])
    _expect_error(r, "empty arch list is rejected", validate_archs([]), ["archs is empty", "7.5, 8.0"])
    _expect_error(r, "duplicate arch is rejected", validate_archs(["8.0", "8.9", "8.0"]), ['archs lists "8.0" twice', "7.5, 8.0"])
    _expect_error(r, "bad flag value names the flag", resolve_archs([], ["7.0"]), ['unknown arch "7.0" in --//rules:archs'])

    # Good archs.
    _expect_value(r, "every supported arch is accepted", validate_archs(["7.5", "8.0", "8.6", "8.7", "8.9", "9.0", "10.0", "12.0", "12.1"]), ["7.5", "8.0", "8.6", "8.7", "8.9", "9.0", "10.0", "12.0", "12.1"])
    _expect_value(r, "a and f suffixes are accepted", validate_archs(["9.0a", "10.0f", "12.0a"]), ["9.0a", "10.0f", "12.0a"])
    _expect_value(r, "+PTX is accepted after any arch", validate_archs(["7.5+PTX", "8.0+PTX", "9.0a+PTX", "12.1f+PTX"]), ["7.5+PTX", "8.0+PTX", "9.0a+PTX", "12.1f+PTX"])
    _expect_value(r, "9.0 and 9.0a are two archs", validate_archs(["9.0", "9.0a"]), ["9.0", "9.0a"])

    # Archs against the CUDA version (the first release of each target; 'f' needs 12.9).
    _expect_equal(r, "CUDA 13.0 compiles every arch", check_archs_cuda(["7.5", "9.0a", "10.0f", "12.1f+PTX"], "13.0"), None)
    _expect_equal(r, "CUDA 12.8 compiles 10.0a and 12.0", check_archs_cuda(["10.0a", "12.0"], "12.8"), None)
    _expect_error(r, "10.0 needs CUDA 12.8", (None, check_archs_cuda(["8.0", "10.0"], "12.4")), ['arch "10.0" needs CUDA 12.8 or newer, but the toolkit is CUDA 12.4', "--repo_env=CUDA_PATH"])
    _expect_error(r, "the f suffix needs CUDA 12.9", (None, check_archs_cuda(["10.0f"], "12.8")), ['arch "10.0f" needs CUDA 12.9 or newer, but the toolkit is CUDA 12.8'])
    _expect_error(r, "12.1 needs CUDA 12.9", (None, check_archs_cuda(["12.1+PTX"], "12.8")), ['arch "12.1+PTX" needs CUDA 12.9 or newer'])
    _expect_error(r, "9.0a needs CUDA 12.0", (None, check_archs_cuda(["9.0a"], "11.8")), ['arch "9.0a" needs CUDA 12.0 or newer'])
    _expect_value(r, "the archs attribute wins over the flag", resolve_archs(["8.9"], ["8.0"]), ["8.9"])
    _expect_value(r, "an empty archs attribute means the flag", resolve_archs([], ["8.0", "9.0"]), ["8.0", "9.0"])

    # Families and gencode flags.
    archs = ["7.5", "8.0", "8.9", "9.0a", "10.0", "12.0", "12.1"]
    _expect_value(r, "sm80 family: archs >= 8.0", family_archs("sm80", archs), ["8.0", "8.9", "9.0a", "10.0", "12.0", "12.1"])
    _expect_value(r, "sm89 family: 8.9 and 12.x", family_archs("sm89", archs), ["8.9", "12.0", "12.1"])
    _expect_value(r, "sm75 family: 7.5", family_archs("sm75", archs), ["7.5"])
    _expect_value(r, "no family: every arch", family_archs("", archs), archs)
    _expect_value(r, "sm89 family of 8.0 only is empty", family_archs("sm89", ["8.0"]), [])
    _expect_error(r, "unknown family is rejected", family_archs("sm70", archs), ['unknown arch_family "sm70"', "sm75, sm80, sm89"])
    _expect_equal(r, "gencode flags", gencode_flags(["8.0", "9.0a", "12.1"]), [
        "-gencode",
        "arch=compute_80,code=sm_80",
        "-gencode",
        "arch=compute_90a,code=sm_90a",
        "-gencode",
        "arch=compute_121,code=sm_121",
    ])
    _expect_equal(r, "gencode flags of +PTX: SASS and PTX", gencode_flags(["7.5", "8.0+PTX"]), [
        "-gencode",
        "arch=compute_75,code=sm_75",
        "-gencode",
        "arch=compute_80,code=sm_80",
        "-gencode",
        "arch=compute_80,code=compute_80",
    ])
    _expect_value(r, "+PTX keeps the arch's families", family_archs("sm80", ["7.5+PTX", "8.0+PTX"]), ["8.0+PTX"])
    _expect_value(r, "9.0a+PTX brings in the sm90 family", family_archs("sm90", ["9.0", "9.0a+PTX"]), ["9.0a+PTX"])
    _expect_equal(r, "families of 9.0a+PTX", arch_families("9.0a+PTX"), ["sm80", "sm90"])
    _expect_equal(r, "families of 12.0f+PTX", arch_families("12.0f+PTX"), ["sm80", "sm89"])

    # Quant configs.
    _expect_error(r, "unknown quant config is rejected", validate_quant_configs(["awq_int4", "int3"]), ['unknown quant config "int3" in quant_configs', ALLOWED_CONFIGS])
    _expect_error(r, "empty quant config list is rejected", validate_quant_configs([]), ["quant_configs is empty", AVAILABLE_CONFIGS])
    _expect_error(r, "duplicate quant config is rejected", validate_quant_configs(["gptq_int4", "gptq_int4"]), ['quant_configs lists "gptq_int4" twice'])
    _expect_error(r, "plan rejects a bad arch", plan_kernel_files(["7.0"], ["awq_int4"]), ['unknown arch "7.0"'])

    # quant_configs = ["all"]: every implemented config the archs allow (FP8 activations need 8.9 or 12.x, mxfp4
    # an arch >= 8.0); explicit lists pass through unchanged.
    sixteen_bit = ["awq_int4", "gptq_int4", "gptq_int8", "fp8", "nvfp4", "mxfp4"]
    int8_act = ["awq_int4_int8_act", "gptq_int4_int8_act"]
    fp8_act = ["awq_int4_fp8_act", "gptq_int4_fp8_act", "mxfp4_fp8_act"]
    _expect_value(r, "all on 8.0: the 16-bit- and INT8-activation configs", resolve_quant_configs(["8.0"], ["all"]), sixteen_bit + int8_act)
    _expect_value(r, "all on 9.0a: the same", resolve_quant_configs(["9.0a"], ["all"]), sixteen_bit + int8_act)
    _expect_value(r, "all on 8.9: FP8 activations too", resolve_quant_configs(["8.9"], ["all"]), sixteen_bit + int8_act + fp8_act)
    _expect_value(r, "all on 8.0,12.0: FP8 activations too", resolve_quant_configs(["8.0", "12.0"], ["all"]), sixteen_bit + int8_act + fp8_act)
    _expect_value(r, "all on 7.5: what Turing allows (no mxfp4: bf16 only)", resolve_quant_configs(["7.5"], ["all"]), ["awq_int4", "gptq_int4", "gptq_int8", "fp8", "nvfp4"] + int8_act)
    _expect_value(r, "explicit lists pass through", resolve_quant_configs(["8.0"], ["gptq_int4"]), ["gptq_int4"])
    _expect_error(r, "all with other entries is rejected", resolve_quant_configs(["8.0"], ["all", "awq_int4"]), ['bad quant_configs ["all","awq_int4"]: "all" must be the only entry'])
    _expect_error(r, "all checks the archs", resolve_quant_configs(["7.0"], ["all"]), ['unknown arch "7.0"'])
    _expect_error(r, "plan rejects a bad quant config", plan_kernel_files(["8.0"], ["awq"]), ['unknown quant config "awq"', ALLOWED_CONFIGS])

    # Plans.
    plan, error = plan_kernel_files(["8.0"], SM80_CONFIGS)
    _expect_equal(r, "plan for 8.0 has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 8.0: sm80 files", plan["sm80"], SM80_FILES)
        _expect_equal(r, "plan for 8.0: no sm75 files", plan["sm75"], [])
        _expect_equal(r, "plan for 8.0: no sm89 files", plan["sm89"], [])
        _expect_equal(r, "plan for 8.0: file names", plan_file_names(plan), SM80_FILES + ["kernel_selector.h"])
    plan, error = plan_kernel_files(["8.0"], ["awq_int4", "gptq_int4"])
    _expect_equal(r, "plan for 8.0, INT4 configs has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 8.0, INT4 configs: their sm80 files only", plan["sm80"], SM80_INT4_FILES)
    plan, error = plan_kernel_files(["8.0", "9.0a"], ["gptq_int8"])
    _expect_equal(r, "plan for 8.0,9.0a, gptq_int8 has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 8.0,9.0a, gptq_int8: its sm80 files", [plan["sm75"], plan["sm80"], plan["sm89"]], [[], SM80_INT8_FILES, []])
    plan, error = plan_kernel_files(["8.0", "9.0a", "12.0"], ["gptq_int4"])
    _expect_equal(r, "plan for 8.0,9.0a,12.0 has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 8.0,9.0a,12.0: each sm80 file once", plan["sm80"], [
            "sm80_kernel_bfloat16_u4b8_bfloat16.cu",
            "sm80_kernel_float16_u4b8_float16.cu",
        ])
    plan, error = plan_kernel_files(["8.6"], ["mxfp4", "nvfp4"])
    _expect_equal(r, "plan for 8.6, FP4 configs has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 8.6, FP4 configs: the shared bf16 file once, nvfp4's f16 file", plan["sm80"], [
            "sm80_kernel_bfloat16_fe2m1f_bfloat16.cu",
            "sm80_kernel_float16_fe2m1f_float16.cu",
        ])
    plan, error = plan_kernel_files(["8.0"], ["mxfp4"])
    _expect_equal(r, "plan for 8.0, mxfp4 has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 8.0, mxfp4: bf16 only", plan["sm80"], ["sm80_kernel_bfloat16_fe2m1f_bfloat16.cu"])
    _expect_error(r, "plan rejects mxfp4 on 7.5 (sm75 has no bf16)", plan_kernel_files(["7.5"], ["mxfp4"]), [
        'quant config "mxfp4" has no kernels for archs 7.5',
    ])
    plan, error = plan_kernel_files(["7.5"], ["awq_int4"])
    _expect_equal(r, "plan for 7.5 has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 7.5: the f16 sm75 file of awq_int4", plan["sm75"], ["sm75_kernel_float16_u4_float16.cu"])
        _expect_equal(r, "plan for 7.5: no sm80 files", plan["sm80"], [])
        _expect_equal(r, "plan for 7.5: no sm89 files", plan["sm89"], [])
        _expect_equal(r, "plan for 7.5: the selector", plan["selector"], "kernel_selector.h")
    plan, error = plan_kernel_files(["7.5"], SM75_CONFIGS)
    _expect_equal(r, "plan for 7.5, every config Turing allows has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 7.5, every config Turing allows: the sm75 files", plan_file_names(plan), SM75_FILES + ["kernel_selector.h"])
    _expect_value(r, "no quant config list on 7.5: every implemented one Turing allows (no mxfp4)", plan_kernel_files(["7.5"], None), {
        "selector": "kernel_selector.h",
        "sm75": SM75_FILES,
        "sm80": [],
        "sm89": [],
        "sm90": [],
    })
    plan, error = plan_kernel_files(["7.5", "8.0", "8.9", "9.0"], IMPLEMENTED_CONFIGS)
    _expect_equal(r, "plan for 7.5,8.0,8.9,9.0 has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 7.5,8.0,8.9,9.0: sm75, sm80 and sm89 files", [plan["sm75"], plan["sm80"], plan["sm89"]], [SM75_FILES, SM80_FILES, SM89_FILES])
        _expect_equal(r, "plan for 7.5,8.0,8.9,9.0: 26 kernel files and the selector", len(plan_file_names(plan)), 7 + 14 + 5 + 1)
    _expect_value(r, "no quant config list on 7.5,8.0,8.9,9.0,12.0: every implemented one", plan_kernel_files(["7.5", "8.0", "8.9", "9.0", "12.0"], None), {
        "selector": "kernel_selector.h",
        "sm75": SM75_FILES,
        "sm80": SM80_FILES,
        "sm89": SM89_FILES,
        "sm90": [],
    })
    plan, error = plan_kernel_files(["7.5", "8.0"], ["mxfp4"])
    _expect_equal(r, "plan for 7.5,8.0, mxfp4 has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 7.5,8.0, mxfp4: no sm75 file", [plan["sm75"], plan["sm80"]], [[], ["sm80_kernel_bfloat16_fe2m1f_bfloat16.cu"]])

    # Shards: each kernel file becomes NAME_part<i>of<N>.cu, i = 1..N; 1 keeps today's names.
    _expect_equal(r, "one shard keeps the name", shard_file_names("sm80_kernel_float16_u4_float16.cu", 1), ["sm80_kernel_float16_u4_float16.cu"])
    _expect_equal(r, "three shards", shard_file_names("sm80_kernel_float16_u4_float16.cu", 3), [
        "sm80_kernel_float16_u4_float16_part1of3.cu",
        "sm80_kernel_float16_u4_float16_part2of3.cu",
        "sm80_kernel_float16_u4_float16_part3of3.cu",
    ])
    _expect_value(r, "shards 1 is allowed", validate_shards(1), 1)
    _expect_value(r, "shards 16 is allowed", validate_shards(16), 16)
    for bad in [0, 17, -1]:
        _expect_error(r, "shards %d is rejected" % bad, validate_shards(bad), [
            "marlin-bazel: bad shards %d; allowed: an integer from 1 to 16" % bad,
        ])
    _expect_error(r, "plan rejects shards 0", plan_kernel_files(["8.0"], ["gptq_int4"], shards = 0), ["bad shards 0; allowed: an integer from 1 to 16"])
    _expect_error(r, "plan rejects shards 17", plan_kernel_files(["8.0"], ["gptq_int4"], shards = 17), ["bad shards 17; allowed: an integer from 1 to 16"])
    _expect_value(r, "plan with shards = 1 is the unsharded plan", plan_kernel_files(["8.0"], SM80_CONFIGS, shards = 1), plan_kernel_files(["8.0"], SM80_CONFIGS)[0])
    plan, error = plan_kernel_files(["8.0", "9.0a"], ["gptq_int4"], shards = 2)
    _expect_equal(r, "plan with shards = 2 has no error", error, None)
    if plan:
        _expect_equal(r, "plan with shards = 2: two parts per file, in order", plan_file_names(plan), [
            "sm80_kernel_bfloat16_u4b8_bfloat16_part1of2.cu",
            "sm80_kernel_bfloat16_u4b8_bfloat16_part2of2.cu",
            "sm80_kernel_float16_u4b8_float16_part1of2.cu",
            "sm80_kernel_float16_u4b8_float16_part2of2.cu",
            "sm90_kernel_bfloat16_u4b8_bfloat16_part1of2.cu",
            "sm90_kernel_bfloat16_u4b8_bfloat16_part2of2.cu",
            "sm90_kernel_float16_u4b8_float16_part1of2.cu",
            "sm90_kernel_float16_u4b8_float16_part2of2.cu",
            "kernel_selector.h",
        ])
        _expect_equal(r, "plan with shards = 2: no sm75/sm89 files", [plan["sm75"], plan["sm89"]], [[], []])
    _expect_value(r, "9.0 without the suffix brings no sm90 family", plan_kernel_files(["9.0"], ["gptq_int4"]), {
        "selector": "kernel_selector.h",
        "sm75": [],
        "sm80": ["sm80_kernel_bfloat16_u4b8_bfloat16.cu", "sm80_kernel_float16_u4b8_float16.cu"],
        "sm89": [],
        "sm90": [],
    })
    _expect_value(r, "the sm90 family compiles for 9.0a only", family_archs("sm90", ["8.0", "9.0", "9.0a", "10.0a"]), ["9.0a"])
    _expect_value(r, "the sm80 family compiles for 9.0a too", family_archs("sm80", ["8.0", "9.0a"]), ["8.0", "9.0a"])
    plan, error = plan_kernel_files(["7.5", "8.0"], ["gptq_int8"], shards = 2)
    _expect_equal(r, "plan for 7.5,8.0 with shards = 2 has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 7.5,8.0 with shards = 2: sm75 parts, then sm80 parts", plan_file_names(plan), [
            "sm75_kernel_float16_u8b128_float16_part1of2.cu",
            "sm75_kernel_float16_u8b128_float16_part2of2.cu",
            "sm80_kernel_bfloat16_u8b128_bfloat16_part1of2.cu",
            "sm80_kernel_bfloat16_u8b128_bfloat16_part2of2.cu",
            "sm80_kernel_float16_u8b128_float16_part1of2.cu",
            "sm80_kernel_float16_u8b128_float16_part2of2.cu",
            "kernel_selector.h",
        ])
    plan, error = plan_kernel_files(["8.0"], SM80_CONFIGS, shards = 7)
    _expect_equal(r, "plan with shards = 7 has no error", error, None)
    if plan:
        _expect_equal(r, "plan with shards = 7: 7 files per unsharded file", plan["sm80"], [p for f in SM80_FILES for p in shard_file_names(f, 7)])
        _expect_equal(r, "plan with shards = 7: 98 kernel files", len(plan["sm80"]), 14 * 7)

    # Families come from the catalog.
    _expect_equal(r, "families", FAMILIES, ["sm75", "sm80", "sm89", "sm90"])
    plan, error = plan_kernel_files(["8.9", "12.0"], IMPLEMENTED_CONFIGS)
    _expect_equal(r, "plan for 8.9,12.0 has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 8.9,12.0: the implemented sm80 files", plan["sm80"], SM80_FILES)
        _expect_equal(r, "plan for 8.9,12.0: the sm89 files (FP8 activations)", plan["sm89"], SM89_FILES)
        _expect_equal(r, "plan for 8.9,12.0: 19 kernel files and the selector", len(plan_file_names(plan)), 14 + 5 + 1)
    plan, error = plan_kernel_files(["12.1a"], ["awq_int4_fp8_act"])
    _expect_equal(r, "plan for 12.1a, awq_int4_fp8_act has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 12.1a, awq_int4_fp8_act: its sm89 files only", [plan["sm75"], plan["sm80"], plan["sm89"]], [[], [], [
            "sm89_kernel_fe4m3fn_u4_bfloat16.cu",
            "sm89_kernel_fe4m3fn_u4_float16.cu",
        ]])
    _expect_value(r, "no quant config list on 8.0: every implemented one 8.0 allows (no FP8 activations)", plan_kernel_files(["8.0"], None), {
        "selector": "kernel_selector.h",
        "sm75": [],
        "sm80": SM80_FILES,
        "sm89": [],
        "sm90": [],
    })
    _expect_value(r, "no quant config list on 8.9: every implemented one", plan_kernel_files(["8.9"], None), {
        "selector": "kernel_selector.h",
        "sm75": [],
        "sm80": SM80_FILES,
        "sm89": SM89_FILES,
        "sm90": [],
    })

    # Every known config is implemented now. Any that is not is rejected by real builds, naming the available
    # ones (tests/generator exercises that path with a config switched off).
    _expect_equal(r, "implemented quant configs", IMPLEMENTED_QUANT_CONFIGS, IMPLEMENTED_CONFIGS)
    _expect_value(r, "every implemented config is accepted", validate_quant_configs(IMPLEMENTED_CONFIGS), IMPLEMENTED_CONFIGS)
    not_implemented = [c for c in KNOWN_QUANT_CONFIGS if c not in IMPLEMENTED_QUANT_CONFIGS]
    _expect_equal(r, "every known config is implemented", not_implemented, [])
    for config in not_implemented:
        message = 'marlin-bazel: quant config "%s" is not implemented yet; available: %s' % (config, AVAILABLE_CONFIGS)
        _expect_error(r, "%s is not implemented" % config, validate_quant_configs(["gptq_int8", config]), [message])
        _expect_error(r, "plan rejects %s on 8.0,8.9,12.0" % config, plan_kernel_files(["8.0", "8.9", "12.0"], [config]), [message])
        _expect_value(r, "all-known mode accepts %s" % config, validate_quant_configs([config], all_known = True), [config])
    _expect_error(r, "all-known mode rejects an unknown config", validate_quant_configs(["int3"], all_known = True), [
        'unknown quant config "int3"',
        "allowed: awq_int4, gptq_int4, gptq_int8, fp8, nvfp4, mxfp4, awq_int4_int8_act, gptq_int4_int8_act, awq_int4_fp8_act",
    ])

    # FP8 activations need 8.9 or 12.x: an error naming the config and the archs that allow it, not a skip.
    for config in FP8_ACT_CONFIGS:
        _expect_error(r, "%s without 8.9/12.x is rejected" % config, check_config_archs(NO_FP8_ARCHS, [config]), [
            'marlin-bazel: quant config "%s" has no kernels for archs 7.5, 8.0, 8.6, 8.7, 9.0a, 10.0f; ' % config + FP8_ALLOWED,
        ])
        _expect_error(r, "plan of %s for 8.0,9.0 is rejected" % config, plan_kernel_files(["8.0", "9.0"], ["awq_int4", config]), [
            'quant config "%s" has no kernels for archs 8.0, 9.0; ' % config + FP8_ALLOWED,
        ])
        _expect_error(r, "all-known plan of %s for 8.0,9.0 is rejected" % config, plan_kernel_files(["8.0", "9.0"], ["awq_int4", config], all_known = True), [
            'quant config "%s" has no kernels for archs 8.0, 9.0; ' % config + FP8_ALLOWED,
        ])
        for arch in ["8.9", "12.0", "12.1a"]:
            _expect_value(r, "%s is allowed with %s" % (config, arch), check_config_archs(["8.0", arch], [config]), [config])
    _expect_error(r, "mxfp4 on 7.5 only is rejected (sm75 has no bf16)", check_config_archs(["7.5"], ["awq_int4", "mxfp4"]), [
        'quant config "mxfp4" has no kernels for archs 7.5; archs that allow it: 8.0, 8.6, 8.7, 8.9, 9.0, 10.0, 12.0, 12.1',
    ])
    _expect_value(r, "awq_int4 on 7.5 is allowed", check_config_archs(["7.5"], ["awq_int4"]), ["awq_int4"])
    plan, error = plan_kernel_files(["12.1a"], ["gptq_int4_fp8_act"], all_known = True)
    _expect_equal(r, "all-known plan of gptq_int4_fp8_act for 12.1a has no error", error, None)
    if plan:
        _expect_equal(r, "all-known plan of gptq_int4_fp8_act for 12.1a: sm89 files only", [plan["sm75"], plan["sm80"], plan["sm89"]], [[], [], [
            "sm89_kernel_fe4m3fn_u4b8_bfloat16.cu",
            "sm89_kernel_fe4m3fn_u4b8_float16.cu",
        ]])

    # The all-known mode: the seed's whole matrix (19 files for 8.0,8.9,9.0; 7 more sm75 files with 7.5).
    plan, error = plan_kernel_files(["8.0", "8.9", "9.0"], None, all_known = True)
    _expect_equal(r, "all-known plan for 8.0,8.9,9.0 has no error", error, None)
    if plan:
        _expect_equal(r, "all-known plan for 8.0,8.9,9.0: sm80 files", plan["sm80"], ALL_SM80_FILES)
        _expect_equal(r, "all-known plan for 8.0,8.9,9.0: sm89 files", plan["sm89"], ALL_SM89_FILES)
        _expect_equal(r, "all-known plan for 8.0,8.9,9.0: no sm75 files", plan["sm75"], [])
        _expect_equal(r, "all-known plan for 8.0,8.9,9.0: 19 kernel files", len(plan_file_names(plan)), 19 + 1)
    plan, error = plan_kernel_files(["7.5", "8.0", "8.9", "9.0"], None, all_known = True)
    _expect_equal(r, "all-known plan for 7.5,8.0,8.9,9.0 has no error", error, None)
    if plan:
        _expect_equal(r, "all-known plan for 7.5,8.0,8.9,9.0: sm75 files", plan["sm75"], ALL_SM75_FILES)
        _expect_equal(r, "all-known plan for 7.5,8.0,8.9,9.0: 26 kernel files", len(plan_file_names(plan)), 26 + 1)
    plan, error = plan_kernel_files(["8.0", "9.0"], None, all_known = True)
    _expect_equal(r, "all-known plan for 8.0,9.0 has no error (FP8-activation configs left out)", error, None)
    if plan:
        _expect_equal(r, "all-known plan for 8.0,9.0: sm80 files, no sm89 files", [plan["sm80"], plan["sm89"]], [ALL_SM80_FILES, []])
    plan, error = plan_kernel_files(["7.5"], ["awq_int4", "gptq_int8"], all_known = True)
    _expect_equal(r, "all-known plan for 7.5 has no error", error, None)
    if plan:
        _expect_equal(r, "all-known plan for 7.5: sm75 files (two-stage, f16 output)", plan["sm75"], [
            "sm75_kernel_float16_u4_float16.cu",
            "sm75_kernel_float16_u8b128_float16.cu",
        ])

    # Which toolkit @marlin_cuda takes: the pinned wheels unless the environment asks for another.
    _expect_equal(r, "toolkit mode by default", toolkit_mode({}), "hermetic")
    _expect_equal(r, "toolkit mode with an explicit CUDA_PATH", toolkit_mode({"CUDA_PATH": "/opt/cuda"}), "local")
    _expect_equal(r, "toolkit mode with an empty CUDA_PATH", toolkit_mode({"CUDA_PATH": ""}), "hermetic")
    _expect_equal(r, "MARLIN_CUDA wins over CUDA_PATH", toolkit_mode({"CUDA_PATH": "/opt/cuda", "MARLIN_CUDA": "hermetic"}), "hermetic")
    _expect_equal(r, "MARLIN_CUDA=none", toolkit_mode({"MARLIN_CUDA": "none"}), "none")

    return unittest.end(r)

# Checks the pure planning and validation functions of rules/private/plan.bzl.
planning_test = unittest.make(_planning_test_impl)

# What a target built --------------------------------------------------------------------------------------

def _files_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    got = sorted([f.basename for f in target[DefaultInfo].files.to_list()])
    _expect_equal(env, "%s provides %s" % (target.label, json.encode(ctx.attr.expected)), got, sorted(ctx.attr.expected))
    for group, expected in ctx.attr.output_groups.items():
        if not hasattr(target[OutputGroupInfo], group):
            analysistest.fail(env, "output group %s is missing" % group)
            continue
        names = sorted([f.basename for f in getattr(target[OutputGroupInfo], group).to_list()])
        _expect_equal(env, "output group %s" % group, names, sorted(expected.split(",")) if expected else [])
    return analysistest.end(env)

# Checks the basenames of the files target_under_test provides (default outputs and output groups).
files_test = analysistest.make(
    _files_test_impl,
    attrs = {
        "expected": attr.string_list(doc = "Basenames of the target's default outputs."),
        "output_groups": attr.string_dict(doc = "Output group -> comma-separated basenames (\"\": empty)."),
    },
)
