"""Analysis tests of the marlin rules: bad attributes fail with the right message, nvcc actions are hermetic.

Both rules are analysis tests (`analysis_test = True`): Bazel analyses the target under test, builds nothing
of it, and reports the test as passed or failed from the AnalysisTestResultInfo that the rule returns.
The targets under test that must fail are tagged `manual`, so `bazel build //tests/...` leaves them alone.
"""

def _result(failures, passed_message):
    if failures:
        return [AnalysisTestResultInfo(success = False, message = "\n".join(failures))]
    return [AnalysisTestResultInfo(success = True, message = passed_message)]

# Bad input --------------------------------------------------------------------------------------------------

def _analysis_failure_test_impl(ctx):
    target = ctx.attr.target_under_test[0]
    if AnalysisFailureInfo not in target:
        return _result(["%s analysed without an error; want one containing %s" % (
            target.label,
            json.encode(ctx.attr.expected),
        )], "")
    messages = [cause.message for cause in target[AnalysisFailureInfo].causes.to_list()]
    failures = []
    for expected in ctx.attr.expected:
        if not [m for m in messages if expected in m]:
            failures.append("no analysis error of %s contains %s; the errors: %s" % (
                target.label,
                json.encode(expected),
                json.encode(messages),
            ))
    return _result(failures, "%s fails analysis as expected" % target.label)

def _failure_test_rule(archs_flag = None):
    """An analysis-failure test rule; with archs_flag, the target is analysed with --//rules:archs=archs_flag."""

    # allow_analysis_failures turns the target's errors into an AnalysisFailureInfo to inspect.
    settings = {"//command_line_option:allow_analysis_failures": "True"}
    if archs_flag != None:
        settings["//rules:archs"] = archs_flag
    return rule(
        implementation = _analysis_failure_test_impl,
        attrs = {
            "expected": attr.string_list(
                mandatory = True,
                doc = "Substrings that the target's analysis errors must contain (each in some error).",
            ),
            "target_under_test": attr.label(
                mandatory = True,
                cfg = analysis_test_transition(settings = settings),
            ),
        },
        analysis_test = True,
        doc = "Passes when target_under_test fails analysis with errors that contain every `expected` string.",
    )

analysis_failure_test = _failure_test_rule()

# The same with a bad --//rules:archs flag (the target must not set `archs`).
archs_flag_sm_80_failure_test = _failure_test_rule(["sm_80"])
archs_flag_empty_failure_test = _failure_test_rule([])
archs_flag_duplicate_failure_test = _failure_test_rule(["8.9", "8.0", "8.9"])

# Action command lines ---------------------------------------------------------------------------------------

# What an nvcc action may find in its environment: a fixed PATH, nothing inherited from the user's shell.
_NVCC_ENV = ["PATH"]

def _absolute_args(argv, allowed):
    """The arguments of argv that hold an absolute path, except those at the indexes in `allowed`."""
    return [arg for i, arg in enumerate(argv) if i not in allowed and (arg.startswith("/") or "=/" in arg)]

def _check_nvcc_action(action, what):
    """The problems of one NvccCompile action (a list of strings), and its folder for intermediate files.

    The action is `SHELL -c WRAPPER "" DIR NVCC ARGS...` (rules/private/cuda.bzl): the wrapper runs nvcc with
    --keep-dir DIR and TMPDIR=DIR, DIR being an output folder of the action.
    """
    problems = []
    argv = action.argv
    env = action.env
    if sorted(env.keys()) != _NVCC_ENV:
        problems.append("%s has environment %s, want exactly %s" % (what, json.encode(sorted(env.keys())), json.encode(_NVCC_ENV)))
    nvcc = [i for i, arg in enumerate(argv) if arg.endswith("/nvcc")]
    if len(nvcc) != 1 or nvcc[0] < 1:
        return problems + ["%s: no single nvcc in %s" % (what, json.encode(argv))], None
    at = nvcc[0]
    tmpdir = argv[at - 1]
    outputs = [f.path for f in action.outputs.to_list()]
    if tmpdir not in outputs:
        problems.append("%s: the folder %s before nvcc is not an output of the action (outputs: %s)" % (what, json.encode(tmpdir), json.encode(outputs)))
    if not argv[0].startswith("/") or not argv[at].startswith("/"):
        problems.append("%s: the shell %s and nvcc %s must be absolute paths" % (what, json.encode(argv[0]), json.encode(argv[at])))
    script = "\n".join(argv[1:at])
    for needed in ["--keep-dir", "TMPDIR=", "-delete"]:
        if needed not in script:
            problems.append("%s: the wrapper lacks %s" % (what, json.encode(needed)))
    if not [arg for arg in argv[at:] if arg.startswith("--orig_src_path_name=") and not arg.startswith("--orig_src_path_name=/")]:
        problems.append("%s: no relative --orig_src_path_name= for nvcc's front end" % what)

    # Absolute paths allowed: the shell, the wrapper script, nvcc, and the host compiler after -ccbin.
    allowed = [0] + list(range(1, at)) + [at]
    for i in range(at, len(argv)):
        if argv[i] == "-ccbin":
            if i + 1 < len(argv) and argv[i + 1].startswith("/"):
                allowed.append(i + 1)
            else:
                problems.append("%s: -ccbin is not followed by an absolute path: %s" % (what, json.encode(argv[i + 1:i + 2])))
    absolute = _absolute_args(argv, allowed)
    if absolute:
        problems.append("%s: absolute paths besides nvcc and -ccbin: %s" % (what, json.encode(absolute)))
    path = env.get("PATH", "")
    if not [p for p in path.split(":") if p.startswith("/") and p.endswith("/bin")]:
        problems.append("%s: PATH %s names no absolute bin folder" % (what, json.encode(path)))
    return problems, tmpdir

def _hermetic_actions_test_impl(ctx):
    failures = []
    tmpdirs = {}
    counts = {"MarlinGenerate": 0, "NvccCompile": 0}
    for target in ctx.attr.targets:
        for action in target.actions:
            what = "%s: %s" % (target.label, action.mnemonic)
            if action.mnemonic == "NvccCompile":
                problems, tmpdir = _check_nvcc_action(action, what)
                failures.extend(problems)
                if tmpdir and tmpdir in tmpdirs:
                    failures.append("%s and %s share the nvcc folder %s" % (tmpdirs[tmpdir], target.label, tmpdir))
                tmpdirs[tmpdir] = target.label
            elif action.mnemonic == "MarlinGenerate":
                absolute = _absolute_args(action.argv, [])
                if absolute:
                    failures.append("%s: absolute paths in the command line: %s" % (what, json.encode(absolute)))
            else:
                continue
            counts[action.mnemonic] += 1
    for mnemonic, minimum in [("NvccCompile", ctx.attr.min_nvcc_actions), ("MarlinGenerate", ctx.attr.min_generate_actions)]:
        if counts[mnemonic] < minimum:
            failures.append("found %d %s actions, want at least %d" % (counts[mnemonic], mnemonic, minimum))
    return _result(failures, "checked %s actions" % json.encode(counts))

hermetic_actions_test = rule(
    implementation = _hermetic_actions_test_impl,
    attrs = {
        "min_generate_actions": attr.int(default = 0, doc = "The targets have at least this many generator runs."),
        "min_nvcc_actions": attr.int(default = 1, doc = "The targets have at least this many nvcc actions."),
        "targets": attr.label_list(mandatory = True, doc = "cuda_library and marlin_kernels targets to check."),
    },
    analysis_test = True,
    doc = """Checks the command lines of the NvccCompile and MarlinGenerate actions of `targets`.

Each nvcc action has a folder of its own for intermediate files (an output folder of the action, never
shared, given to nvcc as --keep-dir and TMPDIR), an environment of PATH only, nvcc and -ccbin as absolute
paths and no other absolute path, and a relative --orig_src_path_name for nvcc's front end; the generator
gets no absolute path. So the action keys and the objects do not depend on where the checkout or the
output base is.""",
)
