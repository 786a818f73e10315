"""Analysis tests of the marlin rules: bad attributes fail with the right message, nvcc actions are hermetic,
and dropping an arch or a quant config from a library leaves no stale generated file, object or link input.

The rules are analysis tests on bazel-skylib's analysistest: Bazel analyses the targets under test, builds
nothing of them, and reports the test as passed or failed from what `analysistest.end` returns. Those with
one target are `analysistest.make` rules; those that look at several targets, or at the actions of a whole
link graph through an aspect, are rules of their own that report through analysistest's environment.
The targets under test are tagged `manual`, so `bazel build //tests/...` leaves them alone (those that must
fail would fail it, the others would only compile kernels for nothing).
"""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")

# buildifier: disable=bzl-visibility
load("//rules/private:plan.bzl", "family_archs", "sm_names", "version_tuple")

def _result(ctx, failures):
    """The test's result: passed when `failures` (strings) is empty, else failed with each of them."""
    env = analysistest.begin(ctx)
    for failure in failures:
        analysistest.fail(env, failure)
    return analysistest.end(env)

# Bad input --------------------------------------------------------------------------------------------------

def _analysis_failure_test_impl(ctx):
    env = analysistest.begin(ctx)
    for expected in ctx.attr.expected:
        asserts.expect_failure(env, expected)
    return analysistest.end(env)

def _failure_test_rule(archs_flag = None, compress_mode_flag = None):
    """An analysis-failure test rule, with the target analysed under the given flags.

    The rule passes when target_under_test fails analysis with errors that contain every `expected` string.
    With archs_flag (compress_mode_flag), the target is analysed with --//rules:archs=archs_flag
    (--//rules:compress_mode=compress_mode_flag).
    """
    settings = {}
    if archs_flag != None:
        settings["//rules:archs"] = archs_flag
    if compress_mode_flag != None:
        settings["//rules:compress_mode"] = compress_mode_flag
    return analysistest.make(
        _analysis_failure_test_impl,
        expect_failure = True,
        config_settings = settings,
        attrs = {
            "expected": attr.string_list(
                mandatory = True,
                doc = "Substrings that the target's analysis errors must contain (each in some error).",
            ),
        },
    )

analysis_failure_test = _failure_test_rule()

# The same with a bad --//rules:archs flag (the target must not set `archs`).
archs_flag_sm_80_failure_test = _failure_test_rule(["sm_80"])
archs_flag_8_0a_failure_test = _failure_test_rule(["8.0a"])
archs_flag_empty_failure_test = _failure_test_rule([])
archs_flag_duplicate_failure_test = _failure_test_rule(["8.9", "8.0", "8.9"])
compress_mode_flag_failure_test = _failure_test_rule(compress_mode_flag = "small")

# Action command lines ---------------------------------------------------------------------------------------

# What an nvcc action may find in its environment: a fixed PATH, nothing inherited from the user's shell.
_NVCC_ENV = ["MARLIN_NVCC_VERSION", "PATH"]

def _absolute_args(argv, allowed):
    """The arguments of argv that hold an absolute path, except those at the indexes in `allowed`."""
    return [arg for i, arg in enumerate(argv) if i not in allowed and (arg.startswith("/") or "=/" in arg)]

def _check_nvcc_action(action, what, full_version):
    """The problems of one NvccCompile action (a list of strings), and its folder for intermediate files.

    The action is `SHELL -c WRAPPER "" DIR NVCC ARGS...` (rules/private/cuda.bzl): the wrapper runs nvcc with
    --keep-dir DIR and TMPDIR=DIR, DIR being an output folder of the action.
    """
    problems = []
    argv = action.argv
    env = action.env
    if sorted(env.keys()) != _NVCC_ENV:
        problems.append("%s has environment %s, want exactly %s" % (what, json.encode(sorted(env.keys())), json.encode(_NVCC_ENV)))
    if env.get("MARLIN_NVCC_VERSION") != full_version:
        problems.append("%s: MARLIN_NVCC_VERSION is %s, want the toolkit's full version %s" % (what, json.encode(env.get("MARLIN_NVCC_VERSION")), json.encode(full_version)))
    inputs = action.inputs.to_list()
    if not [f for f in inputs if f.basename == "nvcc"]:
        problems.append("%s: nvcc is not an input of the action (its content must key the action)" % what)
    if not [f for f in inputs if f.basename == "cuda_runtime.h"]:
        problems.append("%s: the toolkit's headers (cuda_runtime.h) are not inputs of the action" % what)
    nvcc = [i for i, arg in enumerate(argv) if arg.endswith("/nvcc")]
    if len(nvcc) != 1 or nvcc[0] < 1:
        return problems + ["%s: no single nvcc in %s" % (what, json.encode(argv))], None
    at = nvcc[0]
    tmpdir = argv[at - 1]
    outputs = [f.path for f in action.outputs.to_list()]
    if tmpdir not in outputs:
        problems.append("%s: the folder %s before nvcc is not an output of the action (outputs: %s)" % (what, json.encode(tmpdir), json.encode(outputs)))
    if not argv[0].startswith("/"):
        problems.append("%s: the shell %s must be an absolute path" % (what, json.encode(argv[0])))

    # The local toolkit's nvcc is run from its absolute path; the hermetic toolkit's from its input's path.
    nvcc_local = argv[at].startswith("/")
    if not nvcc_local and argv[at] not in [f.path for f in inputs]:
        problems.append("%s: nvcc %s is neither an absolute path nor an input's path" % (what, json.encode(argv[at])))
    script = "\n".join(argv[1:at])
    for needed in ["--keep-dir", "TMPDIR=", "-delete"]:
        if needed not in script:
            problems.append("%s: the wrapper lacks %s" % (what, json.encode(needed)))
    if not [arg for arg in argv[at:] if arg.startswith("--orig_src_path_name=") and not arg.startswith("--orig_src_path_name=/")]:
        problems.append("%s: no relative --orig_src_path_name= for nvcc's front end" % what)

    # Absolute paths allowed: the shell, the wrapper script, the local toolkit's nvcc, and the host compiler
    # after -ccbin.
    allowed = [0] + list(range(1, at)) + ([at] if nvcc_local else [])
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
    if argv[at].rpartition("/")[0] not in path.split(":"):
        problems.append("%s: PATH %s does not name nvcc's folder" % (what, json.encode(path)))
    return problems, tmpdir

def _hermetic_actions_test_impl(ctx):
    failures = []
    tmpdirs = {}
    counts = {"MarlinGenerate": 0, "NvccCompile": 0}
    for target in ctx.attr.targets:
        for action in target.actions:
            what = "%s: %s" % (target.label, action.mnemonic)
            if action.mnemonic == "NvccCompile":
                full_version = ctx.attr._toolkit[platform_common.TemplateVariableInfo].variables["CUDA_FULL_VERSION"]
                problems, tmpdir = _check_nvcc_action(action, what, full_version)
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
    return _result(ctx, failures)

# Another toolkit version ----------------------------------------------------------------------------------

def _nvcc_actions(target):
    return [a for a in target.actions if a.mnemonic == "NvccCompile"]

def _toolkit_version_test_impl(ctx):
    failures = []
    real = _nvcc_actions(ctx.attr.target_under_test)
    other = _nvcc_actions(ctx.attr.target_under_other_toolkit[0])
    real_version = ctx.attr._toolkit[platform_common.TemplateVariableInfo].variables["CUDA_FULL_VERSION"]
    other_version = ctx.attr.other_toolkit[platform_common.TemplateVariableInfo].variables["CUDA_FULL_VERSION"]
    if real_version == other_version:
        failures.append("the other toolkit has the same version %s as @marlin_cuda" % real_version)
    if not real or len(real) != len(other):
        failures.append("nvcc actions: %d with @marlin_cuda, %d with the other toolkit" % (len(real), len(other)))
    for a, b in zip(real, other):
        what = a.outputs.to_list()[0].short_path
        if a.env.get("MARLIN_NVCC_VERSION") != real_version or b.env.get("MARLIN_NVCC_VERSION") != other_version:
            failures.append("%s: MARLIN_NVCC_VERSION %s and %s, want %s and %s" % (
                what,
                a.env.get("MARLIN_NVCC_VERSION"),
                b.env.get("MARLIN_NVCC_VERSION"),
                real_version,
                other_version,
            ))
        if a.argv == b.argv and a.env == b.env:
            failures.append("%s: the same command line and environment under both toolkits" % what)
    return _result(ctx, failures)

toolkit_version_test = rule(
    implementation = _toolkit_version_test_impl,
    attrs = {
        "other_toolkit": attr.label(mandatory = True, doc = "A cuda_toolkit of another version."),
        "target_under_other_toolkit": attr.label(
            mandatory = True,
            cfg = analysis_test_transition(settings = {"//rules:cuda_toolkit": "//tests/rules:other_toolkit"}),
            doc = "The same target as target_under_test; analysed with --//rules:cuda_toolkit=:other_toolkit.",
        ),
        "target_under_test": attr.label(mandatory = True, doc = "A cuda_library."),
        "_toolkit": attr.label(default = Label("//rules:cuda_toolkit")),
    },
    analysis_test = True,
    doc = "Checks that every nvcc action of a cuda_library changes (environment, key) with the toolkit's version.",
)

# The nvcc --compress-mode flag ----------------------------------------------------------------------------

# CUDA release from which cuda_library passes --compress-mode (rules/private/cuda.bzl).
_COMPRESS_MODE_SINCE = (12, 8)

def _compress_mode_test_impl(ctx):
    version = ctx.attr._toolkit[platform_common.TemplateVariableInfo].variables["CUDA_VERSION"]
    supported = version_tuple(version) >= _COMPRESS_MODE_SINCE
    want = ["--compress-mode=" + ctx.attr.expected] if supported else []
    failures = []
    actions = [a for a in ctx.attr.target_under_test[0].actions if a.mnemonic == "NvccCompile"]
    if not actions:
        failures.append("%s has no nvcc action" % ctx.attr.target_under_test[0].label)
    for action in actions:
        got = [arg for arg in action.argv if arg.startswith("--compress-mode")]
        if got != want:
            failures.append("%s: nvcc gets %s, want %s" % (action.outputs.to_list()[0].short_path, json.encode(got), json.encode(want)))
    return _result(ctx, failures)

def _compress_mode_test_rule(flag = None):
    settings = {} if flag == None else {"//rules:compress_mode": flag}
    return rule(
        implementation = _compress_mode_test_impl,
        attrs = {
            "expected": attr.string(mandatory = True, doc = "The --compress-mode value every nvcc action gets."),
            "target_under_test": attr.label(mandatory = True, cfg = analysis_test_transition(settings = settings)),
            "_toolkit": attr.label(default = Label("@marlin_cuda//:toolkit")),
        },
        analysis_test = True,
        doc = "Checks the --compress-mode flag of every nvcc action of target_under_test (none before CUDA 12.8).",
    )

# The default of //rules:compress_mode, and --//rules:compress_mode=none.
compress_mode_test = _compress_mode_test_rule()
compress_mode_none_test = _compress_mode_test_rule("none")

hermetic_actions_test = rule(
    implementation = _hermetic_actions_test_impl,
    attrs = {
        "min_generate_actions": attr.int(default = 0, doc = "The targets have at least this many generator runs."),
        "min_nvcc_actions": attr.int(default = 1, doc = "The targets have at least this many nvcc actions."),
        "targets": attr.label_list(mandatory = True, doc = "cuda_library and marlin_kernels targets to check."),
        "_toolkit": attr.label(default = Label("@marlin_cuda//:toolkit")),
    },
    analysis_test = True,
    doc = """Checks the command lines of the NvccCompile and MarlinGenerate actions of `targets`.

Each nvcc action has a folder of its own for intermediate files (an output folder of the action, never
shared, given to nvcc as --keep-dir and TMPDIR), an environment of PATH and MARLIN_NVCC_VERSION (the
toolkit's full version, so that another release changes every compile's key) only, nvcc as an input (its
content keys the action too), nvcc and -ccbin as absolute
paths and no other absolute path, and a relative --orig_src_path_name for nvcc's front end; the generator
gets no absolute path. So the action keys and the objects do not depend on where the checkout or the
output base is.""",
)

# Stale outputs -----------------------------------------------------------------------------------------------

_GraphActionsInfo = provider(
    doc = "The actions of a target and of everything it reaches through deps, srcs and hdrs.",
    fields = {"actions": "dict: label (string) -> list of the actions that target registered"},
)

_GRAPH_ATTRS = ["deps", "srcs", "hdrs"]

def _graph_actions_aspect_impl(target, ctx):
    actions = {}
    for name in _GRAPH_ATTRS:
        value = getattr(ctx.rule.attr, name, None)
        if type(value) != "list":
            continue
        for dep in value:
            if _GraphActionsInfo in dep:
                actions.update(dep[_GraphActionsInfo].actions)
    actions[str(target.label)] = target.actions
    return [_GraphActionsInfo(actions = actions)]

_graph_actions_aspect = aspect(
    implementation = _graph_actions_aspect_impl,
    attr_aspects = _GRAPH_ATTRS,
    doc = "Collects the actions of a cc_binary and of the marlin_library parts it links (and their deps).",
)

_SELECTOR = "kernel_selector.h"

def _argv_value(argv, flag):
    """The argument after `flag` in argv, or None."""
    for i in range(len(argv) - 1):
        if argv[i] == flag:
            return argv[i + 1]
    return None

def _generator_archs(argv):
    """The archs argument of a generator command line (`... ARCHS --out DIR ...`), or None."""
    for i in range(1, len(argv)):
        if argv[i] == "--out":
            return argv[i - 1]
    return None

def _gencode_sms(argv):
    """The sm_XY names of the -gencode arch=compute_XY,code=sm_XY flags of an nvcc command line."""
    sms = []
    for i in range(len(argv) - 1):
        if argv[i] == "-gencode":
            sms.append(argv[i + 1].split("code=")[-1])
    return sms

def _sorted_unique(items):
    return sorted({item: True for item in items}.keys())

def _graph_summary(top):
    """What the build of `top` (a cc_binary) generates, compiles and links, from the actions of its graph."""
    owners = top[_GraphActionsInfo].actions
    generate = []
    nvcc = []
    archives = {}
    links = []
    all_files = []
    all_argv = []
    for label, actions in owners.items():
        for action in actions:
            files = action.inputs.to_list() + action.outputs.to_list()
            all_files.extend([(label, action.mnemonic, f.path) for f in files])
            all_argv.extend([(label, action.mnemonic, arg) for arg in (action.argv or [])])
            outputs = action.outputs.to_list()
            if action.mnemonic == "MarlinGenerate":
                generate.append(action)
            elif action.mnemonic == "NvccCompile":
                nvcc.append(action)
            elif action.mnemonic in ["CppArchive", "CppLink"] and [f for f in outputs if f.extension == "a"]:
                for out in outputs:
                    if out.extension == "a":
                        archives[out.path] = [f for f in action.inputs.to_list() if f.extension == "o"]
            elif action.mnemonic == "CppLink" and label == str(top.label):
                links.append(action)

    # Objects compiled from generated sources (the kernels) and from source files (launcher, repack).
    compiled = []
    kernel_objects = {}
    sms = []
    compiles = []
    for action in nvcc:
        sources = [f for f in action.inputs.to_list() if f.extension == "cu"]
        objects = [f for f in action.outputs.to_list() if f.extension == "o"]
        generated = [f for f in sources if not f.is_source]
        compiled.extend([f.basename for f in generated])
        if generated:
            for obj in objects:
                kernel_objects[obj.path] = True
        sms.extend(_gencode_sms(action.argv))
        compiles.append(struct(
            sources = [f.basename for f in sources],
            generated = bool(generated),
            sms = _sorted_unique(_gencode_sms(action.argv)),
        ))

    # Objects that reach the binary's link: its object inputs, and the objects of the archives it links.
    linked = []
    for action in links:
        for f in action.inputs.to_list():
            if f.extension == "o":
                linked.append(f)
            elif f.extension == "a" and f.path in archives:
                linked.extend(archives[f.path])
    return struct(
        generate = generate,
        generated = sorted([f.basename for a in generate for f in a.outputs.to_list()]),
        generator_archs = [",".join(sorted((_generator_archs(a.argv) or "").split(","))) for a in generate],
        generator_configs = [",".join(sorted((_argv_value(a.argv, "--configs") or "").split(","))) for a in generate],
        compiled = sorted(compiled),
        compiles = compiles,
        sms = _sorted_unique(sms),
        links = len(links),
        linked_kernels = _sorted_unique([f.basename for f in linked if f.path in kernel_objects]),
        linked_others = _sorted_unique([f.basename for f in linked if f.path not in kernel_objects]),
        all_files = all_files,
        all_argv = all_argv,
    )

def _expect_same(failures, what, name, got, want):
    if got != want:
        failures.append("%s: %s are %s, want %s" % (what, name, json.encode(got), json.encode(want)))

def _check_side(failures, what, summary, kernels, archs, quant_configs):
    """Checks that `summary` holds exactly the kernel files, archs and quant configs given."""
    if len(summary.generate) != 1:
        failures.append("%s: %d generator actions, want 1" % (what, len(summary.generate)))
    if not summary.links:
        failures.append("%s: no link action" % what)
    checks = [
        ("the generator's declared outputs", summary.generated, sorted([k + ".cu" for k in kernels] + [_SELECTOR])),
        ("the generator's archs", summary.generator_archs, [",".join(sorted(archs))]),
        ("the generator's quant configs", summary.generator_configs, [",".join(sorted(quant_configs))]),
        ("the generated files compiled by nvcc", summary.compiled, sorted([k + ".cu" for k in kernels])),
        ("the nvcc -gencode targets", summary.sms, _sorted_unique(sm_names(archs))),
        ("the kernel objects linked", summary.linked_kernels, sorted([k + ".o" for k in kernels])),
    ]
    for name, got, want in checks:
        _expect_same(failures, what, name, got, want)

    # Each kernel file for the archs of its family (named by its prefix: sm80_kernel_... is sm80), the launcher
    # and the repack kernels for every arch.
    for compile in summary.compiles:
        family = compile.sources[0].split("_")[0] if compile.generated and compile.sources else ""
        family_sms, error = family_archs(family, archs)
        want = error or _sorted_unique(sm_names(family_sms))
        _expect_same(failures, what, "the -gencode targets of %s" % ",".join(compile.sources), compile.sms, want)

def _single(target):
    """The target of a label attribute: with a transition, Bazel hands a list of one."""
    return target[0] if type(target) == "list" else target

def _stale_outputs_test_impl(ctx):
    failures = []
    full_target = _single(ctx.attr.full)
    reduced_target = _single(ctx.attr.reduced)
    full = _graph_summary(full_target)
    reduced = _graph_summary(reduced_target)
    kernels = ctx.attr.kernels
    dropped_kernels = ctx.attr.dropped_kernels
    _check_side(
        failures,
        "full (%s)" % full_target.label,
        full,
        kernels + dropped_kernels,
        ctx.attr.archs + ctx.attr.dropped_archs,
        ctx.attr.quant_configs + ctx.attr.dropped_quant_configs,
    )
    _check_side(failures, "reduced (%s)" % reduced_target.label, reduced, kernels, ctx.attr.archs, ctx.attr.quant_configs)

    # Launcher, repack, heuristics, ...: the same objects with or without the dropped arch or config.
    if full.linked_others != reduced.linked_others:
        failures.append("the non-kernel objects linked differ: full %s, reduced %s" % (
            json.encode(full.linked_others),
            json.encode(reduced.linked_others),
        ))

    # Nothing of what was dropped anywhere in the reduced build: no file of any action named after a dropped
    # kernel file, no command line that compiles for a dropped arch.
    for label, mnemonic, path in reduced.all_files:
        basename = path.split("/")[-1]
        for stem in dropped_kernels:
            if basename.startswith(stem + ".") or basename.startswith(stem + "_part"):
                failures.append("reduced: %s action of %s uses %s, a file of the dropped %s" % (mnemonic, label, path, stem))
    dropped_sms = [sm for sm in sm_names(ctx.attr.dropped_archs) if sm not in sm_names(ctx.attr.archs)]
    for label, mnemonic, arg in reduced.all_argv:
        for sm in dropped_sms:
            if arg.endswith("code=" + sm) or arg == "-arch=" + sm:
                failures.append("reduced: %s action of %s still compiles for the dropped %s (%s)" % (mnemonic, label, sm, arg))
    return _result(ctx, _sorted_unique(failures))

def _graph_target_attr(archs_flag, doc):
    """A label attribute with the actions aspect; with archs_flag, analysed with --//rules:archs=archs_flag."""
    if archs_flag == None:
        return attr.label(mandatory = True, aspects = [_graph_actions_aspect], doc = doc)
    return attr.label(
        mandatory = True,
        aspects = [_graph_actions_aspect],
        cfg = analysis_test_transition(settings = {"//rules:archs": archs_flag}),
        doc = doc + " Analysed with --//rules:archs=" + ",".join(archs_flag) + ".",
    )

def _stale_outputs_test_rule(full_archs_flag = None, reduced_archs_flag = None):
    """A stale-outputs test rule; the archs flags, if given, set --//rules:archs for `full` and `reduced`."""
    return rule(
        implementation = _stale_outputs_test_impl,
        attrs = {
            "archs": attr.string_list(mandatory = True, doc = "The archs of `reduced`."),
            "dropped_archs": attr.string_list(doc = "The archs that `full` has besides `archs`."),
            "dropped_kernels": attr.string_list(
                doc = "Kernel files (names without extension) that only `full` has.",
            ),
            "dropped_quant_configs": attr.string_list(doc = "The quant configs that `full` has besides `quant_configs`."),
            "full": _graph_target_attr(full_archs_flag, "A cc_binary that links the larger marlin_library."),
            "kernels": attr.string_list(
                doc = "Kernel files (names without extension, e.g. `sm80_kernel_float16_u4b8_float16`) of `reduced`.",
            ),
            "quant_configs": attr.string_list(mandatory = True, doc = "The quant configs of `reduced`."),
            "reduced": _graph_target_attr(
                reduced_archs_flag,
                "A cc_binary that links the same marlin_library less one arch or quant config.",
            ),
        },
        analysis_test = True,
        doc = """Checks that dropping an arch or a quant config from a marlin_library leaves nothing of it behind.

`full` and `reduced` are cc_binary targets that link two marlin_libraries that differ by `dropped_archs` or
`dropped_quant_configs`. For each, from the actions of the binary and of everything it reaches through deps,
srcs and hdrs, the test checks that exactly the expected kernel files (and kernel_selector.h) are declared
by the generator, compiled by nvcc and linked into the binary (objects given to the link directly or in the
archives it links), that the generator gets exactly the expected archs and quant configs, and that each
nvcc action compiles for exactly the expected archs (a kernel file: those of its family; the launcher and
the repack kernels: all) (`full`: both lists; `reduced`: `kernels`, `archs`, `quant_configs`). The other linked objects (launcher, repack, ...) must be the same for both, and no action
of `reduced` may read or write a file of a dropped kernel or compile for a dropped arch.""",
    )

stale_outputs_test = _stale_outputs_test_rule()

# The same target (a library without `archs`) analysed with --//rules:archs=8.0,8.9 and with 8.0.
stale_outputs_archs_flag_test = _stale_outputs_test_rule(
    full_archs_flag = ["8.0", "8.9"],
    reduced_archs_flag = ["8.0"],
)
