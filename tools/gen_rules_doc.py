"""Writes docs/rules.md from the docstrings of the public Starlark API.

    python3 tools/gen_rules_doc.py            # rewrite docs/rules.md
    python3 tools/gen_rules_doc.py --check    # exit 1 (with a diff) when docs/rules.md is out of date

There is no stardoc here, so this reads the .bzl files with Python's own parser (Starlark's syntax is a
subset of Python's): the public symbols are the assignments of rules/defs.bzl, followed through their
`load()`s to the rule() calls (doc and attrs) and macro definitions (docstring and arguments) in
rules/private/. Build settings come from rules/BUILD.bazel (the targets of rules whose definition has a
`build_setting`) and the --config groups from .bazelrc (with the comment lines above them).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = "docs/rules.md"
DEFS = "rules/defs.bzl"
REPOSITORIES = "rules/repositories.bzl"
SETTINGS_BUILD = "rules/BUILD.bazel"
BAZELRC = ".bazelrc"
REGENERATE = "python3 tools/gen_rules_doc.py"

# Defaults that Bazel gives an attribute of each type when the rule sets none.
IMPLICIT_DEFAULTS = {
    "bool": "False",
    "int": "0",
    "label": "None",
    "label_list": "[]",
    "string": '""',
    "string_dict": "{}",
    "string_list": "[]",
}

TYPE_NAMES = {
    "bool": "boolean",
    "int": "integer",
    "label": "label",
    "label_list": "list of labels",
    "output": "output",
    "string": "string",
    "string_dict": "dictionary: string -> string",
    "string_list": "list of strings",
}


class DocError(Exception):
    """The sources do not have the shape this script reads."""


@dataclass
class Attribute:
    """One attribute of a rule, or one argument of a macro."""

    name: str
    kind: str
    default: str
    doc: str
    mandatory: bool = False
    values: list[str] = field(default_factory=list)


@dataclass
class Symbol:
    """One public rule, macro or function."""

    name: str
    kind: str  # "rule", "macro"
    doc: str
    attributes: list[Attribute]
    signature: str = ""


@dataclass
class Setting:
    """A build setting target."""

    label: str
    kind: str
    default: str
    doc: str


@dataclass
class Config:
    """A --config group of .bazelrc."""

    name: str
    lines: list[str]
    doc: str


@dataclass
class BazelrcDefault:
    """Flags that .bazelrc sets for every build or test, with the comment above them."""

    command: str
    flags: list[str]
    doc: str


# Reading Starlark ---------------------------------------------------------------------------------------


def parse_starlark(path: Path) -> ast.Module:
    """Parses a .bzl or BUILD file with Python's parser."""
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as error:
        raise DocError(f"{path}: not readable as Starlark by Python's parser: {error}") from error


def literal(node: ast.AST) -> object:
    """The value of a literal, also of "a" + "b" (ValueError for anything else)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal(node.left), literal(node.right)
        if isinstance(left, (str, list)) and type(left) is type(right):
            return left + right  # type: ignore[operator]
        raise ValueError("not a literal")
    return ast.literal_eval(node)


def source_text(node: ast.AST) -> str:
    """The node as Starlark source (Python's unparser writes single quotes; Starlark style is double)."""
    try:
        value = literal(node)
    except ValueError:
        return ast.unparse(node)
    return starlark_literal(value)


def starlark_literal(value: object) -> str:
    """A Python literal value written the way buildifier writes it."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(starlark_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{starlark_literal(k)}: {starlark_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def string_value(node: ast.AST, where: str) -> str:
    """A string literal (or a concatenation of literals) as its value."""
    try:
        value = literal(node)
    except ValueError as error:
        raise DocError(f"{where}: expected a string literal, got {ast.unparse(node)}") from error
    if not isinstance(value, str):
        raise DocError(f"{where}: expected a string, got {value!r}")
    return value


def keywords(call: ast.Call) -> dict[str, ast.expr]:
    """The keyword arguments of a call."""
    return {k.arg: k.value for k in call.keywords if k.arg is not None}


def call_name(node: ast.AST) -> str:
    """The called name: `rule` for rule(...), `attr.string` for attr.string(...), "" for anything else."""
    if not isinstance(node, ast.Call):
        return ""
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    return ""


def module_assignments(module: ast.Module) -> dict[str, ast.expr]:
    """Top-level NAME = value assignments."""
    found = {}
    for statement in module.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = statement.value
    return found


def module_functions(module: ast.Module) -> dict[str, ast.FunctionDef]:
    """Top-level def statements."""
    return {s.name: s for s in module.body if isinstance(s, ast.FunctionDef)}


def loads(module: ast.Module) -> dict[str, tuple[str, str]]:
    """Local name -> (label of the .bzl file, name in that file), from the load() statements."""
    found = {}
    for statement in module.body:
        if not (isinstance(statement, ast.Expr) and call_name(statement.value) == "load"):
            continue
        call = statement.value
        assert isinstance(call, ast.Call)
        label = string_value(call.args[0], "load()")
        for arg in call.args[1:]:
            name = string_value(arg, "load()")
            found[name] = (label, name)
        for keyword in call.keywords:
            if keyword.arg is not None:
                found[keyword.arg] = (label, string_value(keyword.value, "load()"))
    return found


def label_path(root: Path, label: str, relative_to: str) -> Path:
    """The file of a label of this repository ("//rules/private:cuda.bzl", ":plan.bzl")."""
    if label.startswith("@"):
        label = label[label.index("//") :] if "//" in label else label
    if label.startswith("//"):
        package, _, name = label[2:].partition(":")
    elif label.startswith(":"):
        package, name = relative_to, label[1:]
    else:
        raise DocError(f"cannot follow the load of {label!r}")
    return root / package / name


def dedent_doc(doc: str) -> str:
    """A docstring without its common indentation and surrounding blank lines."""
    lines = doc.expandtabs().splitlines()
    if not lines:
        return ""
    first, rest = lines[0].strip(), textwrap.dedent("\n".join(lines[1:]))
    return (first + "\n" + rest).strip()


# Rules and macros ---------------------------------------------------------------------------------------


def rule_attributes(attrs: ast.expr, assignments: dict[str, ast.expr], where: str) -> list[Attribute]:
    """The public attributes of a rule's attrs dict (those whose name does not start with _)."""
    if isinstance(attrs, ast.Name) and attrs.id in assignments:
        attrs = assignments[attrs.id]
    if not isinstance(attrs, ast.Dict):
        raise DocError(f"{where}: attrs must be a dict literal (or a name bound to one)")
    result = []
    for key_node, value in zip(attrs.keys, attrs.values):
        if key_node is None:
            raise DocError(f"{where}: ** in attrs is not supported")
        name = string_value(key_node, where)
        if name.startswith("_"):
            continue
        kind = call_name(value)
        if not kind.startswith("attr."):
            raise DocError(f"{where}: attribute {name} is not an attr.*() call")
        kind = kind[len("attr.") :]
        assert isinstance(value, ast.Call)
        args = keywords(value)
        mandatory = bool(ast.literal_eval(args["mandatory"])) if "mandatory" in args else False
        default = source_text(args["default"]) if "default" in args else IMPLICIT_DEFAULTS.get(kind, "")
        values = [str(v) for v in ast.literal_eval(args["values"])] if "values" in args else []
        doc = string_value(args["doc"], f"{where}: {name}") if "doc" in args else ""
        if not doc:
            raise DocError(f"{where}: attribute {name} has no doc")
        result.append(Attribute(name, kind, default, doc, mandatory, values))
    return sorted(result, key=lambda a: (a.name != "name", a.name))


def rule_symbol(name: str, call: ast.Call, assignments: dict[str, ast.expr], where: str) -> Symbol:
    """A public rule from its rule(...) call."""
    args = keywords(call)
    if "doc" not in args:
        raise DocError(f"{where}: rule {name} has no doc")
    attributes = rule_attributes(args["attrs"], assignments, where) if "attrs" in args else []
    attributes.insert(0, Attribute("name", "name", "", "A unique name for this target.", mandatory=True))
    return Symbol(name, "rule", dedent_doc(string_value(args["doc"], where)), attributes)


ARGS_HEADING = re.compile(r"^(Args|Arguments):\s*$")
SECTION_HEADING = re.compile(r"^(Returns|Raises|Yields|Example|Examples):\s*$")
ARG_LINE = re.compile(r"^(\*{0,2}\w+):\s*(.*)$")


def split_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """A Google-style docstring as (text before Args:, {argument: description})."""
    lines = dedent_doc(doc).splitlines()
    body: list[str] = []
    arguments: dict[str, str] = {}
    section = "body"
    current = ""
    for line in lines:
        if ARGS_HEADING.match(line):
            section = "args"
            continue
        if SECTION_HEADING.match(line):
            section = "other"
            continue
        if section == "body":
            body.append(line)
        elif section == "args":
            stripped = line.strip()
            indent = len(line) - len(line.lstrip())
            match = ARG_LINE.match(stripped)
            if match and indent <= 2:
                current = match.group(1)
                arguments[current] = match.group(2)
            elif stripped and current:
                arguments[current] += " " + stripped
    return "\n".join(body).strip(), arguments


def macro_symbol(function: ast.FunctionDef, where: str) -> Symbol:
    """A public macro (or WORKSPACE function) from its def statement and docstring."""
    doc = ast.get_docstring(function, clean=False)
    if not doc:
        raise DocError(f"{where}: {function.name} has no docstring")
    text, documented = split_docstring(doc)
    args = function.args
    positional = args.args
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    attributes = []
    parts = []
    for arg, default in zip(positional, defaults):
        description = documented.get(arg.arg, "")
        if not description:
            raise DocError(f"{where}: argument {arg.arg} of {function.name} is not in its Args: section")
        default_text = source_text(default) if default is not None else ""
        attributes.append(Attribute(arg.arg, "", default_text, description, mandatory=default is None))
        parts.append(arg.arg if default is None else f"{arg.arg} = {default_text}")
    if args.kwarg is not None:
        name = "**" + args.kwarg.arg
        attributes.append(Attribute(name, "", "", documented.get(name, documented.get(args.kwarg.arg, ""))))
        parts.append(name)
    signature = f"{function.name}({', '.join(parts)})"
    return Symbol(function.name, "macro", text, attributes, signature)


def public_symbols(root: Path, defs: str) -> list[Symbol]:
    """The symbols that a public .bzl file exports, in the order it assigns them."""
    module = parse_starlark(root / defs)
    loaded = loads(module)
    symbols = []
    for public, value in module_assignments(module).items():
        if public.startswith("_"):
            continue
        if not (isinstance(value, ast.Name) and value.id in loaded):
            raise DocError(f"{defs}: {public} must be bound to a loaded name")
        label, original = loaded[value.id]
        package = str(Path(defs).parent)
        path = label_path(root, label, package)
        where = f"{path.relative_to(root)}"
        private = parse_starlark(path)
        assignments = module_assignments(private)
        functions = module_functions(private)
        if original in assignments and call_name(assignments[original]) == "rule":
            call = assignments[original]
            assert isinstance(call, ast.Call)
            symbol = rule_symbol(public, call, assignments, where)
        elif original in functions:
            symbol = macro_symbol(functions[original], where)
            symbol.name = public
        else:
            raise DocError(f"{where}: {original} is neither a rule() nor a def")
        symbols.append(symbol)
    return symbols


# Build settings and .bazelrc ----------------------------------------------------------------------------


def comment_above(lines: list[str], line_index: int) -> str:
    """The block of # comment lines right above lines[line_index], without the #."""
    block: list[str] = []
    i = line_index - 1
    while i >= 0 and lines[i].lstrip().startswith("#"):
        block.insert(0, lines[i].lstrip()[1:].strip())
        i -= 1
    return " ".join(block).strip()


def build_settings(root: Path, build_file: str) -> list[Setting]:
    """Targets of rules/BUILD.bazel whose rule has a build_setting, with the comment above them."""
    path = root / build_file
    module = parse_starlark(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    loaded = loads(module)
    package = str(Path(build_file).parent)
    settings = []
    for statement in module.body:
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
            continue
        rule_name = call_name(statement.value)
        if rule_name not in loaded:
            continue
        label, original = loaded[rule_name]
        definition = module_assignments(parse_starlark(label_path(root, label, package))).get(original)
        if call_name(definition) != "rule":
            continue
        assert isinstance(definition, ast.Call)
        rule_args = keywords(definition)
        if "build_setting" not in rule_args:
            continue
        args = keywords(statement.value)
        name = string_value(args["name"], build_file)
        kind = ast.unparse(rule_args["build_setting"])
        default = source_text(args["build_setting_default"])
        # The comment above the target; without one, the doc of its rule.
        doc = comment_above(lines, statement.lineno - 1)
        if not doc and "doc" in rule_args:
            doc = dedent_doc(string_value(rule_args["doc"], label))
        settings.append(Setting(f"//{package}:{name}", kind, default, doc))
    return settings


def bazelrc(root: Path, path: str) -> tuple[list[Config], list[BazelrcDefault]]:
    """The --config groups of a bazelrc (in order of first appearance) and its unconditional flags."""
    lines = (root / path).read_text(encoding="utf-8").splitlines()
    configs: dict[str, Config] = {}
    defaults: list[BazelrcDefault] = []
    block_doc = ""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            block_doc = ""
            continue
        if stripped.startswith("#"):
            continue
        doc = comment_above(lines, i) or block_doc
        block_doc = doc
        command, _, flags = stripped.partition(" ")
        if ":" in command:
            command, name = command.split(":", 1)
            config = configs.setdefault(name, Config(name, [], doc))
            config.lines.append(f"{command} {flags.strip()}")
        elif defaults and defaults[-1].doc == doc and defaults[-1].command == command:
            defaults[-1].flags.append(flags.strip())
        else:
            defaults.append(BazelrcDefault(command, [flags.strip()], doc))
    return list(configs.values()), defaults


# Markdown -----------------------------------------------------------------------------------------------


def cell(text: str) -> str:
    """Text for one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def attribute_table(symbol: Symbol) -> list[str]:
    """The attribute (or argument) table of a rule or macro."""
    if not symbol.attributes:
        return ["No arguments.", ""]
    if symbol.kind == "rule":
        out = ["| attribute | type | default | description |", "| --- | --- | --- | --- |"]
    else:
        out = ["| argument | default | description |", "| --- | --- | --- |"]
    for a in symbol.attributes:
        kind = TYPE_NAMES.get(a.kind, a.kind) if a.kind != "name" else "name"
        if a.values:
            kind += "; one of " + ", ".join(f"`{starlark_literal(v)}`" for v in a.values)
        default = "required" if a.mandatory else (f"`{a.default}`" if a.default else "")
        if symbol.kind == "rule":
            out.append(f"| `{a.name}` | {cell(kind)} | {default} | {cell(a.doc)} |")
        else:
            out.append(f"| `{a.name}` | {default} | {cell(a.doc)} |")
    out.append("")
    return out


def render(root: Path) -> str:
    """The whole of docs/rules.md."""
    module = parse_starlark(root / DEFS)
    intro = dedent_doc(ast.get_docstring(module, clean=False) or "")
    symbols = public_symbols(root, DEFS)
    settings = build_settings(root, SETTINGS_BUILD)
    configs, defaults = bazelrc(root, BAZELRC)
    repository_symbols = {s.name for s in public_symbols(root, REPOSITORIES)}

    out = [
        "<!-- Generated by tools/gen_rules_doc.py from rules/defs.bzl, rules/private/*.bzl, rules/BUILD.bazel",
        f"     and .bazelrc; do not edit. Update with `{REGENERATE}`; tests/rules:rules_doc_test checks it. -->",
        "",
        "# marlin-bazel rules reference",
        "",
        intro,
        "",
        "Contents:",
        "",
    ]
    for symbol in symbols:
        kind = "WORKSPACE function" if symbol.name in repository_symbols else symbol.kind
        out.append(f"- [`{symbol.name}`](#{symbol.name}) ({kind})")
    out += ["- [Build settings](#build-settings)", "- [`--config` values](#--config-values)", ""]
    for symbol in symbols:
        out += [f"## {symbol.name}", ""]
        if symbol.signature:
            out += ["```", symbol.signature, "```", ""]
        if symbol.name in repository_symbols:
            out += ["WORKSPACE function in rules/repositories.bzl and rules/defs.bzl.", ""]
        else:
            out += [f"{symbol.kind.capitalize()} in rules/defs.bzl.", ""]
        out += [symbol.doc, ""]
        out += attribute_table(symbol)
    out += ["## Build settings", ""]
    out += ["Set on the command line or in `.bazelrc`; from another workspace, prefix `@marlin_bazel`.", ""]
    out += ["| setting | type | default | description |", "| --- | --- | --- | --- |"]
    for setting in settings:
        out.append(f"| `{setting.label}` | `{setting.kind}` | `{setting.default}` | {cell(setting.doc)} |")
    out += ["", "## `--config` values", ""]
    out += ["Defined in this repository's `.bazelrc` (`bazel build --config=NAME ...`).", ""]
    # Consecutive configs under one comment share its description.
    groups: list[list[Config]] = []
    for config in configs:
        if groups and groups[-1][0].doc == config.doc:
            groups[-1].append(config)
        else:
            groups.append([config])
    for group in groups:
        if group[0].doc:
            out += [group[0].doc, ""]
        out += ["| config | flags |", "| --- | --- |"]
        for config in group:
            flags = "<br>".join(f"`{line}`" for line in config.lines)
            out.append(f"| `{config.name}` | {flags} |")
        out.append("")
    out += ["Flags that `.bazelrc` sets for every command:", ""]
    out += ["| command | flags | why |", "| --- | --- | --- |"]
    for default in defaults:
        flags = "<br>".join(f"`{f}`" for f in default.flags)
        out.append(f"| `{default.command}` | {flags} | {cell(default.doc)} |")
    out.append("")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    """Writes or checks docs/rules.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the file is up to date")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    options = parser.parse_args(argv)
    root: Path = options.root
    try:
        text = render(root)
    except DocError as error:
        print(f"gen_rules_doc: {error}", file=sys.stderr)
        return 2
    target = root / OUTPUT
    if options.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current == text:
            print(f"{OUTPUT} is up to date")
            return 0
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            text.splitlines(keepends=True),
            f"{OUTPUT} (checked in)",
            f"{OUTPUT} (from the sources)",
        )
        sys.stdout.writelines(diff)
        print(f"\n{OUTPUT} is out of date: run `{REGENERATE}` and commit the result", file=sys.stderr)
        return 1
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
