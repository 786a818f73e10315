"""marlin_kernels: runs the generator and declares every file it writes."""

load(":archs.bzl", "MarlinArchsInfo")
load(":plan.bzl", "FAMILIES", "plan_file_names", "plan_kernel_files", "resolve_archs", "resolve_quant_configs")

def _marlin_kernels_impl(ctx):
    archs, error = resolve_archs(ctx.attr.archs, ctx.attr._archs[MarlinArchsInfo].archs)
    if error:
        fail(error)
    quant_configs, error = resolve_quant_configs(archs, ctx.attr.quant_configs)
    if error:
        fail(error)
    plan, error = plan_kernel_files(archs, quant_configs, shards = ctx.attr.shards)
    if error:
        fail(error)

    outputs = {}
    for name in plan_file_names(plan):
        outputs[name] = ctx.actions.declare_file("%s/%s" % (ctx.label.name, name))
    selector = outputs[plan["selector"]]
    out_dir = selector.dirname

    args = ctx.actions.args()
    args.add(",".join(archs))
    args.add("--out", out_dir)
    args.add("--configs", ",".join(quant_configs))
    args.add("--shards", str(ctx.attr.shards))

    # The generator compares the files it would write with these and fails on any difference.
    args.add("--expect")
    args.add_all(plan_file_names(plan))

    ctx.actions.run(
        executable = ctx.attr._generator[DefaultInfo].files_to_run,
        arguments = [args],
        outputs = outputs.values(),
        mnemonic = "MarlinGenerate",
        progress_message = "Generating Marlin kernels %s (archs %s; %s; %d shard(s))" % (
            ctx.label,
            ",".join(archs),
            ",".join(quant_configs),
            ctx.attr.shards,
        ),
    )

    groups = {family: depset([outputs[n] for n in plan[family]]) for family in FAMILIES}
    groups["selector"] = depset([selector])
    return [
        DefaultInfo(
            files = depset(outputs.values()),
            runfiles = ctx.runfiles(files = outputs.values()),
        ),
        OutputGroupInfo(**groups),
    ]

marlin_kernels = rule(
    implementation = _marlin_kernels_impl,
    attrs = {
        "archs": attr.string_list(
            doc = "CUDA archs that kernels are generated for, e.g. `[\"8.0\", \"8.9\"]`; empty: the " +
                  "`//rules:archs` build setting. The archs pick the kernel-file families.",
        ),
        "quant_configs": attr.string_list(
            mandatory = True,
            doc = "Quant configs to generate, e.g. `[\"awq_int4\", \"gptq_int4\"]` (docs/FORMATS.md " +
                  "lists them), or `[\"all\"]`: every implemented config that the archs allow (FP8 " +
                  "activations only with 8.9 or 12.x). A config named explicitly that no arch allows is an error.",
        ),
        "shards": attr.int(
            default = 1,
            doc = "Split each kernel file into this many files (1 to 16), so that nvcc compiles them in " +
                  "parallel: `<family>_kernel_<a>_<b>_<c>_part<i>of<N>.cu`, i = 1..N, instantiations dealt " +
                  "round-robin. 1 (the default): one unsplit file per family and type combination.",
        ),
        "_archs": attr.label(default = Label("//rules:archs"), providers = [MarlinArchsInfo]),
        "_generator": attr.label(
            default = Label("//generator"),
            executable = True,
            cfg = "exec",
        ),
    },
    doc = """Runs the kernel generator and declares every file it writes, in the folder `NAME/`.

The files are `NAME/<family>_kernel_<a>_<b>_<c>.cu` (one per kernel-file family and type combination; with
`shards = N > 1`, N files `NAME/<family>_kernel_<a>_<b>_<c>_part<i>of<N>.cu` each instead) and
`NAME/kernel_selector.h`. Which files there are is known at analysis time (from
`rules/private/catalog.bzl`); the generator checks that it writes exactly those.

Output groups: `sm75`, `sm80`, `sm89` (the `.cu` files of each kernel-file family, possibly empty) and
`selector` (`kernel_selector.h`).

```
marlin_kernels(
    name = "kernels",
    archs = ["8.0"],
    quant_configs = ["gptq_int4"],
)
```""",
)
