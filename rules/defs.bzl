"""Public API of marlin-bazel: rules that generate, compile and link the Marlin GEMM kernels.

```
load("@marlin_bazel//rules:defs.bzl", "cuda_library", "marlin_kernels", "marlin_library")
```

`marlin_library` is what most users want: a C++ library (`CcInfo`) with the kernels of the quant configs
you list, compiled for the archs you list, plus the launcher and the C API of `marlin/marlin.h`.
`marlin_kernels` only generates the kernel sources, and `cuda_library` is the nvcc rule underneath, usable
for CUDA code of your own.

Archs are written `MAJOR.MINOR`, optionally with nvcc's `a` (arch-specific, 9.0 and newer) or `f` (family,
10.0 and newer) suffix: `7.5, 8.0, 8.6, 8.7, 8.9, 9.0, 10.0, 12.0, 12.1` (`9.0a` compiles for `sm_90a`).
`+PTX` after an arch (`8.0+PTX`) also embeds its PTX, which the driver compiles for newer GPUs. A target
without `archs` takes them from the `//rules:archs` build setting. Quant configs are listed in docs/DESIGN.md.
Bad archs or quant configs (unknown, an arch with a suffix it lacks, duplicated, an empty list, an arch newer
than the CUDA toolkit compiles for) fail the build at analysis time with one message that names the bad value
and lists the accepted ones.

Build speed: `shards = N` (1 to 16, default 1) on `marlin_kernels` or `marlin_library` splits each generated
kernel file into N files (`..._part<i>of<N>.cu`), so more nvcc actions run in parallel and the longest is
shorter.

`marlin_deps()` and `marlin_register_toolchains()` (for the WORKSPACE) are here too and in
`//rules:repositories.bzl`.
"""

load("//rules/private:cuda.bzl", _cuda_library = "cuda_library")
load("//rules/private:kernels.bzl", _marlin_kernels = "marlin_kernels")
load("//rules/private:library.bzl", _marlin_library = "marlin_library")
load(
    "//rules/private:repositories.bzl",
    _marlin_deps = "marlin_deps",
    _marlin_register_toolchains = "marlin_register_toolchains",
)

cuda_library = _cuda_library
marlin_kernels = _marlin_kernels
marlin_library = _marlin_library
marlin_deps = _marlin_deps
marlin_register_toolchains = _marlin_register_toolchains
