"""The //rules:archs build setting: the CUDA archs that kernels are compiled for."""

MarlinArchsInfo = provider(
    doc = "Value of the //rules:archs build setting (not yet validated: the rules that read it validate it).",
    fields = {"archs": "list of arch strings, e.g. [\"8.0\", \"9.0a\"]"},
)

def _archs_setting_impl(ctx):
    return [MarlinArchsInfo(archs = ctx.build_setting_value)]

archs_setting = rule(
    implementation = _archs_setting_impl,
    build_setting = config.string_list(flag = True),
    doc = "A string_list flag: --//rules:archs=8.0,8.9,9.0a (or --config=sm89 from .bazelrc).",
)
