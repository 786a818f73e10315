"""Rendering of a plan into file contents with the Jinja2 templates in templates/.

Output depends only on the plan: no timestamps, no paths, "\\n" line ends, so two runs are byte-identical.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import jinja2

from generator.plan import SELECTOR_FILE, KernelFile, Plan

KERNEL_TEMPLATE = "kernel_file.cu.jinja"
SELECTOR_TEMPLATE = "kernel_selector.h.jinja"

# Where the main repository's files sit in the runfiles tree, tried in this order after the one derived from
# this file's own path ("marlin_bazel" as a named workspace, "_main" under Bzlmod, "__main__" unnamed).
_RUNFILES_REPO_NAMES = ("marlin_bazel", "_main", "__main__")


class TemplateError(RuntimeError):
    """The templates folder could not be found."""


def _has_templates(folder: Path) -> bool:
    return (folder / KERNEL_TEMPLATE).is_file() and (folder / SELECTOR_TEMPLATE).is_file()


def _runfiles_candidates() -> list[Path]:
    """Template folders found through Bazel's runfiles; empty when not run by Bazel."""
    try:
        from runfiles import runfiles  # PyPI package bazel-runfiles
    except ImportError:
        return []
    r = runfiles.Create()
    if r is None:
        return []
    names: list[str] = []
    # The repository this file lives in, when it sits under a runfiles directory.
    root = os.environ.get("RUNFILES_DIR")
    if root:
        try:
            rel = Path(__file__).absolute().relative_to(Path(root).absolute())
            names.append(rel.parts[0])
        except ValueError:
            pass
    names.extend(n for n in _RUNFILES_REPO_NAMES if n not in names)
    out = []
    for name in names:
        found = r.Rlocation(f"{name}/templates/{KERNEL_TEMPLATE}")
        if found:
            out.append(Path(found).parent)
    return out


def find_templates_dir() -> Path:
    """The templates/ folder: next to the package (source tree or runfiles tree), else through runfiles."""
    tried: list[Path] = []
    candidates = [Path(__file__).absolute().parent.parent / "templates"]
    candidates.extend(_runfiles_candidates())
    for folder in candidates:
        if _has_templates(folder):
            return folder
        tried.append(folder)
    raise TemplateError(
        f"cannot find {KERNEL_TEMPLATE} and {SELECTOR_TEMPLATE}; looked in: {', '.join(str(t) for t in tried)}"
    )


def cpp_literal(value: object) -> str:
    """Python value -> C++ literal (bools are the only values that differ)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@functools.cache
def environment(templates_dir: Path | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir or find_templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cpp"] = cpp_literal
    return env


def render_kernel_file(file: KernelFile) -> str:
    return environment().get_template(KERNEL_TEMPLATE).render(file=file)


def render_selector(plan: Plan) -> str:
    return environment().get_template(SELECTOR_TEMPLATE).render(instantiations=plan.instantiations)


def render_plan(plan: Plan) -> dict[str, str]:
    """File name -> content for every file of the plan (kernel files as sharded), then the selector."""
    out = {f.name: render_kernel_file(f) for f in plan.written_files}
    out[SELECTOR_FILE] = render_selector(plan)
    return out
