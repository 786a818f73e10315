"""Analysis-time tests of the marlin rules, with a tiny harness of our own.

Each test rule evaluates its checks while Bazel analyses it and writes a shell script that prints one line
per check and exits 1 if any failed, so `bazel test` reports the result.
"""

# buildifier: disable=bzl-visibility
load("//rules/private:plan.bzl", "family_archs", "gencode_flags", "plan_file_names", "plan_kernel_files", "resolve_archs", "validate_archs", "validate_quant_configs")

ALLOWED_ARCHS = "allowed: 7.5, 8.0, 8.6, 8.7, 8.9, 9.0, 10.0, 12.0, 12.1 (optionally with suffix a or f, e.g. 9.0a)"
ALLOWED_CONFIGS = "allowed: awq_int4, gptq_int4"

SM80_FILES = [
    "sm80_kernel_bfloat16_u4_bfloat16.cu",
    "sm80_kernel_bfloat16_u4b8_bfloat16.cu",
    "sm80_kernel_float16_u4_float16.cu",
    "sm80_kernel_float16_u4b8_float16.cu",
]

def _new_results():
    return {"lines": [], "failed": 0}

def _record(results, ok, name, detail):
    results["lines"].append(("PASS: " if ok else "FAIL: ") + name + ("" if ok else " -- " + detail))
    if not ok:
        results["failed"] += 1

def _expect_error(results, name, pair, substrings):
    """pair is a (value, error) result that must be an error containing every substring."""
    value, error = pair
    if error == None:
        _record(results, False, name, "no error; got value %s" % json.encode(value))
        return
    missing = [s for s in substrings if s not in error]
    _record(results, not missing, name, "error %s lacks %s" % (json.encode(error), json.encode(missing)))

def _expect_value(results, name, pair, expected):
    value, error = pair
    if error != None:
        _record(results, False, name, "unexpected error %s" % json.encode(error))
        return
    _record(results, value == expected, name, "got %s, want %s" % (json.encode(value), json.encode(expected)))

def _expect_equal(results, name, got, want):
    _record(results, got == want, name, "got %s, want %s" % (json.encode(got), json.encode(want)))

def _write_test_script(ctx, results):
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    lines = results["lines"] + ["%d checks, %d failed" % (len(results["lines"]), results["failed"])]
    ctx.actions.write(
        output = script,
        content = "\n".join([
            "#!/bin/sh",
            "cat <<'MARLIN_TEST_OUTPUT'",
        ] + lines + [
            "MARLIN_TEST_OUTPUT",
            "exit %d" % (1 if results["failed"] else 0),
            "",
        ]),
        is_executable = True,
    )
    return [DefaultInfo(executable = script)]

# Planning and validation functions ------------------------------------------------------------------------

def _planning_test_impl(ctx):
    r = _new_results()

    # Bad archs.
    _expect_error(r, "arch 7.0 is rejected", validate_archs(["7.0"]), ['unknown arch "7.0" in archs', ALLOWED_ARCHS])
    _expect_error(r, "arch sm_80 is rejected", validate_archs(["8.0", "sm_80"]), ['unknown arch "sm_80"', ALLOWED_ARCHS])
    _expect_error(r, "empty arch string is rejected", validate_archs([""]), ['unknown arch ""', ALLOWED_ARCHS])
    _expect_error(r, "arch 9.0b is rejected", validate_archs(["9.0b"]), ['unknown arch "9.0b"'])
    _expect_error(r, "arch 8 is rejected", validate_archs(["8"]), ['unknown arch "8"'])
    _expect_error(r, "empty arch list is rejected", validate_archs([]), ["archs is empty", "7.5, 8.0"])
    _expect_error(r, "duplicate arch is rejected", validate_archs(["8.0", "8.9", "8.0"]), ['archs lists "8.0" twice', "7.5, 8.0"])
    _expect_error(r, "bad flag value names the flag", resolve_archs([], ["7.0"]), ['unknown arch "7.0" in --//rules:archs'])

    # Good archs.
    _expect_value(r, "every supported arch is accepted", validate_archs(["7.5", "8.0", "8.6", "8.7", "8.9", "9.0", "10.0", "12.0", "12.1"]), ["7.5", "8.0", "8.6", "8.7", "8.9", "9.0", "10.0", "12.0", "12.1"])
    _expect_value(r, "a and f suffixes are accepted", validate_archs(["9.0a", "10.0f", "12.0a"]), ["9.0a", "10.0f", "12.0a"])
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

    # Quant configs.
    _expect_error(r, "unknown quant config is rejected", validate_quant_configs(["awq_int4", "int3"]), ['unknown quant config "int3" in quant_configs', ALLOWED_CONFIGS])
    _expect_error(r, "empty quant config list is rejected", validate_quant_configs([]), ["quant_configs is empty", "awq_int4, gptq_int4"])
    _expect_error(r, "duplicate quant config is rejected", validate_quant_configs(["gptq_int4", "gptq_int4"]), ['quant_configs lists "gptq_int4" twice'])
    _expect_error(r, "plan rejects a bad arch", plan_kernel_files(["7.0"], ["awq_int4"]), ['unknown arch "7.0"'])
    _expect_error(r, "plan rejects a bad quant config", plan_kernel_files(["8.0"], ["awq"]), ['unknown quant config "awq"', ALLOWED_CONFIGS])

    # Plans.
    plan, error = plan_kernel_files(["8.0"], ["awq_int4", "gptq_int4"])
    _expect_equal(r, "plan for 8.0 has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 8.0: sm80 files", plan["sm80"], SM80_FILES)
        _expect_equal(r, "plan for 8.0: no sm75 files", plan["sm75"], [])
        _expect_equal(r, "plan for 8.0: no sm89 files", plan["sm89"], [])
        _expect_equal(r, "plan for 8.0: file names", plan_file_names(plan), SM80_FILES + ["kernel_selector.h"])
    plan, error = plan_kernel_files(["8.0", "9.0a", "12.0"], ["gptq_int4"])
    _expect_equal(r, "plan for 8.0,9.0a,12.0 has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 8.0,9.0a,12.0: each sm80 file once", plan["sm80"], [
            "sm80_kernel_bfloat16_u4b8_bfloat16.cu",
            "sm80_kernel_float16_u4b8_float16.cu",
        ])
    plan, error = plan_kernel_files(["7.5"], ["awq_int4"])
    _expect_equal(r, "plan for 7.5 has no error", error, None)
    if plan:
        _expect_equal(r, "plan for 7.5: no sm80 files", plan["sm80"], [])
        _expect_equal(r, "plan for 7.5: the selector", plan["selector"], "kernel_selector.h")

    return _write_test_script(ctx, r)

planning_test = rule(
    implementation = _planning_test_impl,
    test = True,
    doc = "Checks the pure planning and validation functions of rules/private/plan.bzl.",
)

# What a target built --------------------------------------------------------------------------------------

def _files_test_impl(ctx):
    r = _new_results()
    files = ctx.attr.target[DefaultInfo].files.to_list()
    got = sorted([f.basename for f in files])
    _expect_equal(r, "%s provides %s" % (ctx.attr.target.label, json.encode(ctx.attr.expected)), got, sorted(ctx.attr.expected))
    for group, expected in ctx.attr.output_groups.items():
        if not hasattr(ctx.attr.target[OutputGroupInfo], group):
            _record(r, False, "output group %s" % group, "missing")
            continue
        names = sorted([f.basename for f in getattr(ctx.attr.target[OutputGroupInfo], group).to_list()])
        _expect_equal(r, "output group %s" % group, names, sorted(expected.split(",")) if expected else [])
    return _write_test_script(ctx, r)

files_test = rule(
    implementation = _files_test_impl,
    attrs = {
        "expected": attr.string_list(doc = "Basenames of the target's default outputs."),
        "output_groups": attr.string_dict(doc = "Output group -> comma-separated basenames (\"\": empty)."),
        "target": attr.label(mandatory = True),
    },
    test = True,
    doc = "Checks the basenames of the files a target provides (default outputs and output groups).",
)
