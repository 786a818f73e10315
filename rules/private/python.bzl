"""@marlin_py_deps: the generator's Python packages and a Python toolchain for py_binary tools.

The repository rule finds a Python 3 interpreter, installs the hash-pinned packages of
rules/requirements_lock.txt into the repository with `pip install --no-deps --require-hashes --target`, and
writes a BUILD file with one py_library per package plus a py_runtime/toolchain for that interpreter.

@marlin_py_test_deps (marlin_py_test_deps, declared in this repository's WORKSPACE only): the test-only
packages of rules/requirements_test_lock.txt (hypothesis and what it needs), installed the same way with the
same interpreter; `:test_deps` is all of them. The generator never depends on it.

Environment (pass with --repo_env=NAME=VALUE):
  MARLIN_PYTHON      interpreter to use (default: python3 on PATH, resolved to its real executable)
  MARLIN_WHEELHOUSE  folder of wheels: install from it only (pip --no-index --find-links)
"""

_SITE = "site"

# py_library name, import packages, dist-info prefix (PyPI name as it appears in the .dist-info folder), deps;
# optionally top-level modules (files directly in site/).
_PACKAGES = [
    struct(name = "markupsafe", packages = ["markupsafe"], dist = "markupsafe", deps = []),
    struct(name = "jinja2", packages = ["jinja2"], dist = "jinja2", deps = [":markupsafe"]),
    struct(name = "runfiles", packages = ["runfiles"], dist = "bazel_runfiles", deps = []),
]

# The same for rules/requirements_test_lock.txt. A package whose .dist-info folder is missing after pip ran (its
# environment marker left it out, e.g. exceptiongroup on Python 3.11+) gets no py_library, and deps on it are
# dropped.
_TEST_PACKAGES = [
    struct(name = "attrs", packages = ["attr", "attrs"], dist = "attrs", deps = []),
    struct(name = "exceptiongroup", packages = ["exceptiongroup"], dist = "exceptiongroup", deps = []),
    struct(name = "sortedcontainers", packages = ["sortedcontainers"], dist = "sortedcontainers", deps = []),
    struct(
        name = "hypothesis",
        packages = ["hypothesis"],
        modules = ["_hypothesis_ftz_detector.py", "_hypothesis_globals.py", "_hypothesis_pytestplugin.py"],
        dist = "hypothesis",
        deps = [":attrs", ":exceptiongroup", ":sortedcontainers"],
    ),
]

_PROBE = "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"

def _fail(message):
    fail("marlin-bazel: " + message)

def _find_python(rctx):
    """Returns (executable path string, "major.minor") of the interpreter to use."""
    explicit = rctx.os.environ.get("MARLIN_PYTHON", "")
    if explicit:
        candidates = [explicit]
    else:
        candidates = [str(p) for p in [rctx.which("python3"), rctx.which("python")] if p]
    if not candidates:
        _fail("no python3 on PATH; install Python 3.9 or newer or point at one with --repo_env=MARLIN_PYTHON=/path/to/python3")
    tried = []
    for candidate in candidates:
        result = rctx.execute([candidate, "-c", _PROBE])
        lines = result.stdout.strip().splitlines()
        if result.return_code == 0 and len(lines) == 2:
            major, minor = lines[1].split(".")
            if int(major) == 3 and int(minor) >= 9:
                return lines[0].strip(), lines[1]
            tried.append("%s is Python %s" % (candidate, lines[1]))
        else:
            tried.append("%s does not run (%s)" % (candidate, result.stderr.strip()))
    _fail("no usable Python 3.9+ found (%s); point at one with --repo_env=MARLIN_PYTHON=/path/to/python3" % "; ".join(tried))
    return None, None

# For the other repository rules that run pip (the CUDA wheels), with run_pip.
find_python = _find_python

def _dist_info_dirs(rctx, dist):
    """Names of the .dist-info folders under site/ that belong to a distribution."""
    found = []
    for entry in rctx.path(_SITE).readdir():
        name = entry.basename
        if name.endswith(".dist-info") and name.lower().startswith(dist.lower() + "-"):
            found.append(name)
    return sorted(found)

def _list(items, indent):
    """A Starlark list of strings as buildifier writes it, for the generated BUILD file."""
    if not items:
        return "[]"
    if len(items) == 1:
        return "[%s]" % json.encode(items[0])
    inner = "".join(["%s    %s,\n" % (indent, json.encode(item)) for item in items])
    return "[\n%s%s]" % (inner, indent)

def _py_library(rctx, package, installed):
    srcs = ["%s/%s/**/*.py" % (_SITE, p) for p in package.packages]
    srcs += ["%s/%s" % (_SITE, m) for m in getattr(package, "modules", [])]
    data = ["%s/%s/**" % (_SITE, p) for p in package.packages]
    data += ["%s/%s/**" % (_SITE, d) for d in _dist_info_dirs(rctx, package.dist)]
    return """py_library(
    name = "{name}",
    srcs = glob({srcs}),
    data = glob(
        {data},
        exclude = [
            "**/*.py",
            "**/*.pyc",
            "**/__pycache__/**",
        ],
    ),
    imports = ["{site}"],
    deps = {deps},
)
""".format(
        name = package.name,
        srcs = _list(srcs, "    "),
        data = _list(data, "        "),
        site = _SITE,
        deps = _list([d for d in package.deps if d[1:] in installed], "    "),
    )

_TOOLCHAIN = """py_runtime(
    name = "py3_runtime",
    interpreter_path = {interpreter},
    python_version = "PY3",
    stub_shebang = "#!/usr/bin/env python3",
)

py_runtime_pair(
    name = "py_runtime_pair",
    py3_runtime = ":py3_runtime",
)

toolchain(
    name = "py_toolchain",
    toolchain = ":py_runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)
"""

def run_pip(rctx, python, args, what, timeout):
    """Runs `python -m pip ARGS`, from MARLIN_WHEELHOUSE only when it is set; fails naming `what` on an error.

    Args:
      rctx: the repository context.
      python: the interpreter (path string).
      args: pip's command and its arguments, e.g. ["install", "--no-deps", ...].
      what: what pip works on, for the progress line and the error (e.g. the requirements file).
      timeout: seconds pip may take.
    """
    command = [python, "-m", "pip"] + args + ["--disable-pip-version-check"]
    wheelhouse = rctx.os.environ.get("MARLIN_WHEELHOUSE", "")
    if wheelhouse:
        command += ["--no-index", "--find-links", wheelhouse]
    rctx.report_progress("pip %s of %s" % (args[0], what))
    result = rctx.execute(command, timeout = timeout, quiet = True)
    if result.return_code != 0:
        _fail("pip could not %s %s with %s (exit %d): %s" % (
            args[0],
            what,
            python,
            result.return_code,
            (result.stderr or result.stdout).strip(),
        ))

def _pip_install(rctx):
    """Installs the requirements file of rctx into site/; returns (python, version)."""
    python, version = _find_python(rctx)
    args = [
        "install",
        "--no-deps",
        "--require-hashes",
        "--no-compile",
        "--no-warn-script-location",
        "--target",
        str(rctx.path(_SITE)),
        "-r",
        str(rctx.path(rctx.attr.requirements)),
    ]
    run_pip(rctx, python, args, "%s (Python %s)" % (rctx.attr.requirements, version), rctx.attr.timeout)
    return python, version

def _libraries(rctx, packages, all_name, all_comment):
    """py_library targets for the installed packages plus one (all_name) that depends on all of them."""
    installed = [p.name for p in packages if _dist_info_dirs(rctx, p.dist)]
    parts = [_py_library(rctx, p, installed) for p in packages if p.name in installed]
    parts.append("""# {comment}
py_library(
    name = "{name}",
    deps = {deps},
)
""".format(comment = all_comment, name = all_name, deps = _list(sorted([":" + n for n in installed]), "    ")))
    return parts

def _write_repository(rctx, rule_name, python, version, loads, body):
    """Writes the repository's WORKSPACE and a BUILD.bazel of a generated header, `loads` and `body` parts."""
    parts = [
        "# Generated by marlin-bazel's %s rule (rules/private/python.bzl). Do not edit." % rule_name,
        "# Python: %s (%s). Packages: %s." % (python, version, rctx.attr.requirements),
        "",
    ] + loads + [
        'package(default_visibility = ["//visibility:public"])',
        "",
    ] + body
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("BUILD.bazel", "\n".join(parts))

def _marlin_py_deps_impl(rctx):
    python, version = _pip_install(rctx)
    body = _libraries(rctx, _PACKAGES, "deps", "Every package above.")
    body.append(_TOOLCHAIN.format(interpreter = json.encode(python)))
    loads = ['load("@rules_python//python:defs.bzl", "py_library", "py_runtime", "py_runtime_pair")', ""]
    _write_repository(rctx, "marlin_py_deps", python, version, loads, body)

marlin_py_deps = repository_rule(
    implementation = _marlin_py_deps_impl,
    attrs = {
        "requirements": attr.label(
            default = Label("//rules:requirements_lock.txt"),
            allow_single_file = True,
            doc = "Hash-pinned requirements file.",
        ),
        "timeout": attr.int(default = 600, doc = "Seconds pip may take."),
    },
    environ = ["MARLIN_PYTHON", "MARLIN_WHEELHOUSE", "PATH"],
    doc = "Installs the generator's Python packages and defines a Python toolchain for that interpreter.",
)

def _marlin_py_test_deps_impl(rctx):
    python, version = _pip_install(rctx)
    body = _libraries(rctx, _TEST_PACKAGES, "test_deps", "Every test-only package above (for py_test deps).")
    loads = ['load("@rules_python//python:defs.bzl", "py_library")', ""]
    _write_repository(rctx, "marlin_py_test_deps", python, version, loads, body)

marlin_py_test_deps = repository_rule(
    implementation = _marlin_py_test_deps_impl,
    attrs = {
        "requirements": attr.label(
            default = Label("//rules:requirements_test_lock.txt"),
            allow_single_file = True,
            doc = "Hash-pinned requirements file of the test-only packages.",
        ),
        "timeout": attr.int(default = 600, doc = "Seconds pip may take."),
    },
    environ = ["MARLIN_PYTHON", "MARLIN_WHEELHOUSE", "PATH"],
    doc = "Installs the test-only Python packages (hypothesis) for this repository's own tests.",
)
