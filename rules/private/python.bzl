"""@marlin_py_deps: the generator's Python packages and a Python toolchain for py_binary tools.

The repository rule finds a Python 3 interpreter, installs the hash-pinned packages of
rules/requirements_lock.txt into the repository with `pip install --no-deps --require-hashes --target`, and
writes a BUILD file with one py_library per package plus a py_runtime/toolchain for that interpreter.

Environment (pass with --repo_env=NAME=VALUE):
  MARLIN_PYTHON      interpreter to use (default: python3 on PATH, resolved to its real executable)
  MARLIN_WHEELHOUSE  folder of wheels: install from it only (pip --no-index --find-links)
"""

_SITE = "site"

# py_library name, import packages, dist-info prefix (PyPI name as it appears in the .dist-info folder), deps.
_PACKAGES = [
    struct(name = "markupsafe", packages = ["markupsafe"], dist = "markupsafe", deps = []),
    struct(name = "jinja2", packages = ["jinja2"], dist = "jinja2", deps = [":markupsafe"]),
    struct(name = "runfiles", packages = ["runfiles"], dist = "bazel_runfiles", deps = []),
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

def _py_library(rctx, package):
    srcs = ["%s/%s/**/*.py" % (_SITE, p) for p in package.packages]
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
        deps = _list(package.deps, "    "),
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

def _marlin_py_deps_impl(rctx):
    python, version = _find_python(rctx)
    lock = rctx.path(rctx.attr.requirements)
    command = [
        python,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--require-hashes",
        "--no-compile",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--target",
        str(rctx.path(_SITE)),
        "-r",
        str(lock),
    ]
    wheelhouse = rctx.os.environ.get("MARLIN_WHEELHOUSE", "")
    if wheelhouse:
        command += ["--no-index", "--find-links", wheelhouse]
    rctx.report_progress("pip install of %s with Python %s" % (rctx.attr.requirements.name, version))
    result = rctx.execute(command, timeout = rctx.attr.timeout, quiet = True)
    if result.return_code != 0:
        _fail("pip could not install %s with %s (exit %d): %s" % (
            rctx.attr.requirements,
            python,
            result.return_code,
            (result.stderr or result.stdout).strip(),
        ))

    parts = [
        "# Generated by marlin-bazel's marlin_py_deps rule (rules/private/python.bzl). Do not edit.",
        "# Python: %s (%s). Packages: %s." % (python, version, rctx.attr.requirements),
        "",
        'load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")',
        "",
        'package(default_visibility = ["//visibility:public"])',
        "",
    ]
    for package in _PACKAGES:
        parts.append(_py_library(rctx, package))
    parts.append("""# Every package above.
py_library(
    name = "deps",
    deps = {deps},
)
""".format(deps = _list(sorted([":" + p.name for p in _PACKAGES]), "    ")))
    parts.append(_TOOLCHAIN.format(interpreter = json.encode(python)))
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("BUILD.bazel", "\n".join(parts))

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
