"""The //rules:compress_mode build setting: how nvcc compresses the kernels' fatbinaries."""

# nvcc's --compress-mode values. "size" stores the SASS about 7x smaller than "default" does (which leaves
# these kernels uncompressed); the CUDA driver decompresses a module once, when it is loaded.
COMPRESS_MODES = ["size", "balance", "speed", "default", "none"]

MarlinCompressInfo = provider(
    doc = "Value of the //rules:compress_mode build setting (validated by the rules that read it).",
    fields = {"mode": "one of COMPRESS_MODES"},
)

def _compress_mode_setting_impl(ctx):
    return [MarlinCompressInfo(mode = ctx.build_setting_value)]

compress_mode_setting = rule(
    implementation = _compress_mode_setting_impl,
    build_setting = config.string(flag = True),
    doc = "A string flag: --//rules:compress_mode=size|balance|speed|default|none.",
)
